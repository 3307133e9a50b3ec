//! Building a graph: the [`GraphBuilder`] interface every builder (CPU now,
//! GPU later) implements, and the CPU builder.
//!
//! The CPU builder inserts points in ascending offset order. The first
//! [`SEQUENTIAL_PREFIX`] go in one at a time, so the top of the graph is not
//! shaped by races between threads all inserting into a near-empty graph;
//! the rest go in batches of [`BATCH`] spread over a dedicated rayon pool of
//! `max_threads` threads. Between batches the builder checks the cancel
//! flag, reports progress and logs the rate every [`LOG_INTERVAL`].
//!
//! With `max_threads == 1` the whole build runs on the calling thread in
//! offset order, so the same vectors and parameters always give the same
//! graph, bit for bit: the reference a GPU builder is held to in its exact
//! single-group mode.

#![deny(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::building::GraphUnderConstruction;
use super::error::IndexError;
use super::graph::HnswGraph;
use super::level::level;
use super::metric::Metric;
use super::params::HnswParams;
use super::vectors::VectorSource;
use crate::index::distance::Distance;
use crate::segment::point_id::PointOffset;

/// Points inserted one by one before the threads start.
pub const SEQUENTIAL_PREFIX: usize = 1024;
/// Points per parallel batch: the cancel flag is checked this often, about
/// every 0.1 s on one core at the benchmark's sizes.
pub const BATCH: usize = 1024;
/// How often progress is logged.
pub const LOG_INTERVAL: Duration = Duration::from_secs(5);

/// Builds a graph over `vectors`.
///
/// * `indexed` says which points go into the graph: the segment passes
///   "not deleted". Points it rejects keep their offset (the graph covers
///   `0..vectors.len()`) but get no links and are never reached.
/// * `cancel` is checked between batches; once set, the build returns
///   [`IndexError::Cancelled`].
/// * `progress` receives the number of points inserted so far, between
///   batches, on the calling thread.
///
/// Every builder assigns levels with [`super::level::level`] and produces
/// the same [`HnswGraph`] format, so the graph's consumers never know which
/// one ran.
pub trait GraphBuilder: std::fmt::Debug + Send + Sync {
    fn build(
        &self,
        vectors: &dyn VectorSource,
        distance: Distance,
        params: &HnswParams,
        indexed: &(dyn Fn(PointOffset) -> bool + Sync),
        cancel: &AtomicBool,
        progress: &dyn Fn(usize),
    ) -> Result<HnswGraph, IndexError>;

    /// The most vector bytes one build should be given, if the builder has
    /// a limit (a GPU's memory); the optimizer caps segment sizes by it.
    fn max_build_bytes(&self) -> Option<u64> {
        None
    }

    /// Whether large payload sub-graphs should go through this builder too
    /// (a GPU) rather than the CPU insertion of `payload.rs`.
    fn builds_payload_groups(&self) -> bool {
        false
    }
}

/// A builder shared by every collection's optimizer thread.
pub type SharedBuilder = std::sync::Arc<dyn GraphBuilder + Send + Sync>;

/// Builds on the CPU with rayon; see the module docs.
#[derive(Debug, Default, Clone, Copy)]
pub struct CpuBuilder;

impl GraphBuilder for CpuBuilder {
    fn build(
        &self,
        vectors: &dyn VectorSource,
        distance: Distance,
        params: &HnswParams,
        indexed: &(dyn Fn(PointOffset) -> bool + Sync),
        cancel: &AtomicBool,
        progress: &dyn Fn(usize),
    ) -> Result<HnswGraph, IndexError> {
        params.validate()?;
        let n = vectors.len();
        if u32::try_from(n).is_err() {
            return Err(IndexError::InvalidVectors(format!(
                "{n} points do not fit 32-bit offsets"
            )));
        }
        if n > 0 && vectors.dim() == 0 {
            return Err(IndexError::InvalidVectors(
                "zero-dimensional vectors".to_owned(),
            ));
        }
        // Contiguous vectors get a copy of the build with row lookups
        // inlined, instead of a virtual call per distance.
        if let Some(dense) = vectors.as_dense() {
            build_in(&dense, distance, params, indexed, cancel, progress)
        } else if let Some(dense) = vectors.as_dense_f16() {
            build_in(&dense, distance, params, indexed, cancel, progress)
        } else {
            build_in(vectors, distance, params, indexed, cancel, progress)
        }
    }
}

fn build_in<V: VectorSource + ?Sized>(
    vectors: &V,
    distance: Distance,
    params: &HnswParams,
    indexed: &(dyn Fn(PointOffset) -> bool + Sync),
    cancel: &AtomicBool,
    progress: &dyn Fn(usize),
) -> Result<HnswGraph, IndexError> {
    let n = vectors.len();
    let threads = params.threads();
    let started = Instant::now();
    let (order, levels) = insertion_order(n, params, indexed);
    let graph = GraphUnderConstruction::new(vectors, Metric(distance), params, levels);

    let mut log = ProgressLog::new(order.len(), started);
    let (prefix, rest) = if threads == 1 {
        (&order[..], &order[..0])
    } else {
        order.split_at(order.len().min(SEQUENTIAL_PREFIX))
    };
    let mut done = 0;
    for batch in prefix.chunks(BATCH) {
        check(cancel)?;
        batch.iter().for_each(|&node| graph.insert(node));
        done += batch.len();
        progress(done);
        log.tick(done);
    }
    if !rest.is_empty() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("hnsw-build-{i}"))
            .build()
            .map_err(|e| IndexError::ThreadPool(e.to_string()))?;
        for batch in rest.chunks(BATCH) {
            check(cancel)?;
            pool.install(|| batch.par_iter().for_each(|&node| graph.insert(node)));
            done += batch.len();
            progress(done);
            log.tick(done);
        }
    }
    check(cancel)?;

    let graph = graph.finish();
    tracing::info!(
        points = done,
        threads,
        seconds = started.elapsed().as_secs_f64(),
        "HNSW graph built"
    );
    Ok(graph)
}

/// The points to insert, in offset order, and every point's level: what
/// every builder starts from, so that all assign the same levels.
/// `level` is capped at `MAX_LEVEL` (32), so it fits a byte. Points left out
/// get level 0: no records above layer 0 are kept for them.
pub(crate) fn insertion_order(
    n: usize,
    params: &HnswParams,
    indexed: &(dyn Fn(PointOffset) -> bool + Sync),
) -> (Vec<u32>, Vec<u8>) {
    let order: Vec<u32> = (0..n as u32).filter(|&i| indexed(PointOffset(i))).collect();
    let mut levels = vec![0u8; n];
    for &i in &order {
        levels[i as usize] = level(params.seed, PointOffset(i), params.m) as u8;
    }
    (order, levels)
}

/// `Err(Cancelled)` once `cancel` is raised.
pub(crate) fn check(cancel: &AtomicBool) -> Result<(), IndexError> {
    // Relaxed: the flag carries no data with it, and a batch later is soon
    // enough to notice.
    if cancel.load(Ordering::Relaxed) {
        Err(IndexError::Cancelled)
    } else {
        Ok(())
    }
}

/// Logs points done and the insertion rate at most every [`LOG_INTERVAL`].
struct ProgressLog {
    total: usize,
    started: Instant,
    last: Instant,
}

impl ProgressLog {
    fn new(total: usize, started: Instant) -> Self {
        ProgressLog {
            total,
            started,
            last: started,
        }
    }

    fn tick(&mut self, done: usize) {
        if self.last.elapsed() < LOG_INTERVAL {
            return;
        }
        self.last = Instant::now();
        let seconds = self.started.elapsed().as_secs_f64();
        tracing::info!(
            points = done,
            total = self.total,
            points_per_second = (done as f64 / seconds).round(),
            "HNSW build progress"
        );
    }
}
