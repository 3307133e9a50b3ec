//! Saving a graph to a file in the format of [`super::format`].
//!
//! The file is written under a temporary name in the same directory,
//! fsynced, renamed over the target and the directory fsynced: a crash
//! leaves either the old file or the complete new one, never a torn one
//! under the real name (a leftover temporary is overwritten next time).

#![deny(unsafe_code)]

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::error::IndexError;
use super::format::{Header, Layout, HEADER_LEN};
use super::graph::HnswGraph;

/// Bytes converted per write call: large enough that the per-call overhead
/// disappears, small enough to stay in cache.
const CHUNK_WORDS: usize = 16 * 1024;

pub(crate) fn write_graph(graph: &HnswGraph, path: &Path) -> Result<(), IndexError> {
    let tables = graph.tables();
    let meta = graph.meta();
    let upper_len = tables.upper.len() as u64;
    let payload_len = tables.payload.len() as u64;
    let layout = Layout::new(
        u64::from(meta.point_count),
        u64::from(meta.m0),
        upper_len,
        payload_len,
    )
    .ok_or_else(|| IndexError::InvalidVectors("graph too large for this platform".to_owned()))?;

    let temp = temp_path(path);
    let io = |e| IndexError::io(&temp, e);
    let file = File::create(&temp).map_err(io)?;
    let mut out = Body {
        writer: BufWriter::with_capacity(1 << 20, file),
        at: 0,
        crc: 0,
    };
    // Header last, once the body checksum is known; reserve its room now.
    out.writer.write_all(&[0u8; HEADER_LEN]).map_err(io)?;
    out.at = HEADER_LEN;
    out.pad_to(layout.layer0.start).map_err(io)?;
    out.words(tables.layer0.iter().map(|w| w.to_le_bytes()))
        .map_err(io)?;
    out.pad_to(layout.upper_offsets.start).map_err(io)?;
    out.words(tables.upper_offsets.iter().map(|w| w.to_le_bytes()))
        .map_err(io)?;
    out.pad_to(layout.upper.start).map_err(io)?;
    out.words(tables.upper.iter().map(|w| w.to_le_bytes()))
        .map_err(io)?;
    // Both payload sections are empty (and unpadded) in a graph without
    // payload links; see `format`.
    out.pad_to(layout.payload_offsets.start).map_err(io)?;
    out.words(tables.payload_offsets.iter().map(|w| w.to_le_bytes()))
        .map_err(io)?;
    out.pad_to(layout.payload.start).map_err(io)?;
    out.words(tables.payload.iter().map(|w| w.to_le_bytes()))
        .map_err(io)?;
    debug_assert_eq!(out.at, layout.file_len);

    let header = Header {
        meta: meta.clone(),
        upper_len,
        payload_len,
        layout,
        body_crc: out.crc,
    };
    let mut file = out.writer.into_inner().map_err(|e| io(e.into_error()))?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(&header.encode()).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);

    std::fs::rename(&temp, path).map_err(|e| IndexError::io(path, e))?;
    sync_parent(path)
}

/// `.NAME.tmp` beside `path`.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "graph".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp"))
}

/// Makes the rename durable: the new directory entry is only on disk once
/// the directory itself is synced.
fn sync_parent(path: &Path) -> Result<(), IndexError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| IndexError::io(parent, e))
}

/// The body being written, with its running position and checksum.
struct Body {
    writer: BufWriter<File>,
    at: usize,
    crc: u32,
}

impl Body {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes)?;
        self.crc = crc32c::crc32c_append(self.crc, bytes);
        self.at += bytes.len();
        Ok(())
    }

    fn pad_to(&mut self, at: usize) -> std::io::Result<()> {
        let zeros = [0u8; 64];
        while self.at < at {
            let n = (at - self.at).min(zeros.len());
            self.put(&zeros[..n])?;
        }
        Ok(())
    }

    /// Writes little-endian words, converted a chunk at a time.
    fn words<const N: usize>(
        &mut self,
        words: impl Iterator<Item = [u8; N]>,
    ) -> std::io::Result<()> {
        let mut buffer = Vec::with_capacity(CHUNK_WORDS * N);
        for word in words {
            buffer.extend_from_slice(&word);
            if buffer.len() >= CHUNK_WORDS * N {
                self.put(&buffer)?;
                buffer.clear();
            }
        }
        self.put(&buffer)
    }
}
