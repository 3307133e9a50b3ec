//! The collection manifest (`segments.json`): which segments make up the
//! collection and up to which WAL operation they are durable.
//!
//! Every segment is flushed first, then the manifest is replaced atomically
//! (temporary file, fsync, rename, fsync the directory). It records one
//! `version` for all segments, the point-log length of each at that version,
//! which segment takes new points, and the payload index schema. On open,
//! each listed segment is cut back to its recorded length, directories
//! under `segments/` that are not listed (an optimization that had not
//! finished, or sources it replaced) are removed, and the WAL is replayed
//! from `version + 1`. Because all segments share one version, replay
//! always starts from a state the collection really was in, whatever
//! optimizations moved points between segments since.
//!
//! ```json
//! {"format": 1, "version": 1234, "appendable": 7,
//!  "segments": {"3": {"log_len": 81920}, "7": {"log_len": 512}},
//!  "payload_indexes": {"city": "keyword"}}
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::segment::payload_index::FieldSchema;

pub const MANIFEST_FILE: &str = "segments.json";
const FORMAT: u32 = 1;

/// A segment's directory name under `segments/`.
pub type SegmentId = u64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// Last WAL operation whose effects every listed segment holds.
    pub version: u64,
    /// The segment new points go to.
    pub appendable: SegmentId,
    pub segments: BTreeMap<SegmentId, SegmentState>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub payload_indexes: BTreeMap<String, FieldSchema>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentState {
    /// Bytes of the segment's point log that hold its state at `version`.
    pub log_len: u64,
}

impl Manifest {
    pub fn new(
        version: u64,
        appendable: SegmentId,
        segments: BTreeMap<SegmentId, SegmentState>,
        payload_indexes: BTreeMap<String, FieldSchema>,
    ) -> Manifest {
        Manifest {
            format: FORMAT,
            version,
            appendable,
            segments,
            payload_indexes,
        }
    }

    /// The manifest in `dir`, or `None` when there is none yet.
    pub fn load(dir: &Path) -> std::io::Result<Option<Manifest>> {
        let bytes = match std::fs::read(dir.join(MANIFEST_FILE)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if manifest.format != FORMAT {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("unsupported manifest format {}", manifest.format),
            ));
        }
        if !manifest.segments.contains_key(&manifest.appendable) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("appendable segment {} is not listed", manifest.appendable),
            ));
        }
        Ok(Some(manifest))
    }

    /// Replaces the manifest in `dir` atomically.
    pub fn store(&self, dir: &Path) -> std::io::Result<()> {
        crate::durable::replace_json(dir, MANIFEST_FILE, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_an_unlisted_appendable_segment() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), None);
        let segments = BTreeMap::from([(3, SegmentState { log_len: 10 })]);
        let manifest = Manifest::new(42, 3, segments, BTreeMap::new());
        manifest.store(dir.path()).unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), Some(manifest.clone()));

        let broken = Manifest {
            appendable: 4,
            ..manifest
        };
        broken.store(dir.path()).unwrap();
        let err = Manifest::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("appendable segment 4"), "{err}");
    }
}
