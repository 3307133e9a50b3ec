//! Vector index layer: distance kernels and top-k selection used by exact
//! search (the HNSW graph joins here later).

pub mod distance;
pub mod top_k;
