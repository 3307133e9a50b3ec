//! The HNSW neighbour-selection heuristic.
//!
//! Taking the `m` closest candidates as neighbours clusters a node's links
//! in one direction and leaves distant parts of the graph badly connected.
//! The heuristic walks candidates closest first and keeps one only if it is
//! closer to the base node than to every neighbour kept so far: a candidate
//! "behind" a kept neighbour is reachable through it and need not be linked
//! directly. The result has up to `max` links spread over directions.

use super::metric::Metric;
use super::search::Candidate;
use super::vectors::VectorSource;
use crate::segment::point_id::PointOffset;

/// Replaces `kept` with the neighbours the heuristic picks from
/// `candidates`, which must be sorted closest first, with keys measured
/// from the base node. Picks at most `max`.
pub(crate) fn select_neighbours<V: VectorSource + ?Sized>(
    vectors: &V,
    metric: Metric,
    candidates: &[Candidate],
    max: usize,
    kept: &mut Vec<Candidate>,
) {
    kept.clear();
    for &candidate in candidates {
        if kept.len() >= max {
            break;
        }
        let vector = vectors.vector(PointOffset(candidate.node));
        let diverse = kept.iter().all(|neighbour| {
            vectors.distance_key(metric.0, &vector, PointOffset(neighbour.node)) > candidate.key
        });
        if diverse {
            kept.push(candidate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::distance::Distance;
    use crate::index::hnsw::vectors::DenseVectors;

    #[test]
    fn drops_candidates_hidden_behind_a_kept_neighbour() {
        // Base at the origin; 1 at x=1, 2 at x=2 (behind 1), 3 at y=1.5.
        let data = [0.0, 0.0, 1.0, 0.0, 2.0, 0.0, 0.0, 1.5];
        let vectors = DenseVectors::new(&data, 2);
        let metric = Metric(Distance::Euclid);
        let base = vectors.vector(PointOffset(0));
        let mut candidates: Vec<Candidate> = (1..4)
            .map(|node| Candidate {
                key: metric.key(&base, &vectors.vector(PointOffset(node))),
                node,
            })
            .collect();
        candidates.sort_unstable();
        let mut kept = Vec::new();
        select_neighbours(&vectors, metric, &candidates, 3, &mut kept);
        let nodes: Vec<u32> = kept.iter().map(|c| c.node).collect();
        assert_eq!(nodes, [1, 3]);

        select_neighbours(&vectors, metric, &candidates, 1, &mut kept);
        assert_eq!(kept.len(), 1);
    }
}
