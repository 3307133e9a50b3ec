//! A collection: its config, write-ahead log, segment and update worker.
//!
//! Writes go through [`Collection::update`]: the operation is validated,
//! given the next WAL sequence number and appended to the WAL, then handed
//! to the collection's single update worker, which applies operations in
//! WAL order (the append and the hand-off happen under one lock, so the
//! two orders agree). `wait=false` returns once the WAL holds the operation;
//! `wait=true` also fsyncs the WAL and waits until the worker applied it.
//!
//! Reads (retrieve, scroll, count, search) take the segment's read lock and
//! see every operation applied so far.
//!
//! Directory layout: `config.json`, `wal/`, `segments/0/`.

#![deny(unsafe_code)]

pub mod config;
pub mod error;
pub mod operations;
mod update_worker;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Mutex, RwLock};

use crate::segment::filter::Filter;
use crate::segment::payload::Payload;
use crate::segment::payload_index::{FieldSchema, IndexInfo};
use crate::segment::point_id::PointId;
use crate::segment::{NamedVectors, ScoredPoint, Segment};
use crate::wal::{Wal, WalOptions};
pub use config::CollectionConfig;
pub use error::{CollectionError, ErrorClass};
use operations::UpdateOperation;
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
    config: RwLock<CollectionConfig>,
    wal: Arc<Wal>,
    segment: Arc<RwLock<Segment>>,
    /// The worker's queue; `None` once the collection is closed. Held while
    /// appending to the WAL so that queue order equals WAL order.
    submit: Mutex<Option<mpsc::Sender<Job>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

const SEGMENT_DIR: &str = "segments/0";

impl Collection {
    /// Creates a new collection in `dir`, which must not exist yet.
    pub fn create(
        dir: &Path,
        name: &str,
        config: CollectionConfig,
    ) -> Result<Collection, CollectionError> {
        let io = |source| CollectionError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        config.store(dir).map_err(io)?;
        Collection::open(dir, name)
    }

    /// Opens the collection in `dir` and replays its WAL.
    pub fn open(dir: &Path, name: &str) -> Result<Collection, CollectionError> {
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
        let mut segment = Segment::open(&dir.join(SEGMENT_DIR), &config.params.vectors.specs())?;
        let replayed = update_worker::replay(&wal, &mut segment)?;
        if replayed > 0 {
            tracing::info!(
                collection = name,
                operations = replayed,
                "replayed write-ahead log"
            );
        }
        // The segment (its meta file plus the WAL replay) is the authority
        // on payload indexes; the config mirrors it. The config is written
        // just after the WAL append of an index operation, so a crash or a
        // failed write in between leaves it behind: repair it here.
        let mut config = config;
        let applied = segment_schema(&segment);
        if applied != config.payload_schema {
            config.payload_schema = applied;
            config.store(dir).map_err(|source| CollectionError::Io {
                path: dir.join(config::CONFIG_FILE),
                source,
            })?;
        }
        let wal = Arc::new(wal);
        let segment = Arc::new(RwLock::new(segment));
        let (tx, rx) = mpsc::channel();
        let worker = UpdateWorker {
            name: name.to_string(),
            wal: wal.clone(),
            segment: segment.clone(),
            flush_interval: std::time::Duration::from_secs(
                config.optimizer_config.flush_interval_sec.max(1),
            ),
        };
        let handle = std::thread::Builder::new()
            .name(format!("update-{name}"))
            .spawn(move || worker.run(rx))
            .map_err(|source| CollectionError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        Ok(Collection {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            config: RwLock::new(config),
            wal,
            segment,
            submit: Mutex::new(Some(tx)),
            worker: Mutex::new(Some(handle)),
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
        self.segment.read().index_info()
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
        self.segment.read().len()
    }

    pub fn segments_count(&self) -> usize {
        1
    }

    pub fn retrieve(&self, ids: &[PointId]) -> Vec<StoredPoint> {
        let segment = self.segment.read();
        ids.iter()
            .filter_map(|id| {
                let version = segment.point_version(*id)?;
                segment.retrieve(*id).map(|(payload, vectors)| StoredPoint {
                    id: *id,
                    version,
                    payload: payload.clone(),
                    vectors,
                })
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
        let segment = self.segment.read();
        let mut ids = segment.scroll(from, filter, limit.saturating_add(1));
        let next = if ids.len() > limit { ids.pop() } else { None };
        (ids, next)
    }

    pub fn count(&self, filter: Option<&Filter>) -> usize {
        self.segment.read().count(filter)
    }

    /// Exact search; see [`SearchRequest`].
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
        let distance = params.distance;
        drop(config);
        let mut query = request.vector.clone();
        distance.preprocess(&mut query);
        let k = request.limit.saturating_add(request.offset);
        let found =
            self.segment
                .read()
                .search(&request.vector_name, &query, request.filter.as_ref(), k)?;
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

    /// Stops the worker after it applied everything queued, and flushes.
    pub fn close(&self) {
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

/// The schema of every index the segment has, by field name.
fn segment_schema(segment: &Segment) -> BTreeMap<String, FieldSchema> {
    segment
        .index_info()
        .into_iter()
        .map(|info| (info.field_name, info.schema))
        .collect()
}

pub fn display_name(vector_name: &str) -> &str {
    if vector_name.is_empty() {
        "(unnamed)"
    } else {
        vector_name
    }
}
