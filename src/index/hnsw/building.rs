//! A graph under construction: link lists behind per-node locks, so that
//! several threads insert at once, and the insertion step itself.
//!
//! Invariants, kept under concurrent inserts:
//! * a node's lists exist (empty) before any other node can link to it: an
//!   inserting node writes its own lists first and only then adds the back
//!   links that make it reachable;
//! * a list on layer 0 holds at most `m0` links, on upper layers `m`;
//!   never the node itself and never the same node twice;
//! * a node reachable on layer `l` has lists up to at least `l` (links on
//!   `l` only come from nodes found by a search of `l`).
//!
//! Locks are held only to copy a list out or to change it. Pruning a full
//! list scores its members while holding that one node's write lock: the
//! alternative (score unlocked, then retry if the list changed) costs more
//! code than the rare contention it saves with a handful of threads.

use parking_lot::{Mutex, RwLock};

use super::graph::{HnswGraph, LinkTables};
use super::metric::Metric;
use super::params::HnswParams;
use super::search::{Candidate, Links, ScratchPool, Walker};
use super::select::select_neighbours;
use super::vectors::VectorSource;
use crate::segment::point_id::PointOffset;

/// The current top of the graph, where every insert and search starts.
#[derive(Debug, Clone, Copy)]
struct EntryPoint {
    node: u32,
    level: usize,
}

#[derive(Debug)]
pub(crate) struct GraphUnderConstruction<'a, V: ?Sized> {
    vectors: &'a V,
    metric: Metric,
    params: &'a HnswParams,
    /// Top layer of every point (indexed or not), from [`super::level`].
    levels: Vec<u8>,
    /// Per node: one list per layer `0..=level`; empty until inserted.
    nodes: Vec<RwLock<Vec<Vec<u32>>>>,
    entry: Mutex<Option<EntryPoint>>,
    scratch: ScratchPool,
}

impl<V: VectorSource + ?Sized> Links for GraphUnderConstruction<'_, V> {
    fn node_count(&self) -> usize {
        self.nodes.len()
    }

    #[inline]
    fn links_into(&self, node: u32, level: usize, out: &mut Vec<u32>) {
        out.clear();
        if let Some(list) = self.nodes[node as usize].read().get(level) {
            out.extend_from_slice(list);
        }
    }
}

impl<'a, V: VectorSource + ?Sized> GraphUnderConstruction<'a, V> {
    /// An empty graph over `vectors`, with `levels[i]` the top layer of
    /// point `i` (see [`super::level::level`]).
    pub(crate) fn new(
        vectors: &'a V,
        metric: Metric,
        params: &'a HnswParams,
        levels: Vec<u8>,
    ) -> Self {
        let nodes = (0..levels.len()).map(|_| RwLock::new(Vec::new())).collect();
        GraphUnderConstruction {
            vectors,
            metric,
            params,
            levels,
            nodes,
            entry: Mutex::new(None),
            scratch: ScratchPool::default(),
        }
    }

    /// Link capacity of a list on `level`.
    fn capacity(&self, level: usize) -> usize {
        if level == 0 {
            self.params.m0
        } else {
            self.params.m
        }
    }

    /// Inserts point `node`: links it to the neighbours the heuristic picks
    /// on every layer up to its level, and links them back.
    pub(crate) fn insert(&self, node: u32) {
        let level = usize::from(self.levels[node as usize]);
        *self.nodes[node as usize].write() = (0..=level)
            .map(|l| Vec::with_capacity(self.capacity(l)))
            .collect();

        let entry = {
            let mut entry = self.entry.lock();
            match *entry {
                Some(entry) => entry,
                None => {
                    *entry = Some(EntryPoint { node, level });
                    return;
                }
            }
        };

        let walker = Walker {
            links: self,
            vectors: self.vectors,
            metric: self.metric,
        };
        let query = self.vectors.vector(PointOffset(node));
        let query = &*query;
        let mut scratch = self.scratch.checkout();
        let mut current = Candidate {
            key: walker.key(query, entry.node),
            node: entry.node,
        };
        for l in (level + 1..=entry.level).rev() {
            current = walker.greedy(query, current, l, &mut scratch);
        }

        scratch.entries.clear();
        scratch.entries.push(current);
        for l in (0..=level.min(entry.level)).rev() {
            let entries = std::mem::take(&mut scratch.entries);
            walker.beam(
                query,
                &entries,
                l,
                self.params.ef_construct,
                |n| n != node,
                true,
                &mut scratch,
            );
            scratch.entries = entries;
            scratch.sort_results();
            let scratch = &mut *scratch;
            select_neighbours(
                self.vectors,
                self.metric,
                &scratch.sorted,
                self.capacity(l),
                &mut scratch.selected,
            );
            if let Some(list) = self.nodes[node as usize].write().get_mut(l) {
                list.extend(scratch.selected.iter().map(|c| c.node));
            }
            for neighbour in &scratch.selected {
                self.link_back(neighbour.node, node, neighbour.key, l);
            }
            // Every candidate found here seeds the search one layer down.
            std::mem::swap(&mut scratch.entries, &mut scratch.sorted);
        }

        if level > entry.level {
            let mut entry = self.entry.lock();
            if entry.is_none_or(|e| level > e.level) {
                *entry = Some(EntryPoint { node, level });
            }
        }
    }

    /// Adds `new` (at key `key` from `target`; every metric is symmetric)
    /// to `target`'s list on `level`, re-running the heuristic over the
    /// list plus `new` when it is full.
    fn link_back(&self, target: u32, new: u32, key: f32, level: usize) {
        let capacity = self.capacity(level);
        let mut lists = self.nodes[target as usize].write();
        let Some(list) = lists.get_mut(level) else {
            // Unreachable by the invariants; linking would break them.
            return;
        };
        if list.contains(&new) {
            return;
        }
        if list.len() < capacity {
            list.push(new);
            return;
        }
        let base = self.vectors.vector(PointOffset(target));
        let mut candidates: Vec<Candidate> = list
            .iter()
            .map(|&n| Candidate {
                key: self
                    .vectors
                    .distance_key(self.metric.0, &base, PointOffset(n)),
                node: n,
            })
            .collect();
        candidates.push(Candidate { key, node: new });
        candidates.sort_unstable();
        let mut kept = Vec::with_capacity(capacity);
        select_neighbours(self.vectors, self.metric, &candidates, capacity, &mut kept);
        list.clear();
        list.extend(kept.iter().map(|c| c.node));
    }

    /// The layer-0 list of every node, without building the flat tables:
    /// what a payload sub-graph contributes ([`super::payload`]).
    pub(crate) fn into_layer0(self) -> Vec<Vec<u32>> {
        self.nodes
            .into_iter()
            .map(|node| node.into_inner().into_iter().next().unwrap_or_default())
            .collect()
    }

    /// The finished graph in the flat layout every reader uses.
    pub(crate) fn finish(self) -> HnswGraph {
        let entry = *self.entry.lock();
        let lists: Vec<Vec<Vec<u32>>> = self.nodes.into_iter().map(RwLock::into_inner).collect();
        LinkTables::build_owned(
            self.params,
            self.metric.0,
            entry.map(|e| (PointOffset(e.node), e.level)),
            &lists,
        )
    }
}
