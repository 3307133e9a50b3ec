//! Exact (brute-force) nearest-neighbour search over a dense row-major
//! matrix of vectors: the baseline HNSW is measured against, and the search
//! used for small or heavily filtered segments.
//!
//! Rows are scored in parallel, [`CHUNK_ROWS`] at a time, each chunk into its
//! own [`TopK`]; the chunk collectors are then merged. Because [`TopK`]
//! breaks ties by offset, the result is the same whatever the split or the
//! thread scheduling.

#![deny(unsafe_code)]

use rayon::prelude::*;

use crate::index::distance::{Distance, Element};
use crate::index::top_k::{ScoredOffset, TopK};
use crate::segment::point_id::PointOffset;

/// Rows per parallel task. Large enough that scheduling and the per-chunk
/// merge are small next to scoring (1024 rows of 384 floats is 1.5 MiB of
/// reads), small enough to split a segment of a few tens of thousands of
/// points across every core.
const CHUNK_ROWS: usize = 1024;

/// The best `k` rows of `vectors` for `query` under `distance`, best first
/// (equal scores by ascending offset), among the rows whose offset `accept`
/// returns true for.
///
/// `vectors` holds `vectors.len() / dim` rows of `dim` components (`f32`, or
/// `f16` widened block by block) back to back;
/// row `i` is the point at offset `i`. Rows and query must already be in
/// stored form ([`Distance::preprocess`]); this function does not normalise.
///
/// # Panics
/// If `dim` is 0, `query.len() != dim`, `vectors.len()` is not a multiple of
/// `dim`, or there are more rows than a [`PointOffset`] can address. All are
/// caller bugs: dimensions are validated when a collection is created and
/// when a request arrives.
pub fn exact_top_k<T: Element>(
    vectors: &[T],
    dim: usize,
    query: &[f32],
    distance: Distance,
    k: usize,
    accept: impl Fn(PointOffset) -> bool + Sync,
) -> Vec<ScoredOffset> {
    assert!(dim > 0, "exact search over zero-dimensional vectors");
    assert_eq!(
        query.len(),
        dim,
        "query dimension differs from the vectors'"
    );
    assert_eq!(
        vectors.len() % dim,
        0,
        "vector storage is not a whole number of rows"
    );
    let rows = vectors.len() / dim;
    assert!(
        rows as u64 <= u64::from(u32::MAX) + 1,
        "more rows than point offsets"
    );
    if k == 0 {
        return Vec::new();
    }

    vectors
        .par_chunks(CHUNK_ROWS * dim)
        .enumerate()
        .map(|(chunk, rows)| {
            let first = chunk * CHUNK_ROWS;
            let mut top = TopK::new(k, distance);
            for (i, row) in rows.chunks_exact(dim).enumerate() {
                // In range: checked against `u32::MAX` above.
                let offset = PointOffset((first + i) as u32);
                if accept(offset) {
                    top.push(offset, distance.score_row(query, row));
                }
            }
            top
        })
        .reduce(
            || TopK::new(k, distance),
            |mut left, right| {
                left.merge(right);
                left
            },
        )
        .into_sorted_vec()
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use proptest::prelude::*;

    use super::*;

    const ALL: [Distance; 4] = [
        Distance::Cosine,
        Distance::Euclid,
        Distance::Dot,
        Distance::Manhattan,
    ];

    /// Score every accepted row sequentially, sort, truncate.
    fn naive(
        vectors: &[f32],
        dim: usize,
        query: &[f32],
        distance: Distance,
        k: usize,
        accept: impl Fn(PointOffset) -> bool,
    ) -> Vec<ScoredOffset> {
        let mut all: Vec<ScoredOffset> = vectors
            .chunks_exact(dim)
            .enumerate()
            .map(|(i, row)| ScoredOffset {
                offset: PointOffset(i as u32),
                score: distance.score(query, row),
            })
            .filter(|r| accept(r.offset))
            .collect();
        all.sort_by(|a, b| {
            let better_first = if distance.is_better(a.score, b.score) {
                Ordering::Less
            } else if distance.is_better(b.score, a.score) {
                Ordering::Greater
            } else {
                Ordering::Equal
            };
            better_first.then(a.offset.cmp(&b.offset))
        });
        all.truncate(k);
        all
    }

    fn offsets(results: &[ScoredOffset]) -> Vec<u32> {
        results.iter().map(|r| r.offset.0).collect()
    }

    #[test]
    fn finds_nearest_points_on_a_line() {
        // Point i sits at (i, 0); the query at (10.2, 0).
        let vectors: Vec<f32> = (0..5000).flat_map(|i| [i as f32, 0.0]).collect();
        let query = [10.2, 0.0];
        let results = exact_top_k(&vectors, 2, &query, Distance::Euclid, 3, |_| true);
        assert_eq!(offsets(&results), [10, 11, 9]);
        assert!((results[0].score - 0.2).abs() <= 1e-6);

        let even = exact_top_k(&vectors, 2, &query, Distance::Manhattan, 3, |o| {
            o.0 % 2 == 0
        });
        assert_eq!(offsets(&even), [10, 12, 8]);
    }

    #[test]
    fn empty_inputs() {
        let vectors: Vec<f32> = (0..30).map(|i| i as f32).collect();
        for distance in ALL {
            assert!(exact_top_k(&vectors, 3, &[1.0; 3], distance, 0, |_| true).is_empty());
            assert!(exact_top_k::<f32>(&[], 3, &[1.0; 3], distance, 5, |_| true).is_empty());
            assert!(exact_top_k(&vectors, 3, &[1.0; 3], distance, 5, |_| false).is_empty());
        }
    }

    #[test]
    #[should_panic(expected = "query dimension")]
    fn wrong_query_dimension_panics() {
        exact_top_k(&[0.0; 6], 3, &[0.0; 2], Distance::Dot, 1, |_| true);
    }

    proptest! {
        // Each case scans a few thousand rows; fewer cases keep this quick.
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn matches_naive_scan(
            dim in 1usize..12,
            rows in 0usize..3 * CHUNK_ROWS,
            k in 0usize..30,
            distance in prop::sample::select(ALL.to_vec()),
            seed in any::<u64>(),
            (modulus, residue) in (1u32..5).prop_flat_map(|m| (Just(m), 0..m)),
        ) {
            // Coarse values so that many rows tie and the offset tie-break
            // is exercised across chunk boundaries.
            let mut state = seed | 1;
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % 5) as f32 - 2.0
            };
            let mut vectors: Vec<f32> = (0..rows * dim).map(|_| next()).collect();
            let mut query: Vec<f32> = (0..dim).map(|_| next()).collect();
            if distance == Distance::Cosine {
                distance.preprocess(&mut query);
                for row in vectors.chunks_exact_mut(dim) {
                    distance.preprocess(row);
                }
            }
            let accept = |o: PointOffset| o.0 % modulus != residue;
            let got = exact_top_k(&vectors, dim, &query, distance, k, accept);
            prop_assert_eq!(got, naive(&vectors, dim, &query, distance, k, accept));
        }
    }
}
