//! Payload links (Qdrant's `payload_m`): extra layer-0 links among the
//! points that share an indexed payload value, added to a finished graph.
//!
//! Why: a filtered search walks through rejected points (`Walker::beam`),
//! so the graph stays connected under any filter; but when a filter keeps a
//! few percent of the points and they are spread over the whole graph, the
//! beam spends its budget on rejected nodes and recall falls. Linking the
//! points of each value to each other gives the beam a path from one
//! accepted point to the next.
//!
//! How: for each group (the points of one value, as the caller's payload
//! index lists them) an HNSW sub-graph is built over the group alone with
//! the ordinary insertion of [`super::building`]: `2 * payload_m` links per
//! node on layer 0, chosen by the same heuristic, points inserted in offset
//! order. Its layer 0 is then unioned into the main graph as each node's
//! payload links (see [`super::graph`] for where they are stored). The
//! sub-graph's upper layers only make insertion into a large group fast
//! and are dropped: a search enters from the main graph's entry point.
//!
//! Invariants of the result, on top of those of `mod.rs`:
//! * the layer-0 records, the upper layers, the levels and the entry point
//!   are those of the input graph, unchanged;
//! * a node's payload links are disjoint from its layer-0 record and hold
//!   no duplicate and no self-link; they number at most `2 * payload_m`
//!   per group the node belongs to (plus any the input graph had);
//! * only indexed points get or receive payload links. A point counts as
//!   indexed when it has layer-0 links or is the entry point (the graph
//!   keeps no other record of it); other offsets in a group, and offsets
//!   beyond the graph, are skipped.
//!
//! Effect on search, as measured by the tests: the beam here walks through
//! rejected points until it holds `ef` accepted ones, so it does not lose
//! recall under a filter the way a search confined to accepted points
//! does; payload links raise filtered recall most at `ef` close to `k`,
//! but lengthen every linked node's layer-0 list, so each expansion scores
//! more nodes. The large saving comes once a search under a filter on a
//! linked value follows only accepted neighbours, which these links make
//! safe (without them such a walk strands in the first rejected region).
//!
//! Each group's sub-graph is built on one thread, groups spread over a
//! rayon pool, and the groups' links are merged in group order: so the
//! result does not depend on the number of threads at all, and
//! `max_threads == 1` (everything on the calling thread) is deterministic
//! as the builder's reference mode requires.

#![deny(unsafe_code)]

use std::borrow::Cow;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use rayon::prelude::*;

use super::builder::check;
use super::builder::GraphBuilder;
use super::building::GraphUnderConstruction;
use super::error::IndexError;
use super::graph::{HnswGraph, LinkTables, OwnedTables, Storage};
use super::level::level;
use super::metric::Metric;
use super::params::{HnswParams, MAX_LINKS};
use super::vectors::VectorSource;
use crate::index::distance::Distance;
use crate::segment::point_id::PointOffset;

/// Points inserted into one group's sub-graph between two looks at the
/// cancel flag, so that one huge group does not delay a cancel for long.
const CANCEL_CHECK_EVERY: usize = 1024;

/// Groups at least this large go to the offload builder (a GPU), when
/// there is one; smaller ones are quicker on the CPU than a device round
/// trip (the GPU builder inserts its first 1,024 points on the CPU anyway).
pub const OFFLOAD_MIN_GROUP: usize = 4096;

/// Returns a graph equal to `graph` plus, for each group, links among the
/// group's points on layer 0 (`2 * payload_m` at most per node per group,
/// chosen with the same neighbour-selection heuristic), merged into each
/// node's layer-0 list. Upper layers are unchanged.
///
/// * `vectors` and `distance` must be those the graph was built with (a
///   different metric is refused).
/// * `groups` lists, per payload value, the offsets that have it, in any
///   order; offsets the graph did not index are skipped, and a group with
///   fewer than two indexed points gets nothing. Groups may overlap.
/// * `payload_m == 0` adds nothing (Qdrant's "disabled"); the result is
///   then an owned copy of `graph`.
/// * `max_threads`: 0 for one thread per core; the result is the same
///   whatever the count (see the module docs), 1 runs everything on the
///   calling thread.
/// * `cancel` is checked between groups (and every
///   [`CANCEL_CHECK_EVERY`] points within one); once set the call returns
///   [`IndexError::Cancelled`].
///
/// Payload links the input graph already has are kept.
// The signature mirrors the builder's inputs one by one, as the callers
// (the optimizer, tests) hold them; a parameter struct would only be
// unpacked again on the next line.
#[expect(clippy::too_many_arguments, reason = "see the comment above")]
pub fn add_payload_links(
    graph: &HnswGraph,
    vectors: &dyn VectorSource,
    distance: Distance,
    groups: &[Vec<PointOffset>],
    payload_m: usize,
    ef_construct: usize,
    max_threads: usize,
    cancel: &AtomicBool,
) -> Result<HnswGraph, IndexError> {
    add_payload_links_with(
        graph,
        vectors,
        distance,
        groups,
        payload_m,
        ef_construct,
        max_threads,
        cancel,
        None,
    )
}

/// [`add_payload_links`], with the sub-graphs of groups of at least
/// [`OFFLOAD_MIN_GROUP`] points built by `offload` (the GPU builder), one
/// after another on the calling thread, if given. Their levels then come
/// from the position in the group rather than the global offset, and the
/// result depends on that builder; the others are built as without it.
#[expect(clippy::too_many_arguments, reason = "see add_payload_links")]
pub fn add_payload_links_with(
    graph: &HnswGraph,
    vectors: &dyn VectorSource,
    distance: Distance,
    groups: &[Vec<PointOffset>],
    payload_m: usize,
    ef_construct: usize,
    max_threads: usize,
    cancel: &AtomicBool,
    offload: Option<&dyn GraphBuilder>,
) -> Result<HnswGraph, IndexError> {
    let meta = graph.meta();
    if distance != meta.distance {
        return Err(IndexError::InvalidParams(format!(
            "payload links under {distance:?} for a graph built under {:?}",
            meta.distance
        )));
    }
    if payload_m > MAX_LINKS / 2 {
        return Err(IndexError::InvalidParams(format!(
            "payload_m must be at most {}, got {payload_m}",
            MAX_LINKS / 2
        )));
    }
    if ef_construct == 0 {
        return Err(IndexError::InvalidParams(
            "ef_construct must be at least 1".to_owned(),
        ));
    }
    if vectors.len() < graph.len() || (!graph.is_empty() && vectors.dim() == 0) {
        return Err(IndexError::InvalidVectors(format!(
            "{} vectors of dimension {} for a graph of {} points",
            vectors.len(),
            vectors.dim(),
            graph.len()
        )));
    }
    let params = HnswParams {
        // `m` only shapes the sub-graphs' upper layers, which are dropped;
        // the level distribution needs at least 2.
        m: payload_m.max(2),
        m0: 2 * payload_m,
        ef_construct,
        seed: meta.seed,
        max_threads,
    };
    let job = Job {
        tables: graph.tables(),
        entry: meta.entry_point,
        metric: Metric(distance),
        params: &params,
        cancel,
        offload,
    };
    let started = Instant::now();
    let per_group = if payload_m == 0 {
        Vec::new()
    } else {
        // Contiguous vectors get a copy of the insertion with row lookups
        // inlined, as in the builder.
        if let Some(dense) = vectors.as_dense() {
            job.build_all(&dense, groups)?
        } else if let Some(dense) = vectors.as_dense_f16() {
            job.build_all(&dense, groups)?
        } else {
            job.build_all(vectors, groups)?
        }
    };
    let linked_groups = per_group.iter().filter(|g| !g.is_empty()).count();
    let (result, added) = merge(graph, &per_group, payload_m);
    tracing::info!(
        groups = groups.len(),
        linked_groups,
        links_added = added,
        payload_m,
        threads = params.threads(),
        seconds = started.elapsed().as_secs_f64(),
        "HNSW payload links added"
    );
    Ok(result)
}

/// The layer-0 links of one group's sub-graph, as `(node, links)` in
/// global offsets, nodes ascending.
type GroupLinks = Vec<(u32, Vec<u32>)>;

/// What every group's sub-graph build reads.
struct Job<'a> {
    tables: LinkTables<'a>,
    entry: Option<PointOffset>,
    metric: Metric,
    params: &'a HnswParams,
    cancel: &'a AtomicBool,
    offload: Option<&'a dyn GraphBuilder>,
}

impl Job<'_> {
    /// Builds every group's sub-graph, on a pool of `params.threads()`
    /// threads (on the calling thread for 1); results in group order.
    fn build_all<V: VectorSource + ?Sized>(
        &self,
        vectors: &V,
        groups: &[Vec<PointOffset>],
    ) -> Result<Vec<GroupLinks>, IndexError> {
        if let Some(builder) = self.offload {
            let large = |g: &Vec<PointOffset>| g.len() >= OFFLOAD_MIN_GROUP;
            if groups.iter().any(large) {
                // Large groups one by one through the builder, the rest as
                // usual; then back into group order.
                let small: Vec<Vec<PointOffset>> = groups
                    .iter()
                    .map(|g| if large(g) { Vec::new() } else { g.clone() })
                    .collect();
                let without = Job {
                    offload: None,
                    ..*self
                };
                let mut out = without.build_all(vectors, &small)?;
                for (i, group) in groups.iter().enumerate() {
                    if large(group) {
                        out[i] = self.build_group(vectors, group, Some(builder))?;
                    }
                }
                return Ok(out);
            }
        }
        let threads = self.params.threads();
        if threads == 1 {
            return groups
                .iter()
                .map(|g| self.build_group(vectors, g, None))
                .collect();
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("hnsw-payload-{i}"))
            .build()
            .map_err(|e| IndexError::ThreadPool(e.to_string()))?;
        pool.install(|| {
            groups
                .par_iter()
                .map(|g| self.build_group(vectors, g, None))
                .collect()
        })
    }

    /// True where the main graph indexed `node` (see the module docs).
    fn indexed(&self, node: u32) -> bool {
        (node as usize) < self.tables.point_count
            && (!self.tables.links(node as usize, 0).is_empty()
                || self.entry == Some(PointOffset(node)))
    }

    /// The group's indexed points, ascending, without duplicates.
    fn members(&self, group: &[PointOffset]) -> Vec<u32> {
        let mut members: Vec<u32> = group
            .iter()
            .map(|o| o.0)
            .filter(|&node| self.indexed(node))
            .collect();
        members.sort_unstable();
        members.dedup();
        members
    }

    /// The sub-graph of one group; empty for fewer than two indexed points.
    /// Built by `builder` if given, else by the insertion of
    /// [`super::building`] on this thread.
    fn build_group<V: VectorSource + ?Sized>(
        &self,
        vectors: &V,
        group: &[PointOffset],
        builder: Option<&dyn GraphBuilder>,
    ) -> Result<GroupLinks, IndexError> {
        check(self.cancel)?;
        let members = self.members(group);
        if members.len() < 2 {
            return Ok(Vec::new());
        }
        let view = GroupVectors {
            vectors,
            members: &members,
        };
        // Layer-0 lists in local offsets (`members.len() <= point_count`,
        // which fits `u32`).
        let local: Vec<Vec<u32>> = match builder {
            Some(builder) => {
                let sub = builder.build(
                    &view,
                    self.metric.0,
                    self.params,
                    &|_| true,
                    self.cancel,
                    &|_| {},
                )?;
                (0..members.len() as u32)
                    .map(|l| sub.links(PointOffset(l), 0).map(|o| o.0).collect())
                    .collect()
            }
            None => {
                // Levels from the global offset, so a point's level in a
                // sub-graph does not depend on which other points share
                // its value.
                let levels = members
                    .iter()
                    .map(|&node| level(self.params.seed, PointOffset(node), self.params.m) as u8)
                    .collect();
                let sub = GraphUnderConstruction::new(&view, self.metric, self.params, levels);
                for local in 0..members.len() {
                    if local % CANCEL_CHECK_EVERY == 0 {
                        check(self.cancel)?;
                    }
                    sub.insert(local as u32);
                }
                sub.into_layer0()
            }
        };
        Ok(local
            .into_iter()
            .zip(&members)
            .map(|(links, &node)| {
                let global = links.iter().map(|&l| members[l as usize]).collect();
                (node, global)
            })
            .collect())
    }
}

/// The vectors of one group, renumbered `0..members.len()`.
struct GroupVectors<'a, V: ?Sized> {
    vectors: &'a V,
    /// Global offsets, ascending.
    members: &'a [u32],
}

impl<V: VectorSource + ?Sized> VectorSource for GroupVectors<'_, V> {
    fn len(&self) -> usize {
        self.members.len()
    }

    fn dim(&self) -> usize {
        self.vectors.dim()
    }

    #[inline]
    fn vector(&self, offset: PointOffset) -> Cow<'_, [f32]> {
        self.vectors.vector(self.global(offset))
    }

    #[inline]
    fn distance_key(&self, distance: Distance, query: &[f32], offset: PointOffset) -> f32 {
        self.vectors
            .distance_key(distance, query, self.global(offset))
    }

    #[inline]
    fn prefetch(&self, offset: PointOffset) {
        self.vectors.prefetch(self.global(offset))
    }

    // Rows are scattered over the full matrix, not contiguous: the default
    // `as_dense` (none) applies.
}

impl<V: ?Sized> GroupVectors<'_, V> {
    #[inline]
    fn global(&self, offset: PointOffset) -> PointOffset {
        PointOffset(self.members[offset.0 as usize])
    }
}

/// `graph` with the groups' links unioned into its payload links, and the
/// number of links added. Merged in group order on one thread, so the
/// order of each node's list does not depend on scheduling.
fn merge(graph: &HnswGraph, per_group: &[GroupLinks], payload_m: usize) -> (HnswGraph, usize) {
    let tables = graph.tables();
    let n = tables.point_count;
    let mut lists: Vec<Vec<u32>> = (0..n).map(|i| tables.payload_links(i).to_vec()).collect();
    let mut added = 0;
    for (node, links) in per_group.iter().flatten() {
        let main = tables.links(*node as usize, 0);
        let list = &mut lists[*node as usize];
        for &link in links {
            // Lists are short (`m0` plus a few groups' worth), so a linear
            // look-up beats hashing.
            if link != *node && !main.contains(&link) && !list.contains(&link) {
                list.push(link);
                added += 1;
            }
        }
    }

    let total: usize = lists.iter().map(Vec::len).sum();
    // No payload links: both tables empty, as the format requires.
    let (payload_offsets, payload) = if total == 0 {
        (Vec::new(), Vec::new())
    } else {
        let mut offsets = Vec::with_capacity(n + 1);
        let mut payload = Vec::with_capacity(total);
        offsets.push(0u64);
        for list in &lists {
            payload.extend_from_slice(list);
            offsets.push(payload.len() as u64);
        }
        (offsets, payload)
    };
    let mut meta = graph.meta().clone();
    if added > 0 {
        meta.payload_m = meta.payload_m.max(payload_m as u32);
    }
    let owned = OwnedTables {
        layer0: tables.layer0.to_vec(),
        upper_offsets: tables.upper_offsets.to_vec(),
        upper: tables.upper.to_vec(),
        payload_offsets,
        payload,
    };
    (HnswGraph::from_parts(meta, Storage::Owned(owned)), added)
}
