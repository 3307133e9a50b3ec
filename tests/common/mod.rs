//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;

use vecforge::collection::config::{
    CollectionConfig, CollectionParams, HnswConfig, OptimizersConfig, VectorParams, VectorsConfig,
    WalConfig,
};
use vecforge::index::distance::Distance;

pub fn vector_params(size: u64, distance: Distance) -> VectorParams {
    VectorParams {
        size,
        distance,
        hnsw_config: None,
        quantization_config: None,
        on_disk: None,
        datatype: None,
        multivector_config: None,
    }
}

pub fn collection_config(vectors: VectorsConfig) -> CollectionConfig {
    CollectionConfig {
        params: CollectionParams {
            vectors,
            shard_number: 1,
            replication_factor: 1,
            write_consistency_factor: 1,
            on_disk_payload: true,
        },
        hnsw_config: HnswConfig {
            m: 16,
            ef_construct: 100,
            full_scan_threshold: 10000,
            max_indexing_threads: 0,
            on_disk: None,
            payload_m: None,
        },
        optimizer_config: OptimizersConfig {
            deleted_threshold: 0.2,
            vacuum_min_vector_number: 1000,
            default_segment_number: 0,
            max_segment_size: None,
            memmap_threshold: None,
            indexing_threshold: Some(10000),
            flush_interval_sec: 1,
            max_optimization_threads: None,
        },
        wal_config: WalConfig {
            wal_capacity_mb: 1,
            wal_segments_ahead: 0,
        },
        quantization_config: None,
        metadata: None,
    }
}

pub fn named(map: &[(&str, u64, Distance)]) -> VectorsConfig {
    VectorsConfig::Multi(
        map.iter()
            .map(|(n, s, d)| (n.to_string(), vector_params(*s, *d)))
            .collect::<BTreeMap<_, _>>(),
    )
}
