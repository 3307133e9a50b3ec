//! Writing segment files: [`ActiveSegment`] is the one file records are
//! appended to; when it fills up it is fsynced and becomes a
//! [`SealedSegment`], read-only until it is deleted.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::WalError;
use super::format::{segment_file_name, FileHeader, RecordHeader, RECORD_HEADER_LEN};
use super::reader::SegmentSpan;

/// Records up to this size are copied behind their header and written with
/// one `write(2)`; larger ones are written as header and payload to avoid
/// copying a large payload.
const COALESCE_LIMIT: usize = 64 * 1024;

/// Scratch capacity kept between appends; a larger buffer left over from a
/// big record is released.
const SCRATCH_KEEP: usize = 2 * COALESCE_LIMIT;

/// A write that failed, and whether the segment is still usable.
#[derive(Debug)]
pub(super) enum WriteFailure {
    /// The failure left no trace on disk (or the trace was removed); the
    /// segment can take further appends.
    Clean(WalError),
    /// The file may now hold bytes that are not a valid record, or a
    /// segment file could not be removed; appending after them would bury
    /// later records behind garbage, so the WAL must stop writing.
    Stuck(WalError),
}

/// The segment being appended to.
#[derive(Debug)]
pub(super) struct ActiveSegment {
    path: PathBuf,
    first_seq: u64,
    /// Shared with [`Wal::sync`](super::Wal::sync), which fsyncs a clone
    /// without holding the append lock. Writes go through the file cursor,
    /// which only the append path moves.
    file: Arc<File>,
    /// Bytes written: the header and every complete record.
    len: u64,
}

impl ActiveSegment {
    /// Creates the segment file for `first_seq` in `dir`: writes the header,
    /// fsyncs the file, then fsyncs the directory so the new name survives a
    /// crash. On failure the half-made file is removed again.
    pub fn create(dir: &Path, first_seq: u64) -> Result<ActiveSegment, WriteFailure> {
        let path = dir.join(segment_file_name(first_seq));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| WriteFailure::Clean(WalError::io("create segment", &path, e)))?;
        let header = FileHeader { first_seq }.encode();
        let written = (&file)
            .write_all(&header)
            .map_err(|e| WalError::io("write segment header of", &path, e))
            .and_then(|()| {
                file.sync_all()
                    .map_err(|e| WalError::io("fsync new segment", &path, e))
            })
            .and_then(|()| sync_dir(dir));
        if let Err(error) = written {
            drop(file);
            // A stray file named inside the sequence range of the active
            // segment would make the next open report a sequence gap.
            return Err(match std::fs::remove_file(&path) {
                Ok(()) => WriteFailure::Clean(error),
                Err(_) => WriteFailure::Stuck(error),
            });
        }
        Ok(ActiveSegment {
            path,
            first_seq,
            file: Arc::new(file),
            len: header.len() as u64,
        })
    }

    /// Opens an existing segment for appending after recovery validated its
    /// first `valid_len` bytes. Cuts anything after them (a torn tail), or,
    /// with `rewrite_header`, empties the file and writes a fresh header (a
    /// torn file creation). Then fsyncs the file, so that every record in it
    /// is durable from here on, whatever the previous process left only in
    /// the page cache.
    pub fn reopen(
        path: PathBuf,
        first_seq: u64,
        valid_len: u64,
        rewrite_header: bool,
    ) -> Result<ActiveSegment, WalError> {
        let mut file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| WalError::io("open segment for writing", &path, e))?;
        let len = if rewrite_header {
            let header = FileHeader { first_seq }.encode();
            file.set_len(0)
                .and_then(|()| file.write_all(&header))
                .map_err(|e| WalError::io("rewrite segment header of", &path, e))?;
            header.len() as u64
        } else {
            let file_len = file
                .metadata()
                .map_err(|e| WalError::io("stat segment", &path, e))?
                .len();
            if file_len != valid_len {
                file.set_len(valid_len)
                    .map_err(|e| WalError::io("truncate torn tail of", &path, e))?;
            }
            valid_len
        };
        file.seek(SeekFrom::Start(len))
            .map_err(|e| WalError::io("seek in segment", &path, e))?;
        file.sync_all()
            .map_err(|e| WalError::io("fsync segment", &path, e))?;
        Ok(ActiveSegment {
            path,
            first_seq,
            file: Arc::new(file),
            len,
        })
    }

    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// A handle for fsyncing outside the append lock.
    pub fn file(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }

    /// Writes one record at the end of the file with `write(2)`; once this
    /// returns the record is in the kernel's page cache and survives the
    /// death of the process (not of the machine; that takes an fsync).
    ///
    /// On a failed or short write the file is cut back to its previous
    /// length, so a later append does not land behind a partial record.
    pub fn append(
        &mut self,
        seq: u64,
        payload: &[u8],
        scratch: &mut Vec<u8>,
    ) -> Result<(), WriteFailure> {
        let header = RecordHeader::for_payload(seq, payload).encode();
        let mut file = &*self.file;
        let written = if payload.len() <= COALESCE_LIMIT {
            scratch.clear();
            scratch.extend_from_slice(&header);
            scratch.extend_from_slice(payload);
            let written = file.write_all(scratch);
            if scratch.capacity() > SCRATCH_KEEP {
                *scratch = Vec::new();
            }
            written
        } else {
            file.write_all(&header)
                .and_then(|()| file.write_all(payload))
        };
        match written {
            Ok(()) => {
                self.len += RECORD_HEADER_LEN + payload.len() as u64;
                Ok(())
            }
            Err(e) => {
                let error = WalError::io("append record to", &self.path, e);
                let rolled_back = file
                    .set_len(self.len)
                    .and_then(|()| file.seek(SeekFrom::Start(self.len)).map(drop));
                Err(match rolled_back {
                    Ok(()) => WriteFailure::Clean(error),
                    Err(_) => WriteFailure::Stuck(error),
                })
            }
        }
    }

    /// fsyncs the file (data and the size; `fdatasync(2)`).
    pub fn sync(&self) -> Result<(), WalError> {
        self.file
            .sync_data()
            .map_err(|e| WalError::io("fsync segment", &self.path, e))
    }

    /// Turns this segment into a sealed one. The caller has fsynced it.
    pub fn seal(self) -> SealedSegment {
        SealedSegment {
            path: self.path,
            first_seq: self.first_seq,
            len: self.len,
        }
    }

    pub fn span(&self) -> SegmentSpan {
        SegmentSpan {
            path: self.path.clone(),
            first_seq: self.first_seq,
            end: self.len,
        }
    }
}

/// A full segment: fsynced, never written again, deleted by
/// [`Wal::truncate_before`](super::Wal::truncate_before) once all its
/// records are below the truncation point.
#[derive(Debug, Clone)]
pub(super) struct SealedSegment {
    pub path: PathBuf,
    pub first_seq: u64,
    pub len: u64,
}

impl SealedSegment {
    pub fn span(&self) -> SegmentSpan {
        SegmentSpan {
            path: self.path.clone(),
            first_seq: self.first_seq,
            end: self.len,
        }
    }
}

/// fsyncs a directory, making file creations and deletions in it durable.
pub(super) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| WalError::io("fsync directory", dir, e))
}
