//! A finished HNSW graph: immutable link tables, owned after a build or
//! memory-mapped from a file, and the search over them.
//!
//! The tables have one layout in memory and on disk (see
//! [`super::format`]), so a loaded graph is searched straight from the map
//! and a built one is saved without conversion:
//!
//! * `layer0`: `point_count` fixed-stride records of `1 + m0` `u32`: the
//!   link count, then the links, unused slots zero;
//! * `upper_offsets`: `point_count + 1` `u64`, where node `i`'s upper-layer
//!   records start in `upper` (prefix sums, so node `i` reaches level
//!   `(upper_offsets[i + 1] - upper_offsets[i]) / (1 + m)`);
//! * `upper`: for each node with level `L ≥ 1`, `L` records of `1 + m`
//!   `u32` for layers `1..=L`, laid out like layer 0;
//! * `payload_offsets`: empty, or `point_count + 1` `u64` prefix sums into
//!   `payload`, where node `i`'s payload links are
//!   `payload[payload_offsets[i]..payload_offsets[i + 1]]`;
//! * `payload`: the extra layer-0 links among points sharing an indexed
//!   payload value ([`super::payload`]), as plain `u32` node numbers.
//!
//! A node's layer 0 is its fixed record followed by its payload links: the
//! two lists are disjoint and a search walks their union. The payload links
//! are variable-length rather than widening the fixed record because a
//! point belongs to one group per indexed value it has, so the widest node
//! would set the stride of all of them; and a graph without payload links
//! pays nothing (both tables empty).
//!
//! Points that were not indexed (deleted when the graph was built) have
//! level 0 and no links, and nothing links to them.

#![deny(unsafe_code)]

use std::path::Path;

use super::error::IndexError;
use super::metric::Metric;
use super::params::HnswParams;
use super::reader::MappedLinks;
use super::search::{Candidate, Links, ScratchPool, Walker};
use super::vectors::VectorSource;
use super::{reader, writer};
use crate::index::distance::Distance;
use crate::index::top_k::ScoredOffset;
use crate::segment::point_id::PointOffset;

/// What a graph was built with and where its search starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphMeta {
    /// Points the graph covers, offsets `0..point_count` (indexed or not).
    pub point_count: u32,
    pub m: u32,
    pub m0: u32,
    pub ef_construct: u32,
    pub seed: u64,
    /// The metric the links were chosen under; search with the same one.
    pub distance: Distance,
    /// The node at the top layer; `None` when nothing was indexed.
    pub entry_point: Option<PointOffset>,
    /// The entry point's level (0 for an empty graph).
    pub max_level: u32,
    /// `payload_m` of the payload links added by
    /// [`super::add_payload_links`] (the largest, if added more than once);
    /// 0 when the graph has none. Informational, like `ef_construct`.
    pub payload_m: u32,
}

/// The five tables of a graph, borrowed; see the module docs for their
/// layout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sections<'a> {
    pub(crate) layer0: &'a [u32],
    pub(crate) upper_offsets: &'a [u64],
    pub(crate) upper: &'a [u32],
    pub(crate) payload_offsets: &'a [u64],
    pub(crate) payload: &'a [u32],
}

/// Borrowed link tables in the layout described in the module docs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkTables<'a> {
    pub(crate) layer0: &'a [u32],
    pub(crate) upper_offsets: &'a [u64],
    pub(crate) upper: &'a [u32],
    /// Empty when the graph has no payload links.
    pub(crate) payload_offsets: &'a [u64],
    pub(crate) payload: &'a [u32],
    /// `1 + m0`.
    pub(crate) stride0: usize,
    /// `1 + m`.
    pub(crate) stride: usize,
    pub(crate) point_count: usize,
}

impl<'a> LinkTables<'a> {
    /// The record (count, then slots) of `node` on `level`, if it has one.
    #[inline]
    pub(crate) fn record(&self, node: usize, level: usize) -> Option<&'a [u32]> {
        if level == 0 {
            let start = node.checked_mul(self.stride0)?;
            return self.layer0.get(start..start.checked_add(self.stride0)?);
        }
        let first = usize::try_from(*self.upper_offsets.get(node)?).ok()?;
        let end = usize::try_from(*self.upper_offsets.get(node + 1)?).ok()?;
        let start = first.checked_add((level - 1).checked_mul(self.stride)?)?;
        let stop = start.checked_add(self.stride)?;
        if stop > end {
            return None;
        }
        self.upper.get(start..stop)
    }

    /// The links of `node` on `level`; empty where it has none. Never
    /// panics: a damaged table reads as missing links (files are checked
    /// when opened, so that only matters as defence in depth).
    #[inline]
    pub(crate) fn links(&self, node: usize, level: usize) -> &'a [u32] {
        self.record(node, level)
            .and_then(|record| {
                let count = *record.first()? as usize;
                record.get(1..1 + count)
            })
            .unwrap_or(&[])
    }

    /// The payload links of `node` (extra layer-0 links, disjoint from
    /// [`LinkTables::links`]`(node, 0)`); empty where it has none. Never
    /// panics, like [`LinkTables::links`].
    #[inline]
    pub(crate) fn payload_links(&self, node: usize) -> &'a [u32] {
        if self.payload_offsets.is_empty() {
            return &[];
        }
        let range = || {
            let start = usize::try_from(*self.payload_offsets.get(node)?).ok()?;
            let end = usize::try_from(*self.payload_offsets.get(node + 1)?).ok()?;
            self.payload.get(start..end)
        };
        range().unwrap_or(&[])
    }

    /// Levels `node` has links on above 0.
    pub(crate) fn level(&self, node: usize) -> usize {
        match (
            self.upper_offsets.get(node),
            self.upper_offsets.get(node + 1),
        ) {
            (Some(&start), Some(&end)) => {
                usize::try_from(end.saturating_sub(start)).unwrap_or(0) / self.stride
            }
            _ => 0,
        }
    }
}

impl Links for LinkTables<'_> {
    fn node_count(&self) -> usize {
        self.point_count
    }

    #[inline]
    fn links_into(&self, node: u32, level: usize, out: &mut Vec<u32>) {
        out.clear();
        out.extend_from_slice(self.links(node as usize, level));
        if level == 0 {
            out.extend_from_slice(self.payload_links(node as usize));
        }
    }

    #[inline]
    fn prefetch_links(&self, node: u32, level: usize) {
        if let Some(record) = self.record(node as usize, level) {
            crate::index::distance::prefetch_start(record);
        }
    }
}

/// The tables of a graph held on the heap (after a build).
#[derive(Debug)]
pub(crate) struct OwnedTables {
    pub(crate) layer0: Vec<u32>,
    pub(crate) upper_offsets: Vec<u64>,
    pub(crate) upper: Vec<u32>,
    /// Empty exactly when `payload` is, as the file format requires.
    pub(crate) payload_offsets: Vec<u64>,
    pub(crate) payload: Vec<u32>,
}

/// Where the tables live.
#[derive(Debug)]
pub(crate) enum Storage {
    Owned(OwnedTables),
    Mapped(MappedLinks),
}

/// Accepted points a linked search finds by the ordinary walk before it
/// keeps to accepted points (see [`HnswGraph::search_linked`]).
const LINKED_SEEDS: usize = 4;

/// An immutable HNSW graph over points `0..point_count`.
///
/// Searches take `&self` and run concurrently; each borrows its buffers
/// from a small pool inside the graph.
#[derive(Debug)]
pub struct HnswGraph {
    meta: GraphMeta,
    storage: Storage,
    scratch: ScratchPool,
}

impl HnswGraph {
    pub(crate) fn from_parts(meta: GraphMeta, storage: Storage) -> Self {
        HnswGraph {
            meta,
            storage,
            scratch: ScratchPool::default(),
        }
    }

    /// A graph a builder has just laid out in the final tables (no payload
    /// links yet), with `entry` its entry point and that point's level.
    pub(crate) fn from_built(
        params: &HnswParams,
        distance: Distance,
        entry: Option<(PointOffset, usize)>,
        layer0: Vec<u32>,
        upper_offsets: Vec<u64>,
        upper: Vec<u32>,
    ) -> HnswGraph {
        let meta = GraphMeta {
            point_count: (upper_offsets.len() - 1) as u32,
            m: params.m as u32,
            m0: params.m0 as u32,
            ef_construct: params.ef_construct as u32,
            seed: params.seed,
            distance,
            entry_point: entry.map(|(node, _)| node),
            max_level: entry.map_or(0, |(_, level)| level as u32),
            payload_m: 0,
        };
        let owned = OwnedTables {
            layer0,
            upper_offsets,
            upper,
            payload_offsets: Vec::new(),
            payload: Vec::new(),
        };
        HnswGraph::from_parts(meta, Storage::Owned(owned))
    }

    pub fn meta(&self) -> &GraphMeta {
        &self.meta
    }

    /// Points covered, indexed or not.
    pub fn len(&self) -> usize {
        self.meta.point_count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.meta.point_count == 0
    }

    /// True when the graph lives in a memory-mapped file.
    pub fn is_mapped(&self) -> bool {
        matches!(self.storage, Storage::Mapped(_))
    }

    pub(crate) fn tables(&self) -> LinkTables<'_> {
        let sections = match &self.storage {
            Storage::Owned(owned) => Sections {
                layer0: &owned.layer0,
                upper_offsets: &owned.upper_offsets,
                upper: &owned.upper,
                payload_offsets: &owned.payload_offsets,
                payload: &owned.payload,
            },
            Storage::Mapped(mapped) => mapped.sections(),
        };
        LinkTables {
            layer0: sections.layer0,
            upper_offsets: sections.upper_offsets,
            upper: sections.upper,
            payload_offsets: sections.payload_offsets,
            payload: sections.payload,
            stride0: 1 + self.meta.m0 as usize,
            stride: 1 + self.meta.m as usize,
            point_count: self.meta.point_count as usize,
        }
    }

    /// The top layer of `offset` (0 for points not indexed).
    ///
    /// # Panics
    /// If `offset` is not below [`HnswGraph::len`].
    pub fn level(&self, offset: PointOffset) -> usize {
        assert!((offset.0 as usize) < self.len(), "offset out of range");
        self.tables().level(offset.0 as usize)
    }

    /// The links of `offset` on `level`, in stored order; empty above the
    /// point's level. On layer 0: the links the build chose, then the
    /// payload links ([`HnswGraph::payload_links`]).
    pub fn links(
        &self,
        offset: PointOffset,
        level: usize,
    ) -> impl Iterator<Item = PointOffset> + '_ {
        let tables = self.tables();
        let payload = if level == 0 {
            tables.payload_links(offset.0 as usize)
        } else {
            &[]
        };
        tables
            .links(offset.0 as usize, level)
            .iter()
            .chain(payload)
            .map(|&n| PointOffset(n))
    }

    /// The payload links of `offset` (added by
    /// [`super::add_payload_links`]), the tail of its layer-0 links.
    pub fn payload_links(&self, offset: PointOffset) -> impl Iterator<Item = PointOffset> + '_ {
        self.tables()
            .payload_links(offset.0 as usize)
            .iter()
            .map(|&n| PointOffset(n))
    }

    /// The `k` points closest to `query` among those `accept` admits, best
    /// first (equal scores by smaller offset), scored as
    /// [`Distance::score`] would.
    ///
    /// Greedy descent through the upper layers, then a beam search of
    /// `max(ef, k)` candidates on layer 0. `accept` filters results only:
    /// rejected points are still walked through, so a filter keeps the
    /// graph connected (see `Walker::beam`). `query` and `vectors` must be
    /// in stored form ([`Distance::preprocess`]), `vectors` the ones the
    /// graph was built over and `distance` the one it was built with (a
    /// different metric gives valid scores but poor recall). Points whose
    /// score is NaN (or an infinitely bad score) are never returned.
    ///
    /// # Panics
    /// If `query` or `vectors` do not have the dimension of the vectors the
    /// graph was built over, or `vectors` holds fewer points than the graph.
    pub fn search(
        &self,
        query: &[f32],
        vectors: &dyn VectorSource,
        distance: Distance,
        k: usize,
        ef: usize,
        accept: &(dyn Fn(PointOffset) -> bool + Sync),
    ) -> Vec<ScoredOffset> {
        // Contiguous vectors get a copy of the walk with row lookups
        // inlined, instead of a virtual call per scored node.
        self.dispatch(query, vectors, distance, k, ef, accept, false)
    }

    /// [`HnswGraph::search`] for a filter whose points the payload links
    /// join (one value of a field the links were built for, held by enough
    /// points to have them): after a short ordinary walk finds accepted
    /// points near the query, the beam moves only through accepted points,
    /// scoring no others. With 1 % of the points accepted that is about a
    /// hundredth of the distances the ordinary walk computes; without
    /// payload links the accepted points are not connected and recall
    /// collapses, so callers only use it where the links exist.
    pub fn search_linked(
        &self,
        query: &[f32],
        vectors: &dyn VectorSource,
        distance: Distance,
        k: usize,
        ef: usize,
        accept: &(dyn Fn(PointOffset) -> bool + Sync),
    ) -> Vec<ScoredOffset> {
        self.dispatch(query, vectors, distance, k, ef, accept, true)
    }

    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &self,
        query: &[f32],
        vectors: &dyn VectorSource,
        distance: Distance,
        k: usize,
        ef: usize,
        accept: &(dyn Fn(PointOffset) -> bool + Sync),
        linked: bool,
    ) -> Vec<ScoredOffset> {
        if let Some(dense) = vectors.as_dense() {
            self.search_in(query, &dense, distance, k, ef, accept, linked)
        } else if let Some(dense) = vectors.as_dense_f16() {
            self.search_in(query, &dense, distance, k, ef, accept, linked)
        } else {
            self.search_in(query, vectors, distance, k, ef, accept, linked)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn search_in<V: VectorSource + ?Sized>(
        &self,
        query: &[f32],
        vectors: &V,
        distance: Distance,
        k: usize,
        ef: usize,
        accept: &(dyn Fn(PointOffset) -> bool + Sync),
        linked: bool,
    ) -> Vec<ScoredOffset> {
        let Some(entry) = self.meta.entry_point else {
            return Vec::new();
        };
        if k == 0 {
            return Vec::new();
        }
        let tables = self.tables();
        let metric = Metric(distance);
        let walker = Walker {
            links: &tables,
            vectors,
            metric,
        };
        let mut scratch = self.scratch.checkout();
        let mut current = Candidate {
            key: walker.key(query, entry.0),
            node: entry.0,
        };
        for level in (1..=self.meta.max_level as usize).rev() {
            current = walker.greedy(query, current, level, &mut scratch);
        }
        let accept = |n| accept(PointOffset(n));
        if linked {
            // A few accepted points near the query, found the ordinary way,
            // are where the walk inside the accepted points starts.
            walker.beam(
                query,
                &[current],
                0,
                LINKED_SEEDS,
                accept,
                true,
                &mut scratch,
            );
            scratch.sort_results();
            let mut seeds = std::mem::take(&mut scratch.entries);
            seeds.clear();
            seeds.extend(scratch.sorted.iter().copied());
            walker.beam(query, &seeds, 0, ef.max(k), accept, false, &mut scratch);
            scratch.entries = seeds;
        } else {
            walker.beam(query, &[current], 0, ef.max(k), accept, true, &mut scratch);
        }
        scratch.sort_results();
        scratch
            .sorted
            .iter()
            // `+∞` is the key of a NaN score (see `metric`): unrankable.
            .filter(|c| c.key != f32::INFINITY)
            .take(k)
            .map(|c| ScoredOffset {
                offset: PointOffset(c.node),
                score: metric.score(c.key),
            })
            .collect()
    }

    /// Saves the graph to `path` atomically (temp file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), IndexError> {
        writer::write_graph(self, path)
    }

    /// Opens a graph saved by [`HnswGraph::save`], memory-mapped: nothing is
    /// copied to the heap, searches read the file's pages.
    pub fn open(path: &Path) -> Result<Self, IndexError> {
        reader::open_graph(path)
    }
}

/// Same metadata and the same links, whatever the storage: how builds are
/// compared (single-threaded CPU against another builder, built against
/// reloaded).
impl PartialEq for HnswGraph {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.tables(), other.tables());
        self.meta == other.meta
            && a.layer0 == b.layer0
            && a.upper_offsets == b.upper_offsets
            && a.upper == b.upper
            && a.payload_offsets == b.payload_offsets
            && a.payload == b.payload
    }
}
