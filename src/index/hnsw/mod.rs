//! The HNSW index: a layered proximity graph over the points `0..n` of a
//! segment (by [`PointOffset`](crate::segment::point_id::PointOffset)),
//! searched greedily from the top layer down.
//!
//! Data flow: a [`GraphBuilder`] ([`CpuBuilder`] now, a GPU builder later)
//! turns a [`VectorSource`] and [`HnswParams`] into an immutable
//! [`HnswGraph`]; the graph is saved with [`HnswGraph::save`] and mapped
//! back with [`HnswGraph::open`] after a restart, without rebuilding.
//! Vectors are never stored in the graph: searches read them from the
//! segment through the same [`VectorSource`].
//!
//! Invariants every graph satisfies, whoever built it (checked when a file
//! is opened, and by the tests for the builders):
//! * point `i`'s level is [`level::level`]`(seed, i, m)` if it was indexed
//!   and 0 otherwise; the entry point is an indexed node of the top level;
//! * a node's links on layer 0 are its record of at most `m0` links
//!   followed by its payload links (none unless [`add_payload_links`] ran:
//!   then at most `2 * payload_m` per group the node is in), the two
//!   disjoint; on upper layers at most `m` links; no self-link, no
//!   duplicate, and only nodes that reach that layer; points not indexed
//!   have no links and nothing links to them;
//! * the format does not depend on the builder ([`format`]).
//!
//! Construction: standard HNSW insertion with the neighbour-selection
//! heuristic ([`select`]), back-links pruned by the same heuristic when a
//! list is full, per-node locks ([`building`]). Searching: greedy descent,
//! then a beam of `max(ef, k)` on layer 0 that walks through filtered-out
//! points but does not return them ([`search`]). Payload links
//! ([`payload`]), added after the build, link the points that share an
//! indexed payload value, so that under a filter on that value accepted
//! points have accepted neighbours.
//!
//! Only [`reader`] uses `unsafe` (mapping the file and viewing its
//! sections as integer tables).

mod builder;
mod building;
mod error;
pub mod format;
#[cfg(feature = "gpu")]
pub mod gpu_builder;
mod graph;
pub mod level;
mod metric;
mod params;
mod payload;
mod reader;
mod search;
mod select;
mod vectors;
mod visited;
mod writer;

#[cfg(all(test, feature = "gpu"))]
mod gpu_tests;
#[cfg(test)]
mod payload_tests;
#[cfg(test)]
mod tests;

pub use builder::{CpuBuilder, GraphBuilder, SharedBuilder};
pub use error::IndexError;
pub use graph::{GraphMeta, HnswGraph};
pub use params::{HnswParams, DEFAULT_SEED, MAX_LINKS};
pub use payload::{add_payload_links, add_payload_links_with, OFFLOAD_MIN_GROUP};
pub use vectors::{DenseVectors, VectorSource};
