//! Reading segment files: [`SegmentReader`] validates one file record by
//! record (used by recovery and by replay), [`RecordIter`] chains the
//! segments of a snapshot for [`Wal::read_from`](super::Wal::read_from).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read};
use std::iter::FusedIterator;
use std::path::{Path, PathBuf};

use super::error::WalError;
use super::format::{
    seq_crc, FileHeader, HeaderError, RecordHeader, FILE_HEADER_LEN, FORMAT_VERSION,
    MAX_RECORD_LEN, RECORD_HEADER_LEN,
};

/// Read buffer size; also the chunk size when streaming a payload through
/// the CRC without keeping it.
const READ_BUF_LEN: usize = 64 * 1024;

/// What to do with a record's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PayloadMode {
    /// Read it, check the CRC, return it.
    Keep,
    /// Stream it through the CRC and drop it (recovery: no allocation the
    /// size of the record).
    Verify,
    /// Seek over it unchecked (replay skipping records before `from_seq`,
    /// which recovery verified when the WAL was opened).
    Skip,
}

/// One step of [`SegmentReader::next_record`].
#[derive(Debug)]
pub(super) enum Step {
    /// A valid record. `payload` is empty unless read with [`PayloadMode::Keep`].
    Record { seq: u64, payload: Vec<u8> },
    /// Clean end: the last record ends exactly at the end of the readable range.
    End,
    /// The bytes at `offset` are not a valid record: a torn write or damage.
    /// The reader stays at `offset`; the caller decides which it is.
    Invalid { offset: u64, reason: &'static str },
}

/// Sequential, validating reader over the records of one segment file.
#[derive(Debug)]
pub(super) struct SegmentReader {
    path: PathBuf,
    reader: BufReader<File>,
    /// Offset of the next record.
    offset: u64,
    /// Bytes of the file this reader considers; later bytes are ignored
    /// (replay snapshots the written length of the active segment).
    end: u64,
    /// The sequence number the next record must carry.
    next_seq: u64,
    /// Chunk buffer for [`PayloadMode::Verify`], allocated on first use.
    verify_buf: Vec<u8>,
}

impl SegmentReader {
    /// Opens the segment at `path` whose file name says `first_seq`, reads
    /// its header and positions the reader at the first record.
    ///
    /// `end` limits reading to the first `end` bytes; `None` means the
    /// whole file. The inner `Err` is a header that is short or damaged
    /// (magic or CRC), which recovery may treat as a torn file creation;
    /// an unsupported version or a header that disagrees with the file name
    /// is always an error.
    pub fn open(
        path: &Path,
        first_seq: u64,
        end: Option<u64>,
    ) -> Result<Result<SegmentReader, &'static str>, WalError> {
        let file = File::open(path).map_err(|e| WalError::io("open segment", path, e))?;
        let file_len = file
            .metadata()
            .map_err(|e| WalError::io("stat segment", path, e))?
            .len();
        let end = end.unwrap_or(file_len);
        if end < FILE_HEADER_LEN {
            return Ok(Err("segment shorter than its header"));
        }
        let mut reader = BufReader::with_capacity(READ_BUF_LEN, file);
        let mut header_bytes = [0u8; FILE_HEADER_LEN as usize];
        reader
            .read_exact(&mut header_bytes)
            .map_err(|e| WalError::io("read segment header of", path, e))?;
        let header = match FileHeader::decode(&header_bytes) {
            Ok(header) => header,
            Err(HeaderError::UnsupportedVersion(found)) => {
                return Err(WalError::UnsupportedVersion {
                    path: path.to_path_buf(),
                    found,
                    supported: FORMAT_VERSION,
                })
            }
            Err(damage @ (HeaderError::BadMagic | HeaderError::BadChecksum)) => {
                return Ok(Err(damage.reason()))
            }
        };
        if header.first_seq != first_seq {
            return Err(WalError::Corrupted {
                path: path.to_path_buf(),
                offset: 0,
                reason: "segment header disagrees with the file name on the first sequence number",
            });
        }
        Ok(Ok(SegmentReader {
            path: path.to_path_buf(),
            reader,
            offset: FILE_HEADER_LEN,
            end,
            next_seq: first_seq,
            verify_buf: Vec::new(),
        }))
    }

    /// Offset just past the last record returned so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The sequence number the next record must carry.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Reads and validates the next record. I/O failures are errors; bytes
    /// that do not form a valid record are [`Step::Invalid`].
    pub fn next_record(&mut self, mode: PayloadMode) -> Result<Step, WalError> {
        let remaining = self.end - self.offset;
        if remaining == 0 {
            return Ok(Step::End);
        }
        if remaining < RECORD_HEADER_LEN {
            return Ok(self.invalid("truncated record header"));
        }
        let mut header_bytes = [0u8; RECORD_HEADER_LEN as usize];
        self.read_exact(&mut header_bytes)?;
        let header = RecordHeader::decode(&header_bytes);
        if header.len as usize > MAX_RECORD_LEN {
            return Ok(self.invalid("record length exceeds the limit"));
        }
        if header.disk_len() > remaining {
            return Ok(self.invalid("record extends past the end of the file"));
        }
        let len = header.len as usize;
        let (crc_ok, payload) = match mode {
            PayloadMode::Keep => {
                let mut payload = vec![0u8; len];
                self.read_exact(&mut payload)?;
                let crc = crc32c::crc32c_append(seq_crc(header.seq), &payload);
                (crc == header.crc, payload)
            }
            PayloadMode::Verify => {
                if self.verify_buf.is_empty() {
                    self.verify_buf = vec![0u8; READ_BUF_LEN];
                }
                let mut crc = seq_crc(header.seq);
                let mut left = len;
                while left > 0 {
                    let chunk = &mut self.verify_buf[..left.min(READ_BUF_LEN)];
                    self.reader
                        .read_exact(chunk)
                        .map_err(|e| WalError::io("read segment", &self.path, e))?;
                    crc = crc32c::crc32c_append(crc, chunk);
                    left -= chunk.len();
                }
                (crc == header.crc, Vec::new())
            }
            PayloadMode::Skip => {
                self.reader
                    .seek_relative(i64::from(header.len))
                    .map_err(|e| WalError::io("seek in segment", &self.path, e))?;
                (true, Vec::new())
            }
        };
        if !crc_ok {
            return Ok(self.invalid("record checksum mismatch"));
        }
        if header.seq != self.next_seq {
            return Ok(self.invalid("unexpected record sequence number"));
        }
        self.offset += header.disk_len();
        self.next_seq += 1;
        Ok(Step::Record {
            seq: header.seq,
            payload,
        })
    }

    fn invalid(&self, reason: &'static str) -> Step {
        Step::Invalid {
            offset: self.offset,
            reason,
        }
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), WalError> {
        self.reader
            .read_exact(buf)
            .map_err(|e| WalError::io("read segment", &self.path, e))
    }
}

/// The part of one segment file a [`RecordIter`] reads.
#[derive(Debug, Clone)]
pub(super) struct SegmentSpan {
    pub path: PathBuf,
    pub first_seq: u64,
    /// Bytes of the file written when the snapshot was taken.
    pub end: u64,
}

/// Iterator over the records with sequence numbers `>= from_seq`, in order,
/// returned by [`Wal::read_from`](super::Wal::read_from).
///
/// It reads the records that existed when it was created: records appended
/// later are not returned. Every returned record has been checked against
/// its CRC. After the first `Err` the iterator ends. Files are opened one at
/// a time as it goes, so a concurrent
/// [`Wal::truncate_before`](super::Wal::truncate_before) that deletes a
/// segment it has not reached yet makes it fail with
/// [`WalError::Io`]; replay is expected to finish before truncating.
#[derive(Debug)]
pub struct RecordIter {
    pending: VecDeque<SegmentSpan>,
    current: Option<SegmentReader>,
    from_seq: u64,
    done: bool,
}

impl RecordIter {
    /// `spans` are in sequence order and contiguous.
    pub(super) fn new(spans: VecDeque<SegmentSpan>, from_seq: u64) -> RecordIter {
        RecordIter {
            pending: spans,
            current: None,
            from_seq,
            done: false,
        }
    }

    fn advance(&mut self) -> Result<Option<(u64, Vec<u8>)>, WalError> {
        loop {
            let reader = match &mut self.current {
                Some(reader) => reader,
                None => {
                    let Some(span) = self.pending.pop_front() else {
                        return Ok(None);
                    };
                    match SegmentReader::open(&span.path, span.first_seq, Some(span.end))? {
                        Ok(reader) => self.current.insert(reader),
                        Err(reason) => {
                            return Err(WalError::Corrupted {
                                path: span.path,
                                offset: 0,
                                reason,
                            })
                        }
                    }
                }
            };
            let mode = if reader.next_seq() < self.from_seq {
                PayloadMode::Skip
            } else {
                PayloadMode::Keep
            };
            match reader.next_record(mode)? {
                Step::Record { seq, payload } => {
                    if mode == PayloadMode::Keep {
                        return Ok(Some((seq, payload)));
                    }
                }
                Step::End => {
                    let next_seq = reader.next_seq();
                    let offset = reader.offset();
                    let path = reader.path.clone();
                    self.current = None;
                    if let Some(next) = self.pending.front() {
                        if next.first_seq != next_seq {
                            return Err(WalError::Corrupted {
                                path,
                                offset,
                                reason: "sequence gap between segments",
                            });
                        }
                    }
                }
                Step::Invalid { offset, reason } => {
                    return Err(WalError::Corrupted {
                        path: reader.path.clone(),
                        offset,
                        reason,
                    })
                }
            }
        }
    }
}

impl Iterator for RecordIter {
    type Item = Result<(u64, Vec<u8>), WalError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.advance().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
            self.current = None;
            self.pending.clear();
        }
        item
    }
}

impl FusedIterator for RecordIter {}
