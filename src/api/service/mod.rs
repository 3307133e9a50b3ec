//! One function per API operation, shared by every transport.
//!
//! Functions here are synchronous (they take storage locks and may scan
//! segments); transports call them on a blocking thread. Request models are
//! Qdrant's JSON shapes; each handler validates what storage cannot (names,
//! selectors) and converts models into engine operations.

pub mod collections;
pub mod error;
pub mod optimizations;
pub mod payload_index;
pub mod points;
pub mod query;
pub mod selectors;
pub mod telemetry;

use std::sync::Arc;

use crate::collection::config::{
    CollectionConfig, CollectionParams, HnswConfig, OptimizersConfig, VectorsConfig, WalConfig,
};
use crate::settings::Settings;
use crate::storage::Storage;
pub use error::ApiError;

/// Collection settings used where a create request leaves them out.
#[derive(Debug, Clone)]
pub struct CollectionDefaults {
    pub hnsw: HnswConfig,
    pub optimizers: OptimizersConfig,
    pub wal: WalConfig,
}

impl CollectionDefaults {
    /// From `storage.hnsw_index`, `storage.optimizers` and `storage.wal`
    /// (thresholds stay in kilobytes, as in Qdrant).
    pub fn from_settings(settings: &Settings) -> CollectionDefaults {
        let s = &settings.storage;
        CollectionDefaults {
            hnsw: HnswConfig {
                m: s.hnsw_index.m,
                ef_construct: s.hnsw_index.ef_construct,
                full_scan_threshold: s.hnsw_index.full_scan_threshold_kb,
                max_indexing_threads: s.hnsw_index.max_indexing_threads,
                on_disk: Some(s.hnsw_index.on_disk),
                payload_m: s.hnsw_index.payload_m,
            },
            optimizers: OptimizersConfig {
                deleted_threshold: s.optimizers.deleted_threshold,
                vacuum_min_vector_number: s.optimizers.vacuum_min_vector_number,
                default_segment_number: s.optimizers.default_segment_number,
                max_segment_size: s.optimizers.max_segment_size_kb,
                memmap_threshold: s.optimizers.memmap_threshold_kb,
                indexing_threshold: Some(s.optimizers.indexing_threshold_kb),
                flush_interval_sec: s.optimizers.flush_interval_sec,
                max_optimization_threads: s.optimizers.max_optimization_threads,
            },
            wal: WalConfig {
                wal_capacity_mb: s.wal.wal_capacity_mb,
                wal_segments_ahead: s.wal.wal_segments_ahead,
            },
        }
    }

    /// A collection config with these defaults and single-shard params.
    pub fn collection_config(&self, vectors: VectorsConfig) -> CollectionConfig {
        CollectionConfig {
            params: CollectionParams {
                vectors,
                shard_number: 1,
                replication_factor: 1,
                write_consistency_factor: 1,
                on_disk_payload: true,
            },
            hnsw_config: self.hnsw.clone(),
            optimizer_config: self.optimizers.clone(),
            wal_config: self.wal.clone(),
            quantization_config: None,
            metadata: None,
            payload_schema: Default::default(),
        }
    }
}

/// Shared state behind every transport.
#[derive(Debug, Clone)]
pub struct Service {
    pub storage: Arc<Storage>,
    pub defaults: Arc<CollectionDefaults>,
    /// GPU build counters for `GET /telemetry` (zero when GPU indexing is off).
    pub gpu: Arc<crate::optimizer::gpu::GpuCounters>,
}

/// Parses a JSON body into `T`, naming the offending field on failure.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| ApiError::Format(located(e)))
}

/// Reads a request model from a JSON value that was not sent as JSON (a
/// transport built it), naming the offending field on failure.
pub fn parse_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| ApiError::BadInput(located(e)))
}

/// `path: error`, or just the error when it is about the whole value.
fn located(e: serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = e.path().to_string();
    let inner = e.into_inner();
    match path.as_str() {
        "." | "" => inner.to_string(),
        _ => format!("{path}: {inner}"),
    }
}
