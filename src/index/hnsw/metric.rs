//! The graph's internal ordering of distances.
//!
//! Inside the graph every comparison is "lower key is closer", whatever the
//! metric: a similarity is negated, and Euclid compares squared distances
//! (the square root is monotonic, so it is only taken for the scores a
//! search returns). One direction keeps the heaps and the neighbour
//! heuristic free of per-comparison branches on the metric.
//!
//! A NaN key (from NaN or infinite vector components) becomes `+∞`: such a
//! point ranks behind every finite one, never breaks a heap's order, and is
//! left out of search results ([`Metric::score`] is not asked for it).

use crate::index::distance::{simd, Distance, Element};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Metric(pub(crate) Distance);

impl Metric {
    /// The key of `a` against `b`: lower is closer, never NaN.
    #[inline]
    pub(crate) fn key(self, a: &[f32], b: &[f32]) -> f32 {
        let key = match self.0 {
            Distance::Cosine | Distance::Dot => -simd::dot(a, b),
            Distance::Euclid => simd::l2_squared(a, b),
            Distance::Manhattan => simd::l1(a, b),
        };
        if key.is_nan() {
            f32::INFINITY
        } else {
            key
        }
    }

    /// The key of an `f32` query `a` against a row `b` stored as `T`.
    #[inline]
    pub(crate) fn key_row<T: Element>(self, a: &[f32], b: &[T]) -> f32 {
        let key = match self.0 {
            Distance::Cosine | Distance::Dot => -T::dot(a, b),
            Distance::Euclid => T::l2_squared(a, b),
            Distance::Manhattan => T::l1(a, b),
        };
        if key.is_nan() {
            f32::INFINITY
        } else {
            key
        }
    }

    /// The Qdrant score of a key: exactly what
    /// [`Distance::score`] gives for the same pair.
    #[inline]
    pub(crate) fn score(self, key: f32) -> f32 {
        match self.0 {
            Distance::Cosine | Distance::Dot => -key,
            Distance::Euclid => key.sqrt(),
            Distance::Manhattan => key,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_distance_score() {
        let a = [0.5f32, -1.25, 3.0, 0.0, 2.0];
        let b = [1.5f32, 0.25, -2.0, 4.0, 0.5];
        for distance in [
            Distance::Cosine,
            Distance::Euclid,
            Distance::Dot,
            Distance::Manhattan,
        ] {
            let metric = Metric(distance);
            assert_eq!(
                metric.score(metric.key(&a, &b)),
                distance.score(&a, &b),
                "{distance:?}"
            );
        }
    }

    #[test]
    fn nan_ranks_last() {
        let metric = Metric(Distance::Dot);
        assert_eq!(metric.key(&[f32::NAN], &[1.0]), f32::INFINITY);
    }
}
