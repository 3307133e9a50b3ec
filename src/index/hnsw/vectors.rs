//! Where a graph reads its vectors from.
//!
//! The graph stores links only; vectors stay in the segment's storage (a
//! memory-mapped matrix) and are read through [`VectorSource`], in stored
//! form (Cosine vectors already normalised by
//! [`crate::index::distance::Distance::preprocess`]).

use crate::segment::point_id::PointOffset;

/// Random access to the vector of every point `0..len()`.
///
/// `Sync` because a build scores from several threads at once.
pub trait VectorSource: Sync {
    /// Number of points; offsets `0..len()` are valid.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Floats per vector.
    fn dim(&self) -> usize;

    /// The vector at `offset`, `dim()` floats long.
    ///
    /// # Panics
    /// If `offset` is not below `len()` (a caller bug).
    fn vector(&self, offset: PointOffset) -> &[f32];

    /// The vectors as one row-major matrix, where they are stored that way;
    /// the index then uses a faster, monomorphised path.
    fn as_dense(&self) -> Option<DenseVectors<'_>> {
        None
    }
}

/// A contiguous row-major matrix: row `i` is the point at offset `i`.
#[derive(Debug, Clone, Copy)]
pub struct DenseVectors<'a> {
    data: &'a [f32],
    dim: usize,
}

impl<'a> DenseVectors<'a> {
    /// Views `data` as rows of `dim` floats.
    ///
    /// # Panics
    /// If `dim` is 0 while `data` is not empty, or `data.len()` is not a
    /// multiple of `dim`: callers own both and must agree on the shape.
    pub fn new(data: &'a [f32], dim: usize) -> Self {
        assert!(
            dim > 0 || data.is_empty(),
            "zero-dimensional vectors with data"
        );
        assert!(
            dim == 0 || data.len().is_multiple_of(dim),
            "vector data is not a whole number of rows"
        );
        DenseVectors { data, dim }
    }

    /// The whole matrix, row after row.
    pub fn as_slice(&self) -> &'a [f32] {
        self.data
    }
}

impl VectorSource for DenseVectors<'_> {
    fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    fn dim(&self) -> usize {
        self.dim
    }

    #[inline]
    fn vector(&self, offset: PointOffset) -> &[f32] {
        let start = offset.0 as usize * self.dim;
        &self.data[start..start + self.dim]
    }

    fn as_dense(&self) -> Option<DenseVectors<'_>> {
        Some(*self)
    }
}
