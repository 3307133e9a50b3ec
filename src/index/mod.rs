//! Vector index layer: distance kernels, top-k selection, exact search and
//! the HNSW graph.

pub mod distance;
pub mod exact;
pub mod hnsw;
pub mod top_k;
