//! A segment: a set of points with their vectors and payloads.
//!
//! A segment owns its directory:
//!
//! ```text
//! meta.json      durable version and point-log length (see `meta`)
//! points.log     id ↔ offset, payloads, vector presence (see `point_log`)
//! vectors/N.bin  one memory-mapped f32 matrix per named vector
//! ```
//!
//! Mutations are applied by exactly one thread (the collection's update
//! worker) through `&mut self`; readers share `&self`. The in-memory state is
//! always the result of applying the WAL up to [`Segment::version`];
//! [`Segment::flush`] makes that state durable so the WAL can be truncated.

#![deny(unsafe_code)]

pub mod filter;
pub mod id_tracker;
pub mod meta;
pub mod payload;
pub mod payload_index;
pub mod point_id;
pub mod point_log;
pub mod vector_storage;

#[cfg(test)]
mod index_tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::index::distance::Distance;
use crate::index::exact::exact_top_k;
use filter::{Filter, JsonPath, PointView};
use id_tracker::IdTracker;
use meta::{SegmentMeta, StoredVector};
use payload::Payload;
use payload_index::{FieldSchema, IndexInfo, PayloadIndexes, Tokenizer};
use point_id::{PointId, PointOffset};
use point_log::{PointLogRecord, PointLogWriter};
use vector_storage::VectorStorage;

/// Vectors of one point by name; the unnamed (default) vector is `""`.
pub type NamedVectors = BTreeMap<String, Vec<f32>>;

/// Shape of one named vector space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorSpec {
    pub dim: usize,
    pub distance: Distance,
}

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// Service fault: the disk failed us.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Service fault: persisted data does not read back as written.
    #[error("corrupted segment data in {path}: {reason}")]
    Corrupted { path: PathBuf, reason: String },
    /// User fault, normally caught by validation before the WAL.
    #[error("unknown vector name {0:?}")]
    UnknownVector(String),
    /// User fault, normally caught by validation before the WAL.
    #[error("vector {name:?} has dimension {got}, expected {expected}")]
    WrongDimension {
        name: String,
        expected: usize,
        got: usize,
    },
}

/// A point found by search, best first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredPoint {
    pub id: PointId,
    /// The WAL operation that last changed the point.
    pub version: u64,
    pub score: f32,
}

#[derive(Debug)]
pub struct Segment {
    dir: PathBuf,
    specs: BTreeMap<String, VectorSpec>,
    ids: IdTracker,
    vectors: BTreeMap<String, VectorStorage>,
    /// Per vector name, per offset: does the point carry that vector.
    present: BTreeMap<String, Vec<bool>>,
    /// Per offset; empty for deleted points.
    payloads: Vec<Payload>,
    /// Per offset: the WAL operation that last changed the point.
    versions: Vec<u64>,
    /// Derived from `payloads`, kept in step by [`Segment::replay`]; see
    /// `payload_index` for why only their schema is persisted.
    indexes: PayloadIndexes,
    log: Mutex<PointLogWriter>,
    /// The vector files as recorded in the meta file.
    stored: BTreeMap<String, StoredVector>,
    version: u64,
}

impl Segment {
    /// Opens the segment in `dir`, creating it with `specs` if it is new.
    /// An existing segment keeps the vector spaces it was created with.
    pub fn open(dir: &Path, specs: &BTreeMap<String, VectorSpec>) -> Result<Segment, SegmentError> {
        let io = |source| SegmentError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir.join("vectors")).map_err(io)?;
        let meta = match SegmentMeta::load(dir)? {
            Some(meta) => meta,
            None => {
                let vectors = specs
                    .iter()
                    .enumerate()
                    .map(|(i, (name, spec))| {
                        (
                            name.clone(),
                            StoredVector {
                                spec: *spec,
                                file: format!("{i}.bin"),
                            },
                        )
                    })
                    .collect();
                let meta = SegmentMeta {
                    format: meta::FORMAT,
                    version: 0,
                    log_len: 0,
                    vectors,
                    payload_indexes: BTreeMap::new(),
                };
                meta.store(dir)?;
                meta
            }
        };
        let log_path = dir.join("points.log");
        let records = point_log::read_log(&log_path, meta.log_len)?;
        let log = PointLogWriter::open(&log_path, meta.log_len)?;
        let mut vectors = BTreeMap::new();
        let mut present = BTreeMap::new();
        let mut stored_specs = BTreeMap::new();
        for (name, stored) in &meta.vectors {
            let storage =
                VectorStorage::open(&dir.join("vectors").join(&stored.file), stored.spec.dim)?;
            vectors.insert(name.clone(), storage);
            present.insert(name.clone(), Vec::new());
            stored_specs.insert(name.clone(), stored.spec);
        }
        let mut segment = Segment {
            dir: dir.to_path_buf(),
            specs: stored_specs,
            ids: IdTracker::default(),
            vectors,
            present,
            payloads: Vec::new(),
            versions: Vec::new(),
            indexes: PayloadIndexes::default(),
            log: Mutex::new(log),
            stored: meta.vectors.clone(),
            version: meta.version,
        };
        for record in records {
            segment.replay(record);
        }
        // Index contents are not stored: rebuild them from the payloads.
        for (field_name, schema) in meta.payload_indexes {
            let path = field_name.parse().map_err(|e| SegmentError::Corrupted {
                path: dir.join(meta::META_FILE),
                reason: format!("payload index {field_name:?}: {e}"),
            })?;
            segment.create_index(&field_name, path, schema);
        }
        Ok(segment)
    }

    /// Applies one point-log record to the in-memory state (no logging).
    fn replay(&mut self, record: PointLogRecord) {
        match record {
            PointLogRecord::Insert { id, offset } => {
                let offset = PointOffset(offset);
                if let Some(old) = self.ids.offset(id) {
                    self.clear_payload(old);
                }
                self.ids.insert(id, offset);
                self.payloads.push(Payload::new());
                self.versions.push(0);
                for flags in self.present.values_mut() {
                    flags.push(false);
                }
            }
            PointLogRecord::Delete { offset } => {
                let offset = PointOffset(offset);
                self.ids.remove_offset(offset);
                self.clear_payload(offset);
            }
            PointLogRecord::Payload {
                offset,
                payload,
                version,
            } => {
                let offset = PointOffset(offset);
                if let Some(p) = self.payloads.get_mut(offset.index()) {
                    self.indexes.remove(offset, p);
                    *p = payload;
                    self.indexes.add(offset, p);
                    self.versions[offset.index()] = version;
                }
            }
            PointLogRecord::Vectors {
                offset,
                present,
                version,
            } => {
                if let Some(v) = self.versions.get_mut(offset as usize) {
                    *v = version;
                }
                for (name, flags) in &mut self.present {
                    if let Some(flag) = flags.get_mut(offset as usize) {
                        *flag = present.contains(name);
                    }
                }
            }
        }
    }

    /// Empties the payload at `offset`, un-indexing it first.
    fn clear_payload(&mut self, offset: PointOffset) {
        if let Some(p) = self.payloads.get_mut(offset.index()) {
            self.indexes.remove(offset, p);
            *p = Payload::new();
        }
    }

    /// Applies a record to memory and appends it to the point log.
    fn record(&mut self, record: PointLogRecord) -> Result<(), SegmentError> {
        self.log.lock().append(&record)?;
        self.replay(record);
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn specs(&self) -> &BTreeMap<String, VectorSpec> {
        &self.specs
    }

    /// The last WAL operation applied to this segment.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn set_version(&mut self, version: u64) {
        self.version = version;
    }

    /// Number of live points.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn contains(&self, id: PointId) -> bool {
        self.ids.offset(id).is_some()
    }

    fn check_vector(&self, name: &str, vector: &[f32]) -> Result<(), SegmentError> {
        let spec = self
            .specs
            .get(name)
            .ok_or_else(|| SegmentError::UnknownVector(name.to_string()))?;
        if spec.dim != vector.len() {
            return Err(SegmentError::WrongDimension {
                name: name.to_string(),
                expected: spec.dim,
                got: vector.len(),
            });
        }
        Ok(())
    }

    /// Inserts or fully replaces a point: its vectors become exactly
    /// `vectors` and its payload exactly `payload`.
    pub fn upsert(
        &mut self,
        id: PointId,
        vectors: &NamedVectors,
        payload: Payload,
    ) -> Result<(), SegmentError> {
        for (name, v) in vectors {
            self.check_vector(name, v)?;
        }
        let offset = match self.ids.offset(id) {
            Some(offset) => offset,
            None => {
                let offset = self.ids.next_offset();
                self.record(PointLogRecord::Insert {
                    id,
                    offset: offset.0,
                })?;
                offset
            }
        };
        self.write_vectors(offset, vectors)?;
        let names = vectors.keys().cloned().collect();
        self.record(PointLogRecord::Vectors {
            offset: offset.0,
            present: names,
            version: self.version,
        })?;
        if !payload.is_empty() || !self.payloads[offset.index()].is_empty() {
            self.record(PointLogRecord::Payload {
                offset: offset.0,
                payload,
                version: self.version,
            })?;
        }
        Ok(())
    }

    fn write_vectors(
        &mut self,
        offset: PointOffset,
        vectors: &NamedVectors,
    ) -> Result<(), SegmentError> {
        for (name, v) in vectors {
            let storage = self
                .vectors
                .get_mut(name)
                .ok_or_else(|| SegmentError::UnknownVector(name.clone()))?;
            storage.write(offset, v)?;
        }
        Ok(())
    }

    /// Deletes a point; false if it was not here.
    pub fn delete(&mut self, id: PointId) -> Result<bool, SegmentError> {
        let Some(offset) = self.ids.offset(id) else {
            return Ok(false);
        };
        self.record(PointLogRecord::Delete { offset: offset.0 })?;
        Ok(true)
    }

    /// Changes a point's payload with `change`; false if the point is absent.
    pub fn modify_payload(
        &mut self,
        id: PointId,
        change: impl FnOnce(&mut Payload),
    ) -> Result<bool, SegmentError> {
        let Some(offset) = self.ids.offset(id) else {
            return Ok(false);
        };
        let mut payload = self.payloads[offset.index()].clone();
        change(&mut payload);
        if payload != self.payloads[offset.index()] {
            self.record(PointLogRecord::Payload {
                offset: offset.0,
                payload,
                version: self.version,
            })?;
        }
        Ok(true)
    }

    /// Sets the given named vectors, keeping the point's others.
    pub fn update_vectors(
        &mut self,
        id: PointId,
        vectors: &NamedVectors,
    ) -> Result<bool, SegmentError> {
        for (name, v) in vectors {
            self.check_vector(name, v)?;
        }
        let Some(offset) = self.ids.offset(id) else {
            return Ok(false);
        };
        self.write_vectors(offset, vectors)?;
        let mut names = self.vector_names_of(offset);
        names.extend(vectors.keys().cloned());
        names.sort();
        names.dedup();
        self.record(PointLogRecord::Vectors {
            offset: offset.0,
            present: names,
            version: self.version,
        })?;
        Ok(true)
    }

    /// Removes the named vectors from a point, keeping the point.
    pub fn delete_vectors(&mut self, id: PointId, names: &[String]) -> Result<bool, SegmentError> {
        let Some(offset) = self.ids.offset(id) else {
            return Ok(false);
        };
        let kept = self
            .vector_names_of(offset)
            .into_iter()
            .filter(|n| !names.contains(n))
            .collect();
        self.record(PointLogRecord::Vectors {
            offset: offset.0,
            present: kept,
            version: self.version,
        })?;
        Ok(true)
    }

    fn vector_names_of(&self, offset: PointOffset) -> Vec<String> {
        self.present
            .iter()
            .filter(|(_, flags)| flags.get(offset.index()).copied().unwrap_or(false))
            .map(|(name, _)| name.clone())
            .collect()
    }

    fn point(&self, id: PointId, offset: PointOffset) -> SegmentPoint<'_> {
        SegmentPoint {
            segment: self,
            id,
            offset,
        }
    }

    /// The WAL operation that last changed a live point.
    pub fn point_version(&self, id: PointId) -> Option<u64> {
        self.ids
            .offset(id)
            .map(|offset| self.versions[offset.index()])
    }

    /// A live point's payload and vectors.
    pub fn retrieve(&self, id: PointId) -> Option<(&Payload, NamedVectors)> {
        let offset = self.ids.offset(id)?;
        let vectors = self
            .vector_names_of(offset)
            .into_iter()
            .map(|name| {
                let v = self.vectors[&name].row(offset).to_vec();
                (name, v)
            })
            .collect();
        Some((&self.payloads[offset.index()], vectors))
    }

    /// Creates the payload index `field_name` (a key path) with `schema`,
    /// built from the current payloads; an identical existing index is kept.
    /// Not logged: the schema lives in the collection config and the WAL.
    pub fn create_index(&mut self, field_name: &str, path: JsonPath, schema: FieldSchema) {
        let payloads = self
            .payloads
            .iter()
            .enumerate()
            .map(|(i, p)| (PointOffset(i as u32), p));
        self.indexes.create(field_name, path, schema, payloads);
    }

    /// Drops a payload index; false if there was none.
    pub fn delete_index(&mut self, field_name: &str) -> bool {
        self.indexes.delete(field_name)
    }

    /// Every payload index with its schema and indexed point count.
    pub fn index_info(&self) -> Vec<IndexInfo> {
        self.indexes.info()
    }

    /// Live `(id, offset)` pairs to test against `filter`: the index
    /// candidates when an index applies (in offset order), else `None`.
    fn indexed_candidates(&self, filter: Option<&Filter>) -> Option<Vec<(PointId, PointOffset)>> {
        let offsets = self.indexes.candidates(filter?)?;
        Some(
            offsets
                .into_iter()
                .filter_map(|o| self.ids.id(o).map(|id| (id, o)))
                .collect(),
        )
    }

    /// Ids of live points matching `filter`, ascending, starting at `from`,
    /// at most `limit` of them.
    pub fn scroll(
        &self,
        from: Option<PointId>,
        filter: Option<&Filter>,
        limit: usize,
    ) -> Vec<PointId> {
        if let Some(mut candidates) = self.indexed_candidates(filter) {
            candidates.sort_unstable();
            return candidates
                .into_iter()
                .filter(|(id, _)| from.is_none_or(|from| *id >= from))
                .filter(|(id, offset)| filter.is_none_or(|f| f.check(&self.point(*id, *offset))))
                .take(limit)
                .map(|(id, _)| id)
                .collect();
        }
        self.ids
            .iter_from(from)
            .filter(|(id, offset)| filter.is_none_or(|f| f.check(&self.point(*id, *offset))))
            .take(limit)
            .map(|(id, _)| id)
            .collect()
    }

    /// Number of live points matching `filter`.
    pub fn count(&self, filter: Option<&Filter>) -> usize {
        if let (Some(f), Some(candidates)) = (filter, self.indexed_candidates(filter)) {
            return candidates
                .into_iter()
                .filter(|(id, offset)| f.check(&self.point(*id, *offset)))
                .count();
        }
        match filter {
            None => self.ids.len(),
            Some(f) => self
                .ids
                .iter_from(None)
                .filter(|(id, offset)| f.check(&self.point(*id, *offset)))
                .count(),
        }
    }

    /// Exact nearest neighbours of `query` (already preprocessed for the
    /// space's distance) among points matching `filter`, best first.
    pub fn search(
        &self,
        vector: &str,
        query: &[f32],
        filter: Option<&Filter>,
        k: usize,
    ) -> Result<Vec<ScoredPoint>, SegmentError> {
        let spec = self
            .specs
            .get(vector)
            .ok_or_else(|| SegmentError::UnknownVector(vector.to_string()))?;
        self.check_vector(vector, query)?;
        let storage = &self.vectors[vector];
        let present = &self.present[vector];
        let rows = self.ids.total_offsets();
        let matrix = &storage.as_slice()[..rows * spec.dim];
        // With an index, only its candidates are worth a filter check.
        let allowed: Option<Vec<bool>> = filter.and_then(|f| self.indexes.candidates(f)).map(|c| {
            let mut allowed = vec![false; rows];
            for o in c {
                if let Some(slot) = allowed.get_mut(o.index()) {
                    *slot = true;
                }
            }
            allowed
        });
        let accept = |offset: PointOffset| {
            if allowed.as_ref().is_some_and(|a| !a[offset.index()]) {
                return false;
            }
            if !present[offset.index()] {
                return false;
            }
            let Some(id) = self.ids.id(offset) else {
                return false;
            };
            filter.is_none_or(|f| f.check(&self.point(id, offset)))
        };
        let found = exact_top_k(matrix, spec.dim, query, spec.distance, k, accept);
        Ok(found
            .into_iter()
            .filter_map(|s| {
                let version = self.versions[s.offset.index()];
                self.ids.id(s.offset).map(|id| ScoredPoint {
                    id,
                    version,
                    score: s.score,
                })
            })
            .collect())
    }

    /// Makes the state at [`Segment::version`] durable.
    pub fn flush(&self) -> Result<(), SegmentError> {
        for storage in self.vectors.values() {
            storage.flush()?;
        }
        let log_len = self.log.lock().sync()?;
        let vectors = self.stored.clone();
        SegmentMeta {
            format: meta::FORMAT,
            version: self.version,
            log_len,
            vectors,
            payload_indexes: self.indexes.schemas(),
        }
        .store(&self.dir)
    }
}

/// A live point seen by filters.
struct SegmentPoint<'a> {
    segment: &'a Segment,
    id: PointId,
    offset: PointOffset,
}

impl PointView for SegmentPoint<'_> {
    fn id(&self) -> PointId {
        self.id
    }

    fn payload(&self) -> &Payload {
        &self.segment.payloads[self.offset.index()]
    }

    fn has_vector(&self, name: &str) -> bool {
        self.segment
            .present
            .get(name)
            .and_then(|f| f.get(self.offset.index()).copied())
            .unwrap_or(false)
    }

    fn text_tokenizer(&self, key: &JsonPath) -> Option<&Tokenizer> {
        self.segment.indexes.tokenizer(key)
    }
}
