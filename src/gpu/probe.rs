//! What each Vulkan device can do, and which of them the configuration
//! selects.
//!
//! [`select`] is pure so that the selection rules are unit-tested without
//! a device: `device_filter` narrows the devices by name, `devices` picks
//! by index among what is left, and then integrated and emulated devices
//! and those below Vulkan 1.3 are refused unless allowed, each with the
//! reason logged.

use std::fmt;

use ash::vk;
use serde::Serialize;

use super::error::{GpuResult, VkContext};
use super::instance::{version_string, Instance};
use crate::settings::GpuConfig;

/// The kind of device, as Vulkan reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Discrete,
    Integrated,
    Virtual,
    /// A software rasteriser on the CPU, such as llvmpipe (lavapipe).
    Emulated,
    Other,
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceKind::Discrete => "discrete",
            DeviceKind::Integrated => "integrated",
            DeviceKind::Virtual => "virtual",
            DeviceKind::Emulated => "emulated",
            DeviceKind::Other => "other",
        })
    }
}

/// One physical device's capabilities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    /// Position in Vulkan's enumeration.
    pub index: usize,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: DeviceKind,
    /// `major.minor.patch` of the device's API.
    pub vulkan_version: String,
    #[serde(skip)]
    pub api_version: u32,
    pub driver: String,
    pub subgroup_min: u32,
    pub subgroup_max: u32,
    /// `shaderFloat16`: f16 arithmetic in shaders.
    pub f16: bool,
    /// `shaderInt8`.
    pub int8: bool,
    /// The largest storage buffer one binding may cover.
    pub max_storage_buffer_range: u64,
    /// The largest single allocation.
    pub max_allocation: u64,
    pub max_shared_memory: u32,
    /// Device-local memory, largest heap, in MiB.
    pub memory_mb: u64,
    /// Whether some queue family supports compute.
    pub compute: bool,
}

impl DeviceInfo {
    /// Reads the properties of `device`.
    pub(crate) fn probe(
        instance: &Instance,
        index: usize,
        device: vk::PhysicalDevice,
    ) -> GpuResult<DeviceInfo> {
        let raw = &instance.raw;
        let mut subgroup = vk::PhysicalDeviceSubgroupProperties::default();
        let mut v13 = vk::PhysicalDeviceVulkan13Properties::default();
        let mut maintenance3 = vk::PhysicalDeviceMaintenance3Properties::default();
        let mut driver = vk::PhysicalDeviceDriverProperties::default();
        let mut properties = vk::PhysicalDeviceProperties2::default()
            .push_next(&mut subgroup)
            .push_next(&mut v13)
            .push_next(&mut maintenance3)
            .push_next(&mut driver);
        let mut v12 = vk::PhysicalDeviceVulkan12Features::default();
        let mut features = vk::PhysicalDeviceFeatures2::default().push_next(&mut v12);
        // SAFETY: `device` came from this instance's enumeration and the
        // chained structs outlive the calls.
        let (memory, families) = unsafe {
            raw.get_physical_device_properties2(device, &mut properties);
            raw.get_physical_device_features2(device, &mut features);
            (
                raw.get_physical_device_memory_properties(device),
                raw.get_physical_device_queue_family_properties(device),
            )
        };
        let base = properties.properties;
        let name = base
            .device_name_as_c_str()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|_| format!("device {index}"));
        let kind = match base.device_type {
            vk::PhysicalDeviceType::DISCRETE_GPU => DeviceKind::Discrete,
            vk::PhysicalDeviceType::INTEGRATED_GPU => DeviceKind::Integrated,
            vk::PhysicalDeviceType::VIRTUAL_GPU => DeviceKind::Virtual,
            vk::PhysicalDeviceType::CPU => DeviceKind::Emulated,
            _ => DeviceKind::Other,
        };
        let memory_mb = memory
            .memory_heaps_as_slice()
            .iter()
            .filter(|heap| heap.flags.contains(vk::MemoryHeapFlags::DEVICE_LOCAL))
            .map(|heap| heap.size)
            .max()
            .unwrap_or(0)
            / (1024 * 1024);
        let driver_name = driver
            .driver_info_as_c_str()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Older drivers may not fill the 1.3 sizes; fall back to the 1.1
        // subgroup size.
        let (subgroup_min, subgroup_max) = if v13.min_subgroup_size == 0 {
            (subgroup.subgroup_size, subgroup.subgroup_size)
        } else {
            (v13.min_subgroup_size, v13.max_subgroup_size)
        };
        Ok(DeviceInfo {
            index,
            name,
            kind,
            vulkan_version: version_string(base.api_version),
            api_version: base.api_version,
            driver: driver_name,
            subgroup_min,
            subgroup_max,
            f16: v12.shader_float16 == vk::TRUE,
            int8: v12.shader_int8 == vk::TRUE,
            max_storage_buffer_range: u64::from(base.limits.max_storage_buffer_range),
            max_allocation: maintenance3.max_memory_allocation_size,
            max_shared_memory: base.limits.max_compute_shared_memory_size,
            memory_mb,
            compute: families
                .iter()
                .any(|family| family.queue_flags.contains(vk::QueueFlags::COMPUTE)),
        })
    }
}

/// Every device Vulkan enumerates, with its handle.
pub(crate) fn enumerate(instance: &Instance) -> GpuResult<Vec<(vk::PhysicalDevice, DeviceInfo)>> {
    // SAFETY: the instance is alive for the call.
    let devices =
        unsafe { instance.raw.enumerate_physical_devices() }.call("vkEnumeratePhysicalDevices")?;
    devices
        .into_iter()
        .enumerate()
        .map(|(index, device)| Ok((device, DeviceInfo::probe(instance, index, device)?)))
        .collect()
}

/// The outcome of [`select`]: the chosen devices (indices into the list
/// passed in) and, for every other device, why not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub chosen: Vec<usize>,
    pub rejected: Vec<(usize, String)>,
}

impl Selection {
    /// One line naming each rejected device and the reason, for the log
    /// and for the fallback reason when nothing was chosen.
    pub fn rejections(&self, infos: &[DeviceInfo]) -> String {
        if infos.is_empty() {
            return "Vulkan reports no devices".to_owned();
        }
        self.rejected
            .iter()
            .map(|(i, why)| format!("{}: {why}", infos[*i].name))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Applies `gpu.device_filter`, `gpu.devices`, `allow_integrated` and
/// `allow_emulated` to the enumerated devices.
pub fn select(infos: &[DeviceInfo], config: &GpuConfig) -> Selection {
    let mut selection = Selection::default();
    let filtered: Vec<usize> = infos
        .iter()
        .enumerate()
        .filter_map(|(i, info)| {
            if config.accepts_device_name(&info.name) {
                Some(i)
            } else {
                selection.rejected.push((
                    i,
                    format!(
                        "name does not match device_filter {:?}",
                        config.device_filter
                    ),
                ));
                None
            }
        })
        .collect();
    let picked: Vec<usize> = match &config.devices {
        None => filtered,
        Some(indices) => {
            for (position, &i) in filtered.iter().enumerate() {
                if !indices.contains(&position) {
                    selection.rejected.push((
                        i,
                        format!("index {position} in the filtered list is not in gpu.devices"),
                    ));
                }
            }
            indices
                .iter()
                .filter_map(|&position| filtered.get(position).copied())
                .collect()
        }
    };
    for i in picked {
        let info = &infos[i];
        let refusal = if info.api_version < vk::API_VERSION_1_3 {
            Some(format!("Vulkan {} is below 1.3", info.vulkan_version))
        } else if !info.compute {
            Some("no compute queue".to_owned())
        } else if info.kind == DeviceKind::Integrated && !config.allow_integrated {
            Some("integrated GPU (set gpu.allow_integrated to use it)".to_owned())
        } else if info.kind == DeviceKind::Emulated && !config.allow_emulated {
            Some("software-emulated device (set gpu.allow_emulated to use it)".to_owned())
        } else {
            None
        };
        match refusal {
            Some(why) => selection.rejected.push((i, why)),
            None => selection.chosen.push(i),
        }
    }
    selection.rejected.sort_by_key(|(i, _)| *i);
    selection
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(index: usize, name: &str, kind: DeviceKind) -> DeviceInfo {
        DeviceInfo {
            index,
            name: name.to_owned(),
            kind,
            vulkan_version: "1.3.0".to_owned(),
            api_version: vk::API_VERSION_1_3,
            driver: String::new(),
            subgroup_min: 32,
            subgroup_max: 32,
            f16: true,
            int8: true,
            max_storage_buffer_range: 1 << 32,
            max_allocation: 1 << 32,
            max_shared_memory: 48 << 10,
            memory_mb: 24_000,
            compute: true,
        }
    }

    fn machine() -> Vec<DeviceInfo> {
        vec![
            device(0, "NVIDIA GeForce RTX 4090", DeviceKind::Discrete),
            device(
                1,
                "AMD Radeon Graphics (RADV GFX1103_R1)",
                DeviceKind::Integrated,
            ),
            device(2, "llvmpipe (LLVM 15.0.6, 256 bits)", DeviceKind::Emulated),
            device(3, "NVIDIA RTX A6000", DeviceKind::Discrete),
        ]
    }

    #[test]
    fn default_config_takes_discrete_devices_only() {
        let selection = select(&machine(), &GpuConfig::default());
        assert_eq!(selection.chosen, vec![0, 3]);
        let reasons: Vec<_> = selection.rejected.iter().map(|(i, _)| *i).collect();
        assert_eq!(reasons, vec![1, 2]);
        assert!(selection.rejected[0].1.contains("allow_integrated"));
        assert!(selection.rejected[1].1.contains("allow_emulated"));
    }

    #[test]
    fn filter_is_case_insensitive_and_comma_separated() {
        let config = GpuConfig {
            device_filter: "rtx a6000, LLVMPIPE".to_owned(),
            allow_emulated: true,
            ..GpuConfig::default()
        };
        assert_eq!(select(&machine(), &config).chosen, vec![2, 3]);
    }

    #[test]
    fn devices_index_the_filtered_list() {
        let config = GpuConfig {
            device_filter: "nvidia".to_owned(),
            devices: Some(vec![1]),
            ..GpuConfig::default()
        };
        let selection = select(&machine(), &config);
        assert_eq!(selection.chosen, vec![3]);
        assert!(selection
            .rejected
            .iter()
            .any(|(i, why)| *i == 0 && why.contains("gpu.devices")));
        // An index past the filtered list selects nothing rather than wrapping.
        let config = GpuConfig {
            device_filter: "nvidia".to_owned(),
            devices: Some(vec![5]),
            ..GpuConfig::default()
        };
        assert!(select(&machine(), &config).chosen.is_empty());
    }

    #[test]
    fn old_api_and_missing_compute_are_refused() {
        let mut old = device(0, "Old GPU", DeviceKind::Discrete);
        old.api_version = vk::API_VERSION_1_2;
        old.vulkan_version = "1.2.0".to_owned();
        let mut display = device(1, "Display only", DeviceKind::Discrete);
        display.compute = false;
        let selection = select(&[old, display], &GpuConfig::default());
        assert!(selection.chosen.is_empty());
        assert!(selection.rejected[0].1.contains("below 1.3"));
        assert!(selection.rejected[1].1.contains("compute"));
    }

    #[test]
    fn integrated_devices_need_the_switch() {
        let config = GpuConfig {
            allow_integrated: true,
            ..GpuConfig::default()
        };
        assert_eq!(select(&machine(), &config).chosen, vec![0, 1, 3]);
    }
}
