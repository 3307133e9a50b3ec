//! The segment meta file: which state of the segment is durable.
//!
//! `meta.json` is replaced atomically (write to a temporary file, fsync,
//! rename, fsync the directory) at the end of every flush. It names the last
//! write-ahead-log operation whose effects are durable (`version`) and how
//! many bytes of the point log belong to that state (`log_len`). Everything
//! after those marks is discarded on load and rebuilt by WAL replay.
//!
//! It also names the payload indexes of that state (`payload_indexes`, field
//! name → schema, absent when there are none, so older meta files load
//! unchanged); their contents are rebuilt from the payloads on load.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::payload_index::FieldSchema;
use super::{SegmentError, VectorSpec};

pub const META_FILE: &str = "meta.json";
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentMeta {
    pub format: u32,
    /// Last WAL sequence number applied and durable in this segment.
    pub version: u64,
    /// Bytes of `points.log` that hold the state at `version`.
    pub log_len: u64,
    /// The named vectors and the file (under `vectors/`) each is stored in.
    pub vectors: BTreeMap<String, StoredVector>,
    /// Payload indexes at `version`, by field name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub payload_indexes: BTreeMap<String, FieldSchema>,
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
        let meta: SegmentMeta =
            serde_json::from_slice(&bytes).map_err(|e| SegmentError::Corrupted {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if meta.format != FORMAT {
            return Err(SegmentError::Corrupted {
                path,
                reason: format!("unsupported format {}", meta.format),
            });
        }
        Ok(Some(meta))
    }

    pub fn store(&self, dir: &Path) -> Result<(), SegmentError> {
        let tmp = dir.join("meta.json.tmp");
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SegmentError::Io { path, source }
        };
        let bytes = serde_json::to_vec_pretty(self)
            .unwrap_or_else(|e| unreachable!("meta serialises: {e}"));
        let mut file = File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(&bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, dir.join(META_FILE)).map_err(io(dir))?;
        sync_dir(dir)
    }
}

/// Makes a rename or file creation inside `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<(), SegmentError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| SegmentError::Io {
            path: dir.to_path_buf(),
            source,
        })
}
