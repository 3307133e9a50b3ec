//! A segment: a set of points with their vectors and payloads.
//!
//! A segment owns its directory:
//!
//! ```text
//! meta.json      vector spaces, graph files (see `meta`)
//! points.log     id ↔ offset, payloads, vector presence (see `point_log`)
//! vectors/N.bin  one memory-mapped f32 matrix per named vector
//! graph-N.hnsw   the HNSW graph of vector N, where one was built
//! ```
//!
//! Mutations are applied by exactly one thread at a time (the collection's
//! update worker, or the optimizer filling a segment nobody else sees yet)
//! through `&mut self`; readers share `&self`. [`Segment::flush`] makes the
//! in-memory state durable and returns the point-log length that holds it;
//! the collection records that length in its manifest, and
//! [`Segment::open`] cuts the log back to it.
//!
//! A segment with graphs is never given new points: the collection only
//! inserts into its appendable segment, and moves a point out of an indexed
//! one when its vectors change. Deletes, payload changes and vector removals
//! happen in place; the graph walks through such points without returning
//! them.

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
#[cfg(test)]
mod search_tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use std::sync::atomic::AtomicBool;

use crate::index::distance::Distance;
use crate::index::exact::exact_top_k;
use crate::index::hnsw::{add_payload_links_with, GraphBuilder, HnswGraph, HnswParams, IndexError};
use crate::index::top_k::{ScoredOffset, TopK};
use filter::{Filter, JsonPath, PointView};
use id_tracker::IdTracker;
use meta::{GraphParams, SegmentMeta, StoredGraph, StoredVector};
use payload::Payload;
use payload_index::{FieldSchema, IndexInfo, PayloadIndexes, Tokenizer};
use point_id::{PointId, PointOffset};
use point_log::{PointLogRecord, PointLogWriter};
pub use vector_storage::VectorDatatype;
use vector_storage::{FrozenRows, Rows, VectorStorage};

/// Index candidates scored per parallel task.
const CANDIDATE_CHUNK: usize = 4096;

/// Vectors of one point by name; the unnamed (default) vector is `""`.
pub type NamedVectors = BTreeMap<String, Vec<f32>>;

/// Shape of one named vector space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorSpec {
    pub dim: usize,
    pub distance: Distance,
    /// Absent (float32) in meta files written before float16 storage.
    #[serde(default, skip_serializing_if = "VectorDatatype::is_float32")]
    pub datatype: VectorDatatype,
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
    /// Building or loading an HNSW graph failed; the index error says whose
    /// fault it is.
    #[error("HNSW index of vector {vector:?}: {source}")]
    Index { vector: String, source: IndexError },
}

/// How a segment answers one search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchParams {
    /// Beam width of a graph search (raised to `k` when smaller).
    pub ef: usize,
    /// Scan every point instead of walking the graph.
    pub exact: bool,
    /// Qdrant's `full_scan_threshold`, in KB of vectors: a segment, or a
    /// filter's estimated matches, smaller than this is scanned exactly.
    pub full_scan_threshold_kb: usize,
}

/// Points from one segment the optimizer copies into another, by id.
#[derive(Debug, Clone)]
pub struct PointRecord {
    pub id: PointId,
    pub version: u64,
    pub payload: Payload,
    pub vectors: NamedVectors,
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
    /// Vector files and graph files, as recorded in `meta.json`.
    meta: SegmentMeta,
    /// Memory-mapped graphs, by vector name; see `meta.graphs`.
    graphs: BTreeMap<String, HnswGraph>,
    /// The WAL operation being applied (see [`Segment::set_version`]).
    version: u64,
}

impl Segment {
    /// Creates an empty segment in `dir` (which may exist, but must hold no
    /// segment yet) for the vector spaces `specs`.
    pub fn create(
        dir: &Path,
        specs: &BTreeMap<String, VectorSpec>,
    ) -> Result<Segment, SegmentError> {
        std::fs::create_dir_all(dir.join("vectors")).map_err(|source| SegmentError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let vectors = specs
            .iter()
            .enumerate()
            .map(|(i, (name, spec))| {
                let stored = StoredVector {
                    spec: *spec,
                    file: format!("{i}.bin"),
                };
                (name.clone(), stored)
            })
            .collect();
        let meta = SegmentMeta {
            format: meta::FORMAT,
            vectors,
            graphs: BTreeMap::new(),
            legacy: None,
        };
        meta.store(dir)?;
        Segment::open(dir, 0)
    }

    /// Opens the segment in `dir` with the first `log_len` bytes of its
    /// point log (what the collection's manifest says is durable); later
    /// bytes are cut. Graphs are memory-mapped, not rebuilt.
    pub fn open(dir: &Path, log_len: u64) -> Result<Segment, SegmentError> {
        let meta = SegmentMeta::load(dir)?.ok_or_else(|| SegmentError::Corrupted {
            path: dir.join(meta::META_FILE),
            reason: "segment meta file is missing".into(),
        })?;
        let log_path = dir.join("points.log");
        let records = point_log::read_log(&log_path, log_len)?;
        let log = PointLogWriter::open(&log_path, log_len)?;
        let mut vectors = BTreeMap::new();
        let mut present = BTreeMap::new();
        let mut specs = BTreeMap::new();
        for (name, stored) in &meta.vectors {
            let storage = VectorStorage::open(
                &dir.join("vectors").join(&stored.file),
                stored.spec.dim,
                stored.spec.datatype,
            )?;
            vectors.insert(name.clone(), storage);
            present.insert(name.clone(), Vec::new());
            specs.insert(name.clone(), stored.spec);
        }
        remove_stray_graphs(dir, &meta)?;
        let mut graphs = BTreeMap::new();
        for (name, stored) in &meta.graphs {
            let graph =
                HnswGraph::open(&dir.join(&stored.file)).map_err(|source| SegmentError::Index {
                    vector: name.clone(),
                    source,
                })?;
            tracing::info!(
                segment = %dir.display(),
                vector = display_name(name),
                points = graph.len(),
                "HNSW graph loaded"
            );
            graphs.insert(name.clone(), graph);
        }
        let mut segment = Segment {
            dir: dir.to_path_buf(),
            specs,
            ids: IdTracker::default(),
            vectors,
            present,
            payloads: Vec::new(),
            versions: Vec::new(),
            indexes: PayloadIndexes::default(),
            log: Mutex::new(log),
            meta,
            graphs,
            version: 0,
        };
        for record in records {
            segment.replay(record);
        }
        for (name, graph) in &segment.graphs {
            if graph.len() != segment.ids.total_offsets() {
                return Err(SegmentError::Corrupted {
                    path: dir.to_path_buf(),
                    reason: format!(
                        "graph of vector {name:?} covers {} points, the segment has {}",
                        graph.len(),
                        segment.ids.total_offsets()
                    ),
                });
            }
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

    /// Sets the WAL operation being applied: the records it writes carry it
    /// as the changed points' version.
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
                let v = self.vectors[&name].read(offset);
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

    /// Live `(id, offset)` pairs that may match `filter` when an index
    /// applies (in offset order), and whether they all do; else `None`.
    fn indexed_candidates(
        &self,
        filter: Option<&Filter>,
    ) -> Option<(Vec<(PointId, PointOffset)>, bool)> {
        let candidates = self.indexes.candidates(filter?)?;
        let live = candidates
            .offsets
            .into_iter()
            .filter_map(|o| self.ids.id(o).map(|id| (id, o)))
            .collect();
        Some((live, candidates.exact))
    }

    /// Whether a live point matches `filter`, unless the index candidates
    /// it comes from are known to (`exact`).
    fn matches(
        &self,
        filter: Option<&Filter>,
        exact: bool,
        id: PointId,
        offset: PointOffset,
    ) -> bool {
        exact || filter.is_none_or(|f| f.check(&self.point(id, offset)))
    }

    /// Ids of live points matching `filter`, ascending, starting at `from`,
    /// at most `limit` of them.
    pub fn scroll(
        &self,
        from: Option<PointId>,
        filter: Option<&Filter>,
        limit: usize,
    ) -> Vec<PointId> {
        if let Some((mut candidates, exact)) = self.indexed_candidates(filter) {
            candidates.sort_unstable();
            return candidates
                .into_iter()
                .filter(|(id, _)| from.is_none_or(|from| *id >= from))
                .filter(|(id, offset)| self.matches(filter, exact, *id, *offset))
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
        if let Some((candidates, exact)) = self.indexed_candidates(filter) {
            return candidates
                .into_iter()
                .filter(|(id, offset)| self.matches(filter, exact, *id, *offset))
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

    /// Nearest neighbours of `query` (already preprocessed for the space's
    /// distance) among points matching `filter`, best first.
    ///
    /// The plan: an exact scan when asked for, when the vector has no graph,
    /// when the segment is below `full_scan_threshold_kb`, or when the
    /// filter is estimated to match fewer points than that (from the most
    /// selective payload index, else from a sample); otherwise a graph
    /// search that checks the filter on every point it would return.
    pub fn search(
        &self,
        vector: &str,
        query: &[f32],
        filter: Option<&Filter>,
        k: usize,
        params: &SearchParams,
    ) -> Result<Vec<ScoredPoint>, SegmentError> {
        let spec = *self
            .specs
            .get(vector)
            .ok_or_else(|| SegmentError::UnknownVector(vector.to_string()))?;
        self.check_vector(vector, query)?;
        let storage = &self.vectors[vector];
        let present = &self.present[vector];
        let rows = self.ids.total_offsets();
        let stored = storage.rows(rows);
        let full_scan_points = full_scan_points(params.full_scan_threshold_kb, spec.dim);
        let candidates = filter.and_then(|f| self.indexes.candidates(f));
        let exact_candidates = candidates.as_ref().is_some_and(|c| c.exact);
        let accept = |offset: PointOffset| {
            if !present[offset.index()] {
                return false;
            }
            let Some(id) = self.ids.id(offset) else {
                return false;
            };
            self.matches(filter, exact_candidates, id, offset)
        };
        let graph = self
            .graphs
            .get(vector)
            .filter(|_| !params.exact && self.ids.len() >= full_scan_points);
        let use_graph = graph.is_some()
            && filter.is_none_or(|f| {
                let indexed = candidates.as_ref().map_or(usize::MAX, |c| c.offsets.len());
                indexed >= full_scan_points
                    && (exact_candidates || self.estimate_matches(f) >= full_scan_points)
            });
        let found = match (graph, candidates) {
            (Some(graph), candidates) if use_graph => {
                let vectors = stored.as_source();
                match candidates {
                    // Index membership first: a bit per point instead of a
                    // payload check for every point the beam walks through.
                    Some(c) => {
                        let mut member = vec![false; rows];
                        for o in &c.offsets {
                            if let Some(slot) = member.get_mut(o.index()) {
                                *slot = true;
                            }
                        }
                        let accept = |o: PointOffset| member[o.index()] && accept(o);
                        let points = c.offsets.len();
                        if filter.is_some_and(|f| self.payload_linked(vector, graph, f, points)) {
                            graph.search_linked(
                                query,
                                vectors,
                                spec.distance,
                                k,
                                params.ef,
                                &accept,
                            )
                        } else {
                            graph.search(query, vectors, spec.distance, k, params.ef, &accept)
                        }
                    }
                    None => graph.search(query, vectors, spec.distance, k, params.ef, &accept),
                }
            }
            // An indexed filter: score its candidates only.
            (_, Some(candidates)) => candidates
                .offsets
                .par_chunks(CANDIDATE_CHUNK)
                .map(|chunk| {
                    let mut top = TopK::new(k, spec.distance);
                    for &offset in chunk {
                        if accept(offset) {
                            top.push(offset, storage.score(spec.distance, query, offset));
                        }
                    }
                    top
                })
                .reduce(
                    || TopK::new(k, spec.distance),
                    |mut a, b| {
                        a.merge(b);
                        a
                    },
                )
                .into_sorted_vec(),
            _ => match stored {
                Rows::F32(m) => {
                    exact_top_k(m.as_slice(), spec.dim, query, spec.distance, k, accept)
                }
                Rows::F16(m) => {
                    exact_top_k(m.as_slice(), spec.dim, query, spec.distance, k, accept)
                }
            },
        };
        Ok(self.scored_points(found))
    }

    /// True where payload links join the points `filter` admits in the
    /// graph of `vector`: one value of a field the links were built for,
    /// held by enough `points` (its index candidates) to have got them.
    fn payload_linked(
        &self,
        vector: &str,
        graph: &HnswGraph,
        filter: &Filter,
        points: usize,
    ) -> bool {
        let Some(stored) = self.meta.graphs.get(vector) else {
            return false;
        };
        graph.meta().payload_m > 0
            && points >= stored.payload_min_group
            && self
                .indexes
                .single_value(filter)
                .is_some_and(|field| stored.payload_fields.iter().any(|f| f == field))
    }

    /// Live points matching `filter`, estimated from an even sample of
    /// offsets (exact for small segments).
    fn estimate_matches(&self, filter: &Filter) -> usize {
        const SAMPLE: usize = 1000;
        let rows = self.ids.total_offsets();
        if rows == 0 {
            return 0;
        }
        let step = rows.div_ceil(SAMPLE);
        let (mut seen, mut matched) = (0usize, 0usize);
        for offset in (0..rows).step_by(step).map(|i| PointOffset(i as u32)) {
            if let Some(id) = self.ids.id(offset) {
                seen += 1;
                if filter.check(&self.point(id, offset)) {
                    matched += 1;
                }
            }
        }
        if seen == 0 {
            return 0;
        }
        // Scaled to the live points; rounded up so one sampled match is
        // never estimated as none.
        (matched * self.ids.len()).div_ceil(seen)
    }

    fn scored_points(&self, found: Vec<ScoredOffset>) -> Vec<ScoredPoint> {
        found
            .into_iter()
            .filter_map(|s| {
                let version = self.versions[s.offset.index()];
                self.ids.id(s.offset).map(|id| ScoredPoint {
                    id,
                    version,
                    score: s.score,
                })
            })
            .collect()
    }

    /// Ids of the live points, in offset order.
    pub fn live_points(&self) -> Vec<PointId> {
        (0..self.ids.total_offsets())
            .filter_map(|i| self.ids.id(PointOffset(i as u32)))
            .collect()
    }

    /// Everything about a live point, for copying it into another segment.
    pub fn point_record(&self, id: PointId) -> Option<PointRecord> {
        let version = self.point_version(id)?;
        let (payload, vectors) = self.retrieve(id)?;
        Some(PointRecord {
            id,
            version,
            payload: payload.clone(),
            vectors,
        })
    }

    /// Inserts a point copied from another segment, keeping its version.
    pub fn insert_record(&mut self, record: &PointRecord) -> Result<(), SegmentError> {
        let version = self.version;
        self.version = record.version;
        let result = self.upsert(record.id, &record.vectors, record.payload.clone());
        self.version = version;
        result
    }

    /// Makes a point equal to `record` in payload and in which vectors it
    /// carries (its vector values are taken to be unchanged), at the
    /// record's version. The optimizer uses it to catch a rebuilt segment
    /// up with changes made to its sources while it was being built.
    pub fn sync_record(&mut self, record: &PointRecord) -> Result<(), SegmentError> {
        let Some(offset) = self.ids.offset(record.id) else {
            return Ok(());
        };
        let version = self.version;
        self.version = record.version;
        let mut result = Ok(());
        if self.payloads[offset.index()] != record.payload {
            result = self.record(PointLogRecord::Payload {
                offset: offset.0,
                payload: record.payload.clone(),
                version: record.version,
            });
        }
        let names: Vec<String> = record.vectors.keys().cloned().collect();
        if result.is_ok() && self.vector_names_of(offset) != names {
            result = self.record(PointLogRecord::Vectors {
                offset: offset.0,
                present: names,
                version: record.version,
            });
        }
        self.versions[offset.index()] = record.version;
        self.version = version;
        result
    }

    /// Deleted points still taking space.
    pub fn deleted_count(&self) -> usize {
        self.ids.total_offsets() - self.ids.len()
    }

    /// Live points that carry vector `name`.
    pub fn vector_count(&self, name: &str) -> usize {
        self.present.get(name).map_or(0, |flags| {
            (0..flags.len())
                .filter(|&i| flags[i] && self.ids.id(PointOffset(i as u32)).is_some())
                .count()
        })
    }

    /// The parameters of the graph of vector `name`, if it has one.
    pub fn graph_params(&self, name: &str) -> Option<GraphParams> {
        self.meta.graphs.get(name).map(|g| g.params)
    }

    /// Builds an HNSW graph for each vector in `wanted` over the points this
    /// segment holds, saves it next to the vectors and records it in the
    /// meta file. Meant for a segment that gets no new points afterwards.
    /// The same as [`Segment::graph_jobs`], building each job, then
    /// [`Segment::attach_graphs`].
    pub fn build_graphs(
        &mut self,
        wanted: &BTreeMap<String, (GraphParams, HnswParams)>,
        full_scan_threshold_kb: usize,
        builder: &dyn GraphBuilder,
        cancel: &AtomicBool,
        progress: &dyn Fn(usize),
    ) -> Result<(), SegmentError> {
        let jobs = self.graph_jobs(wanted, full_scan_threshold_kb, "0")?;
        let built = jobs
            .iter()
            .map(|job| job.build(builder, cancel, progress))
            .collect::<Result<Vec<_>, _>>()?;
        self.attach_graphs(built, &[])
    }

    /// Everything the graphs in `wanted` are built from, taken now (under
    /// the caller's read lock) so that the builds can run without it: a
    /// read-only view of the vectors, which points to index, and the
    /// payload value groups that get payload links.
    ///
    /// Where `payload_m` is set, every value of a keyword or integer payload
    /// index held by at least `full_scan_threshold_kb` worth of points (the
    /// size below which a filter is scanned, not walked) gets links among
    /// its points ([`crate::index::hnsw::add_payload_links`]). `tag` makes
    /// the graph file names unique, so that a rebuild never overwrites a
    /// graph that searches still read.
    pub fn graph_jobs(
        &self,
        wanted: &BTreeMap<String, (GraphParams, HnswParams)>,
        full_scan_threshold_kb: usize,
        tag: &str,
    ) -> Result<Vec<GraphJob>, SegmentError> {
        let rows = self.ids.total_offsets();
        wanted
            .iter()
            .map(|(name, (params, hnsw))| {
                let spec = *self
                    .specs
                    .get(name)
                    .ok_or_else(|| SegmentError::UnknownVector(name.clone()))?;
                let present = &self.present[name];
                let indexed = (0..rows)
                    .map(|i| present[i] && self.ids.id(PointOffset(i as u32)).is_some())
                    .collect();
                let min_group = full_scan_points(full_scan_threshold_kb, spec.dim).max(2);
                let (payload_fields, groups) = match params.payload_m {
                    Some(m) if m > 0 => self.indexes.value_groups(min_group),
                    _ => (Vec::new(), Vec::new()),
                };
                let stem = self.meta.vectors[name].file.trim_end_matches(".bin");
                Ok(GraphJob {
                    name: name.clone(),
                    path: self.dir.join(format!("graph-{stem}-{tag}.hnsw")),
                    spec,
                    vectors: self.vectors[name].freeze(rows)?,
                    indexed,
                    params: *params,
                    hnsw: hnsw.clone(),
                    payload_fields,
                    groups,
                    min_group,
                })
            })
            .collect()
    }

    /// Makes `built` graphs this segment's (replacing any older graph of
    /// the same vector) and drops the graphs of `remove`: the meta file is
    /// replaced first, then files no longer named by it are deleted.
    pub fn attach_graphs(
        &mut self,
        built: Vec<BuiltGraph>,
        remove: &[String],
    ) -> Result<(), SegmentError> {
        let mut meta = self.meta.clone();
        let mut opened = Vec::new();
        for b in built {
            // Searches read the mapped file, not the build's heap copy.
            let graph = HnswGraph::open(&self.dir.join(&b.stored.file)).map_err(|source| {
                SegmentError::Index {
                    vector: b.name.clone(),
                    source,
                }
            })?;
            meta.graphs.insert(b.name.clone(), b.stored);
            opened.push((b.name, graph));
        }
        for name in remove {
            meta.graphs.remove(name);
        }
        meta.store(&self.dir)?;
        let old_files: Vec<String> = self
            .meta
            .graphs
            .values()
            .map(|g| g.file.clone())
            .filter(|f| !meta.graphs.values().any(|g| &g.file == f))
            .collect();
        self.meta = meta;
        for name in remove {
            self.graphs.remove(name);
        }
        self.graphs.extend(opened);
        for file in old_files {
            if let Err(e) = std::fs::remove_file(self.dir.join(&file)) {
                tracing::warn!(file, error = %e, "could not remove a replaced graph");
            }
        }
        Ok(())
    }

    /// Makes the in-memory state durable; returns the length of the point
    /// log that holds it (for the collection's manifest).
    pub fn flush(&self) -> Result<u64, SegmentError> {
        for storage in self.vectors.values() {
            storage.flush()?;
        }
        self.log.lock().sync()
    }
}

/// Removes graph files the meta file does not name: a build that was cut
/// short (its temporary file) or finished but never attached, by a crash.
fn remove_stray_graphs(dir: &Path, meta: &SegmentMeta) -> Result<(), SegmentError> {
    let io = |source| SegmentError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let name = entry
            .map_err(io)?
            .file_name()
            .to_string_lossy()
            .into_owned();
        let graph_file = name.ends_with(".hnsw") || name.ends_with(".hnsw.tmp");
        if graph_file && !meta.graphs.values().any(|g| g.file == name) {
            tracing::info!(segment = %dir.display(), file = name, "removing a graph file no segment uses");
            std::fs::remove_file(dir.join(&name)).map_err(io)?;
        }
    }
    Ok(())
}

/// Qdrant's `full_scan_threshold` (KB of `f32` vectors, 1 KB being one
/// 256-d vector) as a number of points of `dim` dimensions.
fn full_scan_points(kb: usize, dim: usize) -> usize {
    kb.saturating_mul(1024) / (dim * 4).max(1)
}

/// How a vector name reads in messages: the unnamed vector is `(unnamed)`.
pub fn display_name(vector_name: &str) -> &str {
    if vector_name.is_empty() {
        "(unnamed)"
    } else {
        vector_name
    }
}

/// One graph to build, with everything it reads (see
/// [`Segment::graph_jobs`]); building needs no lock on the segment.
#[derive(Debug)]
pub struct GraphJob {
    name: String,
    path: PathBuf,
    spec: VectorSpec,
    vectors: FrozenRows,
    /// Per offset at the time the job was taken: live and carrying the vector.
    indexed: Vec<bool>,
    params: GraphParams,
    hnsw: HnswParams,
    payload_fields: Vec<String>,
    groups: Vec<Vec<PointOffset>>,
    min_group: usize,
}

/// A graph saved next to its segment's vectors, not yet attached.
#[derive(Debug)]
pub struct BuiltGraph {
    name: String,
    stored: StoredGraph,
}

impl GraphJob {
    /// Points the graph covers.
    pub fn points(&self) -> usize {
        self.indexed.iter().filter(|i| **i).count()
    }

    /// Builds the graph, adds payload links, saves it to its file.
    pub fn build(
        &self,
        builder: &dyn GraphBuilder,
        cancel: &AtomicBool,
        progress: &dyn Fn(usize),
    ) -> Result<BuiltGraph, SegmentError> {
        let index_error = |source| SegmentError::Index {
            vector: self.name.clone(),
            source,
        };
        let rows = self.vectors.rows();
        let vectors = rows.as_source();
        let indexed = |o: PointOffset| self.indexed.get(o.index()).copied().unwrap_or(false);
        let graph = builder
            .build(
                vectors,
                self.spec.distance,
                &self.hnsw,
                &indexed,
                cancel,
                progress,
            )
            .map_err(index_error)?;
        let graph = match self.params.payload_m.filter(|m| *m > 0) {
            Some(payload_m) => add_payload_links_with(
                &graph,
                vectors,
                self.spec.distance,
                &self.groups,
                payload_m,
                self.params.ef_construct,
                self.hnsw.max_threads,
                cancel,
                builder.builds_payload_groups().then_some(builder),
            )
            .map_err(index_error)?,
            None => graph,
        };
        graph.save(&self.path).map_err(index_error)?;
        let file = self
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(BuiltGraph {
            name: self.name.clone(),
            stored: StoredGraph {
                file,
                params: self.params,
                payload_fields: self.payload_fields.clone(),
                payload_min_group: self.min_group,
            },
        })
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
