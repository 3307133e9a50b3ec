//! Why a GPU step failed. Every variant ends in the same place, a CPU
//! build of the segment; the variant decides what happens to the device
//! afterwards (see [`GpuError::loses_device`]).

use ash::vk;

#[derive(Debug, Clone, thiserror::Error)]
pub enum GpuError {
    /// No Vulkan loader (`libvulkan.so.1`) could be opened.
    #[error("no Vulkan loader: {0}")]
    NoLoader(String),
    /// The loader works but no device passed the configured selection.
    #[error("no usable Vulkan device: {0}")]
    NoDevice(String),
    /// The device lacks something a build needs.
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("out of GPU memory: {0}")]
    OutOfMemory(String),
    /// `VK_ERROR_DEVICE_LOST`: the device must be recreated.
    #[error("device lost during {0}")]
    DeviceLost(String),
    /// A submission did not finish within its bound.
    #[error("timed out after {seconds} s waiting for {what}")]
    Timeout { what: String, seconds: u64 },
    /// Every device was busy for longer than the wait bound.
    #[error("every GPU stayed busy for {0} s")]
    Busy(u64),
    #[error("memory allocator: {0}")]
    Allocator(String),
    /// A failure injected by `VECFORGE_TEST_GPU_FAULT`.
    #[error("injected fault at {0}")]
    Injected(&'static str),
    #[error("{call} failed: {result}")]
    Vulkan {
        call: &'static str,
        result: vk::Result,
    },
}

impl GpuError {
    /// Maps a failed Vulkan call; out-of-memory and device loss get their
    /// own variants because they are handled differently.
    pub(crate) fn vk(call: &'static str, result: vk::Result) -> Self {
        match result {
            vk::Result::ERROR_OUT_OF_DEVICE_MEMORY | vk::Result::ERROR_OUT_OF_HOST_MEMORY => {
                GpuError::OutOfMemory(format!("{call}: {result}"))
            }
            vk::Result::ERROR_DEVICE_LOST => GpuError::DeviceLost(call.to_owned()),
            result => GpuError::Vulkan { call, result },
        }
    }

    /// Whether the device that raised this cannot be used again and must be
    /// recreated before the next build.
    pub fn loses_device(&self) -> bool {
        matches!(self, GpuError::DeviceLost(_) | GpuError::Timeout { .. })
    }
}

impl From<gpu_allocator::AllocationError> for GpuError {
    fn from(error: gpu_allocator::AllocationError) -> Self {
        match error {
            gpu_allocator::AllocationError::OutOfMemory => {
                GpuError::OutOfMemory("allocator".to_owned())
            }
            gpu_allocator::AllocationError::NoCompatibleMemoryTypeFound => {
                GpuError::Unsupported("no compatible memory type".to_owned())
            }
            other => GpuError::Allocator(other.to_string()),
        }
    }
}

/// Shorthand for the results of this module.
pub type GpuResult<T> = Result<T, GpuError>;

/// Adds the call's name to a raw Vulkan result.
pub(crate) trait VkContext<T> {
    fn call(self, call: &'static str) -> GpuResult<T>;
}

impl<T> VkContext<T> for Result<T, vk::Result> {
    fn call(self, call: &'static str) -> GpuResult<T> {
        self.map_err(|result| GpuError::vk(call, result))
    }
}
