//! The background optimizer's two halves that know nothing of collections:
//! [`planner`] decides what to rebuild from segment statistics and the
//! collection's thresholds; [`build`] produces the new segment (copy, then
//! HNSW graphs) and catches it up with its sources before the swap.
//!
//! [`gpu`] is the graph builder used when `gpu.indexing` is on: a Vulkan
//! device with the CPU as the fallback, and the counters telemetry reports.
//!
//! The collection runs them on its optimizer thread
//! (`collection::optimization`), which also seals the appendable segment,
//! swaps segments and reports status.

pub mod build;
pub mod gpu;
pub mod planner;
