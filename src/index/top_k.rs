//! Top-k selection of scored points.
//!
//! [`TopK`] keeps the best `k` of a stream of `(offset, score)` pairs in a
//! binary heap whose root is the *worst* entry kept, so a candidate that
//! doesn't beat it is rejected with one comparison: the common case once a
//! scan has warmed up. "Best" follows the metric's direction
//! ([`Distance::is_ascending`]); equal scores are ordered by smaller offset
//! so that results do not depend on scan order or thread scheduling. NaN
//! scores are dropped on entry: they cannot be ranked, and admitting one
//! would break the heap's ordering.

#![deny(unsafe_code)]

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::index::distance::Distance;
use crate::segment::point_id::PointOffset;

/// Heap capacity reserved up front at most. `k` comes from a request's
/// `limit` (plus `offset`) and may be far larger than the number of points a
/// segment holds, so the heap grows on demand past this.
const PREALLOCATE_MAX: usize = 1024;

/// A point's internal offset with its score under some [`Distance`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredOffset {
    pub offset: PointOffset,
    pub score: f32,
}

/// Bounded collector of the best `k` scored offsets.
#[derive(Debug, Clone)]
pub struct TopK {
    k: usize,
    ascending: bool,
    heap: BinaryHeap<Entry>,
}

impl TopK {
    /// An empty collector for the best `k` under `distance`. With `k == 0`
    /// it accepts nothing.
    pub fn new(k: usize, distance: Distance) -> Self {
        TopK {
            k,
            ascending: distance.is_ascending(),
            heap: BinaryHeap::with_capacity(k.min(PREALLOCATE_MAX)),
        }
    }

    /// Offers one candidate; it is kept if fewer than `k` are held or it
    /// beats the worst one held, which it then replaces. NaN is ignored.
    #[inline]
    pub fn push(&mut self, offset: PointOffset, score: f32) {
        if score.is_nan() {
            return;
        }
        self.push_entry(Entry {
            key: self.key(score),
            offset,
        });
    }

    /// Adds everything `other` holds, as if each of its entries had been
    /// pushed here. Used to join per-thread collectors.
    pub fn merge(&mut self, other: TopK) {
        if self.heap.is_empty() && other.ascending == self.ascending && other.len() <= self.k {
            // The identity side of a parallel reduce: take the heap whole.
            self.heap = other.heap;
            return;
        }
        for entry in other.heap.into_vec() {
            // Keys are oriented by direction; re-derive the score so that a
            // collector for the other direction still merges correctly.
            self.push(entry.offset, orient(other.ascending, entry.key));
        }
    }

    /// Number of entries held (at most `k`).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The entries held, best first; equal scores by ascending offset.
    pub fn into_sorted_vec(self) -> Vec<ScoredOffset> {
        let ascending = self.ascending;
        // `Entry`'s order puts better entries first, so ascending order is
        // best first.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|entry| ScoredOffset {
                offset: entry.offset,
                score: orient(ascending, entry.key),
            })
            .collect()
    }

    #[inline]
    fn push_entry(&mut self, entry: Entry) {
        if self.heap.len() < self.k {
            self.heap.push(entry);
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if entry < *worst {
                // Dropping `PeekMut` sifts the replacement down.
                *worst = entry;
            }
        }
    }

    /// The heap key of a score (see [`orient`]).
    #[inline]
    fn key(&self, score: f32) -> f32 {
        orient(self.ascending, score)
    }
}

/// Maps a score to a heap key where higher is better, and a key back to its
/// score: the value itself for similarities, its negation for distances.
/// Negation is exact, so scores come back bit for bit.
#[inline]
fn orient(ascending: bool, value: f32) -> f32 {
    if ascending {
        -value
    } else {
        value
    }
}

/// One held candidate. `key` is never NaN ([`TopK::push`] filters it), which
/// makes the order below total.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: f32,
    offset: PointOffset,
}

/// Better entries compare *less*: a higher key, then a smaller offset. The
/// max-heap therefore keeps the worst held entry at its root, ready to be
/// evicted, and `into_sorted_vec` comes out best first.
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed so that a higher key is less. `Equal` for incomparable
        // keys cannot happen (no NaN) and keeps this total regardless.
        other
            .key
            .partial_cmp(&self.key)
            .unwrap_or(Ordering::Equal)
            .then(self.offset.cmp(&other.offset))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

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

    /// The obvious implementation: drop NaN, sort best first (ties by
    /// offset), truncate.
    fn sort_and_truncate(
        candidates: &[(u32, f32)],
        k: usize,
        distance: Distance,
    ) -> Vec<ScoredOffset> {
        let mut all: Vec<ScoredOffset> = candidates
            .iter()
            .filter(|(_, score)| !score.is_nan())
            .map(|&(offset, score)| ScoredOffset {
                offset: PointOffset(offset),
                score,
            })
            .collect();
        all.sort_by(|a, b| {
            let by_score = a.score.partial_cmp(&b.score).unwrap_or(Ordering::Equal);
            let by_score = if distance.is_ascending() {
                by_score
            } else {
                by_score.reverse()
            };
            by_score.then(a.offset.cmp(&b.offset))
        });
        all.truncate(k);
        all
    }

    fn collect(candidates: &[(u32, f32)], k: usize, distance: Distance) -> TopK {
        let mut top = TopK::new(k, distance);
        for &(offset, score) in candidates {
            top.push(PointOffset(offset), score);
        }
        top
    }

    fn offsets(results: &[ScoredOffset]) -> Vec<u32> {
        results.iter().map(|r| r.offset.0).collect()
    }

    #[test]
    fn keeps_best_in_metric_direction() {
        let candidates = [(0, 0.5), (1, 0.9), (2, 0.1), (3, 0.7)];
        let best_high = collect(&candidates, 2, Distance::Dot).into_sorted_vec();
        assert_eq!(offsets(&best_high), [1, 3]);
        assert_eq!(best_high[0].score, 0.9);
        let best_low = collect(&candidates, 2, Distance::Euclid).into_sorted_vec();
        assert_eq!(offsets(&best_low), [2, 0]);
        assert_eq!(best_low[0].score, 0.1);
    }

    #[test]
    fn k_zero_returns_nothing() {
        for distance in ALL {
            let top = collect(&[(0, 1.0), (1, 2.0)], 0, distance);
            assert!(top.is_empty());
            assert!(top.into_sorted_vec().is_empty());
        }
    }

    #[test]
    fn nan_is_never_selected() {
        for distance in ALL {
            let candidates = [(0, f32::NAN), (1, 1.0), (2, f32::NAN), (3, -1.0)];
            let results = collect(&candidates, 10, distance).into_sorted_vec();
            assert_eq!(results.len(), 2, "{distance:?}");
            assert!(results.iter().all(|r| !r.score.is_nan()));
        }
    }

    #[test]
    fn ties_go_to_smaller_offset_whatever_the_push_order() {
        let forward = collect(&[(5, 1.0), (3, 1.0), (9, 1.0), (1, 1.0)], 2, Distance::Dot);
        let backward = collect(&[(1, 1.0), (9, 1.0), (3, 1.0), (5, 1.0)], 2, Distance::Dot);
        assert_eq!(offsets(&forward.into_sorted_vec()), [1, 3]);
        assert_eq!(offsets(&backward.into_sorted_vec()), [1, 3]);
    }

    #[test]
    fn infinities_rank_at_the_ends() {
        let candidates = [(0, f32::INFINITY), (1, 0.0), (2, f32::NEG_INFINITY)];
        let dot = collect(&candidates, 3, Distance::Dot).into_sorted_vec();
        assert_eq!(offsets(&dot), [0, 1, 2]);
        let euclid = collect(&candidates, 3, Distance::Euclid).into_sorted_vec();
        assert_eq!(offsets(&euclid), [2, 1, 0]);
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        let candidates = [(4, 0.0), (2, -0.0), (7, 0.0)];
        for distance in ALL {
            let results = collect(&candidates, 2, distance).into_sorted_vec();
            assert_eq!(offsets(&results), [2, 4], "{distance:?}");
        }
    }

    fn score_strategy() -> impl Strategy<Value = f32> {
        prop_oneof![
            // A narrow integer range forces plenty of ties.
            4 => (-5i8..5).prop_map(f32::from),
            4 => -1e6f32..1e6f32,
            1 => Just(f32::NAN),
            1 => Just(f32::INFINITY),
            1 => Just(f32::NEG_INFINITY),
            1 => Just(-0.0f32),
        ]
    }

    fn distance_strategy() -> impl Strategy<Value = Distance> {
        prop::sample::select(ALL.to_vec())
    }

    proptest! {
        #[test]
        fn matches_sort_and_truncate(
            scores in prop::collection::vec(score_strategy(), 0..300),
            k in 0usize..40,
            distance in distance_strategy(),
        ) {
            let candidates: Vec<(u32, f32)> =
                scores.into_iter().enumerate().map(|(i, s)| (i as u32, s)).collect();
            let got = collect(&candidates, k, distance).into_sorted_vec();
            prop_assert_eq!(got, sort_and_truncate(&candidates, k, distance));
        }

        #[test]
        fn merged_parts_match_one_collector(
            scores in prop::collection::vec(score_strategy(), 0..300),
            parts in 1usize..6,
            k in 0usize..40,
            distance in distance_strategy(),
        ) {
            let candidates: Vec<(u32, f32)> =
                scores.into_iter().enumerate().map(|(i, s)| (i as u32, s)).collect();
            // Deal candidates round-robin into `parts` collectors, then merge
            // them into an empty one, as a parallel reduce does.
            let mut merged = TopK::new(k, distance);
            for part in 0..parts {
                let share: Vec<(u32, f32)> =
                    candidates.iter().copied().skip(part).step_by(parts).collect();
                merged.merge(collect(&share, k, distance));
            }
            prop_assert_eq!(merged.into_sorted_vec(), sort_and_truncate(&candidates, k, distance));
        }
    }

    #[test]
    fn merge_across_directions_rederives_scores() {
        let mut ascending = collect(&[(0, 3.0), (1, 1.0)], 2, Distance::Euclid);
        ascending.merge(collect(&[(2, 2.0)], 2, Distance::Dot));
        let results = ascending.into_sorted_vec();
        assert_eq!(offsets(&results), [1, 2]);
        assert_eq!(results[1].score, 2.0);
    }
}
