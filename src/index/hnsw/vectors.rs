//! Where a graph reads its vectors from.
//!
//! The graph stores links only; vectors stay in the segment's storage (a
//! memory-mapped matrix) and are read through [`VectorSource`], in stored
//! form (Cosine vectors already normalised by
//! [`crate::index::distance::Distance::preprocess`]).

use std::borrow::Cow;

use half::f16;

use super::metric::Metric;
use crate::index::distance::{Distance, Element};
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

    /// Components per vector.
    fn dim(&self) -> usize;

    /// The vector at `offset` as `f32`, `dim()` long: borrowed where it is
    /// stored as `f32`, widened into a new buffer where it is not.
    ///
    /// # Panics
    /// If `offset` is not below `len()` (a caller bug).
    fn vector(&self, offset: PointOffset) -> Cow<'_, [f32]>;

    /// How far the vector at `offset` is from `query` under `distance`, as
    /// the graph orders points: lower is closer (a similarity negated,
    /// Euclid squared), never NaN (`+∞` instead).
    fn distance_key(&self, distance: Distance, query: &[f32], offset: PointOffset) -> f32 {
        Metric(distance).key(query, &self.vector(offset))
    }

    /// Starts fetching the start of the vector at `offset` into the caches,
    /// so that a batch of rows arrives from memory in parallel before any
    /// is scored (see `Walker::beam`). A hint: sources that cannot tell
    /// where a row lives do nothing.
    fn prefetch(&self, offset: PointOffset) {
        let _ = offset;
    }

    /// The vectors as one row-major `f32` matrix, where they are stored
    /// that way; the index then uses a faster, monomorphised path.
    fn as_dense(&self) -> Option<DenseVectors<'_>> {
        None
    }

    /// The same for half-precision rows.
    fn as_dense_f16(&self) -> Option<DenseVectors<'_, f16>> {
        None
    }
}

/// A contiguous row-major matrix of `f32` or `f16` components: row `i` is
/// the point at offset `i`.
#[derive(Debug, Clone, Copy)]
pub struct DenseVectors<'a, T = f32> {
    data: &'a [T],
    dim: usize,
}

impl<'a, T: Element> DenseVectors<'a, T> {
    /// Views `data` as rows of `dim` components.
    ///
    /// # Panics
    /// If `dim` is 0 while `data` is not empty, or `data.len()` is not a
    /// multiple of `dim`: callers own both and must agree on the shape.
    pub fn new(data: &'a [T], dim: usize) -> Self {
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
    pub fn as_slice(&self) -> &'a [T] {
        self.data
    }

    #[inline]
    fn row(&self, offset: PointOffset) -> &'a [T] {
        let start = offset.0 as usize * self.dim;
        &self.data[start..start + self.dim]
    }
}

impl<T: Element> VectorSource for DenseVectors<'_, T> {
    fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    fn dim(&self) -> usize {
        self.dim
    }

    #[inline]
    fn vector(&self, offset: PointOffset) -> Cow<'_, [f32]> {
        let row = self.row(offset);
        match T::as_f32(row) {
            Some(row) => Cow::Borrowed(row),
            None => {
                let mut out = vec![0.0; self.dim];
                T::widen(row, &mut out);
                Cow::Owned(out)
            }
        }
    }

    #[inline]
    fn distance_key(&self, distance: Distance, query: &[f32], offset: PointOffset) -> f32 {
        Metric(distance).key_row(query, self.row(offset))
    }

    #[inline]
    fn prefetch(&self, offset: PointOffset) {
        crate::index::distance::prefetch_start(self.row(offset));
    }

    fn as_dense(&self) -> Option<DenseVectors<'_>> {
        T::as_f32(self.data).map(|data| DenseVectors {
            data,
            dim: self.dim,
        })
    }

    fn as_dense_f16(&self) -> Option<DenseVectors<'_, f16>> {
        T::as_f16(self.data).map(|data| DenseVectors {
            data,
            dim: self.dim,
        })
    }
}
