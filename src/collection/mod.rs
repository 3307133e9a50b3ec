//! A collection: its config, write-ahead log, segments, update worker and
//! optimizer.
//!
//! Writes go through [`Collection::update`]: the operation is validated,
//! given the next WAL sequence number and appended to the WAL, then handed
//! to the collection's single update worker, which applies operations in
//! WAL order (the append and the hand-off happen under one lock, so the
//! two orders agree). `wait=false` returns once the WAL holds the operation;
//! `wait=true` also fsyncs the WAL and waits until the worker applied it.
//!
//! Reads (retrieve, scroll, count, search) take the segment holder's read
//! lock and see every operation applied so far, over every segment
//! ([`holder`]). The optimizer thread ([`optimization`]) rebuilds segments
//! in the background and swaps them in under the write lock.
//!
//! Directory layout: `config.json`, `segments.json` (the [`manifest`]),
//! `wal/`, `segments/{id}/`.

#![deny(unsafe_code)]

pub mod config;
pub mod error;
pub mod holder;
pub mod manifest;
pub mod operations;
pub mod optimization;
mod update_worker;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Mutex, RwLock};

use crate::index::hnsw::{CpuBuilder, SharedBuilder};
pub use crate::segment::display_name;
use crate::segment::filter::Filter;
use crate::segment::payload::Payload;
use crate::segment::payload_index::IndexInfo;
use crate::segment::point_id::PointId;
use crate::segment::{NamedVectors, ScoredPoint, SearchParams};
use crate::wal::{Wal, WalOptions};
pub use config::CollectionConfig;
pub use error::{CollectionError, ErrorClass};
use holder::SegmentHolder;
use operations::UpdateOperation;
use optimization::{OptimizerReport, OptimizerShared, OptimizerWorker};
use update_worker::{Job, UpdateWorker};

/// How far an update had got when the call returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateStatus {
    /// In the WAL; will be applied in order.
    Acknowledged,
    /// Durable in the WAL and applied.
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateResult {
    pub operation_id: u64,
    pub status: UpdateStatus,
}

/// A nearest-neighbour request against one vector space.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub vector_name: String,
    pub vector: Vec<f32>,
    pub filter: Option<Filter>,
    pub limit: usize,
    pub offset: usize,
    pub score_threshold: Option<f32>,
    /// Beam width of graph searches; the vector's `ef_construct` if unset.
    pub hnsw_ef: Option<usize>,
    /// Scan every point instead of using a graph.
    pub exact: bool,
}

/// A stored point as read back.
#[derive(Debug, Clone)]
pub struct StoredPoint {
    pub id: PointId,
    /// The WAL operation that last changed the point.
    pub version: u64,
    pub payload: Payload,
    pub vectors: NamedVectors,
}

#[derive(Debug)]
pub struct Collection {
    name: String,
    dir: PathBuf,
    config: Arc<RwLock<CollectionConfig>>,
    wal: Arc<Wal>,
    holder: Arc<RwLock<SegmentHolder>>,
    /// The worker's queue; `None` once the collection is closed. Held while
    /// appending to the WAL so that queue order equals WAL order.
    submit: Mutex<Option<mpsc::Sender<Job>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    optimizer: Arc<OptimizerShared>,
    optimizer_thread: Mutex<Option<JoinHandle<()>>>,
}

impl Collection {
    /// Creates a new collection in `dir`, which must not exist yet.
    pub fn create(
        dir: &Path,
        name: &str,
        config: CollectionConfig,
    ) -> Result<Collection, CollectionError> {
        Collection::create_with(dir, name, config, Arc::new(CpuBuilder))
    }

    /// [`Collection::create`] with graphs built by `builder`.
    pub fn create_with(
        dir: &Path,
        name: &str,
        config: CollectionConfig,
        builder: SharedBuilder,
    ) -> Result<Collection, CollectionError> {
        let io = |source| CollectionError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        config.store(dir).map_err(io)?;
        Collection::open_with(dir, name, builder)
    }

    /// Opens the collection in `dir` and replays its WAL; graphs are built
    /// on the CPU.
    pub fn open(dir: &Path, name: &str) -> Result<Collection, CollectionError> {
        Collection::open_with(dir, name, Arc::new(CpuBuilder))
    }

    /// [`Collection::open`] with graphs built by `builder`.
    pub fn open_with(
        dir: &Path,
        name: &str,
        builder: SharedBuilder,
    ) -> Result<Collection, CollectionError> {
        let config = CollectionConfig::load(dir).map_err(|source| CollectionError::Io {
            path: dir.join(config::CONFIG_FILE),
            source,
        })?;
        let wal = Wal::open(
            &dir.join("wal"),
            WalOptions {
                segment_capacity_bytes: (config.wal_config.wal_capacity_mb as u64).max(1) << 20,
                segments_ahead: config.wal_config.wal_segments_ahead,
            },
        )?;
        let mut holder = SegmentHolder::open(dir, &config.params.vectors.specs())?;
        let replayed = update_worker::replay(&wal, &mut holder)?;
        if replayed > 0 {
            tracing::info!(
                collection = name,
                operations = replayed,
                "replayed write-ahead log"
            );
        }
        // The segments (the manifest plus the WAL replay) are the authority
        // on payload indexes; the config mirrors them. The config is written
        // just after the WAL append of an index operation, so a crash or a
        // failed write in between leaves it behind: repair it here.
        let mut config = config;
        if *holder.schema() != config.payload_schema {
            config.payload_schema = holder.schema().clone();
            config.store(dir).map_err(|source| CollectionError::Io {
                path: dir.join(config::CONFIG_FILE),
                source,
            })?;
        }
        let flush_interval =
            std::time::Duration::from_secs(config.optimizer_config.flush_interval_sec.max(1));
        let wal = Arc::new(wal);
        let holder = Arc::new(RwLock::new(holder));
        let config = Arc::new(RwLock::new(config));
        let optimizer = Arc::new(OptimizerShared::new(builder));
        let spawn_error = |source| CollectionError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let (tx, rx) = mpsc::channel();
        let worker = UpdateWorker {
            name: name.to_string(),
            wal: wal.clone(),
            holder: holder.clone(),
            optimizer: optimizer.clone(),
            flush_interval,
        };
        let handle = std::thread::Builder::new()
            .name(format!("update-{name}"))
            .spawn(move || worker.run(rx))
            .map_err(spawn_error)?;
        let optimizer_worker = OptimizerWorker {
            name: name.to_string(),
            holder: holder.clone(),
            config: config.clone(),
            shared: optimizer.clone(),
        };
        let optimizer_handle = std::thread::Builder::new()
            .name(format!("optimize-{name}"))
            .spawn(move || optimizer_worker.run())
            .map_err(spawn_error)?;
        optimizer.notify();
        Ok(Collection {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            config,
            wal,
            holder,
            submit: Mutex::new(Some(tx)),
            worker: Mutex::new(Some(handle)),
            optimizer,
            optimizer_thread: Mutex::new(Some(optimizer_handle)),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> CollectionConfig {
        self.config.read().clone()
    }

    /// Changes the persisted config with `change` (which validates).
    pub fn update_config(
        &self,
        change: impl FnOnce(&mut CollectionConfig) -> Result<(), CollectionError>,
    ) -> Result<(), CollectionError> {
        let mut config = self.config.write();
        let mut new = config.clone();
        change(&mut new)?;
        new.store(&self.dir).map_err(|source| CollectionError::Io {
            path: self.dir.clone(),
            source,
        })?;
        *config = new;
        drop(config);
        // Thresholds or graph parameters may have changed.
        self.optimizer.notify();
        Ok(())
    }

    /// Persists the payload schema change an index operation makes.
    fn record_schema(&self, op: &UpdateOperation) -> Result<(), CollectionError> {
        match op {
            UpdateOperation::CreateFieldIndex {
                field_name,
                field_schema,
            } => self.update_config(|config| {
                config
                    .payload_schema
                    .insert(field_name.clone(), field_schema.clone());
                Ok(())
            }),
            UpdateOperation::DeleteFieldIndex { field_name } => self.update_config(|config| {
                config.payload_schema.remove(field_name);
                Ok(())
            }),
            _ => Ok(()),
        }
    }

    /// Payload indexes with their indexed point counts, by field name.
    pub fn payload_indexes(&self) -> Vec<IndexInfo> {
        self.holder.read().index_info()
    }

    /// Validates `op`, logs it and queues it; see the module docs for `wait`.
    pub fn update(
        &self,
        mut op: UpdateOperation,
        wait: bool,
    ) -> Result<UpdateResult, CollectionError> {
        op.prepare(&self.config.read())?;
        let record =
            rmp_serde::to_vec_named(&op).map_err(|e| CollectionError::BadInput(e.to_string()))?;
        let (done_tx, done_rx) = match wait {
            true => {
                let (tx, rx) = mpsc::sync_channel(1);
                (Some(tx), Some(rx))
            }
            false => (None, None),
        };
        let seq = {
            let submit = self.submit.lock();
            let queue = submit
                .as_ref()
                .ok_or_else(|| CollectionError::Closed(self.name.clone()))?;
            let seq = self.wal.append(&record)?;
            // Still under the submit lock, so config writes follow WAL order.
            // The operation is in the WAL and will be applied whatever
            // happens here; a failed config write is repaired on the next
            // open, which takes the schema from the replayed segment.
            if let Err(e) = self.record_schema(&op) {
                tracing::error!(collection = self.name, seq, error = %e, "storing the payload schema failed");
            }
            queue
                .send(Job {
                    seq,
                    op,
                    done: done_tx,
                })
                .map_err(|_| CollectionError::Closed(self.name.clone()))?;
            seq
        };
        let Some(done_rx) = done_rx else {
            return Ok(UpdateResult {
                operation_id: seq,
                status: UpdateStatus::Acknowledged,
            });
        };
        self.wal.sync(seq)?;
        done_rx
            .recv()
            .map_err(|_| CollectionError::Closed(self.name.clone()))??;
        Ok(UpdateResult {
            operation_id: seq,
            status: UpdateStatus::Completed,
        })
    }

    pub fn points_count(&self) -> usize {
        self.holder.read().len()
    }

    pub fn segments_count(&self) -> usize {
        self.holder.read().segments().count()
    }

    /// Live vectors covered by an HNSW graph, all vector spaces together.
    pub fn indexed_vectors_count(&self) -> usize {
        let holder = self.holder.read();
        holder
            .segments()
            .map(|(_, segment)| {
                let segment = segment.read();
                holder
                    .specs()
                    .keys()
                    .filter(|name| segment.graph_params(name).is_some())
                    .map(|name| segment.vector_count(name))
                    .sum::<usize>()
            })
            .sum()
    }

    /// The optimizer's status, running and pending work.
    pub fn optimizer_report(&self) -> OptimizerReport {
        let config = self.config.read().clone();
        self.optimizer.report(&self.holder.read(), &config)
    }

    pub fn retrieve(&self, ids: &[PointId]) -> Vec<StoredPoint> {
        let holder = self.holder.read();
        ids.iter()
            .filter_map(|id| holder.retrieve(*id))
            .map(|record| StoredPoint {
                id: record.id,
                version: record.version,
                payload: record.payload,
                vectors: record.vectors,
            })
            .collect()
    }

    /// One page of points in ascending id order, and where the next starts.
    pub fn scroll(
        &self,
        from: Option<PointId>,
        filter: Option<&Filter>,
        limit: usize,
    ) -> (Vec<PointId>, Option<PointId>) {
        let mut ids = self
            .holder
            .read()
            .scroll(from, filter, limit.saturating_add(1));
        let next = if ids.len() > limit { ids.pop() } else { None };
        (ids, next)
    }

    pub fn count(&self, filter: Option<&Filter>) -> usize {
        self.holder.read().count(filter)
    }

    /// Nearest neighbours over every segment; see [`SearchRequest`].
    pub fn search(&self, request: &SearchRequest) -> Result<Vec<ScoredPoint>, CollectionError> {
        let config = self.config.read();
        let params = config
            .params
            .vectors
            .get(&request.vector_name)
            .ok_or_else(|| {
                CollectionError::BadInput(format!(
                    "Not existing vector name error: {}",
                    display_name(&request.vector_name)
                ))
            })?;
        if request.vector.len() as u64 != params.size {
            return Err(CollectionError::BadInput(format!(
                "Vector dimension error: expected dim: {}, got {}",
                params.size,
                request.vector.len()
            )));
        }
        if request.vector.iter().any(|x| !x.is_finite()) {
            return Err(CollectionError::BadInput(
                "query vector contains a non-finite number".into(),
            ));
        }
        if request.hnsw_ef == Some(0) {
            return Err(CollectionError::validation(
                "params.hnsw_ef",
                "must be at least 1",
            ));
        }
        let distance = params.distance;
        let mut hnsw = config.hnsw_config.clone();
        if let Some(diff) = &params.hnsw_config {
            hnsw.apply(diff);
        }
        let search_params = SearchParams {
            ef: request.hnsw_ef.unwrap_or(hnsw.ef_construct),
            exact: request.exact,
            full_scan_threshold_kb: hnsw.full_scan_threshold,
        };
        drop(config);
        let mut query = request.vector.clone();
        distance.preprocess(&mut query);
        let k = request.limit.saturating_add(request.offset);
        let found = self.holder.read().search(
            &request.vector_name,
            &query,
            request.filter.as_ref(),
            k,
            &search_params,
            distance,
        )?;
        Ok(found
            .into_iter()
            .filter(|p| match request.score_threshold {
                None => true,
                Some(t) if distance.is_ascending() => p.score <= t,
                Some(t) => p.score >= t,
            })
            .skip(request.offset)
            .take(request.limit)
            .collect())
    }

    /// Stops the optimizer (cancelling a running build), then the update
    /// worker after it applied everything queued, and commits.
    pub fn close(&self) {
        self.optimizer.stop();
        if let Some(handle) = self.optimizer_thread.lock().take() {
            if handle.join().is_err() {
                tracing::error!(collection = self.name, "optimizer panicked");
            }
        }
        self.submit.lock().take();
        if let Some(handle) = self.worker.lock().take() {
            if handle.join().is_err() {
                tracing::error!(collection = self.name, "update worker panicked");
            }
        }
    }
}

impl Drop for Collection {
    fn drop(&mut self) {
        self.close();
    }
}
