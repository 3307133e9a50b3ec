//! `gpu`: whether and where HNSW graphs are built on a Vulkan device.
//!
//! Parsed and validated now so that a typo fails at start-up rather than at
//! the first optimization; the GPU layer reads this struct when it exists.
//! Device selection happens in two steps: `device_filter` narrows the
//! enumerated devices by name, then `devices` picks by index among what is
//! left.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::SettingsError;

/// What a `devices` error says the value should have been.
const EXPECTED_DEVICES: &str = "a list of device indices such as [0, 1], \"0,1\", or null";

/// GPU indexing switches and device selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GpuConfig {
    /// Build HNSW graphs on the GPU. A GPU failure never fails an
    /// optimization: the build falls back to the CPU.
    pub indexing: bool,
    /// Convert `f32` vectors to `f16` inside GPU memory while building;
    /// stored vectors are unchanged.
    pub force_half_precision: bool,
    /// Points inserted in parallel per build step (Vulkan work groups).
    /// The best value depends on the device.
    pub groups_count: usize,
    /// Comma-separated, case-insensitive substrings; a device is used if its
    /// name contains any of them. Empty accepts every device.
    pub device_filter: String,
    /// Indices into the filtered device list; `None` uses them all.
    #[serde(deserialize_with = "devices")]
    pub devices: Option<Vec<usize>>,
    /// Indexes built on the GPU at the same time.
    pub parallel_indexes: usize,
    /// Accept integrated GPUs, which share memory with the CPU.
    pub allow_integrated: bool,
    /// Accept software-emulated devices such as llvmpipe; useful for tests,
    /// slower than the CPU path in production.
    pub allow_emulated: bool,
}

impl Default for GpuConfig {
    fn default() -> Self {
        GpuConfig {
            indexing: false,
            force_half_precision: false,
            groups_count: 512,
            device_filter: String::new(),
            devices: None,
            parallel_indexes: 1,
            allow_integrated: false,
            allow_emulated: false,
        }
    }
}

impl GpuConfig {
    /// The `device_filter` patterns, lower-cased, blanks dropped. Empty means
    /// every device matches.
    pub fn device_filters(&self) -> Vec<String> {
        self.device_filter
            .split(',')
            .map(|pattern| pattern.trim().to_lowercase())
            .filter(|pattern| !pattern.is_empty())
            .collect()
    }

    /// Whether a device called `name` passes `device_filter`.
    pub fn accepts_device_name(&self, name: &str) -> bool {
        let filters = self.device_filters();
        let name = name.to_lowercase();
        filters.is_empty() || filters.iter().any(|pattern| name.contains(pattern))
    }

    /// Checks the rules serde cannot express; keys are reported under `prefix`.
    pub(crate) fn validate(&self, prefix: &str) -> Result<(), SettingsError> {
        if self.groups_count == 0 {
            return Err(SettingsError::invalid(
                format!("{prefix}.groups_count"),
                "must be at least 1",
            ));
        }
        if self.parallel_indexes == 0 {
            return Err(SettingsError::invalid(
                format!("{prefix}.parallel_indexes"),
                "must be at least 1",
            ));
        }
        if let Some(devices) = &self.devices {
            if devices.is_empty() {
                return Err(SettingsError::invalid(
                    format!("{prefix}.devices"),
                    "must list at least one device index, or be null to use every device",
                ));
            }
            let mut seen = BTreeSet::new();
            if let Some(dup) = devices.iter().find(|index| !seen.insert(**index)) {
                return Err(SettingsError::invalid(
                    format!("{prefix}.devices"),
                    format!("device index {dup} is listed twice"),
                ));
            }
        }
        Ok(())
    }
}

/// Deserializes `devices` from a list, a single index, or a comma-separated
/// string: an environment variable can only carry the last two. Null means
/// "every device".
fn devices<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<usize>>, D::Error> {
    deserializer.deserialize_any(DevicesVisitor)
}

struct DevicesVisitor;

impl<'de> Visitor<'de> for DevicesVisitor {
    type Value = Option<Vec<usize>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED_DEVICES)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        usize::try_from(v)
            .map(|index| Some(vec![index]))
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        usize::try_from(v)
            .map(|index| Some(vec![index]))
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        v.split(',')
            .map(|part| part.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
            .map_err(|_| {
                E::custom(format_args!(
                    "invalid value {v:?}, expected {EXPECTED_DEVICES}"
                ))
            })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut indices = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(index) = seq.next_element::<usize>()? {
            indices.push(index);
        }
        Ok(Some(indices))
    }
}
