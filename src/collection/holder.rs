//! The segments of a collection and how point operations are routed to them.
//!
//! A point lives in exactly one segment. New points go to the one
//! appendable segment; a point whose vectors change while it lives in any
//! other segment (one with a graph, or one an optimization is reading) is
//! moved into the appendable segment, so that no graph ever holds a stale
//! vector. Deletes, payload changes and vector removals happen where the
//! point is.
//!
//! The holder sits behind the collection's `RwLock`: the update worker
//! applies a batch under the write lock, so a search (read lock) never sees
//! a point half moved, and the optimizer swaps segments under the same
//! write lock. Each segment has its own lock as well, so that the optimizer
//! can copy from a segment (read lock) without holding up searches.
//!
//! Lock order: holder, then segment. The holder's read lock is never taken
//! twice by one thread (parking_lot read locks are not re-entrant while a
//! writer waits).

#![deny(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{RwLock, RwLockWriteGuard};
use rayon::prelude::*;

use super::error::CollectionError;
use super::manifest::{Manifest, SegmentId, SegmentState};
use crate::index::distance::Distance;
use crate::segment::filter::{Filter, JsonPath};
use crate::segment::meta::SegmentMeta;
use crate::segment::payload::Payload;
use crate::segment::payload_index::{FieldSchema, IndexInfo};
use crate::segment::point_id::PointId;
use crate::segment::{
    NamedVectors, PointRecord, ScoredPoint, SearchParams, Segment, SegmentError, VectorSpec,
};

pub type SharedSegment = Arc<RwLock<Segment>>;

#[derive(Debug)]
pub struct SegmentHolder {
    /// The collection directory; segments live in `segments/{id}`.
    dir: PathBuf,
    specs: BTreeMap<String, VectorSpec>,
    segments: BTreeMap<SegmentId, SharedSegment>,
    appendable: SegmentId,
    next_id: SegmentId,
    /// The last WAL operation applied.
    version: u64,
    /// Payload indexes, the same in every segment.
    schema: BTreeMap<String, FieldSchema>,
}

impl SegmentHolder {
    /// Opens the segments the manifest in `dir` lists (writing the first
    /// manifest for a new collection, or for one stored before manifests
    /// existed) and removes any other segment directory.
    pub fn open(
        dir: &Path,
        specs: &BTreeMap<String, VectorSpec>,
    ) -> Result<SegmentHolder, CollectionError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CollectionError::Io { path, source }
        };
        let segments_dir = dir.join("segments");
        std::fs::create_dir_all(&segments_dir).map_err(io(&segments_dir))?;
        let manifest = match Manifest::load(dir).map_err(io(dir))? {
            Some(manifest) => manifest,
            None => {
                // Segment 0 is the first appendable segment of a new
                // collection, and the only segment of one written before
                // manifests: its format 1 meta file knows the durable state.
                let first = segments_dir.join("0");
                let legacy = match SegmentMeta::load(&first)? {
                    Some(meta) => meta.legacy.unwrap_or_default(),
                    None => {
                        Segment::create(&first, specs)?;
                        Default::default()
                    }
                };
                let segments = BTreeMap::from([(
                    0,
                    SegmentState {
                        log_len: legacy.log_len,
                    },
                )]);
                let manifest = Manifest::new(legacy.version, 0, segments, legacy.payload_indexes);
                manifest.store(dir).map_err(io(dir))?;
                manifest
            }
        };
        let mut next_id = 0;
        for entry in std::fs::read_dir(&segments_dir).map_err(io(&segments_dir))? {
            let entry = entry.map_err(io(&segments_dir))?;
            let name = entry.file_name();
            let listed = name
                .to_str()
                .and_then(|n| n.parse::<SegmentId>().ok())
                .inspect(|id| next_id = next_id.max(id + 1))
                .is_some_and(|id| manifest.segments.contains_key(&id));
            if !listed {
                tracing::info!(path = %entry.path().display(), "removing a segment the manifest does not list (an unfinished or superseded optimization)");
                let path = entry.path();
                let removed = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                removed.map_err(io(&path))?;
            }
        }
        let mut segments = BTreeMap::new();
        for (&id, state) in &manifest.segments {
            let mut segment = Segment::open(&segments_dir.join(id.to_string()), state.log_len)?;
            for (field_name, schema) in &manifest.payload_indexes {
                segment.create_index(field_name, field_path(field_name)?, schema.clone());
            }
            segments.insert(id, Arc::new(RwLock::new(segment)));
        }
        Ok(SegmentHolder {
            dir: dir.to_path_buf(),
            specs: specs.clone(),
            segments,
            appendable: manifest.appendable,
            next_id,
            version: manifest.version,
            schema: manifest.payload_indexes,
        })
    }

    /// The last WAL operation applied.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Sets the operation being applied: the points it changes carry it as
    /// their version.
    pub fn set_version(&mut self, version: u64) {
        self.version = version;
    }

    /// Flushes every segment and writes the manifest; returns the version
    /// now durable. The caller makes sure no operation is applied
    /// meanwhile (the update worker, or anyone holding the write lock).
    pub fn commit(&self) -> Result<u64, CollectionError> {
        let mut states = BTreeMap::new();
        for (&id, segment) in &self.segments {
            let log_len = segment.read().flush()?;
            states.insert(id, SegmentState { log_len });
        }
        Manifest::new(self.version, self.appendable, states, self.schema.clone())
            .store(&self.dir)
            .map_err(|source| CollectionError::Io {
                path: self.dir.clone(),
                source,
            })?;
        Ok(self.version)
    }

    pub fn segments(&self) -> impl Iterator<Item = (SegmentId, &SharedSegment)> + '_ {
        self.segments.iter().map(|(id, s)| (*id, s))
    }

    pub fn appendable_id(&self) -> SegmentId {
        self.appendable
    }

    pub fn specs(&self) -> &BTreeMap<String, VectorSpec> {
        &self.specs
    }

    /// Payload indexes by field name.
    pub fn schema(&self) -> &BTreeMap<String, FieldSchema> {
        &self.schema
    }

    /// A new, empty segment directory name and its path (not yet listed).
    pub fn reserve_segment(&mut self) -> (SegmentId, PathBuf) {
        let id = self.next_id;
        self.next_id += 1;
        (id, self.segment_dir(id))
    }

    fn segment_dir(&self, id: SegmentId) -> PathBuf {
        self.dir.join("segments").join(id.to_string())
    }

    /// Makes a new, empty segment the appendable one, so that the current
    /// one takes no new points and no vector changes from now on; then
    /// commits. Returns the segment that was appendable.
    pub fn seal_appendable(&mut self) -> Result<SegmentId, CollectionError> {
        let (id, dir) = self.reserve_segment();
        let mut segment = Segment::create(&dir, &self.specs)?;
        for (field_name, schema) in &self.schema {
            segment.create_index(field_name, field_path(field_name)?, schema.clone());
        }
        self.segments.insert(id, Arc::new(RwLock::new(segment)));
        let sealed = std::mem::replace(&mut self.appendable, id);
        self.commit()?;
        Ok(sealed)
    }

    /// Replaces `sources` by `segment` (stored in `segments/{id}`) and
    /// commits, then deletes the sources' directories.
    pub fn replace(
        &mut self,
        sources: &[SegmentId],
        id: SegmentId,
        segment: Segment,
    ) -> Result<(), CollectionError> {
        debug_assert!(!sources.contains(&self.appendable));
        let removed: Vec<_> = sources
            .iter()
            .filter_map(|s| self.segments.remove(s).map(|seg| (*s, seg)))
            .collect();
        self.segments.insert(id, Arc::new(RwLock::new(segment)));
        if let Err(e) = self.commit() {
            // Put the sources back: the old manifest still lists them.
            self.segments.remove(&id);
            self.segments.extend(removed);
            return Err(e);
        }
        for (source, _) in removed {
            let dir = self.segment_dir(source);
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                // The next open removes it: the manifest no longer lists it.
                tracing::warn!(path = %dir.display(), error = %e, "could not remove a replaced segment");
            }
        }
        Ok(())
    }

    /// The segment holding `id`, appendable first.
    fn locate(&self, id: PointId) -> Option<(SegmentId, &SharedSegment)> {
        let appendable = &self.segments[&self.appendable];
        if appendable.read().contains(id) {
            return Some((self.appendable, appendable));
        }
        self.segments
            .iter()
            .find(|(sid, s)| **sid != self.appendable && s.read().contains(id))
            .map(|(sid, s)| (*sid, s))
    }

    /// A segment's write lock, with the operation being applied set.
    fn write<'a>(&self, segment: &'a SharedSegment) -> RwLockWriteGuard<'a, Segment> {
        let mut guard = segment.write();
        guard.set_version(self.version);
        guard
    }

    fn appendable(&self) -> &SharedSegment {
        &self.segments[&self.appendable]
    }

    pub fn contains(&self, id: PointId) -> bool {
        self.locate(id).is_some()
    }

    /// Inserts or fully replaces a point.
    pub fn upsert(
        &mut self,
        id: PointId,
        vectors: &NamedVectors,
        payload: Payload,
    ) -> Result<(), SegmentError> {
        let found = self.locate(id).map(|(sid, s)| (sid, s.clone()));
        self.write(self.appendable()).upsert(id, vectors, payload)?;
        if let Some((sid, segment)) = found.filter(|(sid, _)| *sid != self.appendable) {
            tracing::trace!(segment = sid, %id, "point moved to the appendable segment");
            self.write(&segment).delete(id)?;
        }
        Ok(())
    }

    /// Deletes a point; false if it was not here.
    pub fn delete(&mut self, id: PointId) -> Result<bool, SegmentError> {
        match self.locate(id) {
            Some((_, segment)) => self.write(segment).delete(id),
            None => Ok(false),
        }
    }

    /// Changes a point's payload in place; false if the point is absent.
    pub fn modify_payload(
        &mut self,
        id: PointId,
        change: impl FnOnce(&mut Payload),
    ) -> Result<bool, SegmentError> {
        match self.locate(id) {
            Some((_, segment)) => self.write(segment).modify_payload(id, change),
            None => Ok(false),
        }
    }

    /// Sets the given named vectors, keeping the point's others; a point
    /// outside the appendable segment moves into it.
    pub fn update_vectors(
        &mut self,
        id: PointId,
        vectors: &NamedVectors,
    ) -> Result<bool, SegmentError> {
        let Some((sid, segment)) = self.locate(id).map(|(sid, s)| (sid, s.clone())) else {
            return Ok(false);
        };
        if sid == self.appendable {
            return self.write(&segment).update_vectors(id, vectors);
        }
        let Some(mut record) = segment.read().point_record(id) else {
            return Ok(false);
        };
        record
            .vectors
            .extend(vectors.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.write(self.appendable())
            .upsert(id, &record.vectors, record.payload)?;
        self.write(&segment).delete(id)?;
        Ok(true)
    }

    /// Removes the named vectors from a point, in place.
    pub fn delete_vectors(&mut self, id: PointId, names: &[String]) -> Result<bool, SegmentError> {
        match self.locate(id) {
            Some((_, segment)) => self.write(segment).delete_vectors(id, names),
            None => Ok(false),
        }
    }

    pub fn create_index(
        &mut self,
        field_name: &str,
        path: JsonPath,
        schema: FieldSchema,
    ) -> Result<(), CollectionError> {
        for segment in self.segments.values() {
            segment
                .write()
                .create_index(field_name, path.clone(), schema.clone());
        }
        self.schema.insert(field_name.to_string(), schema);
        Ok(())
    }

    pub fn delete_index(&mut self, field_name: &str) {
        for segment in self.segments.values() {
            segment.write().delete_index(field_name);
        }
        self.schema.remove(field_name);
    }

    /// Payload indexes with the points they index, over all segments.
    pub fn index_info(&self) -> Vec<IndexInfo> {
        let mut merged: BTreeMap<String, IndexInfo> = self
            .schema
            .iter()
            .map(|(field_name, schema)| {
                let info = IndexInfo {
                    field_name: field_name.clone(),
                    schema: schema.clone(),
                    points: 0,
                };
                (field_name.clone(), info)
            })
            .collect();
        for segment in self.segments.values() {
            for info in segment.read().index_info() {
                if let Some(m) = merged.get_mut(&info.field_name) {
                    m.points += info.points;
                }
            }
        }
        merged.into_values().collect()
    }

    /// Live points.
    pub fn len(&self) -> usize {
        self.segments.values().map(|s| s.read().len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn retrieve(&self, id: PointId) -> Option<PointRecord> {
        self.locate(id).and_then(|(_, s)| s.read().point_record(id))
    }

    /// Ids of live points matching `filter`, ascending, from `from`, at most
    /// `limit`.
    pub fn scroll(
        &self,
        from: Option<PointId>,
        filter: Option<&Filter>,
        limit: usize,
    ) -> Vec<PointId> {
        let mut ids: Vec<PointId> = self
            .segments
            .values()
            .flat_map(|s| s.read().scroll(from, filter, limit))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.truncate(limit);
        ids
    }

    pub fn count(&self, filter: Option<&Filter>) -> usize {
        self.segments.values().map(|s| s.read().count(filter)).sum()
    }

    /// The best `k` points over all segments, best first (equal scores by
    /// ascending id).
    pub fn search(
        &self,
        vector: &str,
        query: &[f32],
        filter: Option<&Filter>,
        k: usize,
        params: &SearchParams,
        distance: Distance,
    ) -> Result<Vec<ScoredPoint>, SegmentError> {
        let per_segment: Vec<Vec<ScoredPoint>> = self
            .segments
            .values()
            .collect::<Vec<_>>()
            .par_iter()
            .map(|s| s.read().search(vector, query, filter, k, params))
            .collect::<Result<_, _>>()?;
        let mut all: Vec<ScoredPoint> = per_segment.into_iter().flatten().collect();
        all.sort_by(|a, b| {
            let by_score = if distance.is_ascending() {
                a.score.total_cmp(&b.score)
            } else {
                b.score.total_cmp(&a.score)
            };
            by_score.then(a.id.cmp(&b.id))
        });
        all.truncate(k);
        Ok(all)
    }
}

/// A payload index's field name is a key path.
pub fn field_path(field_name: &str) -> Result<JsonPath, CollectionError> {
    field_name
        .parse::<JsonPath>()
        .map_err(|e| CollectionError::validation("field_name", e.to_string()))
}
