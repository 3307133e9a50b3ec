//! HNSW builds on the GPU, with the CPU as the fallback.
//!
//! [`GpuIndexer`] is the [`GraphBuilder`] the optimizer uses when
//! `gpu.indexing` is on. It owns the Vulkan devices the `gpu` settings
//! select and hands each build a free queue, waiting at most
//! [`BUSY_WAIT`] for one. Any GPU failure — no loader, no device, init,
//! out of memory, device lost, timeout, or a segment too large for the
//! device — logs one warning with the reason, counts a fallback, and builds
//! that segment on the CPU; a lost device is dropped and created again for
//! the next build. [`GpuCounters`] is what `GET /telemetry` reports.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::Serialize;

/// One device in telemetry.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TelemetryDevice {
    pub index: usize,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub vulkan_version: String,
    pub f16: bool,
    pub memory_mb: u64,
}

/// `result.gpu` of `GET /telemetry`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct GpuTelemetry {
    /// The devices in use (empty when GPU indexing is off or unusable).
    pub devices: Vec<TelemetryDevice>,
    pub builds_on_gpu: u64,
    pub builds_fell_back: u64,
    pub last_fallback_reason: Option<String>,
}

/// Counters shared by the indexer and the API.
#[derive(Debug, Default)]
pub struct GpuCounters {
    builds_on_gpu: AtomicU64,
    builds_fell_back: AtomicU64,
    last_fallback_reason: Mutex<Option<String>>,
    devices: Mutex<Vec<TelemetryDevice>>,
}

impl GpuCounters {
    pub fn snapshot(&self) -> GpuTelemetry {
        GpuTelemetry {
            devices: self.devices.lock().clone(),
            builds_on_gpu: self.builds_on_gpu.load(Ordering::Relaxed),
            builds_fell_back: self.builds_fell_back.load(Ordering::Relaxed),
            last_fallback_reason: self.last_fallback_reason.lock().clone(),
        }
    }

    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    fn on_gpu(&self) {
        self.builds_on_gpu.fetch_add(1, Ordering::Relaxed);
    }

    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    fn fell_back(&self, reason: String) {
        self.builds_fell_back.fetch_add(1, Ordering::Relaxed);
        *self.last_fallback_reason.lock() = Some(reason);
    }
}

#[cfg(feature = "gpu")]
pub use with_gpu::{GpuIndexer, BUSY_WAIT, MAX_BUILD_BYTES};

#[cfg(feature = "gpu")]
mod with_gpu {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use parking_lot::{Condvar, Mutex};

    use super::{GpuCounters, TelemetryDevice};
    use crate::gpu::{fault, Device, Gpu, GpuError, Instance};
    use crate::index::distance::Distance;
    use crate::index::hnsw::gpu_builder::{build_on_gpu, GpuBuildError, GpuBuildOptions};
    use crate::index::hnsw::{
        CpuBuilder, GraphBuilder, HnswGraph, HnswParams, IndexError, VectorSource,
    };
    use crate::segment::point_id::PointOffset;
    use crate::settings::GpuConfig;

    /// The most vector data one GPU build takes, whatever the device holds.
    pub const MAX_BUILD_BYTES: u64 = 16 << 30;
    /// How long a build waits for a free GPU queue before using the CPU.
    pub const BUSY_WAIT: Duration = Duration::from_secs(60);
    /// Bound on one GPU submission; past it the device counts as hung.
    const SUBMIT_TIMEOUT: Duration = Duration::from_secs(300);

    #[derive(Default)]
    pub(super) struct Devices {
        /// `None` before the first open and after a device was lost.
        pub(super) gpu: Option<Gpu>,
        /// Which queues of each device of `gpu` a build holds.
        in_use: Vec<Vec<bool>>,
        /// Counts the opens of `gpu`, so that a lease taken on a device set
        /// that has since been re-created frees nothing in the new one.
        generation: u64,
    }

    /// Builds graphs on the GPU, falling back to the CPU.
    pub struct GpuIndexer {
        config: GpuConfig,
        validation: bool,
        pub(super) devices: Mutex<Devices>,
        freed: Condvar,
        counters: Arc<GpuCounters>,
        pub(super) busy_wait: Duration,
    }

    impl std::fmt::Debug for GpuIndexer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("GpuIndexer")
                .field("config", &self.config)
                .finish_non_exhaustive()
        }
    }

    /// A device slot held for one build.
    pub(super) struct Lease<'a> {
        indexer: &'a GpuIndexer,
        pub(super) generation: u64,
        pub(super) slot: usize,
        /// The queue this build submits to.
        pub(super) queue: usize,
        device: Device,
    }

    impl Drop for Lease<'_> {
        fn drop(&mut self) {
            let mut devices = self.indexer.devices.lock();
            if devices.generation == self.generation {
                if let Some(held) = devices
                    .in_use
                    .get_mut(self.slot)
                    .and_then(|queues| queues.get_mut(self.queue))
                {
                    *held = false;
                }
            }
            self.indexer.freed.notify_all();
        }
    }

    impl GpuIndexer {
        /// Opens the devices now, so that the start-up log says which GPU
        /// was found and used or why the CPU will build instead.
        pub fn start(config: &GpuConfig, counters: Arc<GpuCounters>) -> GpuIndexer {
            let indexer = GpuIndexer {
                config: config.clone(),
                validation: Instance::validation_requested(),
                devices: Mutex::new(Devices::default()),
                freed: Condvar::new(),
                counters,
                busy_wait: BUSY_WAIT,
            };
            let mut devices = indexer.devices.lock();
            if let Err(error) = indexer.open(&mut devices) {
                tracing::warn!("GPU indexing is on but no GPU can be used ({error}); HNSW graphs will be built on the CPU");
            }
            drop(devices);
            indexer
        }

        fn open(&self, devices: &mut Devices) -> Result<(), GpuError> {
            let gpu = Gpu::open(&self.config, self.validation)?;
            *self.counters.devices.lock() = gpu
                .devices
                .iter()
                .map(|device| {
                    let info = device.info();
                    TelemetryDevice {
                        index: info.index,
                        name: info.name.clone(),
                        kind: info.kind.to_string(),
                        vulkan_version: info.vulkan_version.clone(),
                        f16: info.f16,
                        memory_mb: info.memory_mb,
                    }
                })
                .collect();
            devices.in_use = gpu
                .devices
                .iter()
                .map(|device| vec![false; device.queue_count()])
                .collect();
            devices.generation += 1;
            devices.gpu = Some(gpu);
            Ok(())
        }

        /// A free queue on some device, opening (or re-creating) the devices
        /// first if needed; waits at most `busy_wait`.
        pub(super) fn lease(&self) -> Result<Lease<'_>, GpuError> {
            let deadline = Instant::now() + self.busy_wait;
            let mut devices = self.devices.lock();
            loop {
                let lost = devices
                    .gpu
                    .as_ref()
                    .is_some_and(|gpu| gpu.devices.iter().any(Device::is_lost));
                if lost {
                    tracing::info!("re-creating the GPU devices after a device was lost");
                    devices.gpu = None;
                }
                if devices.gpu.is_none() {
                    self.counters.devices.lock().clear();
                    self.open(&mut devices)?;
                }
                if let Err(error) = fault::at(fault::Point::Init) {
                    devices.gpu = None;
                    return Err(error);
                }
                let gpu = devices.gpu.as_ref().expect("opened above");
                let free = devices
                    .in_use
                    .iter()
                    .enumerate()
                    .find_map(|(slot, queues)| {
                        let queue = queues.iter().position(|held| !held)?;
                        Some((slot, queue))
                    });
                if let Some((slot, queue)) = free {
                    let device = gpu.devices[slot].clone();
                    devices.in_use[slot][queue] = true;
                    return Ok(Lease {
                        indexer: self,
                        generation: devices.generation,
                        slot,
                        queue,
                        device,
                    });
                }
                if self.freed.wait_until(&mut devices, deadline).timed_out() {
                    return Err(GpuError::Busy(self.busy_wait.as_secs()));
                }
            }
        }

        #[allow(clippy::too_many_arguments)]
        fn try_gpu(
            &self,
            vectors: &dyn VectorSource,
            distance: Distance,
            params: &HnswParams,
            indexed: &(dyn Fn(PointOffset) -> bool + Sync),
            cancel: &AtomicBool,
            progress: &dyn Fn(usize),
        ) -> Result<HnswGraph, GpuBuildError> {
            let lease = self.lease()?;
            let info = lease.device.info();
            let element_bytes = if self.config.force_half_precision {
                2
            } else {
                4
            };
            let bytes = vectors.len() as u64 * vectors.dim() as u64 * element_bytes;
            let limit = MAX_BUILD_BYTES.min(info.memory_mb << 20);
            if bytes > limit {
                return Err(GpuError::Unsupported(format!(
                    "{bytes} bytes of vectors exceed the {limit}-byte limit of a build on {}",
                    info.name
                ))
                .into());
            }
            let options = GpuBuildOptions {
                groups: self.config.groups_count,
                half_precision: self.config.force_half_precision,
                queue: lease.queue,
                timeout: SUBMIT_TIMEOUT,
                ..GpuBuildOptions::default()
            };
            let (graph, _) = build_on_gpu(
                &lease.device,
                &options,
                vectors,
                distance,
                params,
                indexed,
                cancel,
                progress,
            )?;
            Ok(graph)
        }
    }

    impl GraphBuilder for GpuIndexer {
        fn build(
            &self,
            vectors: &dyn VectorSource,
            distance: Distance,
            params: &HnswParams,
            indexed: &(dyn Fn(PointOffset) -> bool + Sync),
            cancel: &AtomicBool,
            progress: &dyn Fn(usize),
        ) -> Result<HnswGraph, IndexError> {
            match self.try_gpu(vectors, distance, params, indexed, cancel, progress) {
                Ok(graph) => {
                    self.counters.on_gpu();
                    Ok(graph)
                }
                Err(GpuBuildError::Index(error)) => Err(error),
                Err(GpuBuildError::Gpu(error)) => {
                    let reason = error.to_string();
                    tracing::warn!(
                        points = vectors.len(),
                        "GPU build failed, building on the CPU instead: {reason}"
                    );
                    if error.loses_device() {
                        // The next lease sees the lost flag and re-creates;
                        // an injected loss never touched the real device.
                        self.devices.lock().gpu = None;
                    }
                    self.counters.fell_back(reason);
                    CpuBuilder.build(vectors, distance, params, indexed, cancel, progress)
                }
            }
        }

        fn builds_payload_groups(&self) -> bool {
            true
        }

        fn max_build_bytes(&self) -> Option<u64> {
            let devices = self.devices.lock();
            let device_limit = devices
                .gpu
                .as_ref()
                .and_then(|gpu| gpu.devices.iter().map(|d| d.info().memory_mb << 20).min());
            Some(device_limit.map_or(MAX_BUILD_BYTES, |d| d.min(MAX_BUILD_BYTES)))
        }
    }
}

#[cfg(all(test, feature = "gpu"))]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::gpu::GpuError;
    use crate::index::distance::Distance;
    use crate::index::hnsw::{CpuBuilder, DenseVectors, GraphBuilder, HnswParams};
    use crate::settings::GpuConfig;

    fn rows(n: usize, dim: usize) -> Vec<f32> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..n * dim)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    /// GPU indexing on the first device of any kind (llvmpipe here).
    fn any_device() -> GpuConfig {
        GpuConfig {
            indexing: true,
            allow_emulated: true,
            allow_integrated: true,
            devices: Some(vec![0]),
            ..GpuConfig::default()
        }
    }

    fn params() -> HnswParams {
        HnswParams {
            max_threads: 1,
            ..HnswParams::new(8, 32)
        }
    }

    /// With no device to use (none matches the filter, or no Vulkan at all)
    /// a build is the CPU's, counted as a fallback with the reason.
    #[test]
    fn no_usable_device_builds_on_the_cpu() {
        let counters = Arc::new(GpuCounters::default());
        let config = GpuConfig {
            indexing: true,
            device_filter: "no-such-device".to_owned(),
            ..GpuConfig::default()
        };
        let indexer = GpuIndexer::start(&config, counters.clone());
        let data = rows(300, 8);
        let vectors = DenseVectors::new(&data, 8);
        let cancel = AtomicBool::new(false);
        let built = indexer
            .build(
                &vectors,
                Distance::Euclid,
                &params(),
                &|_| true,
                &cancel,
                &|_| {},
            )
            .expect("fallback build");
        let cpu = CpuBuilder
            .build(
                &vectors,
                Distance::Euclid,
                &params(),
                &|_| true,
                &cancel,
                &|_| {},
            )
            .unwrap();
        assert!(built == cpu, "the fallback is the CPU build");
        let seen = counters.snapshot();
        assert_eq!((seen.builds_on_gpu, seen.builds_fell_back), (0, 1));
        assert!(seen.devices.is_empty());
        let reason = seen.last_fallback_reason.expect("a reason");
        assert!(
            reason.contains("no usable Vulkan device") || reason.contains("no Vulkan loader"),
            "{reason}"
        );
    }

    /// An indexer on the test device that waits only 200 ms for a queue,
    /// and the number of queues of its first device; `None` without one.
    fn leasing_indexer() -> Option<(GpuIndexer, usize)> {
        drop(crate::gpu::tests::test_gpu()?);
        let mut indexer = GpuIndexer::start(&any_device(), Arc::new(GpuCounters::default()));
        indexer.busy_wait = Duration::from_millis(200);
        let queues = indexer.devices.lock().gpu.as_ref().expect("opened").devices[0].queue_count();
        Some((indexer, queues))
    }

    /// A build waits a bounded time for a busy device, then uses the CPU.
    #[test]
    fn busy_devices_are_waited_for_a_bounded_time() {
        let Some((indexer, queues)) = leasing_indexer() else {
            return;
        };
        let held: Vec<_> = (0..queues)
            .map(|_| indexer.lease().expect("a free queue"))
            .collect();
        match indexer.lease() {
            Err(GpuError::Busy(_)) => {}
            other => panic!("expected Busy, got {:?}", other.map(|_| ())),
        }
        drop(held);
        assert!(indexer.lease().is_ok(), "a released queue is leased again");
    }

    /// Queues are handed out by which are free, not by how many are: a
    /// queue released out of order is the one leased next; and a lease
    /// taken before the devices were re-created frees nothing in the new
    /// set when it ends.
    #[test]
    fn leases_track_queues_and_device_generations() {
        let Some((indexer, queues)) = leasing_indexer() else {
            return;
        };
        let mut held: Vec<_> = (0..queues)
            .map(|_| indexer.lease().expect("a free queue"))
            .collect();
        let released = held.remove(0);
        let (slot, queue) = (released.slot, released.queue);
        drop(released);
        let again = indexer.lease().expect("the released queue");
        assert_eq!((again.slot, again.queue), (slot, queue));
        drop(again);
        drop(held);

        // Re-create the devices while an old lease is alive.
        let old = indexer.lease().expect("a queue");
        indexer.devices.lock().gpu = None;
        let new: Vec<_> = (0..queues)
            .map(|_| indexer.lease().expect("a queue of the new devices"))
            .collect();
        assert!(new
            .iter()
            .all(|lease| lease.generation == old.generation + 1));
        drop(old);
        match indexer.lease() {
            Err(GpuError::Busy(_)) => {}
            other => panic!(
                "the old lease freed a queue of the new devices: {:?}",
                other.map(|l| (l.slot, l.queue))
            ),
        }
        drop(new);
        assert!(indexer.lease().is_ok());
    }

    /// Payload groups of at least `OFFLOAD_MIN_GROUP` points get their
    /// sub-graph from the GPU; smaller ones stay on the CPU.
    #[test]
    fn large_payload_groups_are_built_on_the_gpu() {
        use crate::index::hnsw::{add_payload_links_with, OFFLOAD_MIN_GROUP};
        use crate::segment::point_id::PointOffset;

        let Some(gpu) = crate::gpu::tests::test_gpu() else {
            return;
        };
        drop(gpu);
        let config = any_device();
        let counters = Arc::new(GpuCounters::default());
        let indexer = GpuIndexer::start(&config, counters.clone());
        let n = 2 * OFFLOAD_MIN_GROUP + 800;
        let data = rows(n, 16);
        let vectors = DenseVectors::new(&data, 16);
        let cancel = AtomicBool::new(false);
        let graph = CpuBuilder
            .build(
                &vectors,
                Distance::Euclid,
                &params(),
                &|_| true,
                &cancel,
                &|_| {},
            )
            .unwrap();
        let large: Vec<PointOffset> = (0..n as u32)
            .filter(|i| i % 2 == 0)
            .map(PointOffset)
            .collect();
        let small: Vec<PointOffset> = (0..n as u32)
            .filter(|i| i % 6 == 1)
            .map(PointOffset)
            .collect();
        assert!(large.len() >= OFFLOAD_MIN_GROUP && small.len() < OFFLOAD_MIN_GROUP);
        let linked = add_payload_links_with(
            &graph,
            &vectors,
            Distance::Euclid,
            &[large.clone(), small.clone()],
            8,
            32,
            1,
            &cancel,
            Some(&indexer),
        )
        .expect("payload links");
        let seen = counters.snapshot();
        assert_eq!(
            (seen.builds_on_gpu, seen.builds_fell_back),
            (1, 0),
            "{seen:?}"
        );
        for (group, other) in [(&large, &small), (&small, &large)] {
            let members: std::collections::HashSet<u32> = group.iter().map(|o| o.0).collect();
            let strangers: std::collections::HashSet<u32> = other.iter().map(|o| o.0).collect();
            let without = group
                .iter()
                .filter(|&&o| linked.payload_links(o).next().is_none())
                .count();
            assert!(
                without * 20 <= group.len(),
                "{without} of {} members got no payload links",
                group.len()
            );
            for &o in group {
                for link in linked.payload_links(o) {
                    assert!(
                        members.contains(&link.0) && !strangers.contains(&link.0),
                        "{o:?} links outside its group"
                    );
                }
            }
        }
    }
}
