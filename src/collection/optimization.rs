//! The collection's optimizer thread: it plans (`optimizer::planner`),
//! seals the appendable segment when a plan needs it, builds the new
//! segment (`optimizer::build`) with no collection lock held, then swaps it
//! in under the write lock and commits the manifest. A single sealed
//! segment that only needs graphs gets them in place instead, attached
//! under the write lock.
//!
//! Jobs run one at a time per collection, each graph build on
//! `max_indexing_threads` threads; `max_optimization_threads: 0` turns the
//! optimizer off (the collection then reports `grey` while work waits).
//! The thread wakes when the update worker applied operations, when the
//! config changes, and once a second.
//!
//! A failed job is logged once, reported in collection info (`red`, with
//! the error as `optimizer_status`) and not retried for
//! [`RETRY_AFTER`]; its sources stay in place, so nothing is lost. A
//! cancelled job (shutdown) leaves its half-built segment directory to be
//! removed at the next open, since the manifest never listed it.

#![deny(unsafe_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parking_lot::{Condvar, Mutex, RwLock};

use super::config::CollectionConfig;
use super::error::CollectionError;
use super::holder::{field_path, SegmentHolder, SharedSegment};
use super::manifest::SegmentId;
use crate::index::hnsw::SharedBuilder;
use crate::optimizer::build::{self, BuildRequest, Progress};
use crate::optimizer::planner::{self, OptimizerKind, Plan, SegmentStats, Thresholds, VectorStats};
use crate::segment::meta::GraphParams;
use crate::segment::Segment;

/// How long a failed plan waits before it is tried again.
pub const RETRY_AFTER: Duration = Duration::from_secs(60);
/// Completed jobs remembered for `GET …/optimizations?with=completed`.
const COMPLETED_KEPT: usize = 16;
/// Qdrant's default `indexing_threshold_kb`, used when a config has none.
pub const DEFAULT_INDEXING_THRESHOLD_KB: usize = 10_000;
/// `max_segment_size_kb` when unset: this much per CPU.
const AUTO_SEGMENT_KB_PER_CPU: usize = 256_000;

/// Green: nothing to do; yellow: optimizing; grey: work waits but the
/// optimizer is off; red: the last optimization failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionStatus {
    Green,
    Yellow,
    Grey,
    Red,
}

impl CollectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionStatus::Green => "green",
            CollectionStatus::Yellow => "yellow",
            CollectionStatus::Grey => "grey",
            CollectionStatus::Red => "red",
        }
    }
}

/// One optimization, running or finished.
#[derive(Debug, Clone)]
pub struct JobInfo {
    /// The segment the job creates.
    pub segment: SegmentId,
    pub kind: OptimizerKind,
    /// Source segments with their live points when the job started.
    pub sources: Vec<(SegmentId, usize)>,
    pub started: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    /// "optimizing", "done", "cancelled", or "error: …".
    pub status: String,
    pub progress: Arc<Progress>,
}

/// Planned work, with the points it covers.
#[derive(Debug, Clone)]
pub struct QueuedJob {
    pub kind: OptimizerKind,
    pub sources: Vec<(SegmentId, usize)>,
}

/// Everything the API reports about the optimizer.
#[derive(Debug, Clone)]
pub struct OptimizerReport {
    pub status: CollectionStatus,
    pub error: Option<String>,
    pub running: Vec<JobInfo>,
    pub queued: Vec<QueuedJob>,
    pub completed: Vec<JobInfo>,
    /// Segments no job is planned for, with their live points.
    pub idle: Vec<(SegmentId, usize)>,
}

#[derive(Debug, Default)]
struct State {
    /// Set when something changed that may call for work.
    dirty: bool,
    stop: bool,
    running: Option<JobInfo>,
    completed: VecDeque<JobInfo>,
    /// The last job's failure, cleared by the next success.
    error: Option<String>,
    /// The plan that failed and when, for [`RETRY_AFTER`].
    failed: Option<(Plan, Instant)>,
}

/// What the collection and its optimizer thread share.
#[derive(Debug)]
pub struct OptimizerShared {
    state: Mutex<State>,
    wake: Condvar,
    /// Raised at shutdown: a running build stops at its next check.
    cancel: AtomicBool,
    /// Builds the graphs: the CPU, or a GPU with the CPU as fallback.
    builder: SharedBuilder,
}

impl OptimizerShared {
    pub fn new(builder: SharedBuilder) -> Self {
        OptimizerShared {
            state: Mutex::default(),
            wake: Condvar::new(),
            cancel: AtomicBool::new(false),
            builder,
        }
    }

    /// Asks the optimizer to look for work now.
    pub fn notify(&self) {
        self.state.lock().dirty = true;
        self.wake.notify_one();
    }

    /// Stops the thread (after it cancelled any running build).
    pub fn stop(&self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.state.lock().stop = true;
        self.wake.notify_one();
    }

    /// The optimizer's state, with the work pending in `holder` now.
    pub fn report(&self, holder: &SegmentHolder, config: &CollectionConfig) -> OptimizerReport {
        let stats = segment_stats(holder);
        let plans = planner::plan(&stats, &thresholds(config, self.builder.max_build_bytes()));
        let points: BTreeMap<SegmentId, usize> = stats.iter().map(|s| (s.id, s.points)).collect();
        let state = self.state.lock();
        let running: Vec<JobInfo> = state.running.iter().cloned().collect();
        let busy: Vec<SegmentId> = running
            .iter()
            .flat_map(|j| j.sources.iter().map(|s| s.0))
            .collect();
        let queued: Vec<QueuedJob> = plans
            .iter()
            .filter(|p| !p.segments.iter().any(|s| busy.contains(s)))
            .map(|p| QueuedJob {
                kind: p.kind,
                sources: p.segments.iter().map(|s| (*s, points[s])).collect(),
            })
            .collect();
        let planned: Vec<SegmentId> = plans.iter().flat_map(|p| p.segments.clone()).collect();
        let idle = stats
            .iter()
            .filter(|s| !planned.contains(&s.id) && !busy.contains(&s.id))
            .map(|s| (s.id, s.points))
            .collect();
        let pending = !running.is_empty() || !queued.is_empty();
        let status = if state.error.is_some() {
            CollectionStatus::Red
        } else if pending && disabled(config) {
            CollectionStatus::Grey
        } else if pending {
            CollectionStatus::Yellow
        } else {
            CollectionStatus::Green
        };
        OptimizerReport {
            status,
            error: state.error.clone(),
            running,
            queued,
            completed: state.completed.iter().rev().cloned().collect(),
            idle,
        }
    }
}

fn disabled(config: &CollectionConfig) -> bool {
    config.optimizer_config.max_optimization_threads == Some(0)
}

/// Statistics of every segment for the planner.
pub fn segment_stats(holder: &SegmentHolder) -> Vec<SegmentStats> {
    holder
        .segments()
        .map(|(id, segment)| {
            let segment = segment.read();
            let vectors = holder
                .specs()
                .iter()
                .map(|(name, spec)| {
                    let stats = VectorStats {
                        kb: build::vector_kb(segment.vector_count(name), spec.dim),
                        graph: segment.graph_params(name),
                    };
                    (name.clone(), stats)
                })
                .collect();
            SegmentStats {
                id,
                appendable: id == holder.appendable_id(),
                points: segment.len(),
                deleted: segment.deleted_count(),
                vectors,
            }
        })
        .collect()
}

/// The config's optimizer settings with every "auto" resolved.
/// The planner's thresholds from `config`; `max_build_bytes` (the graph
/// builder's limit, a GPU's) caps the segment size so that every segment
/// the optimizer hands the builder fits.
pub fn thresholds(config: &CollectionConfig, max_build_bytes: Option<u64>) -> Thresholds {
    let optimizers = &config.optimizer_config;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let graphs = config
        .params
        .vectors
        .params()
        .into_iter()
        .map(|(name, params)| {
            let mut hnsw = config.hnsw_config.clone();
            if let Some(diff) = &params.hnsw_config {
                hnsw.apply(diff);
            }
            // Qdrant's default for `payload_m` is `m`; 0 turns the links off.
            let wanted = (hnsw.m > 0).then_some(GraphParams {
                m: hnsw.m,
                ef_construct: hnsw.ef_construct,
                payload_m: Some(hnsw.payload_m.unwrap_or(hnsw.m)),
            });
            (name, wanted)
        })
        .collect();
    Thresholds {
        indexing_threshold_kb: optimizers
            .indexing_threshold
            .unwrap_or(DEFAULT_INDEXING_THRESHOLD_KB),
        max_segment_size_kb: {
            let wanted = optimizers
                .max_segment_size
                .unwrap_or(AUTO_SEGMENT_KB_PER_CPU * cpus);
            match max_build_bytes {
                Some(bytes) => wanted.min(usize::try_from(bytes / 1024).unwrap_or(usize::MAX)),
                None => wanted,
            }
        },
        segment_number: match optimizers.default_segment_number {
            0 => cpus,
            n => n,
        },
        deleted_threshold: optimizers.deleted_threshold,
        vacuum_min_vector_number: optimizers.vacuum_min_vector_number,
        graphs,
    }
}

/// The optimizer thread of one collection.
#[derive(Debug)]
pub struct OptimizerWorker {
    pub name: String,
    pub holder: Arc<RwLock<SegmentHolder>>,
    pub config: Arc<RwLock<CollectionConfig>>,
    pub shared: Arc<OptimizerShared>,
}

impl OptimizerWorker {
    pub fn run(self) {
        loop {
            {
                let mut state = self.shared.state.lock();
                if !state.dirty && !state.stop {
                    self.shared
                        .wake
                        .wait_for(&mut state, Duration::from_secs(1));
                }
                if state.stop {
                    return;
                }
                state.dirty = false;
            }
            while let Some(plan) = self.next_plan() {
                if !self.run_job(plan) {
                    return;
                }
            }
        }
    }

    fn next_plan(&self) -> Option<Plan> {
        let config = self.config.read().clone();
        if disabled(&config) || self.shared.state.lock().stop {
            return None;
        }
        let plans = planner::plan(
            &segment_stats(&self.holder.read()),
            &thresholds(&config, self.shared.builder.max_build_bytes()),
        );
        let state = self.shared.state.lock();
        plans.into_iter().find(|plan| match &state.failed {
            Some((failed, at)) => failed != plan || at.elapsed() >= RETRY_AFTER,
            None => true,
        })
    }

    /// Runs one plan; false once the optimizer is stopping.
    fn run_job(&self, plan: Plan) -> bool {
        let config = self.config.read().clone();
        let thresholds = thresholds(&config, self.shared.builder.max_build_bytes());
        let (sources, id, dir, specs) = {
            let mut holder = self.holder.write();
            if plan.segments.contains(&holder.appendable_id()) {
                if let Err(e) = holder.seal_appendable() {
                    drop(holder);
                    self.failed(&plan, &e.to_string());
                    return true;
                }
            }
            let sources: Option<Vec<SharedSegment>> = plan
                .segments
                .iter()
                .map(|s| {
                    holder
                        .segments()
                        .find(|(id, _)| id == s)
                        .map(|(_, seg)| seg.clone())
                })
                .collect();
            let Some(sources) = sources else {
                // The segments changed since planning: plan again.
                return true;
            };
            let (id, dir) = holder.reserve_segment();
            (sources, id, dir, holder.specs().clone())
        };
        // One sealed segment that only needs graphs gets them in place:
        // no copy of its vectors (see `build::build_in_place`).
        let in_place = plan.segments.len() == 1
            && matches!(
                plan.kind,
                OptimizerKind::Indexing | OptimizerKind::ConfigMismatch
            );
        let job = JobInfo {
            segment: if in_place { plan.segments[0] } else { id },
            kind: plan.kind,
            sources: plan
                .segments
                .iter()
                .zip(&sources)
                .map(|(s, seg)| (*s, seg.read().len()))
                .collect(),
            started: Utc::now(),
            finished: None,
            status: "optimizing".into(),
            progress: Arc::new(Progress::default()),
        };
        let points: usize = job.sources.iter().map(|s| s.1).sum();
        tracing::info!(
            collection = self.name,
            optimizer = plan.kind.name(),
            segments = ?plan.segments,
            points,
            "optimization started"
        );
        let started = Instant::now();
        self.shared.state.lock().running = Some(job.clone());

        let request = BuildRequest {
            sources: &sources,
            dir: &dir,
            specs: &specs,
            thresholds: &thresholds,
            max_indexing_threads: config.hnsw_config.max_indexing_threads,
            full_scan_threshold_kb: config.hnsw_config.full_scan_threshold,
        };
        let result = if in_place {
            build::build_in_place(
                &sources[0],
                &request,
                &id.to_string(),
                &*self.shared.builder,
                &self.shared.cancel,
                &job.progress,
            )
            .map_err(CollectionError::from)
            .and_then(|done| self.attach(&sources[0], done))
        } else {
            build::build_segment(
                &request,
                &*self.shared.builder,
                &self.shared.cancel,
                &job.progress,
            )
            .map_err(CollectionError::from)
            .and_then(|segment| self.swap(&plan, &sources, id, segment))
        };

        let mut state = self.shared.state.lock();
        state.running = None;
        let mut finished = job;
        finished.finished = Some(Utc::now());
        let keep_going = match &result {
            Ok(()) => {
                tracing::info!(
                    collection = self.name,
                    optimizer = plan.kind.name(),
                    segment = id,
                    points,
                    seconds = started.elapsed().as_secs_f64(),
                    "optimization finished"
                );
                finished.status = "done".into();
                state.error = None;
                state.failed = None;
                true
            }
            Err(CollectionError::Segment(e)) if build::is_cancelled(e) => {
                tracing::info!(
                    collection = self.name,
                    optimizer = plan.kind.name(),
                    "optimization cancelled"
                );
                finished.status = "cancelled".into();
                false
            }
            Err(e) => {
                finished.status = format!("error: {e}");
                true
            }
        };
        state.completed.push_back(finished);
        while state.completed.len() > COMPLETED_KEPT {
            state.completed.pop_front();
        }
        drop(state);
        if let Err(e) = result {
            if let Err(rm) = std::fs::remove_dir_all(&dir) {
                if rm.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %dir.display(), error = %rm, "could not remove an unfinished segment");
                }
            }
            if keep_going {
                self.failed(&plan, &e.to_string());
            }
        }
        keep_going
    }

    /// Catches `segment` up with its sources and swaps it in for them.
    fn swap(
        &self,
        plan: &Plan,
        sources: &[SharedSegment],
        id: SegmentId,
        mut segment: Segment,
    ) -> Result<(), CollectionError> {
        let mut holder = self.holder.write();
        let (synced, deleted) = build::catch_up(&mut segment, sources)?;
        // Payload indexes created or dropped while the job ran.
        let have: Vec<String> = segment
            .index_info()
            .into_iter()
            .map(|i| i.field_name)
            .collect();
        for field_name in have.iter().filter(|f| !holder.schema().contains_key(*f)) {
            segment.delete_index(field_name);
        }
        for (field_name, schema) in holder.schema() {
            segment.create_index(field_name, field_path(field_name)?, schema.clone());
        }
        tracing::debug!(
            collection = self.name,
            segment = id,
            synced,
            deleted,
            "caught up with changes made during the optimization"
        );
        holder.replace(&plan.segments, id, segment)
    }

    /// Gives `segment` the graphs built for it in place and commits.
    fn attach(&self, segment: &SharedSegment, done: build::InPlace) -> Result<(), CollectionError> {
        let holder = self.holder.write();
        segment.write().attach_graphs(done.built, &done.remove)?;
        holder.commit()?;
        Ok(())
    }

    fn failed(&self, plan: &Plan, error: &str) {
        tracing::error!(
            collection = self.name,
            optimizer = plan.kind.name(),
            segments = ?plan.segments,
            error,
            "optimization failed; its segments stay as they are, retried in {} s",
            RETRY_AFTER.as_secs()
        );
        let mut state = self.shared.state.lock();
        state.error = Some(error.to_string());
        state.failed = Some((plan.clone(), Instant::now()));
    }
}
