//! The single thread that applies a collection's operations in WAL order,
//! commits the segments periodically (flush, then manifest) and truncates
//! the WAL behind them.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use super::error::CollectionError;
use super::holder::SegmentHolder;
use super::operations::UpdateOperation;
use super::optimization::OptimizerShared;
use crate::wal::Wal;

/// A queued operation; `done` is there when a caller waits for it.
#[derive(Debug)]
pub struct Job {
    pub seq: u64,
    pub op: UpdateOperation,
    pub done: Option<SyncSender<Result<(), CollectionError>>>,
}

#[derive(Debug)]
pub struct UpdateWorker {
    pub name: String,
    pub wal: Arc<Wal>,
    pub holder: Arc<RwLock<SegmentHolder>>,
    pub optimizer: Arc<OptimizerShared>,
    pub flush_interval: Duration,
}

impl UpdateWorker {
    pub fn run(self, queue: Receiver<Job>) {
        let mut last_flush = Instant::now();
        let mut flushed_version = self.holder.read().version();
        loop {
            let first = match queue.recv_timeout(self.flush_interval) {
                Ok(job) => Some(job),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if let Some(first) = first {
                // Apply everything already queued under one write lock.
                let mut holder = self.holder.write();
                let mut job = Some(first);
                while let Some(Job { seq, op, done }) = job {
                    // The version is set first: records written while
                    // applying carry it as the points' version.
                    holder.set_version(seq);
                    let result = op.apply(&mut holder);
                    if let Err(e) = &result {
                        if done.is_none() {
                            tracing::warn!(collection = self.name, seq, error = %e, "update failed");
                        }
                    }
                    if let Some(done) = done {
                        // The waiter may have given up; nothing to do then.
                        let _ = done.send(result);
                    }
                    job = queue.try_recv().ok();
                }
                drop(holder);
                self.optimizer.notify();
            }
            if last_flush.elapsed() >= self.flush_interval {
                flushed_version = self.flush(flushed_version);
                last_flush = Instant::now();
            }
        }
        self.flush(flushed_version);
    }

    /// Commits the segments if they moved on and drops WAL files behind
    /// them. Returns the version now durable.
    fn flush(&self, flushed_version: u64) -> u64 {
        let holder = self.holder.read();
        if holder.version() == flushed_version {
            return flushed_version;
        }
        let version = match holder.commit() {
            Ok(version) => version,
            Err(e) => {
                tracing::error!(collection = self.name, error = %e, "segment flush failed; the WAL keeps the data");
                return flushed_version;
            }
        };
        drop(holder);
        if let Err(e) = self.wal.truncate_before(version + 1) {
            tracing::warn!(collection = self.name, error = %e, "WAL truncation failed");
        }
        version
    }
}

/// Re-applies WAL operations newer than the segments' durable version.
pub fn replay(wal: &Wal, holder: &mut SegmentHolder) -> Result<usize, CollectionError> {
    let mut count = 0;
    for entry in wal.read_from(holder.version() + 1)? {
        let (seq, bytes) = entry?;
        let op: UpdateOperation = rmp_serde::from_slice(&bytes).map_err(|e| {
            CollectionError::Segment(crate::segment::SegmentError::Corrupted {
                path: wal.dir().to_path_buf(),
                reason: format!("WAL record {seq} does not decode: {e}"),
            })
        })?;
        holder.set_version(seq);
        if let Err(e) = op.apply(holder) {
            tracing::warn!(seq, error = %e, "replayed operation failed, as it did originally");
        }
        count += 1;
    }
    Ok(count)
}
