//! Collection operations: create, info, update, delete, list, aliases.

use serde::{Deserialize, Serialize};

use super::{ApiError, Service};
use crate::collection::config::{
    CollectionConfig, HnswConfig, HnswConfigDiff, OptimizersConfigDiff, VectorsConfig,
    WalConfigDiff,
};
use crate::collection::Collection;
use crate::storage::AliasOperation;

#[derive(Debug, Deserialize)]
pub struct CreateCollectionRequest {
    pub vectors: Option<VectorsConfig>,
    #[serde(default)]
    pub shard_number: Option<u32>,
    #[serde(default)]
    pub replication_factor: Option<u32>,
    #[serde(default)]
    pub write_consistency_factor: Option<u32>,
    #[serde(default)]
    pub on_disk_payload: Option<bool>,
    #[serde(default)]
    pub hnsw_config: Option<HnswConfigDiff>,
    #[serde(default)]
    pub wal_config: Option<WalConfigDiff>,
    #[serde(default)]
    pub optimizers_config: Option<OptimizersConfigDiff>,
    #[serde(default)]
    pub quantization_config: Option<serde_json::Value>,
    #[serde(default)]
    pub sparse_vectors: Option<serde_json::Value>,
    #[serde(default)]
    pub init_from: Option<serde_json::Value>,
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `PATCH /collections/{name}`.
#[derive(Debug, Default, Deserialize)]
pub struct UpdateCollectionRequest {
    #[serde(default)]
    pub vectors: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub optimizers_config: Option<OptimizersConfigDiff>,
    #[serde(default)]
    pub params: Option<CollectionParamsDiff>,
    #[serde(default)]
    pub hnsw_config: Option<HnswConfigDiff>,
    #[serde(default)]
    pub quantization_config: Option<serde_json::Value>,
    #[serde(default)]
    pub sparse_vectors: Option<serde_json::Value>,
    #[serde(default)]
    pub strict_mode_config: Option<serde_json::Value>,
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionParamsDiff {
    #[serde(default)]
    pub replication_factor: Option<u32>,
    #[serde(default)]
    pub write_consistency_factor: Option<u32>,
    #[serde(default)]
    pub read_fan_out_factor: Option<u32>,
    #[serde(default)]
    pub on_disk_payload: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct CollectionInfoResponse {
    pub status: &'static str,
    /// `"ok"`, or `{"error": "…"}` after a failed optimization.
    pub optimizer_status: serde_json::Value,
    pub indexed_vectors_count: usize,
    pub points_count: usize,
    pub segments_count: usize,
    pub config: CollectionConfig,
    pub payload_schema: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct CollectionDescription {
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct CollectionsResponse {
    pub collections: Vec<CollectionDescription>,
}

#[derive(Debug, Serialize)]
pub struct AliasDescription {
    pub alias_name: String,
    pub collection_name: String,
}

#[derive(Debug, Serialize)]
pub struct AliasesResponse {
    pub aliases: Vec<AliasDescription>,
}

#[derive(Debug, Deserialize)]
pub struct ChangeAliasesRequest {
    pub actions: Vec<AliasOperation>,
}

fn check_positive(field: &str, value: Option<u32>) -> Result<(), ApiError> {
    match value {
        Some(0) => Err(ApiError::validation(field, "must be at least 1")),
        _ => Ok(()),
    }
}

fn check_hnsw(prefix: &str, hnsw: &HnswConfig) -> Result<(), ApiError> {
    if hnsw.ef_construct < 4 {
        return Err(ApiError::validation(
            format!("{prefix}.ef_construct"),
            "must be at least 4",
        ));
    }
    Ok(())
}

impl Service {
    pub fn list_collections(&self) -> CollectionsResponse {
        let collections = self
            .storage
            .collection_names()
            .into_iter()
            .map(|name| CollectionDescription { name })
            .collect();
        CollectionsResponse { collections }
    }

    pub fn create_collection(
        &self,
        name: &str,
        req: CreateCollectionRequest,
    ) -> Result<bool, ApiError> {
        if req.init_from.is_some() {
            return Err(ApiError::BadInput("init_from is not supported".into()));
        }
        if req
            .sparse_vectors
            .as_ref()
            .is_some_and(|v| !v.is_null() && v.as_object().is_none_or(|m| !m.is_empty()))
        {
            return Err(ApiError::BadInput(
                "sparse_vectors are not supported".into(),
            ));
        }
        let vectors = req.vectors.ok_or_else(|| {
            ApiError::validation("vectors", "a collection needs at least one dense vector")
        })?;
        if let VectorsConfig::Multi(map) = &vectors {
            if map.is_empty() {
                return Err(ApiError::validation(
                    "vectors",
                    "a collection needs at least one dense vector",
                ));
            }
        }
        vectors
            .validate()
            .map_err(|(field, message)| ApiError::validation(field, message))?;
        check_positive("shard_number", req.shard_number)?;
        check_positive("replication_factor", req.replication_factor)?;
        check_positive("write_consistency_factor", req.write_consistency_factor)?;
        let mut config = self.defaults.collection_config(vectors);
        if let Some(diff) = &req.hnsw_config {
            config.hnsw_config.apply(diff);
        }
        check_hnsw("hnsw_config", &config.hnsw_config)?;
        if let Some(diff) = &req.optimizers_config {
            config.optimizer_config.apply(diff);
        }
        config
            .optimizer_config
            .validate()
            .map_err(|(f, m)| ApiError::validation(f, m))?;
        if let Some(diff) = &req.wal_config {
            config.wal_config.apply(diff);
        }
        if config.wal_config.wal_capacity_mb == 0 {
            return Err(ApiError::validation(
                "wal_config.wal_capacity_mb",
                "must be at least 1",
            ));
        }
        let params = &mut config.params;
        params.shard_number = req.shard_number.unwrap_or(1);
        params.replication_factor = req.replication_factor.unwrap_or(1);
        params.write_consistency_factor = req.write_consistency_factor.unwrap_or(1);
        params.on_disk_payload = req.on_disk_payload.unwrap_or(true);
        config.quantization_config = req.quantization_config.filter(|v| !v.is_null());
        config.metadata = req.metadata;
        self.storage.create_collection(name, config)?;
        Ok(true)
    }

    pub fn collection_info(&self, name: &str) -> Result<CollectionInfoResponse, ApiError> {
        let collection = self.storage.collection(name)?;
        Ok(info(&collection))
    }

    pub fn update_collection(
        &self,
        name: &str,
        req: UpdateCollectionRequest,
    ) -> Result<bool, ApiError> {
        let collection = self.storage.collection(name)?;
        collection.update_config(|config| {
            if let Some(diff) = &req.optimizers_config {
                config.optimizer_config.apply(diff);
                config
                    .optimizer_config
                    .validate()
                    .map_err(
                        |(field, message)| crate::collection::CollectionError::Validation {
                            field,
                            message,
                        },
                    )?;
            }
            if let Some(diff) = &req.hnsw_config {
                config.hnsw_config.apply(diff);
            }
            if let Some(params) = &req.params {
                if let Some(v) = params.replication_factor {
                    config.params.replication_factor = v;
                }
                if let Some(v) = params.write_consistency_factor {
                    config.params.write_consistency_factor = v;
                }
                if let Some(v) = params.on_disk_payload {
                    config.params.on_disk_payload = v;
                }
            }
            if let Some(vectors) = &req.vectors {
                for (vector_name, diff) in vectors {
                    let Some(params) = config.params.vectors.get_mut(vector_name) else {
                        return Err(crate::collection::CollectionError::BadInput(format!(
                            "Not existing vector name error: {vector_name}"
                        )));
                    };
                    let diff: VectorParamsDiff =
                        serde_json::from_value(diff.clone()).map_err(|e| {
                            crate::collection::CollectionError::BadInput(format!(
                                "vectors.{vector_name}: {e}"
                            ))
                        })?;
                    if let Some(h) = diff.hnsw_config {
                        let mut merged = params.hnsw_config.clone().unwrap_or_default();
                        merge_hnsw_diff(&mut merged, &h);
                        params.hnsw_config = Some(merged);
                    }
                    if diff.on_disk.is_some() {
                        params.on_disk = diff.on_disk;
                    }
                    if let Some(q) = diff.quantization_config {
                        params.quantization_config = Some(q).filter(enables_quantization);
                    }
                }
            }
            if let Some(q) = &req.quantization_config {
                config.quantization_config = Some(q.clone()).filter(enables_quantization);
            }
            if let Some(m) = &req.metadata {
                config
                    .metadata
                    .get_or_insert_with(Default::default)
                    .extend(m.clone());
            }
            Ok(())
        })?;
        Ok(true)
    }

    pub fn delete_collection(&self, name: &str) -> Result<bool, ApiError> {
        Ok(self.storage.delete_collection(name)?)
    }

    pub fn collection_exists(&self, name: &str) -> bool {
        self.storage.collection(name).is_ok()
    }

    pub fn change_aliases(&self, req: ChangeAliasesRequest) -> Result<bool, ApiError> {
        self.storage.change_aliases(&req.actions)?;
        Ok(true)
    }

    pub fn list_aliases(&self, collection: Option<&str>) -> Result<AliasesResponse, ApiError> {
        if let Some(name) = collection {
            self.storage.collection(name)?;
        }
        let aliases = self
            .storage
            .aliases(collection)
            .into_iter()
            .map(|(alias_name, collection_name)| AliasDescription {
                alias_name,
                collection_name,
            })
            .collect();
        Ok(AliasesResponse { aliases })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VectorParamsDiff {
    #[serde(default)]
    hnsw_config: Option<HnswConfigDiff>,
    #[serde(default)]
    quantization_config: Option<serde_json::Value>,
    #[serde(default)]
    on_disk: Option<bool>,
}

/// A quantization change that sets a config: not `null`, and not
/// `"Disabled"`, which removes it (as in Qdrant's `PATCH`).
fn enables_quantization(change: &serde_json::Value) -> bool {
    !change.is_null() && change.as_str() != Some("Disabled")
}

fn merge_hnsw_diff(into: &mut HnswConfigDiff, diff: &HnswConfigDiff) {
    macro_rules! take {
        ($($f:ident),*) => { $( if diff.$f.is_some() { into.$f = diff.$f; } )* };
    }
    take!(
        m,
        ef_construct,
        full_scan_threshold,
        max_indexing_threads,
        on_disk,
        payload_m
    );
}

fn info(collection: &Collection) -> CollectionInfoResponse {
    let points = collection.points_count();
    let report = collection.optimizer_report();
    CollectionInfoResponse {
        status: report.status.as_str(),
        optimizer_status: match report.error {
            None => serde_json::json!("ok"),
            Some(error) => serde_json::json!({ "error": error }),
        },
        indexed_vectors_count: collection.indexed_vectors_count(),
        points_count: points,
        segments_count: collection.segments_count(),
        config: {
            // Qdrant reports indexes under `payload_schema` only, with counts.
            let mut config = collection.config();
            config.payload_schema.clear();
            config
        },
        payload_schema: super::payload_index::payload_schema(collection),
    }
}
