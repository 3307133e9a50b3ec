//! Dense f32 vector storage for one named vector of one segment, in a
//! memory-mapped file.
//!
//! File layout: a flat, row-major array of `capacity × dim` little-endian f32
//! values, with no header. Row `i` belongs to [`PointOffset`] `i`. The file
//! grows by doubling; rows past the segment's persisted point count are
//! garbage after a crash and are never read, because the point log (not this
//! file) says which offsets exist. Rows may be overwritten in place by
//! operations newer than the last flush: that is safe because every such
//! operation is still in the WAL and is replayed, rewriting the row, before
//! anything reads it.
//!
//! The mapping is read as `&[f32]` in place (no copy), which needs `unsafe`:
//! see the `SAFETY` notes. Only little-endian targets are supported.

#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use super::point_id::PointOffset;
use super::SegmentError;

#[cfg(not(target_endian = "little"))]
compile_error!("vector storage maps little-endian f32 files directly");

const INITIAL_CAPACITY: usize = 1024;

/// Memory-mapped rows of `dim` f32 values.
#[derive(Debug)]
pub struct VectorStorage {
    path: PathBuf,
    dim: usize,
    capacity: usize,
    // Field order matters for drop: the map is unmapped before the file closes.
    mmap: MmapMut,
    file: File,
}

impl VectorStorage {
    /// Opens (or creates) the file at `path` holding rows of `dim` values.
    pub fn open(path: &Path, dim: usize) -> Result<Self, SegmentError> {
        let io = |source| SegmentError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        let row_bytes = (dim * 4) as u64;
        let len = file.metadata().map_err(io)?.len();
        let mut capacity = (len / row_bytes) as usize;
        if capacity == 0 {
            capacity = INITIAL_CAPACITY;
            file.set_len(capacity as u64 * row_bytes).map_err(io)?;
        }
        let mmap = map(&file, path)?;
        Ok(VectorStorage {
            path: path.to_path_buf(),
            dim,
            capacity,
            mmap,
            file,
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// All rows up to the current capacity, row-major.
    pub fn as_slice(&self) -> &[f32] {
        // SAFETY: the map is page-aligned (so f32-aligned), its length is
        // `capacity * dim * 4` bytes (set in `open`/`reserve` before mapping),
        // every bit pattern is a valid f32, and the borrow of `self` keeps the
        // map alive and unaliased by `&mut` for the slice's lifetime.
        unsafe {
            std::slice::from_raw_parts(self.mmap.as_ptr().cast::<f32>(), self.capacity * self.dim)
        }
    }

    fn as_mut_slice(&mut self) -> &mut [f32] {
        // SAFETY: as in `as_slice`; `&mut self` guarantees exclusive access.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.mmap.as_mut_ptr().cast::<f32>(),
                self.capacity * self.dim,
            )
        }
    }

    /// The vector stored at `offset`; the caller knows the row exists.
    pub fn row(&self, offset: PointOffset) -> &[f32] {
        let start = offset.index() * self.dim;
        &self.as_slice()[start..start + self.dim]
    }

    /// Writes `vector` at `offset`, growing the file if needed.
    pub fn write(&mut self, offset: PointOffset, vector: &[f32]) -> Result<(), SegmentError> {
        debug_assert_eq!(vector.len(), self.dim);
        self.reserve(offset.index() + 1)?;
        let start = offset.index() * self.dim;
        let dim = self.dim;
        self.as_mut_slice()[start..start + dim].copy_from_slice(vector);
        Ok(())
    }

    fn reserve(&mut self, rows: usize) -> Result<(), SegmentError> {
        if rows <= self.capacity {
            return Ok(());
        }
        let mut capacity = self.capacity.max(INITIAL_CAPACITY);
        while capacity < rows {
            capacity *= 2;
        }
        let io = |source| SegmentError::Io {
            path: self.path.clone(),
            source,
        };
        self.mmap.flush().map_err(io)?;
        self.file
            .set_len(capacity as u64 * (self.dim * 4) as u64)
            .map_err(io)?;
        self.mmap = map(&self.file, &self.path)?;
        self.capacity = capacity;
        Ok(())
    }

    /// Writes dirty pages back to the file (msync).
    pub fn flush(&self) -> Result<(), SegmentError> {
        self.mmap.flush().map_err(|source| SegmentError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

fn map(file: &File, path: &Path) -> Result<MmapMut, SegmentError> {
    // SAFETY: the file is private to this segment directory and opened by one
    // process at a time (the storage directory holds a lock file), so nothing
    // truncates or rewrites it behind the map.
    unsafe { MmapMut::map_mut(file) }.map_err(|source| SegmentError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_survive_growth_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.bin");
        {
            let mut s = VectorStorage::open(&path, 3).unwrap();
            for i in 0..3000u32 {
                s.write(PointOffset(i), &[i as f32, 1.0, -(i as f32)])
                    .unwrap();
            }
            s.flush().unwrap();
        }
        let s = VectorStorage::open(&path, 3).unwrap();
        assert_eq!(s.row(PointOffset(2999)), &[2999.0, 1.0, -2999.0]);
        assert_eq!(s.row(PointOffset(0)), &[0.0, 1.0, 0.0]);
    }
}
