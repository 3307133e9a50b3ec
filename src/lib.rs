//! VecForge: a vector database server that speaks Qdrant's REST API.
//!
//! Modules follow the data flow of a request, top to bottom; dependencies
//! only point down:
//!
//! * [`api`]: REST (axum) handlers, thin, over one shared [`api::service`]
//!   layer that validates every request before it reaches storage.
//! * [`storage`]: the registry of collections and aliases.
//! * [`collection`]: one update worker per collection (WAL → segments) and the
//!   search fan-out and merge.
//! * [`wal`]: the write-ahead log, CRC-checked records, replayed on start.
//! * [`segment`]: id tracker, memory-mapped vector storage, payloads, filters.
//! * [`index`]: distance kernels (and, later, the HNSW graph).
//! * [`gpu`]: Vulkan 1.3 compute (feature `gpu`): devices, buffers,
//!   kernels; the only module with Vulkan `unsafe`.
//! * [`settings`]: layered configuration (YAML files, then environment).

pub mod api;
pub mod collection;
pub mod durable;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod index;
pub mod optimizer;
pub mod segment;
pub mod settings;
pub mod storage;
pub mod wal;

/// The Qdrant API version whose REST shapes this server follows; reported
/// by `GET /` because official clients compare it with their own.
pub const QDRANT_COMPATIBLE_VERSION: &str = "1.19.0";

/// The server's title in `GET /` and the gRPC health check.
pub const TITLE: &str = "vecforge - vector search engine (Qdrant API compatible)";
