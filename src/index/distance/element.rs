//! What a stored vector component is: `f32`, or IEEE half precision
//! (`f16`, Qdrant's `datatype: float16`), which halves memory and disk at
//! the cost of about three decimal digits.
//!
//! Queries are always `f32`. An `f16` row is widened to `f32` in blocks of
//! [`BLOCK`] components on the stack (half's slice conversion, which uses
//! the CPU's F16C instructions where it has them) and each block goes
//! through the same SIMD kernels as `f32` rows; the partial results add up
//! because every kernel is a sum over components. Nothing is allocated.

#![deny(unsafe_code)]

use half::f16;
use half::slice::HalfFloatSliceExt;

use super::simd;

/// Components widened at a time: 64 floats, two cache lines of `f32`.
const BLOCK: usize = 64;

/// A stored vector component type.
pub trait Element: Copy + Default + Send + Sync + std::fmt::Debug + 'static {
    /// Bytes per component on disk and in memory.
    const SIZE: usize;

    /// `Σ qᵢ·rᵢ`.
    fn dot(query: &[f32], row: &[Self]) -> f32;
    /// `Σ (qᵢ − rᵢ)²`.
    fn l2_squared(query: &[f32], row: &[Self]) -> f32;
    /// `Σ |qᵢ − rᵢ|`.
    fn l1(query: &[f32], row: &[Self]) -> f32;
    /// Writes `row` as `f32` into `out` (same length).
    fn widen(row: &[Self], out: &mut [f32]);
    /// Writes `v` rounded to this type into `out` (same length).
    fn narrow(v: &[f32], out: &mut [Self]);
    /// The same slice as `f32`, where it is one: lets generic code borrow
    /// instead of widening.
    fn as_f32(slice: &[Self]) -> Option<&[f32]>;
    /// The same slice as `f16`, where it is one.
    fn as_f16(slice: &[Self]) -> Option<&[f16]>;
}

impl Element for f32 {
    const SIZE: usize = 4;

    #[inline]
    fn dot(query: &[f32], row: &[f32]) -> f32 {
        simd::dot(query, row)
    }

    #[inline]
    fn l2_squared(query: &[f32], row: &[f32]) -> f32 {
        simd::l2_squared(query, row)
    }

    #[inline]
    fn l1(query: &[f32], row: &[f32]) -> f32 {
        simd::l1(query, row)
    }

    fn widen(row: &[f32], out: &mut [f32]) {
        out.copy_from_slice(row);
    }

    fn narrow(v: &[f32], out: &mut [f32]) {
        out.copy_from_slice(v);
    }

    #[inline]
    fn as_f32(slice: &[f32]) -> Option<&[f32]> {
        Some(slice)
    }

    fn as_f16(_: &[f32]) -> Option<&[f16]> {
        None
    }
}

/// Sums `kernel` over the blocks of `query` and the widened `row`.
#[inline]
fn blockwise(query: &[f32], row: &[f16], kernel: fn(&[f32], &[f32]) -> f32) -> f32 {
    assert_eq!(
        query.len(),
        row.len(),
        "distance kernel on vectors of different lengths"
    );
    let mut buffer = [0f32; BLOCK];
    let mut sum = 0.0;
    for (q, r) in query.chunks(BLOCK).zip(row.chunks(BLOCK)) {
        let widened = &mut buffer[..r.len()];
        r.convert_to_f32_slice(widened);
        sum += kernel(q, widened);
    }
    sum
}

impl Element for f16 {
    const SIZE: usize = 2;

    #[inline]
    fn dot(query: &[f32], row: &[f16]) -> f32 {
        blockwise(query, row, simd::dot)
    }

    #[inline]
    fn l2_squared(query: &[f32], row: &[f16]) -> f32 {
        blockwise(query, row, simd::l2_squared)
    }

    #[inline]
    fn l1(query: &[f32], row: &[f16]) -> f32 {
        blockwise(query, row, simd::l1)
    }

    fn widen(row: &[f16], out: &mut [f32]) {
        row.convert_to_f32_slice(out);
    }

    fn narrow(v: &[f32], out: &mut [f16]) {
        out.convert_from_f32_slice(v);
    }

    #[inline]
    fn as_f32(_: &[f16]) -> Option<&[f32]> {
        None
    }

    #[inline]
    fn as_f16(slice: &[f16]) -> Option<&[f16]> {
        Some(slice)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::reference;
    use super::*;

    fn halves(v: &[f32]) -> Vec<f16> {
        let mut out = vec![f16::ZERO; v.len()];
        f16::narrow(v, &mut out);
        out
    }

    fn widened(v: &[f16]) -> Vec<f32> {
        let mut out = vec![0.0; v.len()];
        f16::widen(v, &mut out);
        out
    }

    proptest! {
        /// Against the f64 reference on the widened row (the rounding to
        /// half precision is the caller's choice, not the kernel's error),
        /// within the f32 kernels' own bound: blocks only split the sum.
        #[test]
        fn f16_kernels_match_the_f64_reference(
            pairs in prop::collection::vec((-1e3f32..1e3f32, -1e3f32..1e3f32), 0..700)
        ) {
            let query: Vec<f32> = pairs.iter().map(|p| p.0).collect();
            let row = halves(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
            let wide = widened(&row);
            let n = query.len();
            let checks = [
                (f16::dot(&query, &row), reference::dot(&query, &wide), reference::dot_magnitude(&query, &wide)),
                (f16::l2_squared(&query, &row), reference::l2_squared(&query, &wide), reference::l2_squared(&query, &wide)),
                (f16::l1(&query, &row), reference::l1(&query, &wide), reference::l1(&query, &wide)),
            ];
            for (got, want, magnitude) in checks {
                let tolerance = reference::tolerance(n, magnitude) + (n / BLOCK + 1) as f64 * 2f64.powi(-24) * magnitude;
                prop_assert!((f64::from(got) - want).abs() <= tolerance, "{got} vs {want} (±{tolerance})");
            }
        }
    }

    #[test]
    fn narrowing_rounds_to_nearest_half() {
        let v = [1.0f32, 0.1, -65504.0, 1e-8, 2.71];
        let back = widened(&halves(&v));
        for (a, b) in v.iter().zip(&back) {
            // Half precision keeps 11 significant bits: relative error at
            // most 2^-11 for normal values; 1e-8 underflows to 0.
            assert!(
                (a - b).abs() <= a.abs() * 2f32.powi(-11) + 6e-8,
                "{a} -> {b}"
            );
        }
    }
}
