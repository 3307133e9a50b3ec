//! Opening a WAL directory: find the segment files, verify every record,
//! cut a torn tail off the newest segment and hand back the segments ready
//! for appending.
//!
//! What a crash can leave behind, given the write order of
//! [`Wal`](super::Wal) (header fsynced before any record; a segment fsynced
//! before the next one is created; the directory fsynced after each create
//! and each delete):
//!
//! * a partial or garbage record at the end of the newest segment, with
//!   nothing valid after it that was ever fsynced. It is cut off, with a
//!   warning. Anything from the first invalid record on is dropped, which
//!   includes a record damaged in place if it is the last one. Valid
//!   records after an invalid one are dropped too rather than reported:
//!   the page cache writes unsynced pages back in any order, so a power
//!   loss can keep record N+1 and lose part of record N, and neither was
//!   acknowledged by a sync;
//! * a newest segment shorter than its header, or exactly header-sized with
//!   a damaged header: a file creation cut short, which never held a
//!   record. The header is rewritten.
//!
//! Everything else is reported as [`WalError::Corrupted`]: a bad record in
//! an older segment, a damaged header in front of records, a sequence gap
//! between segments.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};

use super::error::WalError;
use super::format::{parse_segment_file_name, FILE_HEADER_LEN};
use super::reader::{PayloadMode, SegmentReader, Step};
use super::writer::{sync_dir, ActiveSegment, SealedSegment, WriteFailure};

/// The state of a WAL directory after recovery.
#[derive(Debug)]
pub(super) struct Recovered {
    /// Older segments, oldest first, contiguous, ending where `active` starts.
    pub sealed: VecDeque<SealedSegment>,
    pub active: ActiveSegment,
    /// The sequence number the next append gets.
    pub next_seq: u64,
}

/// How one segment file ends.
#[derive(Debug)]
struct Scan {
    /// Bytes of valid header and records.
    valid_len: u64,
    /// Sequence number after the last valid record.
    next_seq: u64,
    /// Where validation stopped, if before the end of the file.
    damage: Option<Damage>,
}

#[derive(Debug)]
struct Damage {
    offset: u64,
    reason: &'static str,
    /// The header itself is short or damaged.
    in_header: bool,
    file_len: u64,
}

/// Opens the WAL in `dir` (creating the directory and a first segment if
/// needed).
pub(super) fn recover(dir: &Path) -> Result<Recovered, WalError> {
    if !dir.is_dir() {
        fs::create_dir_all(dir).map_err(|e| WalError::io("create WAL directory", dir, e))?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
    }
    let mut files = list_segments(dir)?;
    let Some((last_first_seq, last_path)) = files.pop() else {
        let active = ActiveSegment::create(dir, 1).map_err(|failure| match failure {
            WriteFailure::Clean(e) | WriteFailure::Stuck(e) => e,
        })?;
        return Ok(Recovered {
            sealed: VecDeque::new(),
            active,
            next_seq: 1,
        });
    };

    let mut sealed = VecDeque::with_capacity(files.len());
    let mut expected_first = None;
    for (first_seq, path) in files {
        check_first_seq(&path, first_seq, expected_first)?;
        let scan = scan_segment(&path, first_seq)?;
        if let Some(damage) = scan.damage {
            return Err(corrupted(path, damage.offset, damage.reason));
        }
        expected_first = Some(scan.next_seq);
        sealed.push_back(SealedSegment {
            path,
            first_seq,
            len: scan.valid_len,
        });
    }

    check_first_seq(&last_path, last_first_seq, expected_first)?;
    let scan = scan_segment(&last_path, last_first_seq)?;
    let mut rewrite_header = false;
    if let Some(damage) = &scan.damage {
        if damage.in_header && damage.file_len > FILE_HEADER_LEN {
            // The header was fsynced before the first record was written,
            // so records behind a bad header are not a torn write: refuse
            // rather than drop them.
            return Err(corrupted(last_path, damage.offset, damage.reason));
        }
        rewrite_header = damage.in_header;
        tracing::warn!(
            path = %last_path.display(),
            offset = damage.offset,
            file_len = damage.file_len,
            reason = damage.reason,
            "truncating torn tail of WAL segment"
        );
    }
    let active = ActiveSegment::reopen(last_path, last_first_seq, scan.valid_len, rewrite_header)?;
    // A segment created just before a crash may not have reached the
    // directory's on-disk state yet; make what this open saw durable.
    sync_dir(dir)?;
    Ok(Recovered {
        sealed,
        active,
        next_seq: scan.next_seq,
    })
}

/// Checks that a segment starts where the previous one ended.
fn check_first_seq(path: &Path, first_seq: u64, expected: Option<u64>) -> Result<(), WalError> {
    if first_seq == 0 {
        return Err(corrupted(
            path.to_path_buf(),
            0,
            "segment named for sequence number 0",
        ));
    }
    if expected.is_some_and(|expected| expected != first_seq) {
        return Err(corrupted(
            path.to_path_buf(),
            0,
            "sequence gap between segments",
        ));
    }
    Ok(())
}

/// The segment files in `dir`, sorted by first sequence number. Files with
/// other names are ignored.
fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, WalError> {
    let entries = fs::read_dir(dir).map_err(|e| WalError::io("list WAL directory", dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| WalError::io("list WAL directory", dir, e))?;
        let Some(first_seq) = entry.file_name().to_str().and_then(parse_segment_file_name) else {
            continue;
        };
        let file_type = entry
            .file_type()
            .map_err(|e| WalError::io("stat", entry.path(), e))?;
        if file_type.is_file() {
            files.push((first_seq, entry.path()));
        }
    }
    files.sort_unstable_by_key(|&(first_seq, _)| first_seq);
    Ok(files)
}

/// Verifies every record of one segment file, streaming payloads through
/// the CRC.
fn scan_segment(path: &Path, first_seq: u64) -> Result<Scan, WalError> {
    let file_len = fs::metadata(path)
        .map_err(|e| WalError::io("stat segment", path, e))?
        .len();
    let mut reader = match SegmentReader::open(path, first_seq, None)? {
        Ok(reader) => reader,
        Err(reason) => {
            return Ok(Scan {
                valid_len: 0,
                next_seq: first_seq,
                damage: Some(Damage {
                    offset: 0,
                    reason,
                    in_header: true,
                    file_len,
                }),
            })
        }
    };
    loop {
        match reader.next_record(PayloadMode::Verify)? {
            Step::Record { .. } => {}
            Step::End => {
                return Ok(Scan {
                    valid_len: reader.offset(),
                    next_seq: reader.next_seq(),
                    damage: None,
                })
            }
            Step::Invalid { offset, reason } => {
                return Ok(Scan {
                    valid_len: offset,
                    next_seq: reader.next_seq(),
                    damage: Some(Damage {
                        offset,
                        reason,
                        in_header: false,
                        file_len,
                    }),
                })
            }
        }
    }
}

fn corrupted(path: PathBuf, offset: u64, reason: &'static str) -> WalError {
    WalError::Corrupted {
        path,
        offset,
        reason,
    }
}
