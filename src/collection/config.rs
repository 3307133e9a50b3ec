//! A collection's persisted configuration (`config.json`) and the partial
//! "diff" forms that create and `PATCH` requests carry.
//!
//! The serialised shape is Qdrant's collection info `config` object: the
//! official clients parse it with models that reject unknown fields, so only
//! documented fields are written, and optional ones are skipped when unset.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::index::distance::Distance;
use crate::segment::payload_index::FieldSchema;
use crate::segment::{VectorDatatype, VectorSpec};

/// Largest vector dimension a collection accepts.
pub const MAX_VECTOR_SIZE: u64 = 65536;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datatype {
    Float32,
    Float16,
    Uint8,
}

/// Parameters of one vector space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorParams {
    pub size: u64,
    pub distance: Distance,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hnsw_config: Option<HnswConfigDiff>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization_config: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_disk: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datatype: Option<Datatype>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multivector_config: Option<serde_json::Value>,
}

/// One unnamed vector, or a map of named ones.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum VectorsConfig {
    Single(Box<VectorParams>),
    Multi(BTreeMap<String, VectorParams>),
}

/// Dispatches on the shape (an object with `size` is one unnamed vector)
/// so that errors name the field at fault instead of "no variant matched".
impl<'de> Deserialize<'de> for VectorsConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let located = |e: serde_path_to_error::Error<serde_json::Error>| {
            let path = e.path().to_string();
            D::Error::custom(format!("{path}: {}", e.into_inner()))
        };
        let Some(map) = value.as_object() else {
            return Err(D::Error::custom(
                "expected vector params or a map of named vector params",
            ));
        };
        if map.contains_key("size") || map.contains_key("distance") {
            return serde_path_to_error::deserialize(value)
                .map(VectorsConfig::Single)
                .map_err(located);
        }
        serde_path_to_error::deserialize(value)
            .map(VectorsConfig::Multi)
            .map_err(located)
    }
}

impl VectorsConfig {
    /// Vector spaces by name; the unnamed vector is `""`.
    pub fn params(&self) -> BTreeMap<String, &VectorParams> {
        match self {
            VectorsConfig::Single(p) => BTreeMap::from([(String::new(), &**p)]),
            VectorsConfig::Multi(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&VectorParams> {
        match self {
            VectorsConfig::Single(p) if name.is_empty() => Some(&**p),
            VectorsConfig::Single(_) => None,
            VectorsConfig::Multi(map) => map.get(name),
        }
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut VectorParams> {
        match self {
            VectorsConfig::Single(p) if name.is_empty() => Some(&mut **p),
            VectorsConfig::Single(_) => None,
            VectorsConfig::Multi(map) => map.get_mut(name),
        }
    }

    pub fn specs(&self) -> BTreeMap<String, VectorSpec> {
        self.params()
            .into_iter()
            .map(|(name, p)| {
                (
                    name,
                    VectorSpec {
                        dim: p.size as usize,
                        distance: p.distance,
                        datatype: match p.datatype {
                            Some(Datatype::Float16) => VectorDatatype::Float16,
                            // `validate` rejects uint8 before a collection
                            // is created.
                            Some(Datatype::Float32 | Datatype::Uint8) | None => {
                                VectorDatatype::Float32
                            }
                        },
                    },
                )
            })
            .collect()
    }

    /// Checks sizes; returns the offending field path and why.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (name, p) in self.params() {
            let field = if name.is_empty() {
                "vectors.size".to_string()
            } else {
                format!("vectors.{name}.size")
            };
            if p.size == 0 || p.size > MAX_VECTOR_SIZE {
                return Err((
                    field,
                    format!(
                        "value {} invalid, must be from 1 to {MAX_VECTOR_SIZE}",
                        p.size
                    ),
                ));
            }
            if p.datatype == Some(Datatype::Uint8) {
                return Err((
                    field.replace(".size", ".datatype"),
                    "uint8 vectors are not supported; use float32 or float16".into(),
                ));
            }
            if p.multivector_config.is_some() {
                return Err((
                    field.replace(".size", ".multivector_config"),
                    "multivectors are not supported".into(),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionParams {
    pub vectors: VectorsConfig,
    pub shard_number: u32,
    pub replication_factor: u32,
    pub write_consistency_factor: u32,
    pub on_disk_payload: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HnswConfig {
    pub m: usize,
    pub ef_construct: usize,
    pub full_scan_threshold: usize,
    pub max_indexing_threads: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_disk: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_m: Option<usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HnswConfigDiff {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ef_construct: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_scan_threshold: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_indexing_threads: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_disk: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_m: Option<usize>,
}

impl HnswConfig {
    pub fn apply(&mut self, diff: &HnswConfigDiff) {
        set(&mut self.m, diff.m);
        set(&mut self.ef_construct, diff.ef_construct);
        set(&mut self.full_scan_threshold, diff.full_scan_threshold);
        set(&mut self.max_indexing_threads, diff.max_indexing_threads);
        if diff.on_disk.is_some() {
            self.on_disk = diff.on_disk;
        }
        if diff.payload_m.is_some() {
            self.payload_m = diff.payload_m;
        }
    }
}

/// `max_optimization_threads`: a number, or `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MaxOptimizationThreads {
    Threads(usize),
    Setting(AutoSetting),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoSetting {
    Auto,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizersConfig {
    pub deleted_threshold: f64,
    pub vacuum_min_vector_number: usize,
    pub default_segment_number: usize,
    pub max_segment_size: Option<usize>,
    pub memmap_threshold: Option<usize>,
    pub indexing_threshold: Option<usize>,
    pub flush_interval_sec: u64,
    pub max_optimization_threads: Option<usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OptimizersConfigDiff {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vacuum_min_vector_number: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_segment_number: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_segment_size: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memmap_threshold: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indexing_threshold: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_interval_sec: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_optimization_threads: Option<MaxOptimizationThreads>,
}

impl OptimizersConfig {
    pub fn apply(&mut self, diff: &OptimizersConfigDiff) {
        set(&mut self.deleted_threshold, diff.deleted_threshold);
        set(
            &mut self.vacuum_min_vector_number,
            diff.vacuum_min_vector_number,
        );
        set(
            &mut self.default_segment_number,
            diff.default_segment_number,
        );
        set(&mut self.flush_interval_sec, diff.flush_interval_sec);
        if diff.max_segment_size.is_some() {
            self.max_segment_size = diff.max_segment_size;
        }
        if diff.memmap_threshold.is_some() {
            self.memmap_threshold = diff.memmap_threshold;
        }
        if diff.indexing_threshold.is_some() {
            self.indexing_threshold = diff.indexing_threshold;
        }
        match diff.max_optimization_threads {
            Some(MaxOptimizationThreads::Threads(n)) => self.max_optimization_threads = Some(n),
            Some(MaxOptimizationThreads::Setting(AutoSetting::Auto)) => {
                self.max_optimization_threads = None
            }
            None => {}
        }
    }

    /// Checks ranges; returns the offending field and why.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !(0.0..=1.0).contains(&self.deleted_threshold) {
            return Err((
                "optimizers_config.deleted_threshold".into(),
                "must be within 0..=1".into(),
            ));
        }
        if self.vacuum_min_vector_number < 100 {
            return Err((
                "optimizers_config.vacuum_min_vector_number".into(),
                "must be at least 100".into(),
            ));
        }
        if self.flush_interval_sec == 0 {
            return Err((
                "optimizers_config.flush_interval_sec".into(),
                "must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalConfig {
    pub wal_capacity_mb: usize,
    pub wal_segments_ahead: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WalConfigDiff {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_capacity_mb: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_segments_ahead: Option<usize>,
}

impl WalConfig {
    pub fn apply(&mut self, diff: &WalConfigDiff) {
        set(&mut self.wal_capacity_mb, diff.wal_capacity_mb);
        set(&mut self.wal_segments_ahead, diff.wal_segments_ahead);
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// Everything persisted about a collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionConfig {
    pub params: CollectionParams,
    pub hnsw_config: HnswConfig,
    pub optimizer_config: OptimizersConfig,
    pub wal_config: WalConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization_config: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Payload indexes by field name: a mirror of the segment's (which
    /// persists them in its meta file and rebuilds their contents on open),
    /// written when an index operation is logged and repaired on open.
    /// Skipped when empty so that configs written before payload indexes
    /// existed, and the collection info of unindexed collections, are
    /// unchanged.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub payload_schema: BTreeMap<String, FieldSchema>,
}

pub const CONFIG_FILE: &str = "config.json";

impl CollectionConfig {
    pub fn load(dir: &Path) -> std::io::Result<CollectionConfig> {
        let bytes = std::fs::read(dir.join(CONFIG_FILE))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// Replaces `config.json` atomically.
    pub fn store(&self, dir: &Path) -> std::io::Result<()> {
        crate::durable::replace_json(dir, CONFIG_FILE, self)
    }
}
