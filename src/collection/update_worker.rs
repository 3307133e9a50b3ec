//! The single thread that applies a collection's operations in WAL order,
//! flushes the segment periodically and truncates the WAL behind it.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use super::error::CollectionError;
use super::operations::UpdateOperation;
use crate::segment::Segment;
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
    pub segment: Arc<RwLock<Segment>>,
    pub flush_interval: Duration,
}

impl UpdateWorker {
    pub fn run(self, queue: Receiver<Job>) {
        let mut last_flush = Instant::now();
        let mut flushed_version = self.segment.read().version();
        loop {
            let first = match queue.recv_timeout(self.flush_interval) {
                Ok(job) => Some(job),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if let Some(first) = first {
                // Apply everything already queued under one write lock.
                let mut segment = self.segment.write();
                let mut job = Some(first);
                while let Some(Job { seq, op, done }) = job {
                    // The version is set first: records written while
                    // applying carry it as the points' version.
                    segment.set_version(seq);
                    let result = op.apply(&mut segment);
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
            }
            if last_flush.elapsed() >= self.flush_interval {
                flushed_version = self.flush(flushed_version);
                last_flush = Instant::now();
            }
        }
        self.flush(flushed_version);
    }

    /// Flushes the segment if it moved on and drops WAL files behind it.
    /// Returns the version now durable in the segment.
    fn flush(&self, flushed_version: u64) -> u64 {
        let segment = self.segment.read();
        let version = segment.version();
        if version == flushed_version {
            return version;
        }
        if let Err(e) = segment.flush() {
            tracing::error!(collection = self.name, error = %e, "segment flush failed; the WAL keeps the data");
            return flushed_version;
        }
        drop(segment);
        if let Err(e) = self.wal.truncate_before(version + 1) {
            tracing::warn!(collection = self.name, error = %e, "WAL truncation failed");
        }
        version
    }
}

/// Re-applies WAL operations newer than the segment's durable version.
pub fn replay(wal: &Wal, segment: &mut Segment) -> Result<usize, CollectionError> {
    let mut count = 0;
    for entry in wal.read_from(segment.version() + 1)? {
        let (seq, bytes) = entry?;
        let op: UpdateOperation = rmp_serde::from_slice(&bytes).map_err(|e| {
            CollectionError::Segment(crate::segment::SegmentError::Corrupted {
                path: segment.dir().to_path_buf(),
                reason: format!("WAL record {seq} does not decode: {e}"),
            })
        })?;
        segment.set_version(seq);
        if let Err(e) = op.apply(segment) {
            tracing::warn!(seq, error = %e, "replayed operation failed, as it did originally");
        }
        count += 1;
    }
    Ok(count)
}
