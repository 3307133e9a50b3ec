//! A logical device and what runs on it: memory through `gpu-allocator`,
//! buffers, compute kernels, and [`Stream`]s that submit work and wait
//! for it with a bound.
//!
//! Ownership: every handle is wrapped in a type whose `Drop` destroys it,
//! and each holds an `Arc` to the [`Shared`] device state, which holds an
//! `Arc` to the instance, so Vulkan objects are always destroyed before
//! the object they were created from.

use std::io::Cursor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ash::vk;
use gpu_allocator::vulkan::{
    Allocation, AllocationCreateDesc, AllocationScheme, Allocator, AllocatorCreateDesc,
};
use gpu_allocator::MemoryLocation;
use parking_lot::Mutex;

use super::error::{GpuError, GpuResult, VkContext};
use super::instance::Instance;
use super::probe::DeviceInfo;

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("name", &self.shared.info.name)
            .field("queues", &self.shared.queues.len())
            .field("lost", &self.is_lost())
            .finish()
    }
}

impl std::fmt::Debug for Buffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buffer")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("queue", &self.queue)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Bytes moved per staging copy.
const STAGING_BYTES: u64 = 32 << 20;

pub(crate) struct Shared {
    pub(crate) info: DeviceInfo,
    raw: ash::Device,
    family: u32,
    queues: Vec<Mutex<vk::Queue>>,
    /// `None` only while dropping: the allocator must go before the device.
    allocator: Mutex<Option<Allocator>>,
    /// Set once the device reported `DEVICE_LOST` or a submission timed
    /// out: it must be recreated.
    lost: AtomicBool,
    // Last, so the instance outlives the device.
    _instance: Arc<Instance>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: every object created from this device holds an Arc to
        // this struct, so all are destroyed; waiting for idle first makes
        // sure nothing is still executing (a lost device returns at once).
        unsafe {
            let _ = self.raw.device_wait_idle();
            drop(self.allocator.lock().take());
            self.raw.destroy_device(None);
        }
    }
}

/// A logical device with one or more compute queues.
#[derive(Clone)]
pub struct Device {
    shared: Arc<Shared>,
}

impl Device {
    /// Creates the logical device for `physical`, with up to `queues`
    /// compute queues (as many builds may run at once).
    pub(crate) fn new(
        instance: Arc<Instance>,
        physical: vk::PhysicalDevice,
        info: DeviceInfo,
        queues: usize,
    ) -> GpuResult<Device> {
        let raw_instance = &instance.raw;
        // SAFETY: `physical` was enumerated from this instance.
        let families =
            unsafe { raw_instance.get_physical_device_queue_family_properties(physical) };
        // Prefer a compute-only family (the dedicated async-compute queues
        // of discrete GPUs), else any with compute.
        let family = families
            .iter()
            .position(|f| {
                f.queue_flags.contains(vk::QueueFlags::COMPUTE)
                    && !f.queue_flags.contains(vk::QueueFlags::GRAPHICS)
            })
            .or_else(|| {
                families
                    .iter()
                    .position(|f| f.queue_flags.contains(vk::QueueFlags::COMPUTE))
            })
            .ok_or_else(|| GpuError::Unsupported(format!("{}: no compute queue", info.name)))?;
        let count = (queues.max(1) as u32).min(families[family].queue_count);
        let family = family as u32;
        let priorities = vec![1.0f32; count as usize];
        let queue_info = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(family)
            .queue_priorities(&priorities)];
        let create = vk::DeviceCreateInfo::default().queue_create_infos(&queue_info);
        // SAFETY: `create` and what it points to outlive the call.
        let raw = unsafe { raw_instance.create_device(physical, &create, None) }
            .call("vkCreateDevice")?;
        let allocator = Allocator::new(&AllocatorCreateDesc {
            instance: raw_instance.clone(),
            device: raw.clone(),
            physical_device: physical,
            debug_settings: Default::default(),
            buffer_device_address: false,
            allocation_sizes: Default::default(),
        });
        let allocator = match allocator {
            Ok(allocator) => allocator,
            Err(error) => {
                // SAFETY: nothing was created from the device yet.
                unsafe { raw.destroy_device(None) };
                return Err(error.into());
            }
        };
        let queues = (0..count)
            // SAFETY: the queues were requested in `create`.
            .map(|i| Mutex::new(unsafe { raw.get_device_queue(family, i) }))
            .collect();
        Ok(Device {
            shared: Arc::new(Shared {
                info,
                raw,
                family,
                queues,
                allocator: Mutex::new(Some(allocator)),
                lost: AtomicBool::new(false),
                _instance: instance,
            }),
        })
    }

    pub fn info(&self) -> &DeviceInfo {
        &self.shared.info
    }

    /// Compute queues on this device, hence builds it runs at once.
    pub fn queue_count(&self) -> usize {
        self.shared.queues.len()
    }

    /// Whether the device was lost (or hung) and must be recreated.
    pub fn is_lost(&self) -> bool {
        self.shared.lost.load(Ordering::Acquire)
    }

    /// Creates a buffer of `size` bytes (at least 16) in `location`.
    pub fn buffer(&self, name: &str, size: u64, location: MemoryLocation) -> GpuResult<Buffer> {
        Buffer::new(
            &self.shared,
            name,
            size.max(16).next_multiple_of(4),
            location,
        )
    }

    /// Creates the compute pipeline for `spirv`, whose bindings are storage
    /// buffers `0..bindings` of set 0 and whose entry point is `main`.
    pub fn kernel(&self, name: &str, spirv: &[u8], bindings: u32) -> GpuResult<Kernel> {
        Kernel::new(&self.shared, name, spirv, bindings)
    }

    /// A submission context on queue `queue % queue_count()`.
    pub fn stream(&self, queue: usize, timeout: Duration) -> GpuResult<Stream> {
        Stream::new(&self.shared, queue % self.shared.queues.len(), timeout)
    }
}

/// A buffer and its memory.
pub struct Buffer {
    shared: Arc<Shared>,
    raw: vk::Buffer,
    allocation: Option<Allocation>,
    size: u64,
}

impl Buffer {
    fn new(
        shared: &Arc<Shared>,
        name: &str,
        size: u64,
        location: MemoryLocation,
    ) -> GpuResult<Buffer> {
        let device = &shared.raw;
        let info = vk::BufferCreateInfo::default()
            .size(size)
            .usage(
                vk::BufferUsageFlags::STORAGE_BUFFER
                    | vk::BufferUsageFlags::TRANSFER_SRC
                    | vk::BufferUsageFlags::TRANSFER_DST,
            )
            .sharing_mode(vk::SharingMode::EXCLUSIVE);
        // SAFETY: `info` is valid for the call.
        let raw = unsafe { device.create_buffer(&info, None) }.call("vkCreateBuffer")?;
        // SAFETY: `raw` was just created from this device.
        let requirements = unsafe { device.get_buffer_memory_requirements(raw) };
        let allocation = shared
            .allocator
            .lock()
            .as_mut()
            .expect("allocator lives as long as the device")
            .allocate(&AllocationCreateDesc {
                name,
                requirements,
                location,
                linear: true,
                allocation_scheme: AllocationScheme::GpuAllocatorManaged,
            });
        let allocation = match allocation {
            Ok(allocation) => allocation,
            Err(error) => {
                // SAFETY: the buffer is unbound and unused.
                unsafe { device.destroy_buffer(raw, None) };
                return Err(error.into());
            }
        };
        let buffer = Buffer {
            shared: shared.clone(),
            raw,
            allocation: Some(allocation),
            size,
        };
        let allocation = buffer.allocation.as_ref().expect("just set");
        // SAFETY: the allocation satisfies `requirements` and is bound once;
        // on error `buffer`'s Drop destroys the buffer and frees the memory.
        unsafe { device.bind_buffer_memory(raw, allocation.memory(), allocation.offset()) }
            .call("vkBindBufferMemory")?;
        Ok(buffer)
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Writes `bytes` at `offset` of a host-visible buffer.
    ///
    /// # Panics
    /// If the buffer is not host-visible or the range does not fit.
    pub fn write(&mut self, offset: usize, bytes: &[u8]) {
        let mapped = self
            .allocation
            .as_mut()
            .and_then(Allocation::mapped_slice_mut)
            .expect("write needs a host-visible buffer");
        mapped[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    /// The contents of a host-visible buffer.
    ///
    /// # Panics
    /// If the buffer is not host-visible.
    pub fn read(&self) -> &[u8] {
        let mapped = self
            .allocation
            .as_ref()
            .and_then(Allocation::mapped_slice)
            .expect("read needs a host-visible buffer");
        &mapped[..self.size as usize]
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: streams wait for their submissions before returning, so
        // no command that uses this buffer is pending.
        unsafe { self.shared.raw.destroy_buffer(self.raw, None) };
        if let Some(allocation) = self.allocation.take() {
            if let Some(allocator) = self.shared.allocator.lock().as_mut() {
                // A failed free only leaks until the device goes.
                let _ = allocator.free(allocation);
            }
        }
    }
}

/// A compute pipeline with its layouts.
pub struct Kernel {
    shared: Arc<Shared>,
    name: String,
    bindings: u32,
    module: vk::ShaderModule,
    set_layout: vk::DescriptorSetLayout,
    layout: vk::PipelineLayout,
    pipeline: vk::Pipeline,
}

impl Kernel {
    fn new(shared: &Arc<Shared>, name: &str, spirv: &[u8], bindings: u32) -> GpuResult<Kernel> {
        let device = &shared.raw;
        let words = ash::util::read_spv(&mut Cursor::new(spirv))
            .map_err(|e| GpuError::Unsupported(format!("{name}: bad SPIR-V: {e}")))?;
        // Built field by field into `kernel`, whose Drop destroys whatever
        // was created if a later step fails.
        let mut kernel = Kernel {
            shared: shared.clone(),
            name: name.to_owned(),
            bindings,
            module: vk::ShaderModule::null(),
            set_layout: vk::DescriptorSetLayout::null(),
            layout: vk::PipelineLayout::null(),
            pipeline: vk::Pipeline::null(),
        };
        let layout_bindings: Vec<_> = (0..bindings)
            .map(|binding| {
                vk::DescriptorSetLayoutBinding::default()
                    .binding(binding)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::COMPUTE)
            })
            .collect();
        // SAFETY: each create-info outlives its call; the handles are
        // stored in `kernel` right away.
        unsafe {
            kernel.module = device
                .create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&words), None)
                .call("vkCreateShaderModule")?;
            kernel.set_layout = device
                .create_descriptor_set_layout(
                    &vk::DescriptorSetLayoutCreateInfo::default().bindings(&layout_bindings),
                    None,
                )
                .call("vkCreateDescriptorSetLayout")?;
            let set_layouts = [kernel.set_layout];
            kernel.layout = device
                .create_pipeline_layout(
                    &vk::PipelineLayoutCreateInfo::default().set_layouts(&set_layouts),
                    None,
                )
                .call("vkCreatePipelineLayout")?;
            let stage = vk::PipelineShaderStageCreateInfo::default()
                .stage(vk::ShaderStageFlags::COMPUTE)
                .module(kernel.module)
                .name(c"main");
            let info = vk::ComputePipelineCreateInfo::default()
                .stage(stage)
                .layout(kernel.layout);
            kernel.pipeline = device
                .create_compute_pipelines(vk::PipelineCache::null(), &[info], None)
                .map_err(|(_, result)| result)
                .call("vkCreateComputePipelines")?[0];
        }
        Ok(kernel)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        let device = &self.shared.raw;
        // SAFETY: streams wait for their submissions, so the pipeline is
        // idle; destroying null handles is a no-op.
        unsafe {
            device.destroy_pipeline(self.pipeline, None);
            device.destroy_pipeline_layout(self.layout, None);
            device.destroy_descriptor_set_layout(self.set_layout, None);
            device.destroy_shader_module(self.module, None);
        }
    }
}

/// One build's submission context: a command buffer, a fence, a
/// descriptor pool, on one queue. Every call records, submits and waits
/// for completion (up to the timeout) before returning, so the buffers
/// and kernels it used may be dropped right after.
pub struct Stream {
    shared: Arc<Shared>,
    queue: usize,
    timeout: Duration,
    pool: vk::CommandPool,
    commands: vk::CommandBuffer,
    fence: vk::Fence,
    descriptors: vk::DescriptorPool,
}

/// Descriptors one [`Stream`] call may bind.
const MAX_BINDINGS: u32 = 32;

impl Stream {
    fn new(shared: &Arc<Shared>, queue: usize, timeout: Duration) -> GpuResult<Stream> {
        let device = &shared.raw;
        let mut stream = Stream {
            shared: shared.clone(),
            queue,
            timeout,
            pool: vk::CommandPool::null(),
            commands: vk::CommandBuffer::null(),
            fence: vk::Fence::null(),
            descriptors: vk::DescriptorPool::null(),
        };
        let sizes = [vk::DescriptorPoolSize {
            ty: vk::DescriptorType::STORAGE_BUFFER,
            descriptor_count: MAX_BINDINGS,
        }];
        // SAFETY: create-infos outlive their calls; handles go straight
        // into `stream`, whose Drop destroys them on a later failure.
        unsafe {
            stream.pool = device
                .create_command_pool(
                    &vk::CommandPoolCreateInfo::default()
                        .queue_family_index(shared.family)
                        .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER),
                    None,
                )
                .call("vkCreateCommandPool")?;
            stream.commands = device
                .allocate_command_buffers(
                    &vk::CommandBufferAllocateInfo::default()
                        .command_pool(stream.pool)
                        .level(vk::CommandBufferLevel::PRIMARY)
                        .command_buffer_count(1),
                )
                .call("vkAllocateCommandBuffers")?[0];
            stream.fence = device
                .create_fence(&vk::FenceCreateInfo::default(), None)
                .call("vkCreateFence")?;
            stream.descriptors = device
                .create_descriptor_pool(
                    &vk::DescriptorPoolCreateInfo::default()
                        .max_sets(1)
                        .pool_sizes(&sizes),
                    None,
                )
                .call("vkCreateDescriptorPool")?;
        }
        Ok(stream)
    }

    /// Runs `kernel` over `groups` workgroups with `buffers[i]` bound at
    /// binding `i`, and waits for it.
    pub fn dispatch(
        &mut self,
        kernel: &Kernel,
        buffers: &[&Buffer],
        groups: [u32; 3],
    ) -> GpuResult<()> {
        assert_eq!(
            buffers.len(),
            kernel.bindings as usize,
            "{}: one buffer per binding",
            kernel.name
        );
        let device = &self.shared.raw;
        // SAFETY: the previous call waited for its submission, so the pool
        // and its set are free to reset and rewrite; every buffer and the
        // kernel outlive this call, which waits for the work to finish.
        unsafe {
            device
                .reset_descriptor_pool(self.descriptors, vk::DescriptorPoolResetFlags::empty())
                .call("vkResetDescriptorPool")?;
            let layouts = [kernel.set_layout];
            let set = device
                .allocate_descriptor_sets(
                    &vk::DescriptorSetAllocateInfo::default()
                        .descriptor_pool(self.descriptors)
                        .set_layouts(&layouts),
                )
                .call("vkAllocateDescriptorSets")?[0];
            let infos: Vec<[vk::DescriptorBufferInfo; 1]> = buffers
                .iter()
                .map(|buffer| {
                    [vk::DescriptorBufferInfo::default()
                        .buffer(buffer.raw)
                        .offset(0)
                        .range(vk::WHOLE_SIZE)]
                })
                .collect();
            let writes: Vec<_> = infos
                .iter()
                .enumerate()
                .map(|(binding, info)| {
                    vk::WriteDescriptorSet::default()
                        .dst_set(set)
                        .dst_binding(binding as u32)
                        .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                        .buffer_info(info)
                })
                .collect();
            device.update_descriptor_sets(&writes, &[]);
            self.record(|device, commands| {
                device.cmd_bind_pipeline(commands, vk::PipelineBindPoint::COMPUTE, kernel.pipeline);
                device.cmd_bind_descriptor_sets(
                    commands,
                    vk::PipelineBindPoint::COMPUTE,
                    kernel.layout,
                    0,
                    &[set],
                    &[],
                );
                device.cmd_dispatch(commands, groups[0], groups[1], groups[2]);
            })?;
        }
        self.submit(kernel.name())
    }

    /// Copies `bytes` into `buffer` at `offset`, through a host-visible
    /// staging buffer (the target may be device-local).
    pub fn upload(&mut self, buffer: &Buffer, offset: u64, bytes: &[u8]) -> GpuResult<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let chunk = STAGING_BYTES.min(bytes.len() as u64);
        let mut staging = Buffer::new(&self.shared, "staging-up", chunk, MemoryLocation::CpuToGpu)?;
        for (i, part) in bytes.chunks(chunk as usize).enumerate() {
            staging.write(0, part);
            let region = vk::BufferCopy {
                src_offset: 0,
                dst_offset: offset + i as u64 * chunk,
                size: part.len() as u64,
            };
            // SAFETY: both buffers outlive the call, which waits for the copy.
            unsafe {
                self.record(|device, commands| {
                    device.cmd_copy_buffer(commands, staging.raw, buffer.raw, &[region]);
                })?;
            }
            self.submit("upload")?;
        }
        Ok(())
    }

    /// Sets every word of `buffer` to `word`.
    pub fn fill(&mut self, buffer: &Buffer, word: u32) -> GpuResult<()> {
        // SAFETY: the buffer outlives the call, which waits for the fill;
        // WHOLE_SIZE covers the whole buffer, whose size is a multiple of 4.
        unsafe {
            self.record(|device, commands| {
                device.cmd_fill_buffer(commands, buffer.raw, 0, vk::WHOLE_SIZE, word);
            })?;
        }
        self.submit("fill")
    }

    /// Reads `len` bytes of `buffer` from `offset`, through a staging buffer.
    pub fn download(&mut self, buffer: &Buffer, offset: u64, len: u64) -> GpuResult<Vec<u8>> {
        let mut out = Vec::with_capacity(len as usize);
        if len == 0 {
            return Ok(out);
        }
        let chunk = STAGING_BYTES.min(len);
        let staging = Buffer::new(
            &self.shared,
            "staging-down",
            chunk,
            MemoryLocation::GpuToCpu,
        )?;
        let mut done = 0;
        while done < len {
            let size = chunk.min(len - done);
            let region = vk::BufferCopy {
                src_offset: offset + done,
                dst_offset: 0,
                size,
            };
            // SAFETY: both buffers outlive the call, which waits for the copy.
            unsafe {
                self.record(|device, commands| {
                    device.cmd_copy_buffer(commands, buffer.raw, staging.raw, &[region]);
                })?;
            }
            self.submit("download")?;
            out.extend_from_slice(&staging.read()[..size as usize]);
            done += size;
        }
        Ok(out)
    }

    /// Records one command buffer: a barrier that makes every earlier
    /// write visible, the commands, and a barrier that makes their writes
    /// visible to the host.
    ///
    /// # Safety
    /// The handles `body` records must stay alive until [`Self::submit`]
    /// has waited for them.
    unsafe fn record(
        &mut self,
        body: impl FnOnce(&ash::Device, vk::CommandBuffer),
    ) -> GpuResult<()> {
        let device = &self.shared.raw;
        let commands = self.commands;
        let before = [vk::MemoryBarrier::default()
            .src_access_mask(vk::AccessFlags::MEMORY_WRITE)
            .dst_access_mask(vk::AccessFlags::MEMORY_READ | vk::AccessFlags::MEMORY_WRITE)];
        let after = [vk::MemoryBarrier::default()
            .src_access_mask(vk::AccessFlags::MEMORY_WRITE)
            .dst_access_mask(vk::AccessFlags::HOST_READ)];
        // SAFETY: the command buffer is not pending (the last submission
        // was waited for) and belongs to this stream's pool.
        unsafe {
            device
                .reset_command_buffer(commands, vk::CommandBufferResetFlags::empty())
                .call("vkResetCommandBuffer")?;
            device
                .begin_command_buffer(
                    commands,
                    &vk::CommandBufferBeginInfo::default()
                        .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT),
                )
                .call("vkBeginCommandBuffer")?;
            device.cmd_pipeline_barrier(
                commands,
                vk::PipelineStageFlags::ALL_COMMANDS,
                vk::PipelineStageFlags::ALL_COMMANDS,
                vk::DependencyFlags::empty(),
                &before,
                &[],
                &[],
            );
            body(device, commands);
            device.cmd_pipeline_barrier(
                commands,
                vk::PipelineStageFlags::ALL_COMMANDS,
                vk::PipelineStageFlags::HOST,
                vk::DependencyFlags::empty(),
                &after,
                &[],
                &[],
            );
            device
                .end_command_buffer(commands)
                .call("vkEndCommandBuffer")
        }
    }

    /// Submits the recorded commands and waits up to the timeout. A
    /// timeout or a lost device marks the device lost.
    fn submit(&mut self, what: &str) -> GpuResult<()> {
        let device = &self.shared.raw;
        let commands = [self.commands];
        let submit = [vk::SubmitInfo::default().command_buffers(&commands)];
        let result = {
            let queue = self.shared.queues[self.queue].lock();
            // SAFETY: the command buffer is recorded and not pending; the
            // queue is externally synchronised by its mutex; the fence is
            // unsignalled (reset after every wait).
            unsafe { device.queue_submit(*queue, &submit, self.fence) }
        };
        result.call("vkQueueSubmit").inspect_err(|e| self.note(e))?;
        let timeout = u64::try_from(self.timeout.as_nanos()).unwrap_or(u64::MAX);
        // SAFETY: the fence belongs to this device.
        let waited = unsafe { device.wait_for_fences(&[self.fence], true, timeout) };
        match waited {
            Ok(()) => {}
            Err(vk::Result::TIMEOUT) => {
                let error = GpuError::Timeout {
                    what: what.to_owned(),
                    seconds: self.timeout.as_secs(),
                };
                self.note(&error);
                return Err(error);
            }
            Err(result) => {
                let error = GpuError::vk("vkWaitForFences", result);
                self.note(&error);
                return Err(error);
            }
        }
        // SAFETY: the fence is signalled and no longer in use.
        unsafe { device.reset_fences(&[self.fence]) }.call("vkResetFences")
    }

    fn note(&self, error: &GpuError) {
        if error.loses_device() {
            self.shared.lost.store(true, Ordering::Release);
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let device = &self.shared.raw;
        // SAFETY: every call waited for its submission; after a timeout the
        // device is marked lost, and waiting for idle here keeps the
        // command buffer from being freed while the hung work still holds
        // it (drivers end a hung submission with DEVICE_LOST).
        unsafe {
            if self.shared.lost.load(Ordering::Acquire) {
                let _ = device.device_wait_idle();
            }
            device.destroy_descriptor_pool(self.descriptors, None);
            device.destroy_fence(self.fence, None);
            device.destroy_command_pool(self.pool, None);
        }
    }
}
