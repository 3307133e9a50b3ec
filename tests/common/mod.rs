//! Helpers shared by the integration tests.

#![allow(dead_code)]

pub mod rest;

use std::collections::BTreeMap;

use vecforge::api::service::CollectionDefaults;
use vecforge::collection::config::{CollectionConfig, VectorParams, VectorsConfig};
use vecforge::index::distance::Distance;
use vecforge::settings::Settings;

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

/// The built-in collection defaults.
pub fn defaults() -> CollectionDefaults {
    CollectionDefaults::from_settings(&Settings::default())
}

/// A config with the built-in defaults, flushing every second and rotating
/// the WAL every MiB so that tests cross those paths.
pub fn collection_config(vectors: VectorsConfig) -> CollectionConfig {
    let mut config = defaults().collection_config(vectors);
    config.optimizer_config.flush_interval_sec = 1;
    config.wal_config.wal_capacity_mb = 1;
    config
}

pub fn named(map: &[(&str, u64, Distance)]) -> VectorsConfig {
    VectorsConfig::Multi(
        map.iter()
            .map(|(n, s, d)| (n.to_string(), vector_params(*s, *d)))
            .collect::<BTreeMap<_, _>>(),
    )
}
