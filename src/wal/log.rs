//! [`Wal`]: appends, group-committed fsyncs, replay and truncation over the
//! segment files of one directory.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::error::WalError;
use super::format::{MAX_RECORD_LEN, RECORD_HEADER_LEN};
use super::options::WalOptions;
use super::reader::RecordIter;
use super::recovery::recover;
use super::writer::{sync_dir, ActiveSegment, SealedSegment, WriteFailure};

/// A segmented write-ahead log of opaque byte records, each stamped with a
/// sequence number. See the [module docs](super) for the on-disk format and
/// the durability contract.
///
/// `Wal` is `Send + Sync`; share it with an `Arc`.
///
/// # Locks
///
/// Lock order is `truncate_lock` → `appender`, and `sync_lock` →
/// `appender`; `appender` is only ever held briefly except by appends
/// themselves, and never while waiting for another lock. No lock is held
/// across an fsync of the active segment except `sync_lock`, whose holder
/// fsyncs on behalf of every caller queued behind it (group commit).
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    options: WalOptions,
    /// The append lock: the active segment, the sealed ones, the next
    /// sequence number.
    appender: Mutex<Appender>,
    /// Held for the duration of one fsync in [`Wal::sync`].
    sync_lock: Mutex<()>,
    /// Every record with a sequence number up to this one is durable. Only
    /// grows. 0 when nothing is.
    synced_up_to: AtomicU64,
    /// fsyncs issued by [`Wal::sync`]; with group commit, usually fewer than
    /// the calls that needed one.
    sync_fsyncs: AtomicU64,
    /// Serializes [`Wal::truncate_before`] so files are deleted oldest first.
    truncate_lock: Mutex<()>,
    /// Set when an fsync fails or a failed write leaves the active segment
    /// in an unknown state. After a failed fsync the kernel may have dropped
    /// the dirty pages, and a later fsync can report success without them
    /// being on disk, so the only honest answer is to stop.
    poisoned: AtomicBool,
}

#[derive(Debug)]
struct Appender {
    active: ActiveSegment,
    /// Oldest first; each ends where the next (or `active`) begins.
    sealed: VecDeque<SealedSegment>,
    /// The sequence number the next append gets.
    next_seq: u64,
    /// Reused buffer for framing small records.
    scratch: Vec<u8>,
}

impl Appender {
    fn oldest_first_seq(&self) -> u64 {
        self.sealed
            .front()
            .map_or(self.active.first_seq(), |segment| segment.first_seq)
    }

    /// The sequence numbers stored, oldest to newest, or `None` when empty.
    fn stored_range(&self) -> Option<(u64, u64)> {
        let first = self.oldest_first_seq();
        (self.next_seq > first).then(|| (first, self.next_seq - 1))
    }
}

impl Wal {
    /// Opens the WAL in `dir`, creating the directory if missing.
    ///
    /// Verifies the CRC of every record in every segment. A torn or damaged
    /// tail of the newest segment is cut off (with a warning naming the file
    /// and offset); a bad record anywhere else is [`WalError::Corrupted`].
    /// The newest segment is fsynced before this returns (older ones were
    /// fsynced when they were sealed), so every record found is durable and
    /// [`Wal::sync`] has nothing to do for it.
    pub fn open(dir: &Path, options: WalOptions) -> Result<Wal, WalError> {
        let recovered = recover(dir)?;
        let synced_up_to = recovered.next_seq - 1;
        Ok(Wal {
            dir: dir.to_path_buf(),
            options,
            appender: Mutex::new(Appender {
                active: recovered.active,
                sealed: recovered.sealed,
                next_seq: recovered.next_seq,
                scratch: Vec::new(),
            }),
            sync_lock: Mutex::new(()),
            synced_up_to: AtomicU64::new(synced_up_to),
            sync_fsyncs: AtomicU64::new(0),
            truncate_lock: Mutex::new(()),
            poisoned: AtomicBool::new(false),
        })
    }

    /// The directory this WAL lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `record` and returns its sequence number: 1 for the first
    /// record of a new WAL, then each one more than the last, continuing
    /// across reopens and never reused, not even after
    /// [`Wal::truncate_before`] removed everything.
    ///
    /// The record is handed to the kernel with `write(2)` before this
    /// returns, so it survives the process being killed; to survive a power
    /// loss, follow with [`Wal::sync`]. Appends from several threads are
    /// serialized. An append that fills the active segment first fsyncs it
    /// and creates the next one (a file and a directory fsync).
    pub fn append(&self, record: &[u8]) -> Result<u64, WalError> {
        if record.len() > MAX_RECORD_LEN {
            return Err(WalError::RecordTooLarge {
                dir: self.dir.clone(),
                len: record.len(),
                limit: MAX_RECORD_LEN,
            });
        }
        let mut guard = self.appender.lock();
        self.check_poisoned()?;
        let appender = &mut *guard;
        let seq = appender.next_seq;
        let record_disk_len = RECORD_HEADER_LEN + record.len() as u64;
        let active_has_records = seq > appender.active.first_seq();
        if active_has_records
            && appender.active.len() + record_disk_len > self.options.segment_capacity_bytes
        {
            self.rotate(appender)?;
        }
        appender
            .active
            .append(seq, record, &mut appender.scratch)
            .map_err(|failure| self.absorb(failure))?;
        appender.next_seq += 1;
        Ok(seq)
    }

    /// Makes every record with a sequence number `<= up_to` durable. An
    /// `up_to` beyond the last appended record syncs everything appended so
    /// far.
    ///
    /// Returns at once if those records are already durable. Otherwise
    /// concurrent callers queue for one fsync of the active segment (older
    /// segments were fsynced when they filled up); the caller at the head
    /// syncs everything appended so far, so the ones behind it usually find
    /// their records covered and return without an fsync of their own.
    /// Appends continue while the fsync runs.
    pub fn sync(&self, up_to: u64) -> Result<(), WalError> {
        if up_to <= self.synced_up_to.load(Ordering::Acquire) {
            return Ok(());
        }
        let _sync_guard = self.sync_lock.lock();
        if up_to <= self.synced_up_to.load(Ordering::Acquire) {
            return Ok(());
        }
        self.check_poisoned()?;
        // Every record up to `last` is in `file` or in a sealed segment,
        // which was fsynced before it was sealed. A rotation after this
        // snapshot fsyncs `file` itself, which only makes this fsync cheaper.
        let (file, path, last) = {
            let appender = self.appender.lock();
            (
                appender.active.file(),
                appender.active.path().to_path_buf(),
                appender.next_seq - 1,
            )
        };
        if last <= self.synced_up_to.load(Ordering::Acquire) {
            return Ok(());
        }
        self.sync_fsyncs.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = file.sync_data() {
            self.poisoned.store(true, Ordering::Release);
            return Err(WalError::io("fsync segment", path, e));
        }
        self.synced_up_to.fetch_max(last, Ordering::AcqRel);
        Ok(())
    }

    /// Iterates over the stored records with sequence numbers `>= from_seq`,
    /// in order. Records appended after this call are not included. If
    /// `from_seq` is below [`Wal::first_seq`] (those records were removed by
    /// [`Wal::truncate_before`]), the iterator starts at the oldest stored
    /// record.
    ///
    /// Meant for replay at start-up; see [`RecordIter`] for what happens if
    /// it runs concurrently with truncation.
    pub fn read_from(&self, from_seq: u64) -> Result<RecordIter, WalError> {
        let spans: VecDeque<_> = {
            let appender = self.appender.lock();
            appender
                .sealed
                .iter()
                .map(SealedSegment::span)
                .chain(std::iter::once(appender.active.span()))
                .collect()
        };
        // The newest segment starting at or before `from_seq` holds it; if
        // `from_seq` is below every segment, start at the oldest.
        let start = spans
            .iter()
            .rposition(|span| span.first_seq <= from_seq)
            .unwrap_or(0);
        let spans = spans.into_iter().skip(start).collect();
        Ok(RecordIter::new(spans, from_seq))
    }

    /// Declares the records before `seq` no longer needed and deletes every
    /// segment file whose records are all below `seq`. The active segment is
    /// never deleted, so some records below `seq` may remain readable and
    /// the next sequence number is never forgotten.
    ///
    /// Files go oldest first, each deletion made durable (directory fsync)
    /// before the next, so a crash part way leaves a contiguous log.
    pub fn truncate_before(&self, seq: u64) -> Result<(), WalError> {
        let _truncate_guard = self.truncate_lock.lock();
        let mut doomed = {
            let mut appender = self.appender.lock();
            let mut doomed = VecDeque::new();
            // A sealed segment's records are all below `seq` exactly when
            // the segment after it starts at or below `seq`.
            while !appender.sealed.is_empty() {
                let next_first = appender
                    .sealed
                    .get(1)
                    .map_or(appender.active.first_seq(), |next| next.first_seq);
                if next_first > seq {
                    break;
                }
                doomed.extend(appender.sealed.pop_front());
            }
            doomed
        };
        while let Some(segment) = doomed.front() {
            let removed = match std::fs::remove_file(&segment.path) {
                Ok(()) => sync_dir(&self.dir),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(WalError::io("delete segment", &segment.path, e)),
            };
            if let Err(error) = removed {
                // Put back what is still on disk (the failed file is, or its
                // deletion is not durable), so that the in-memory view and a
                // reopen agree on where the log starts.
                let mut appender = self.appender.lock();
                while let Some(segment) = doomed.pop_back() {
                    appender.sealed.push_front(segment);
                }
                return Err(error);
            }
            doomed.pop_front();
        }
        Ok(())
    }

    /// Sequence number of the oldest stored record, `None` if none is
    /// stored.
    pub fn first_seq(&self) -> Option<u64> {
        self.appender.lock().stored_range().map(|(first, _)| first)
    }

    /// Sequence number of the newest stored record, `None` if none is
    /// stored.
    pub fn last_seq(&self) -> Option<u64> {
        self.appender.lock().stored_range().map(|(_, last)| last)
    }

    /// Seals the active segment and starts a new one at `next_seq`. The old
    /// segment is fsynced first, so that [`Wal::sync`] only ever needs to
    /// fsync the active one.
    fn rotate(&self, appender: &mut Appender) -> Result<(), WalError> {
        if let Err(error) = appender.active.sync() {
            self.poisoned.store(true, Ordering::Release);
            return Err(error);
        }
        self.synced_up_to
            .fetch_max(appender.next_seq - 1, Ordering::AcqRel);
        let next = ActiveSegment::create(&self.dir, appender.next_seq)
            .map_err(|failure| self.absorb(failure))?;
        let old = std::mem::replace(&mut appender.active, next);
        appender.sealed.push_back(old.seal());
        Ok(())
    }

    /// Turns a write failure into its error, poisoning the WAL if the
    /// failure left the files in a state further writes must not build on.
    fn absorb(&self, failure: WriteFailure) -> WalError {
        match failure {
            WriteFailure::Clean(error) => error,
            WriteFailure::Stuck(error) => {
                self.poisoned.store(true, Ordering::Release);
                error
            }
        }
    }

    /// Number of fsyncs [`Wal::sync`] has issued.
    #[cfg(test)]
    pub(super) fn sync_fsyncs(&self) -> u64 {
        self.sync_fsyncs.load(Ordering::Relaxed)
    }

    /// Holds the sync lock, so that callers of [`Wal::sync`] queue up.
    #[cfg(test)]
    pub(super) fn hold_sync_lock(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.sync_lock.lock()
    }

    fn check_poisoned(&self) -> Result<(), WalError> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(WalError::Poisoned {
                dir: self.dir.clone(),
            });
        }
        Ok(())
    }
}
