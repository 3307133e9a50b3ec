//! Building the segment an optimization produces, and catching it up; or,
//! for a single sealed segment that only needs graphs, building them in
//! place ([`build_in_place`]).
//!
//! [`build_segment`] copies the live points of the source segments into a
//! new segment (a few hundred at a time under each source's read lock, so
//! searches and updates go on), then builds the HNSW graphs the thresholds
//! ask for on the new segment's own vectors, with no lock held.
//!
//! Sources take no new points and no vector changes while they are being
//! read (the collection moves such points to its appendable segment), but
//! their points may still be deleted, lose vectors or change payload. Just
//! before the swap, under the collection's write lock, [`catch_up`] brings
//! the new segment level with the sources: every point whose version moved
//! on is synced, every point gone from the sources is deleted.

#![deny(unsafe_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use super::planner::Thresholds;
use crate::index::hnsw::{GraphBuilder, HnswParams, IndexError};
use crate::segment::meta::GraphParams;
use crate::segment::{BuiltGraph, Segment, SegmentError, VectorSpec};

/// Points copied per read-lock of a source.
const COPY_CHUNK: usize = 256;

/// How far a build has got, for `GET …/optimizations` and the logs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Points copied, then points inserted into the graph being built.
    pub done: AtomicUsize,
    pub total: AtomicUsize,
    /// 0 while copying, then 1 + the index of the graph being built.
    pub stage: AtomicUsize,
}

impl Progress {
    fn start(&self, stage: usize, total: usize) {
        self.stage.store(stage, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
    }
}

/// What an optimization builds.
#[derive(Debug)]
pub struct BuildRequest<'a> {
    pub sources: &'a [Arc<RwLock<Segment>>],
    pub dir: &'a Path,
    pub specs: &'a BTreeMap<String, VectorSpec>,
    pub thresholds: &'a Thresholds,
    /// Threads one graph build may use (0: every core).
    pub max_indexing_threads: usize,
    /// Payload values held by fewer points than this much vector data get
    /// no payload links (a filter on them is scanned, not walked).
    pub full_scan_threshold_kb: usize,
}

/// Copies the sources' live points into a new segment in `dir` and builds
/// its graphs; see the module docs. On error the caller removes `dir`.
pub fn build_segment(
    request: &BuildRequest<'_>,
    builder: &dyn GraphBuilder,
    cancel: &AtomicBool,
    progress: &Progress,
) -> Result<Segment, SegmentError> {
    let mut segment = Segment::create(request.dir, request.specs)?;
    let ids: Vec<_> = request
        .sources
        .iter()
        .map(|s| s.read().live_points())
        .collect();
    progress.start(0, ids.iter().map(Vec::len).sum());
    for (source, ids) in request.sources.iter().zip(&ids) {
        for chunk in ids.chunks(COPY_CHUNK) {
            if cancel.load(Ordering::Relaxed) {
                return Err(cancelled());
            }
            let records: Vec<_> = {
                let source = source.read();
                chunk
                    .iter()
                    .filter_map(|id| source.point_record(*id))
                    .collect()
            };
            for record in &records {
                segment.insert_record(record)?;
            }
            progress.done.fetch_add(chunk.len(), Ordering::Relaxed);
        }
    }

    let wanted = wanted_graphs(&segment, request);
    for (stage, (name, params)) in wanted.iter().enumerate() {
        progress.start(stage + 1, segment.vector_count(name));
        let one = BTreeMap::from([(name.clone(), (*params, hnsw_params(params, request)))]);
        let report = |done: usize| progress.done.store(done, Ordering::Relaxed);
        segment.build_graphs(
            &one,
            request.full_scan_threshold_kb,
            builder,
            cancel,
            &report,
        )?;
    }
    Ok(segment)
}

/// The graphs the thresholds ask of `segment` for its vectors' sizes.
fn wanted_graphs(segment: &Segment, request: &BuildRequest<'_>) -> BTreeMap<String, GraphParams> {
    let kb: BTreeMap<String, usize> = request
        .specs
        .iter()
        .map(|(name, spec)| {
            (
                name.clone(),
                vector_kb(segment.vector_count(name), spec.dim),
            )
        })
        .collect();
    request.thresholds.wanted_graphs(&kb)
}

fn hnsw_params(params: &GraphParams, request: &BuildRequest<'_>) -> HnswParams {
    HnswParams {
        max_threads: request.max_indexing_threads,
        ..HnswParams::new(params.m, params.ef_construct)
    }
}

/// Graphs built for a segment in place, to attach under the collection's
/// write lock ([`Segment::attach_graphs`]), and the graphs to drop.
#[derive(Debug)]
pub struct InPlace {
    pub built: Vec<BuiltGraph>,
    pub remove: Vec<String>,
}

/// Builds the graphs `segment` lacks, or holds with other parameters than
/// the thresholds ask for, on the segment's own vector files: no copy, so
/// an indexing job needs no more memory than the graph. Used for a single
/// sealed segment (indexing, config mismatch), which takes no new points
/// and never rewrites a vector; points deleted meanwhile stay in the graph
/// and are never returned. The segment's read lock is held only while the
/// jobs are taken; `tag` makes the new graph files' names unique.
pub fn build_in_place(
    segment: &Arc<RwLock<Segment>>,
    request: &BuildRequest<'_>,
    tag: &str,
    builder: &dyn GraphBuilder,
    cancel: &AtomicBool,
    progress: &Progress,
) -> Result<InPlace, SegmentError> {
    let (jobs, remove) = {
        let segment = segment.read();
        let wanted = wanted_graphs(&segment, request);
        let remove: Vec<String> = request
            .specs
            .keys()
            .filter(|name| segment.graph_params(name).is_some() && !wanted.contains_key(*name))
            .cloned()
            .collect();
        let to_build: BTreeMap<String, (GraphParams, HnswParams)> = wanted
            .iter()
            .filter(|(name, params)| segment.graph_params(name) != Some(**params))
            .map(|(name, params)| (name.clone(), (*params, hnsw_params(params, request))))
            .collect();
        let jobs = segment.graph_jobs(&to_build, request.full_scan_threshold_kb, tag)?;
        (jobs, remove)
    };
    let mut built = Vec::new();
    for (stage, job) in jobs.iter().enumerate() {
        progress.start(stage + 1, job.points());
        let report = |done: usize| progress.done.store(done, Ordering::Relaxed);
        built.push(job.build(builder, cancel, &report)?);
    }
    Ok(InPlace { built, remove })
}

fn cancelled() -> SegmentError {
    SegmentError::Index {
        vector: String::new(),
        source: IndexError::Cancelled,
    }
}

/// True for the error a cancelled build ends with.
pub fn is_cancelled(error: &SegmentError) -> bool {
    matches!(
        error,
        SegmentError::Index {
            source: IndexError::Cancelled,
            ..
        }
    )
}

/// KB taken by `count` float32 vectors of `dim` (Qdrant's unit for
/// thresholds: 1 KB is one vector of 256 dimensions).
pub fn vector_kb(count: usize, dim: usize) -> usize {
    count.saturating_mul(dim).saturating_mul(4) / 1024
}

/// Brings `segment` (built from `sources`) level with them; see the module
/// docs. Returns the points synced and deleted. The caller holds the
/// collection's write lock, so the sources do not change meanwhile.
pub fn catch_up(
    segment: &mut Segment,
    sources: &[Arc<RwLock<Segment>>],
) -> Result<(usize, usize), SegmentError> {
    let sources: Vec<_> = sources.iter().map(|s| s.read()).collect();
    let (mut synced, mut deleted) = (0, 0);
    for id in segment.live_points() {
        // Versions first: copying a record is only worth it when it moved on.
        match sources.iter().find_map(|s| s.point_version(id)) {
            None => {
                segment.delete(id)?;
                deleted += 1;
            }
            Some(version) if Some(version) != segment.point_version(id) => {
                if let Some(record) = sources.iter().find_map(|s| s.point_record(id)) {
                    segment.sync_record(&record)?;
                    synced += 1;
                }
            }
            Some(_) => {}
        }
    }
    Ok((synced, deleted))
}
