//! A graph under construction: link records in the final layout of
//! [`super::graph`], one lock per node, so that several threads insert at
//! once, and the insertion step itself.
//!
//! Every record exists from the start, sized by the node's level (known
//! before the build: [`super::level`]), in flat tables: `layer0` holds
//! `1 + m0` words per node (the count, then the slots), `upper` holds
//! `1 + m` words per upper layer of each node, found through
//! `upper_offsets`. Reading a node's links is then one lookup into one
//! table, where lists allocated per node cost a chain of dependent cache
//! misses (lock, list of layers, list of links); and [`finish`] hands the
//! tables to the graph without copying them.
//!
//! The words are `AtomicU32` only so that shared references can write
//! them; every access happens under the node's lock, which orders it, so
//! they are all `Relaxed` and compile to plain loads and stores.
//!
//! Invariants, kept under concurrent inserts:
//! * a record on layer 0 holds at most `m0` links, on upper layers `m`;
//!   never the node itself and never the same node twice;
//! * a node reachable on layer `l` has a record on `l` (links on `l` only
//!   come from nodes found by a search of `l`, and records are sized by
//!   level up front);
//! * nodes left out of the build have level 0 and an empty record, and no
//!   record links to them.
//!
//! Locks are held only to copy a list out or to change it. Pruning a full
//! list scores its members while holding that one node's lock: the
//! alternative (score unlocked, then retry if the list changed) costs more
//! code than the rare contention it saves with a handful of threads.
//!
//! [`finish`]: GraphUnderConstruction::finish

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use parking_lot::Mutex;

use super::graph::HnswGraph;
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

/// The tables of a graph under construction, taken apart
/// ([`GraphUnderConstruction::into_parts`]).
#[cfg(feature = "gpu")]
#[derive(Debug)]
pub(crate) struct GraphParts {
    pub(crate) levels: Vec<u8>,
    pub(crate) layer0: Vec<u32>,
    pub(crate) upper_offsets: Vec<u64>,
    pub(crate) upper: Vec<u32>,
    pub(crate) entry: Option<(u32, usize)>,
}

#[derive(Debug)]
pub(crate) struct GraphUnderConstruction<'a, V: ?Sized> {
    vectors: &'a V,
    metric: Metric,
    params: &'a HnswParams,
    /// Top layer of every point, from [`super::level`] (0 for points left
    /// out of the build).
    levels: Vec<u8>,
    /// Guards all of one node's records.
    locks: Vec<Mutex<()>>,
    /// `1 + m0` words per node: count, then links.
    layer0: Vec<AtomicU32>,
    /// Prefix sums into `upper`, `len + 1` entries.
    upper_offsets: Vec<u64>,
    /// `1 + m` words per upper layer of each node, layers `1..=level`.
    upper: Vec<AtomicU32>,
    entry: Mutex<Option<EntryPoint>>,
    scratch: ScratchPool,
}

impl<V: VectorSource + ?Sized> Links for GraphUnderConstruction<'_, V> {
    fn node_count(&self) -> usize {
        self.levels.len()
    }

    #[inline]
    fn links_into(&self, node: u32, level: usize, out: &mut Vec<u32>) {
        out.clear();
        if let Some(record) = self.record(node, level) {
            let _guard = self.locks[node as usize].lock();
            let count = record[0].load(Relaxed) as usize;
            out.extend(record[1..1 + count].iter().map(|word| word.load(Relaxed)));
        }
    }

    #[inline]
    fn prefetch_links(&self, node: u32, level: usize) {
        if let Some(record) = self.record(node, level) {
            crate::index::distance::prefetch_start(record);
        }
    }
}

/// `len` zeroed words.
fn zeroed(len: usize) -> Vec<AtomicU32> {
    std::iter::repeat_with(|| AtomicU32::new(0))
        .take(len)
        .collect()
}

impl<'a, V: VectorSource + ?Sized> GraphUnderConstruction<'a, V> {
    /// An empty graph over `vectors`, with `levels[i]` the top layer of
    /// point `i` (see [`super::level::level`]; 0 for points that will not
    /// be inserted).
    pub(crate) fn new(
        vectors: &'a V,
        metric: Metric,
        params: &'a HnswParams,
        levels: Vec<u8>,
    ) -> Self {
        let n = levels.len();
        let stride = 1 + params.m;
        let mut upper_offsets = Vec::with_capacity(n + 1);
        let mut total = 0u64;
        upper_offsets.push(0);
        for &level in &levels {
            total += u64::from(level) * stride as u64;
            upper_offsets.push(total);
        }
        GraphUnderConstruction {
            vectors,
            metric,
            params,
            locks: std::iter::repeat_with(|| Mutex::new(())).take(n).collect(),
            layer0: zeroed(n * (1 + params.m0)),
            upper: zeroed(total as usize),
            upper_offsets,
            levels,
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

    /// The record (count, then slots) of `node` on `level`; `None` above
    /// its level.
    #[inline]
    fn record(&self, node: u32, level: usize) -> Option<&[AtomicU32]> {
        let node = node as usize;
        if level == 0 {
            let stride0 = 1 + self.params.m0;
            return self.layer0.get(node * stride0..(node + 1) * stride0);
        }
        if level > usize::from(*self.levels.get(node)?) {
            return None;
        }
        let stride = 1 + self.params.m;
        let start = self.upper_offsets[node] as usize + (level - 1) * stride;
        self.upper.get(start..start + stride)
    }

    /// Inserts point `node`: links it to the neighbours the heuristic picks
    /// on every layer up to its level, and links them back.
    pub(crate) fn insert(&self, node: u32) {
        let level = usize::from(self.levels[node as usize]);
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
            if let Some(record) = self.record(node, l) {
                let _guard = self.locks[node as usize].lock();
                for (slot, picked) in record[1..].iter().zip(&scratch.selected) {
                    slot.store(picked.node, Relaxed);
                }
                record[0].store(scratch.selected.len() as u32, Relaxed);
            }
            for neighbour in &scratch.selected {
                self.link_back(
                    neighbour.node,
                    node,
                    neighbour.key,
                    l,
                    &mut scratch.pruning,
                    &mut scratch.kept,
                );
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
    /// list plus `new` when it is full. `pruning` and `kept` are scratch.
    fn link_back(
        &self,
        target: u32,
        new: u32,
        key: f32,
        level: usize,
        pruning: &mut Vec<Candidate>,
        kept: &mut Vec<Candidate>,
    ) {
        let Some(record) = self.record(target, level) else {
            // Unreachable by the invariants; linking would break them.
            return;
        };
        let capacity = self.capacity(level);
        let _guard = self.locks[target as usize].lock();
        let count = record[0].load(Relaxed) as usize;
        let links = &record[1..1 + count];
        if links.iter().any(|word| word.load(Relaxed) == new) {
            return;
        }
        if count < capacity {
            record[1 + count].store(new, Relaxed);
            record[0].store(count as u32 + 1, Relaxed);
            return;
        }
        let base = self.vectors.vector(PointOffset(target));
        pruning.clear();
        pruning.extend(links.iter().map(|word| {
            let n = word.load(Relaxed);
            Candidate {
                key: self
                    .vectors
                    .distance_key(self.metric.0, &base, PointOffset(n)),
                node: n,
            }
        }));
        pruning.push(Candidate { key, node: new });
        pruning.sort_unstable();
        select_neighbours(self.vectors, self.metric, pruning, capacity, kept);
        for (slot, picked) in record[1..].iter().zip(kept.iter()) {
            slot.store(picked.node, Relaxed);
        }
        record[0].store(kept.len() as u32, Relaxed);
    }

    /// The layer-0 list of every node, without building the graph: what a
    /// payload sub-graph contributes ([`super::payload`]).
    pub(crate) fn into_layer0(self) -> Vec<Vec<u32>> {
        let layer0: Vec<u32> = self.layer0.into_iter().map(AtomicU32::into_inner).collect();
        layer0
            .chunks_exact(1 + self.params.m0)
            .map(|record| record[1..1 + record[0] as usize].to_vec())
            .collect()
    }

    /// The tables as they stand, for a builder that carries on elsewhere
    /// (the GPU builder uploads them after a CPU-built prefix): `layer0`,
    /// `upper_offsets`, `upper`, and the entry point (node, level).
    #[cfg(feature = "gpu")]
    pub(crate) fn into_parts(self) -> GraphParts {
        let plain = |words: Vec<AtomicU32>| -> Vec<u32> {
            words.into_iter().map(AtomicU32::into_inner).collect()
        };
        let entry = *self.entry.lock();
        GraphParts {
            levels: self.levels,
            layer0: plain(self.layer0),
            upper_offsets: self.upper_offsets,
            upper: plain(self.upper),
            entry: entry.map(|e| (e.node, e.level)),
        }
    }

    /// The finished graph. The tables are already in its layout; turning
    /// the atomic words into plain ones reuses their allocations (same size
    /// and alignment), so nothing is copied.
    pub(crate) fn finish(self) -> HnswGraph {
        let entry = *self.entry.lock();
        let plain = |words: Vec<AtomicU32>| -> Vec<u32> {
            words.into_iter().map(AtomicU32::into_inner).collect()
        };
        HnswGraph::from_built(
            self.params,
            self.metric.0,
            entry.map(|e| (PointOffset(e.node), e.level)),
            plain(self.layer0),
            self.upper_offsets,
            plain(self.upper),
        )
    }
}
