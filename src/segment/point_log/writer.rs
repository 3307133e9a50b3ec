//! Appends records to the point log.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::format::{self, PointLogRecord};
use crate::segment::SegmentError;

/// Buffered appender; [`PointLogWriter::sync`] makes everything so far durable.
#[derive(Debug)]
pub struct PointLogWriter {
    path: PathBuf,
    out: BufWriter<File>,
    len: u64,
}

impl PointLogWriter {
    /// Opens the log for appending at `valid_len`, cutting anything after it
    /// (bytes written after the last flush). Creates the file if missing.
    pub fn open(path: &Path, valid_len: u64) -> Result<Self, SegmentError> {
        let io = |source| SegmentError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        let len = if valid_len < format::HEADER_LEN {
            file.set_len(0).map_err(io)?;
            file.write_all(&format::header()).map_err(io)?;
            format::HEADER_LEN
        } else {
            file.set_len(valid_len).map_err(io)?;
            valid_len
        };
        file.seek(SeekFrom::Start(len)).map_err(io)?;
        Ok(PointLogWriter {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            len,
        })
    }

    pub fn append(&mut self, record: &PointLogRecord) -> Result<(), SegmentError> {
        let bytes = format::encode(record);
        self.out
            .write_all(&bytes)
            .map_err(|source| SegmentError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Flushes the buffer and fsyncs; returns the log length now durable.
    pub fn sync(&mut self) -> Result<u64, SegmentError> {
        let io = |source| SegmentError::Io {
            path: self.path.clone(),
            source,
        };
        self.out.flush().map_err(io)?;
        self.out.get_ref().sync_data().map_err(io)?;
        Ok(self.len)
    }
}
