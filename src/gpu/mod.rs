//! Vulkan 1.3 compute: the only module that touches `ash` and the only one
//! with Vulkan `unsafe` (each block says why it is sound).
//!
//! In data-flow order: [`instance`] opens the loader at run time and
//! creates the instance (with the validation layer on request); [`probe`]
//! reads each device's capabilities and applies the `gpu` configuration;
//! [`device`] creates logical devices, memory, buffers, kernels and the
//! streams that submit work with a bounded wait; [`rows`] lays vectors out
//! for the kernels, whose SPIR-V [`shaders`] holds.
//!
//! The engine above sees [`Gpu`] (the devices this configuration uses) and
//! [`GpuError`]; every failure is a value, and callers fall back to the CPU.

pub mod device;
pub mod error;
pub mod instance;
pub mod probe;
pub mod rows;
pub mod shaders;

#[cfg(test)]
pub(crate) mod tests;

use std::sync::Arc;

pub use device::{Buffer, Device, Kernel, Stream};
pub use error::{GpuError, GpuResult};
pub use gpu_allocator::MemoryLocation;
pub use instance::Instance;
pub use probe::{select, DeviceInfo, DeviceKind, Selection};
pub use rows::Rows;
pub use shaders::{Element, KernelKind, ShaderMetric};

use crate::settings::GpuConfig;

/// The Vulkan devices one configuration selects, opened.
#[derive(Debug)]
pub struct Gpu {
    pub instance: Arc<Instance>,
    /// Every device Vulkan reported.
    pub seen: Vec<DeviceInfo>,
    pub selection: Selection,
    pub devices: Vec<Device>,
}

impl Gpu {
    /// Opens the loader, logs `Found GPU device: <name>` for every device
    /// and `Create GPU device <name>` for each selected one, and creates
    /// those. Fails if none is left.
    pub fn open(config: &GpuConfig, validation: bool) -> GpuResult<Gpu> {
        let instance = Instance::new(validation)?;
        let found = probe::enumerate(&instance)?;
        for (_, info) in &found {
            tracing::info!(
                kind = %info.kind,
                vulkan = %info.vulkan_version,
                memory_mb = info.memory_mb,
                "Found GPU device: {}",
                info.name
            );
        }
        let seen: Vec<DeviceInfo> = found.iter().map(|(_, info)| info.clone()).collect();
        let selection = select(&seen, config);
        for (i, why) in &selection.rejected {
            tracing::info!("Skip GPU device {}: {why}", seen[*i].name);
        }
        if selection.chosen.is_empty() {
            return Err(GpuError::NoDevice(selection.rejections(&seen)));
        }
        let mut devices = Vec::new();
        for &i in &selection.chosen {
            let (physical, info) = &found[i];
            tracing::info!("Create GPU device {}", info.name);
            devices.push(Device::new(
                instance.clone(),
                *physical,
                info.clone(),
                config.parallel_indexes,
            )?);
        }
        Ok(Gpu {
            instance,
            seen,
            selection,
            devices,
        })
    }

    /// The probe only: every device and the selection, without creating
    /// logical devices (`vecforge gpu-info`).
    pub fn probe(config: &GpuConfig) -> GpuResult<(Vec<DeviceInfo>, Selection)> {
        let instance = Instance::new(false)?;
        let seen: Vec<DeviceInfo> = probe::enumerate(&instance)?
            .into_iter()
            .map(|(_, info)| info)
            .collect();
        let selection = select(&seen, config);
        Ok((seen, selection))
    }
}

/// The test-only fault switch: `VECFORGE_TEST_GPU_FAULT=<point>` makes the
/// first pass through that point fail (once per process), so tests can
/// check that every failure ends in a CPU build and that the next build is
/// back on the GPU. Points: `init`, `upload`, `build`, `lost`.
pub mod fault {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::GpuError;

    pub const ENV: &str = "VECFORGE_TEST_GPU_FAULT";

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Point {
        Init,
        Upload,
        Build,
        /// Mid-build, reported as `VK_ERROR_DEVICE_LOST`.
        Lost,
    }

    impl Point {
        fn name(self) -> &'static str {
            match self {
                Point::Init => "init",
                Point::Upload => "upload",
                Point::Build => "build",
                Point::Lost => "lost",
            }
        }
    }

    static FIRED: AtomicBool = AtomicBool::new(false);

    /// Fails once if the switch names `point`.
    pub fn at(point: Point) -> Result<(), GpuError> {
        let Ok(wanted) = std::env::var(ENV) else {
            return Ok(());
        };
        if wanted != point.name() || FIRED.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        tracing::warn!("{ENV}: injecting a GPU failure at {}", point.name());
        Err(match point {
            Point::Lost => GpuError::DeviceLost("injected".to_owned()),
            other => GpuError::Injected(other.name()),
        })
    }
}
