//! Vector index layer: distance kernels, top-k selection and exact search
//! (the HNSW graph joins here later).

pub mod distance;
pub mod exact;
pub mod top_k;
