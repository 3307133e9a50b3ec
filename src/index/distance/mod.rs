//! Distance functions and their SIMD kernels.
//!
//! Scores follow Qdrant's conventions: `Cosine` and `Dot` are similarities
//! (higher is better); `Euclid` and `Manhattan` are distances (lower is
//! better), reported as the true distance (Euclid takes the square root).
//! Cosine vectors are normalised once, on write and on query, by
//! [`Distance::preprocess`], so scoring them is a plain dot product; every
//! vector handed to [`Distance::score`] must have been through it.
//!
//! The kernels live in [`simd`], written with the safe `wide` API, with
//! AVX2 and AVX-512 intrinsics behind run-time checks in `avx2` and
//! `avx512`; `prefetch` issues cache hints. Those three hold this module's
//! only `unsafe`.

#![deny(unsafe_code)]

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
pub mod element;
mod prefetch;
#[cfg(test)]
mod reference;
pub mod simd;

pub use element::Element;
pub use prefetch::prefetch_start;

use serde::{Deserialize, Serialize};

/// The metric a vector space is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Distance {
    Cosine,
    #[serde(alias = "Euclidean")]
    Euclid,
    Dot,
    Manhattan,
}

impl Distance {
    /// True where a lower score is a better match (distances, not similarities).
    pub fn is_ascending(self) -> bool {
        matches!(self, Distance::Euclid | Distance::Manhattan)
    }

    /// Puts a vector into the form it is stored and queried in: for `Cosine`
    /// it is scaled to unit L2 norm in place, so that cosine similarity
    /// becomes a dot product; other metrics leave it untouched.
    ///
    /// A zero vector has no direction and stays zero (it then scores 0
    /// against everything), rather than turning into NaNs.
    pub fn preprocess(self, v: &mut [f32]) {
        if self != Distance::Cosine {
            return;
        }
        let norm_squared = simd::norm_squared(v);
        // `is_normal` excludes zero, subnormal, infinite and NaN. The f32 path
        // is exact enough for everything else; those are left to the f64
        // path, where the squares of tiny or huge f32 values neither
        // underflow nor overflow.
        if norm_squared.is_normal() {
            let inverse = 1.0 / norm_squared.sqrt();
            for x in v.iter_mut() {
                *x *= inverse;
            }
        } else {
            normalise_in_f64(v);
        }
    }

    /// The score of `a` against `b` under this metric, in Qdrant's
    /// convention: the dot product for `Cosine` (on preprocessed vectors)
    /// and `Dot`, the Euclidean distance (not squared) for `Euclid`, the L1
    /// distance for `Manhattan`.
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn score(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Distance::Cosine | Distance::Dot => simd::dot(a, b),
            Distance::Euclid => simd::l2_squared(a, b).sqrt(),
            Distance::Manhattan => simd::l1(a, b),
        }
    }

    /// [`Distance::score`] of an `f32` query against a row stored as `T`
    /// (`f32` or `f16`); the same kernels, the row widened block by block.
    #[inline]
    pub fn score_row<T: Element>(self, query: &[f32], row: &[T]) -> f32 {
        match self {
            Distance::Cosine | Distance::Dot => T::dot(query, row),
            Distance::Euclid => T::l2_squared(query, row).sqrt(),
            Distance::Manhattan => T::l1(query, row),
        }
    }

    /// True where score `a` is a strictly better match than score `b` under
    /// this metric. A NaN is never better than anything, nor anything better
    /// than a NaN.
    pub fn is_better(self, a: f32, b: f32) -> bool {
        if self.is_ascending() {
            a < b
        } else {
            a > b
        }
    }
}

/// Normalises `v` computing the norm in f64, for vectors whose squared norm
/// is out of f32's normal range. A zero (or non-finite) norm leaves `v` as it
/// is.
fn normalise_in_f64(v: &mut [f32]) {
    let norm = v
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt();
    if norm > 0.0 && norm.is_finite() {
        for x in v.iter_mut() {
            *x = (f64::from(*x) / norm) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const ALL: [Distance; 4] = [
        Distance::Cosine,
        Distance::Euclid,
        Distance::Dot,
        Distance::Manhattan,
    ];

    fn norm(v: &[f32]) -> f64 {
        reference::norm_squared(v).sqrt()
    }

    #[test]
    fn cosine_preprocess_normalises() {
        let mut v = vec![3.0, 4.0];
        Distance::Cosine.preprocess(&mut v);
        assert!(
            (v[0] - 0.6).abs() <= 1e-7 && (v[1] - 0.8).abs() <= 1e-7,
            "{v:?}"
        );
    }

    #[test]
    fn zero_vector_stays_zero() {
        for len in [0, 1, 9, 384] {
            let mut v = vec![0.0f32; len];
            Distance::Cosine.preprocess(&mut v);
            assert!(v.iter().all(|&x| x == 0.0), "len {len}: {v:?}");
        }
    }

    /// Squares of these underflow (or overflow) f32, so the f64 path runs.
    #[test]
    fn cosine_preprocess_handles_extreme_magnitudes() {
        for scale in [1e-30f32, f32::MIN_POSITIVE, 1e-45, 1e25, f32::MAX] {
            let mut v = vec![scale, -scale, 0.0, scale];
            Distance::Cosine.preprocess(&mut v);
            assert!((norm(&v) - 1.0).abs() <= 1e-6, "scale {scale}: {v:?}");
        }
    }

    #[test]
    fn other_metrics_leave_vectors_alone() {
        for distance in [Distance::Euclid, Distance::Dot, Distance::Manhattan] {
            let mut v = vec![3.0, 4.0, -1.5];
            distance.preprocess(&mut v);
            assert_eq!(v, [3.0, 4.0, -1.5], "{distance:?}");
        }
    }

    #[test]
    fn scores_follow_qdrant_conventions() {
        let a = [1.0, 2.0, 3.0];
        let b = [4.0, 6.0, 3.0];
        assert_eq!(Distance::Dot.score(&a, &b), 25.0);
        assert_eq!(Distance::Euclid.score(&a, &b), 5.0);
        assert_eq!(Distance::Manhattan.score(&a, &b), 7.0);

        let (mut x, mut y) = (vec![1.0, 0.0], vec![1.0, 1.0]);
        Distance::Cosine.preprocess(&mut x);
        Distance::Cosine.preprocess(&mut y);
        let cosine = Distance::Cosine.score(&x, &y);
        assert!(
            (cosine - std::f32::consts::FRAC_1_SQRT_2).abs() <= 1e-7,
            "{cosine}"
        );
    }

    #[test]
    fn is_better_follows_direction() {
        assert!(Distance::Cosine.is_better(0.9, 0.1));
        assert!(Distance::Dot.is_better(2.0, -3.0));
        assert!(Distance::Euclid.is_better(0.1, 0.9));
        assert!(Distance::Manhattan.is_better(1.0, 2.0));
        for distance in ALL {
            assert!(
                !distance.is_better(1.0, 1.0),
                "{distance:?}: ties are not better"
            );
            assert!(!distance.is_better(f32::NAN, 1.0), "{distance:?}");
            assert!(!distance.is_better(1.0, f32::NAN), "{distance:?}");
            assert!(!distance.is_better(f32::NAN, f32::NAN), "{distance:?}");
        }
    }

    proptest! {
        #[test]
        fn cosine_preprocess_gives_unit_norm(
            mut v in prop::collection::vec(-1e3f32..1e3f32, 1..1000)
        ) {
            let before = v.clone();
            Distance::Cosine.preprocess(&mut v);
            if before.iter().all(|&x| x == 0.0) {
                prop_assert!(v.iter().all(|&x| x == 0.0));
            } else {
                // A few roundings of the norm, then one per element.
                prop_assert!((norm(&v) - 1.0).abs() <= 1e-5, "norm {}", norm(&v));
            }
        }

        #[test]
        fn euclid_is_root_of_l2_squared(
            pairs in prop::collection::vec((-1e3f32..1e3f32, -1e3f32..1e3f32), 0..500)
        ) {
            let (a, b): (Vec<f32>, Vec<f32>) = pairs.into_iter().unzip();
            let want = reference::l2_squared(&a, &b).sqrt();
            let got = f64::from(Distance::Euclid.score(&a, &b));
            // sqrt halves the relative error of l2_squared and adds one
            // rounding of its own.
            let relative = reference::tolerance(a.len(), 1.0) / 2.0 + f64::from(f32::EPSILON);
            let tolerance = relative * want + f64::from(f32::MIN_POSITIVE).sqrt();
            prop_assert!((got - want).abs() <= tolerance, "got {got}, want {want}");
        }
    }
}
