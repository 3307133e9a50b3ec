//! Dense vector storage for one named vector of one segment, in a
//! memory-mapped file, as `f32` or as IEEE half precision (`f16`, Qdrant's
//! `datatype: float16`: half the memory and disk, about three significant
//! digits).
//!
//! File layout: a flat, row-major array of `capacity × dim` little-endian
//! components (4 or 2 bytes each, as the segment meta says), with no
//! header. Row `i` belongs to [`PointOffset`] `i`. The file grows by
//! doubling; rows past the segment's persisted point count are garbage
//! after a crash and are never read, because the point log (not this file)
//! says which offsets exist. Rows may be overwritten in place by operations
//! newer than the last flush: that is safe because every such operation is
//! still in the WAL and is replayed, rewriting the row, before anything
//! reads it.
//!
//! Vectors come in and go out as `f32`; `f16` rows are rounded on write and
//! widened on read. The mapping is read in place (no copy) as `&[f32]` or
//! `&[f16]`, which needs `unsafe`: see the `SAFETY` notes. Only
//! little-endian targets are supported.

#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use half::f16;
use memmap2::{Mmap, MmapMut};
use serde::{Deserialize, Serialize};

use super::point_id::PointOffset;
use super::SegmentError;
use crate::index::distance::{Distance, Element};
use crate::index::hnsw::{DenseVectors, VectorSource};

#[cfg(not(target_endian = "little"))]
compile_error!("vector storage maps little-endian files directly");

const INITIAL_CAPACITY: usize = 1024;

/// How the components of a vector space are stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VectorDatatype {
    #[default]
    Float32,
    Float16,
}

impl VectorDatatype {
    pub fn is_float32(&self) -> bool {
        *self == VectorDatatype::Float32
    }

    /// Bytes per component.
    pub fn size(self) -> usize {
        match self {
            VectorDatatype::Float32 => f32::SIZE,
            VectorDatatype::Float16 => f16::SIZE,
        }
    }
}

/// The first rows of a storage, in their stored type.
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    F32(DenseVectors<'a, f32>),
    F16(DenseVectors<'a, f16>),
}

impl Rows<'_> {
    /// The rows as what a graph builds from and searches.
    pub fn as_source(&self) -> &dyn VectorSource {
        match self {
            Rows::F32(rows) => rows,
            Rows::F16(rows) => rows,
        }
    }
}

#[derive(Debug)]
pub struct VectorStorage {
    path: PathBuf,
    dim: usize,
    datatype: VectorDatatype,
    /// Rows the file holds.
    capacity: usize,
    mmap: MmapMut,
    file: File,
}

impl VectorStorage {
    /// Opens (creating if needed) the storage file at `path`.
    pub fn open(path: &Path, dim: usize, datatype: VectorDatatype) -> Result<Self, SegmentError> {
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
        let row_bytes = (dim * datatype.size()) as u64;
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
            datatype,
            capacity,
            mmap,
            file,
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The mapping as `capacity × dim` components of `T`.
    ///
    /// # Panics
    /// If `T` is not the stored type (a caller bug).
    fn components<T: Element>(&self) -> &[T] {
        assert_eq!(T::SIZE, self.datatype.size(), "wrong component type");
        // SAFETY: the mapping is `capacity × dim × T::SIZE` bytes long (the
        // file was sized so and is only grown, then remapped, through
        // `&mut self`), page-aligned (so aligned for `f32` and `f16`), and
        // every bit pattern is a valid `f32` or `f16`. The slice borrows
        // `self`, so no remap can happen while it lives; other processes do
        // not write the file (the storage directory is locked).
        unsafe {
            std::slice::from_raw_parts(self.mmap.as_ptr().cast::<T>(), self.capacity * self.dim)
        }
    }

    fn components_mut<T: Element>(&mut self) -> &mut [T] {
        assert_eq!(T::SIZE, self.datatype.size(), "wrong component type");
        // SAFETY: as in `components`, and `&mut self` makes this the only
        // view of the mapping.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.mmap.as_mut_ptr().cast::<T>(),
                self.capacity * self.dim,
            )
        }
    }

    /// The first `rows` rows, in their stored type.
    ///
    /// # Panics
    /// If `rows` exceeds the capacity (a caller bug: offsets come from the
    /// segment, which writes every row it hands out).
    pub fn rows(&self, rows: usize) -> Rows<'_> {
        let len = rows * self.dim;
        match self.datatype {
            VectorDatatype::Float32 => Rows::F32(DenseVectors::new(
                &self.components::<f32>()[..len],
                self.dim,
            )),
            VectorDatatype::Float16 => Rows::F16(DenseVectors::new(
                &self.components::<f16>()[..len],
                self.dim,
            )),
        }
    }

    /// The vector at `offset`, as `f32`.
    pub fn read(&self, offset: PointOffset) -> Vec<f32> {
        let range = offset.index() * self.dim..(offset.index() + 1) * self.dim;
        let mut out = vec![0.0; self.dim];
        match self.datatype {
            VectorDatatype::Float32 => out.copy_from_slice(&self.components::<f32>()[range]),
            VectorDatatype::Float16 => f16::widen(&self.components::<f16>()[range], &mut out),
        }
        out
    }

    /// [`Distance::score`] of `query` against the vector at `offset`.
    pub fn score(&self, distance: Distance, query: &[f32], offset: PointOffset) -> f32 {
        let range = offset.index() * self.dim..(offset.index() + 1) * self.dim;
        match self.datatype {
            VectorDatatype::Float32 => distance.score_row(query, &self.components::<f32>()[range]),
            VectorDatatype::Float16 => distance.score_row(query, &self.components::<f16>()[range]),
        }
    }

    /// Stores `vector` (rounded for `f16`) at `offset`, growing the file.
    pub fn write(&mut self, offset: PointOffset, vector: &[f32]) -> Result<(), SegmentError> {
        debug_assert_eq!(vector.len(), self.dim);
        self.reserve(offset.index() + 1)?;
        let range = offset.index() * self.dim..(offset.index() + 1) * self.dim;
        match self.datatype {
            VectorDatatype::Float32 => self.components_mut::<f32>()[range].copy_from_slice(vector),
            VectorDatatype::Float16 => {
                f16::narrow(vector, &mut self.components_mut::<f16>()[range])
            }
        }
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
            .set_len(capacity as u64 * (self.dim * self.datatype.size()) as u64)
            .map_err(io)?;
        self.mmap = map(&self.file, &self.path)?;
        self.capacity = capacity;
        Ok(())
    }

    pub fn flush(&self) -> Result<(), SegmentError> {
        self.mmap.flush().map_err(|source| SegmentError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

/// A second, read-only mapping of the first rows of a storage file, for
/// building a graph without holding the segment's lock.
///
/// It shares the page cache with the storage's own mapping, so it costs no
/// memory of its own. It stays valid because the rows it covers never
/// change while it lives: a segment that gets a graph takes no new points
/// and never rewrites a vector (changed points move to the appendable
/// segment), and a segment's files are deleted only after the optimizer
/// that holds the view has finished (removing a mapped file leaves the
/// mapping intact anyway).
#[derive(Debug)]
pub struct FrozenRows {
    mmap: Mmap,
    dim: usize,
    datatype: VectorDatatype,
    rows: usize,
}

impl FrozenRows {
    pub fn rows(&self) -> Rows<'_> {
        let len = self.rows * self.dim;
        // SAFETY: the mapping is at least `rows × dim × size` bytes (checked
        // in `freeze`), page-aligned, and any bits are a valid f32 / f16.
        match self.datatype {
            VectorDatatype::Float32 => {
                let data =
                    unsafe { std::slice::from_raw_parts(self.mmap.as_ptr().cast::<f32>(), len) };
                Rows::F32(DenseVectors::new(data, self.dim))
            }
            VectorDatatype::Float16 => {
                let data =
                    unsafe { std::slice::from_raw_parts(self.mmap.as_ptr().cast::<f16>(), len) };
                Rows::F16(DenseVectors::new(data, self.dim))
            }
        }
    }
}

impl VectorStorage {
    /// A read-only view of the first `rows` rows; see [`FrozenRows`].
    pub fn freeze(&self, rows: usize) -> Result<FrozenRows, SegmentError> {
        let io = |source| SegmentError::Io {
            path: self.path.clone(),
            source,
        };
        let file = File::open(&self.path).map_err(io)?;
        // SAFETY: see `FrozenRows`: the rows it covers do not change while
        // the mapping lives.
        let mmap = unsafe { Mmap::map(&file) }.map_err(io)?;
        let needed = rows * self.dim * self.datatype.size();
        if mmap.len() < needed {
            return Err(SegmentError::Corrupted {
                path: self.path.clone(),
                reason: format!("{} bytes, {rows} rows need {needed}", mmap.len()),
            });
        }
        Ok(FrozenRows {
            mmap,
            dim: self.dim,
            datatype: self.datatype,
            rows,
        })
    }
}

fn map(file: &File, path: &Path) -> Result<MmapMut, SegmentError> {
    // SAFETY: the file is ours alone (the storage directory is locked
    // against a second server) and is only resized through `&mut
    // VectorStorage`, which remaps right after; no other mapping of it
    // outlives that.
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
            let mut s = VectorStorage::open(&path, 3, VectorDatatype::Float32).unwrap();
            for i in 0..3000u32 {
                s.write(PointOffset(i), &[i as f32, 1.0, -(i as f32)])
                    .unwrap();
            }
            s.flush().unwrap();
        }
        let s = VectorStorage::open(&path, 3, VectorDatatype::Float32).unwrap();
        assert_eq!(s.read(PointOffset(2999)), vec![2999.0, 1.0, -2999.0]);
        assert_eq!(s.read(PointOffset(0)), vec![0.0, 1.0, 0.0]);
    }

    #[test]
    fn half_precision_rows_take_two_bytes_and_read_back_rounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.bin");
        {
            let mut s = VectorStorage::open(&path, 4, VectorDatatype::Float16).unwrap();
            for i in 0..1500u32 {
                let x = i as f32 / 7.0;
                s.write(PointOffset(i), &[x, -x, 0.1, 1.0]).unwrap();
            }
            s.flush().unwrap();
        }
        // 2048 rows of 4 halves.
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 2048 * 4 * 2);
        let s = VectorStorage::open(&path, 4, VectorDatatype::Float16).unwrap();
        let x = 1000.0f32 / 7.0;
        let back = s.read(PointOffset(1000));
        for (got, want) in back.iter().zip([x, -x, 0.1, 1.0]) {
            assert!(
                (got - want).abs() <= want.abs() * 2f32.powi(-11),
                "{got} vs {want}"
            );
        }
        let score = s.score(Distance::Dot, &[1.0, 0.0, 0.0, 0.0], PointOffset(1000));
        assert_eq!(score, back[0]);
        assert!(matches!(s.rows(10), Rows::F16(r) if r.as_slice().len() == 40));
    }
}
