//! Searching one layer of a graph: the greedy walk of the upper layers and
//! the beam search of `ef` candidates, shared by construction (over the
//! locked lists of a graph being built) and by queries (over a finished,
//! possibly memory-mapped graph) through the [`Links`] trait.
//!
//! Both walks order candidates by `(key, node)` (lower key is closer, see
//! [`super::metric`]), a total order, so that a single-threaded build and a
//! search are deterministic even when scores tie.
//!
//! The buffers a search needs (visited set, two heaps, neighbour lists) live
//! in a [`SearchScratch`] borrowed from a [`ScratchPool`], so a search in
//! steady state allocates only its result vector.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::ops::{Deref, DerefMut};

use parking_lot::Mutex;

use super::metric::Metric;
use super::vectors::VectorSource;
use super::visited::VisitedSet;
use crate::segment::point_id::PointOffset;

/// Scratch buffers kept by a pool at most: one per concurrently searching
/// thread is enough, and each holds a visited array the size of the graph.
const MAX_POOLED: usize = 16;

/// A scored node. Ordered by key, then node: lower is closer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Candidate {
    pub(crate) key: f32,
    pub(crate) node: u32,
}

impl Eq for Candidate {}

impl Ord for Candidate {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        // Keys are never NaN (`Metric::key`), so `total_cmp` only differs
        // from the numeric order on -0 vs +0, which it still orders totally.
        self.key
            .total_cmp(&other.key)
            .then(self.node.cmp(&other.node))
    }
}

impl PartialOrd for Candidate {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Read access to a graph's link lists.
pub(crate) trait Links {
    /// Nodes `0..node_count()` may appear in links.
    fn node_count(&self) -> usize;

    /// Replaces `out` with the links of `node` on `level` (none where the
    /// node does not reach that level). A copy rather than a borrow so that
    /// a graph under construction can release its lock before the caller
    /// scores the neighbours.
    fn links_into(&self, node: u32, level: usize, out: &mut Vec<u32>);

    /// Starts fetching the links of `node` on `level` into the caches,
    /// ahead of a [`Links::links_into`] soon after. A hint; by default
    /// nothing.
    fn prefetch_links(&self, node: u32, level: usize) {
        let _ = (node, level);
    }
}

/// Reusable buffers of one search.
#[derive(Debug, Default)]
pub(crate) struct SearchScratch {
    pub(crate) visited: VisitedSet,
    /// Nodes still to expand, closest on top.
    candidates: BinaryHeap<Reverse<Candidate>>,
    /// The best `ef` found so far, farthest on top so it can be evicted.
    pub(crate) results: BinaryHeap<Candidate>,
    links: Vec<u32>,
    fresh: Vec<u32>,
    /// Sorted results of the last layer, closest first.
    pub(crate) sorted: Vec<Candidate>,
    /// Construction only: entry points of the next layer down.
    pub(crate) entries: Vec<Candidate>,
    /// Construction only: neighbours picked by the heuristic.
    pub(crate) selected: Vec<Candidate>,
    /// Construction only: a full list and its newcomer, being pruned.
    pub(crate) pruning: Vec<Candidate>,
    /// Construction only: what the pruning keeps.
    pub(crate) kept: Vec<Candidate>,
}

impl SearchScratch {
    /// Moves `results` into `sorted`, closest first.
    pub(crate) fn sort_results(&mut self) {
        self.sorted.clear();
        self.sorted.extend(self.results.drain());
        self.sorted.sort_unstable();
    }
}

/// A small free list of [`SearchScratch`], shared by the threads searching
/// (or building) one graph.
#[derive(Debug, Default)]
pub(crate) struct ScratchPool {
    free: Mutex<Vec<SearchScratch>>,
}

impl ScratchPool {
    /// A scratch buffer, reused if one is free; it returns to the pool when
    /// the guard drops.
    pub(crate) fn checkout(&self) -> PooledScratch<'_> {
        let scratch = self.free.lock().pop().unwrap_or_default();
        PooledScratch {
            pool: self,
            scratch,
        }
    }
}

#[derive(Debug)]
pub(crate) struct PooledScratch<'a> {
    pool: &'a ScratchPool,
    scratch: SearchScratch,
}

impl Deref for PooledScratch<'_> {
    type Target = SearchScratch;
    fn deref(&self) -> &SearchScratch {
        &self.scratch
    }
}

impl DerefMut for PooledScratch<'_> {
    fn deref_mut(&mut self) -> &mut SearchScratch {
        &mut self.scratch
    }
}

impl Drop for PooledScratch<'_> {
    fn drop(&mut self) {
        let mut free = self.pool.free.lock();
        if free.len() < MAX_POOLED {
            free.push(std::mem::take(&mut self.scratch));
        }
    }
}

/// One graph, its vectors and metric: everything a walk reads.
pub(crate) struct Walker<'a, L: ?Sized, V: ?Sized> {
    pub(crate) links: &'a L,
    pub(crate) vectors: &'a V,
    pub(crate) metric: Metric,
}

impl<L: Links + ?Sized, V: VectorSource + ?Sized> Walker<'_, L, V> {
    #[inline]
    pub(crate) fn key(&self, query: &[f32], node: u32) -> f32 {
        self.vectors
            .distance_key(self.metric.0, query, PointOffset(node))
    }

    /// Greedy walk on `level` from `start`: moves to the closest neighbour
    /// while that is closer, and returns the local minimum reached.
    pub(crate) fn greedy(
        &self,
        query: &[f32],
        start: Candidate,
        level: usize,
        scratch: &mut SearchScratch,
    ) -> Candidate {
        let mut best = start;
        loop {
            self.links.links_into(best.node, level, &mut scratch.links);
            let mut moved = false;
            for &node in &scratch.links {
                let candidate = Candidate {
                    key: self.key(query, node),
                    node,
                };
                if candidate < best {
                    best = candidate;
                    moved = true;
                }
            }
            if !moved {
                return best;
            }
        }
    }

    /// Beam search on `level` from `entries`, keeping the `ef` closest
    /// nodes that `accept` admits in `scratch.results`.
    ///
    /// Rejected nodes are still expanded, so a filter does not cut the
    /// graph into pieces; the walk stops once the closest unexpanded node is
    /// farther than the worst of `ef` accepted results. With a very
    /// selective filter that means visiting much of the graph: callers
    /// (the payload index, later) switch to exact search below some
    /// estimated cardinality.
    ///
    /// With `through_rejected` false, rejected nodes are neither scored nor
    /// expanded: the walk stays inside the accepted points, which is only
    /// connected where payload links join them (see `HnswGraph::search_linked`).
    #[expect(
        clippy::too_many_arguments,
        reason = "the hot loop's inputs, passed as they are rather than bundled per call"
    )]
    pub(crate) fn beam(
        &self,
        query: &[f32],
        entries: &[Candidate],
        level: usize,
        ef: usize,
        accept: impl Fn(u32) -> bool,
        through_rejected: bool,
        scratch: &mut SearchScratch,
    ) {
        let SearchScratch {
            visited,
            candidates,
            results,
            links,
            fresh,
            ..
        } = scratch;
        visited.reset(self.links.node_count());
        candidates.clear();
        results.clear();
        for &entry in entries {
            if !visited.insert(entry.node) {
                continue;
            }
            candidates.push(Reverse(entry));
            if accept(entry.node) {
                results.push(entry);
                if results.len() > ef {
                    results.pop();
                }
            }
        }

        while let Some(Reverse(current)) = candidates.pop() {
            if results.len() >= ef && results.peek().is_some_and(|worst| current > *worst) {
                break;
            }
            self.links.links_into(current.node, level, links);
            // The node likely to be expanded next, unless this expansion
            // finds a closer one: its links arrive while this one is scored.
            if let Some(Reverse(next)) = candidates.peek() {
                self.links.prefetch_links(next.node, level);
            }
            // Mark first, score after: the scoring loop then runs over a
            // dense list with no branches on the visited array in between.
            fresh.clear();
            fresh.extend(links.iter().copied().filter(|&n| visited.insert(n)));
            if !through_rejected {
                fresh.retain(|&n| accept(n));
            }
            // Ask for every row of the batch before scoring the first, so
            // their misses overlap (see `distance::prefetch_start`).
            for &node in fresh.iter() {
                self.vectors.prefetch(PointOffset(node));
            }
            for &node in fresh.iter() {
                let candidate = Candidate {
                    key: self.key(query, node),
                    node,
                };
                let full = results.len() >= ef;
                if full && results.peek().is_some_and(|worst| candidate >= *worst) {
                    continue;
                }
                candidates.push(Reverse(candidate));
                if accept(node) {
                    results.push(candidate);
                    if full {
                        results.pop();
                    }
                }
            }
            // The next node to expand is known now: fetch its links while
            // the loop comes round.
            if let Some(Reverse(next)) = candidates.peek() {
                self.links.prefetch_links(next.node, level);
            }
        }
    }
}
