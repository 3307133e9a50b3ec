//! The segment meta file: what a segment is made of.
//!
//! `meta.json` is replaced atomically (write to a temporary file, fsync,
//! rename, fsync the directory) when a segment is created and when its HNSW
//! graphs are added. It names the vector spaces with their files and the
//! graph file of each indexed vector space, with the parameters it was built
//! with (the optimizer rebuilds a graph whose parameters no longer match the
//! collection's).
//!
//! Which part of a segment is durable is not recorded here but in the
//! collection's manifest (`collection::manifest`), written once for all
//! segments so that they are always durable at one and the same version.
//! Format 1 meta files, written before collections had several segments,
//! also carry `version`, `log_len` and `payload_indexes`; they are read once
//! to write the first manifest.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::payload_index::FieldSchema;
use super::{SegmentError, VectorSpec};

pub const META_FILE: &str = "meta.json";
/// The format written now; format 1 files are still read.
pub const FORMAT: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentMeta {
    pub format: u32,
    /// The named vectors and the file (under `vectors/`) each is stored in.
    pub vectors: BTreeMap<String, StoredVector>,
    /// HNSW graphs by vector name; absent for vectors searched exactly.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub graphs: BTreeMap<String, StoredGraph>,
    /// Read from format 1 files only: what the manifest now records.
    #[serde(skip)]
    pub legacy: Option<LegacyState>,
}

/// The durable state a format 1 meta file recorded for its segment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LegacyState {
    /// Last WAL sequence number applied and durable in this segment.
    pub version: u64,
    /// Bytes of `points.log` that hold the state at `version`.
    pub log_len: u64,
    /// Payload indexes at `version`, by field name.
    #[serde(default)]
    pub payload_indexes: BTreeMap<String, FieldSchema>,
}

/// An HNSW graph file (in the segment directory) and how it was built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredGraph {
    pub file: String,
    #[serde(flatten)]
    pub params: GraphParams,
    /// Payload fields whose values got payload links, and the fewest points
    /// a value needed to get them: what decides whether a filtered search
    /// may keep to the accepted points.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payload_fields: Vec<String>,
    #[serde(default)]
    pub payload_min_group: usize,
}

/// The build parameters that decide whether a graph is still wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphParams {
    pub m: usize,
    pub ef_construct: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_m: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredVector {
    #[serde(flatten)]
    pub spec: VectorSpec,
    pub file: String,
}

impl SegmentMeta {
    pub fn load(dir: &Path) -> Result<Option<SegmentMeta>, SegmentError> {
        let path = dir.join(META_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(SegmentError::Io { path, source }),
        };
        let corrupted = |reason: String| SegmentError::Corrupted {
            path: path.clone(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| corrupted(e.to_string()))?;
        let format = value.get("format").and_then(|f| f.as_u64());
        let mut meta: SegmentMeta = match format {
            Some(1) => {
                let legacy: LegacyState =
                    serde_json::from_value(value.clone()).map_err(|e| corrupted(e.to_string()))?;
                let mut meta: SegmentMeta =
                    serde_json::from_value(value).map_err(|e| corrupted(e.to_string()))?;
                meta.legacy = Some(legacy);
                meta
            }
            Some(f) if f == u64::from(FORMAT) => {
                serde_json::from_value(value).map_err(|e| corrupted(e.to_string()))?
            }
            other => return Err(corrupted(format!("unsupported format {other:?}"))),
        };
        meta.format = FORMAT;
        Ok(Some(meta))
    }

    pub fn store(&self, dir: &Path) -> Result<(), SegmentError> {
        crate::durable::replace_json(dir, META_FILE, self).map_err(|source| SegmentError::Io {
            path: dir.join(META_FILE),
            source,
        })
    }
}
