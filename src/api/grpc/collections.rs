//! `qdrant.Collections`. Create and update requests are written out in
//! their REST JSON form and read by the same serde models as REST, so
//! their validation and error messages (which name the field) are REST's;
//! they are small and rare. Collection info is converted field by field.

use qdrant_client::qdrant as pb;
use qdrant_client::qdrant::collections_server::Collections;
use serde_json::{json, Map, Value as Json};
use tonic::{Request, Response, Status};

use super::convert::{json_of, value_of};
use super::{unsupported, Handler};
use crate::api::service::collections::{ChangeAliasesRequest, CollectionInfoResponse};
use crate::api::service::{parse_value, ApiError};
use crate::collection::config::{
    CollectionConfig, Datatype, HnswConfig, OptimizersConfig, VectorParams, VectorsConfig,
};
use crate::index::distance::Distance;
use crate::segment::payload_index::SchemaType;
use crate::storage::AliasOperation;

type Reply<T> = Result<Response<T>, Status>;

/// An object of the members that are set.
fn object<const N: usize>(members: [(&str, Json); N]) -> Json {
    Json::Object(
        members
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn metadata_json(metadata: std::collections::HashMap<String, pb::Value>) -> Json {
    match metadata.is_empty() {
        true => Json::Null,
        false => Json::Object(metadata.into_iter().map(|(k, v)| (k, json_of(v))).collect()),
    }
}

fn distance_name(d: i32) -> Json {
    match pb::Distance::try_from(d) {
        Ok(pb::Distance::Cosine) => json!("Cosine"),
        Ok(pb::Distance::Euclid) => json!("Euclid"),
        Ok(pb::Distance::Dot) => json!("Dot"),
        Ok(pb::Distance::Manhattan) => json!("Manhattan"),
        // Left to the model, which names the field and the choices.
        Ok(pb::Distance::UnknownDistance) | Err(_) => json!("UnknownDistance"),
    }
}

fn datatype_name(d: i32) -> Json {
    match pb::Datatype::try_from(d) {
        Ok(pb::Datatype::Default) => Json::Null,
        Ok(pb::Datatype::Float32) => json!("float32"),
        Ok(pb::Datatype::Float16) => json!("float16"),
        Ok(pb::Datatype::Uint8) => json!("uint8"),
        Ok(other) => json!(other.as_str_name().to_lowercase()),
        Err(_) => json!("unknown"),
    }
}

#[allow(deprecated)]
fn hnsw_json(h: pb::HnswConfigDiff) -> Json {
    object([
        ("m", json!(h.m)),
        ("ef_construct", json!(h.ef_construct)),
        ("full_scan_threshold", json!(h.full_scan_threshold)),
        ("max_indexing_threads", json!(h.max_indexing_threads)),
        ("on_disk", json!(h.on_disk)),
        ("payload_m", json!(h.payload_m)),
    ])
}

#[allow(deprecated)]
fn quantization_json(q: pb::QuantizationConfig) -> Json {
    use pb::quantization_config::Quantization as Q;
    match q.quantization {
        None => Json::Null,
        Some(Q::Scalar(s)) => json!({"scalar": object([
            ("type", json!("int8")),
            ("quantile", json!(s.quantile)),
            ("always_ram", json!(s.always_ram)),
        ])}),
        Some(Q::Product(p)) => {
            // The protobuf names are REST's: "x4" … "x64".
            let compression =
                pb::CompressionRatio::try_from(p.compression).map_or("x4", |c| c.as_str_name());
            json!({"product": object([
                ("compression", json!(compression)),
                ("always_ram", json!(p.always_ram)),
            ])})
        }
        Some(Q::Binary(b)) => json!({"binary": object([("always_ram", json!(b.always_ram))])}),
        Some(Q::Turboquant(_)) => json!({"turbo": {}}),
    }
}

#[allow(deprecated)]
fn vector_params_json(p: pb::VectorParams) -> Json {
    object([
        ("size", json!(p.size)),
        ("distance", distance_name(p.distance)),
        ("hnsw_config", p.hnsw_config.map_or(Json::Null, hnsw_json)),
        (
            "quantization_config",
            p.quantization_config.map_or(Json::Null, quantization_json),
        ),
        ("on_disk", json!(p.on_disk)),
        ("datatype", p.datatype.map_or(Json::Null, datatype_name)),
        (
            "multivector_config",
            p.multivector_config.map_or(Json::Null, |_| json!({})),
        ),
    ])
}

fn vectors_config_json(v: Option<pb::VectorsConfig>) -> Json {
    use pb::vectors_config::Config;
    match v.and_then(|v| v.config) {
        None => Json::Null,
        Some(Config::Params(p)) => vector_params_json(p),
        Some(Config::ParamsMap(m)) => Json::Object(
            m.map
                .into_iter()
                .map(|(name, p)| (name, vector_params_json(p)))
                .collect(),
        ),
    }
}

fn optimizers_json(o: pb::OptimizersConfigDiff) -> Json {
    use pb::max_optimization_threads::Variant;
    let threads = match o.max_optimization_threads.and_then(|t| t.variant) {
        Some(Variant::Value(n)) => json!(n),
        Some(Variant::Setting(_)) => json!("auto"),
        None => json!(o.deprecated_max_optimization_threads),
    };
    object([
        ("deleted_threshold", json!(o.deleted_threshold)),
        (
            "vacuum_min_vector_number",
            json!(o.vacuum_min_vector_number),
        ),
        ("default_segment_number", json!(o.default_segment_number)),
        ("max_segment_size", json!(o.max_segment_size)),
        ("memmap_threshold", json!(o.memmap_threshold)),
        ("indexing_threshold", json!(o.indexing_threshold)),
        ("flush_interval_sec", json!(o.flush_interval_sec)),
        ("max_optimization_threads", threads),
    ])
}

fn wal_json(w: pb::WalConfigDiff) -> Json {
    object([
        ("wal_capacity_mb", json!(w.wal_capacity_mb)),
        ("wal_segments_ahead", json!(w.wal_segments_ahead)),
    ])
}

#[allow(deprecated)]
fn create_json(c: pb::CreateCollection) -> Json {
    object([
        ("vectors", vectors_config_json(c.vectors_config)),
        ("shard_number", json!(c.shard_number)),
        ("replication_factor", json!(c.replication_factor)),
        (
            "write_consistency_factor",
            json!(c.write_consistency_factor),
        ),
        ("on_disk_payload", json!(c.on_disk_payload)),
        ("hnsw_config", c.hnsw_config.map_or(Json::Null, hnsw_json)),
        ("wal_config", c.wal_config.map_or(Json::Null, wal_json)),
        (
            "optimizers_config",
            c.optimizers_config.map_or(Json::Null, optimizers_json),
        ),
        (
            "quantization_config",
            c.quantization_config.map_or(Json::Null, quantization_json),
        ),
        (
            "sparse_vectors",
            c.sparse_vectors_config.map_or(Json::Null, |s| {
                Json::Object(s.map.into_keys().map(|k| (k, json!({}))).collect())
            }),
        ),
        ("metadata", metadata_json(c.metadata)),
    ])
}

#[allow(deprecated)]
fn update_json(u: pb::UpdateCollection) -> Result<Json, ApiError> {
    use pb::vectors_config_diff::Config;
    if u.sparse_vectors_config.is_some() {
        return Err(ApiError::BadInput(
            "sparse_vectors are not supported".into(),
        ));
    }
    let vectors = match u.vectors_config.and_then(|v| v.config) {
        None => Json::Null,
        Some(Config::Params(p)) => json!({"": vector_diff_json(p)}),
        Some(Config::ParamsMap(m)) => Json::Object(
            m.map
                .into_iter()
                .map(|(name, p)| (name, vector_diff_json(p)))
                .collect(),
        ),
    };
    let params = u.params.map_or(Json::Null, |p| {
        object([
            ("replication_factor", json!(p.replication_factor)),
            (
                "write_consistency_factor",
                json!(p.write_consistency_factor),
            ),
            ("read_fan_out_factor", json!(p.read_fan_out_factor)),
            ("on_disk_payload", json!(p.on_disk_payload)),
        ])
    });
    let quantization = u
        .quantization_config
        .map_or(Json::Null, quantization_diff_json);
    Ok(object([
        ("vectors", vectors),
        (
            "optimizers_config",
            u.optimizers_config.map_or(Json::Null, optimizers_json),
        ),
        ("params", params),
        ("hnsw_config", u.hnsw_config.map_or(Json::Null, hnsw_json)),
        ("quantization_config", quantization),
        ("metadata", metadata_json(u.metadata)),
    ]))
}

/// A quantization change in REST's form: a new config, or `"Disabled"`.
fn quantization_diff_json(q: pb::QuantizationConfigDiff) -> Json {
    use pb::quantization_config::Quantization as Q;
    use pb::quantization_config_diff::Quantization as D;
    let config = |q| {
        quantization_json(pb::QuantizationConfig {
            quantization: Some(q),
        })
    };
    match q.quantization {
        Some(D::Scalar(s)) => config(Q::Scalar(s)),
        Some(D::Product(p)) => config(Q::Product(p)),
        Some(D::Binary(b)) => config(Q::Binary(b)),
        Some(D::Turboquant(t)) => config(Q::Turboquant(t)),
        Some(D::Disabled(_)) => json!("Disabled"),
        None => Json::Null,
    }
}

#[allow(deprecated)]
fn vector_diff_json(p: pb::VectorParamsDiff) -> Json {
    object([
        ("hnsw_config", p.hnsw_config.map_or(Json::Null, hnsw_json)),
        (
            "quantization_config",
            p.quantization_config
                .map_or(Json::Null, quantization_diff_json),
        ),
        ("on_disk", json!(p.on_disk)),
    ])
}

fn alias_action(a: pb::AliasOperations) -> Json {
    use pb::alias_operations::Action;
    match a.action {
        Some(Action::CreateAlias(c)) => json!({"create_alias": {
            "collection_name": c.collection_name, "alias_name": c.alias_name}}),
        Some(Action::RenameAlias(r)) => json!({"rename_alias": {
            "old_alias_name": r.old_alias_name, "new_alias_name": r.new_alias_name}}),
        Some(Action::DeleteAlias(d)) => json!({"delete_alias": {"alias_name": d.alias_name}}),
        None => json!({}),
    }
}

// ------------------------------------------------------------ info

fn pb_distance(d: Distance) -> i32 {
    (match d {
        Distance::Cosine => pb::Distance::Cosine,
        Distance::Euclid => pb::Distance::Euclid,
        Distance::Dot => pb::Distance::Dot,
        Distance::Manhattan => pb::Distance::Manhattan,
    }) as i32
}

#[allow(deprecated)]
fn pb_hnsw_diff(h: &crate::collection::config::HnswConfigDiff) -> pb::HnswConfigDiff {
    pb::HnswConfigDiff {
        m: h.m.map(|v| v as u64),
        ef_construct: h.ef_construct.map(|v| v as u64),
        full_scan_threshold: h.full_scan_threshold.map(|v| v as u64),
        max_indexing_threads: h.max_indexing_threads.map(|v| v as u64),
        on_disk: h.on_disk,
        payload_m: h.payload_m.map(|v| v as u64),
        ..Default::default()
    }
}

#[allow(deprecated)]
fn pb_hnsw(h: &HnswConfig) -> pb::HnswConfigDiff {
    pb::HnswConfigDiff {
        m: Some(h.m as u64),
        ef_construct: Some(h.ef_construct as u64),
        full_scan_threshold: Some(h.full_scan_threshold as u64),
        max_indexing_threads: Some(h.max_indexing_threads as u64),
        on_disk: h.on_disk,
        payload_m: h.payload_m.map(|v| v as u64),
        ..Default::default()
    }
}

fn pb_optimizers(o: &OptimizersConfig) -> pb::OptimizersConfigDiff {
    use pb::max_optimization_threads::{Setting, Variant};
    let threads = match o.max_optimization_threads {
        Some(n) => Variant::Value(n as u64),
        None => Variant::Setting(Setting::Auto as i32),
    };
    pb::OptimizersConfigDiff {
        deleted_threshold: Some(o.deleted_threshold),
        vacuum_min_vector_number: Some(o.vacuum_min_vector_number as u64),
        default_segment_number: Some(o.default_segment_number as u64),
        max_segment_size: o.max_segment_size.map(|v| v as u64),
        memmap_threshold: o.memmap_threshold.map(|v| v as u64),
        indexing_threshold: o.indexing_threshold.map(|v| v as u64),
        flush_interval_sec: Some(o.flush_interval_sec),
        max_optimization_threads: Some(pb::MaxOptimizationThreads {
            variant: Some(threads),
        }),
        ..Default::default()
    }
}

/// The stored quantization JSON (REST form) as the protobuf message.
#[allow(deprecated)]
fn pb_quantization(q: &Json) -> Option<pb::QuantizationConfig> {
    use pb::quantization_config::Quantization as Q;
    let bool_at = |v: &Json, k: &str| v.get(k).and_then(Json::as_bool);
    let quantization = if let Some(s) = q.get("scalar") {
        Q::Scalar(pb::ScalarQuantization {
            r#type: pb::QuantizationType::Int8 as i32,
            quantile: s.get("quantile").and_then(Json::as_f64).map(|f| f as f32),
            always_ram: bool_at(s, "always_ram"),
            memory: None,
        })
    } else if let Some(p) = q.get("product") {
        let compression = p
            .get("compression")
            .and_then(Json::as_str)
            .and_then(pb::CompressionRatio::from_str_name)
            .unwrap_or(pb::CompressionRatio::X4);
        Q::Product(pb::ProductQuantization {
            compression: compression as i32,
            always_ram: bool_at(p, "always_ram"),
            memory: None,
        })
    } else if let Some(b) = q.get("binary") {
        Q::Binary(pb::BinaryQuantization {
            always_ram: bool_at(b, "always_ram"),
            ..Default::default()
        })
    } else {
        return None;
    };
    Some(pb::QuantizationConfig {
        quantization: Some(quantization),
    })
}

#[allow(deprecated)]
fn pb_vector_params(p: &VectorParams) -> pb::VectorParams {
    pb::VectorParams {
        size: p.size,
        distance: pb_distance(p.distance),
        hnsw_config: p.hnsw_config.as_ref().map(pb_hnsw_diff),
        quantization_config: p.quantization_config.as_ref().and_then(pb_quantization),
        on_disk: p.on_disk,
        datatype: p.datatype.map(|d| {
            (match d {
                Datatype::Float32 => pb::Datatype::Float32,
                Datatype::Float16 => pb::Datatype::Float16,
                Datatype::Uint8 => pb::Datatype::Uint8,
            }) as i32
        }),
        multivector_config: None,
        memory: None,
    }
}

#[allow(deprecated)]
fn pb_config(c: &CollectionConfig) -> pb::CollectionConfig {
    use pb::vectors_config::Config;
    let vectors = match &c.params.vectors {
        VectorsConfig::Single(p) => Config::Params(pb_vector_params(p)),
        VectorsConfig::Multi(map) => Config::ParamsMap(pb::VectorParamsMap {
            map: map
                .iter()
                .map(|(name, p)| (name.clone(), pb_vector_params(p)))
                .collect(),
        }),
    };
    pb::CollectionConfig {
        params: Some(pb::CollectionParams {
            shard_number: c.params.shard_number,
            on_disk_payload: c.params.on_disk_payload,
            vectors_config: Some(pb::VectorsConfig {
                config: Some(vectors),
            }),
            replication_factor: Some(c.params.replication_factor),
            write_consistency_factor: Some(c.params.write_consistency_factor),
            ..Default::default()
        }),
        hnsw_config: Some(pb_hnsw(&c.hnsw_config)),
        optimizer_config: Some(pb_optimizers(&c.optimizer_config)),
        wal_config: Some(pb::WalConfigDiff {
            wal_capacity_mb: Some(c.wal_config.wal_capacity_mb as u64),
            wal_segments_ahead: Some(c.wal_config.wal_segments_ahead as u64),
            wal_retain_closed: None,
        }),
        quantization_config: c.quantization_config.as_ref().and_then(pb_quantization),
        strict_mode_config: None,
        metadata: c
            .metadata
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), value_of(v))).collect())
            .unwrap_or_default(),
    }
}

/// One `payload_schema` entry; `params` is the params object the index was
/// created with (REST form), if any.
fn pb_schema_info(entry: &Json) -> pb::PayloadSchemaInfo {
    use pb::payload_index_params::IndexParams as P;
    let data_type: Option<SchemaType> = entry
        .get("data_type")
        .and_then(|t| serde_json::from_value(t.clone()).ok());
    let kind = match data_type {
        Some(SchemaType::Keyword) => pb::PayloadSchemaType::Keyword,
        Some(SchemaType::Integer) => pb::PayloadSchemaType::Integer,
        Some(SchemaType::Float) => pb::PayloadSchemaType::Float,
        Some(SchemaType::Bool) => pb::PayloadSchemaType::Bool,
        Some(SchemaType::Datetime) => pb::PayloadSchemaType::Datetime,
        Some(SchemaType::Uuid) => pb::PayloadSchemaType::Uuid,
        Some(SchemaType::Text) => pb::PayloadSchemaType::Text,
        None => pb::PayloadSchemaType::UnknownType,
    };
    let empty = Map::new();
    let params = entry.get("params").and_then(Json::as_object);
    let p = params.unwrap_or(&empty);
    let flag = |k: &str| p.get(k).and_then(Json::as_bool);
    let number = |k: &str| p.get(k).and_then(Json::as_u64);
    #[allow(deprecated)]
    let index_params = params.and_then(|_| {
        Some(match data_type? {
            SchemaType::Keyword => P::KeywordIndexParams(pb::KeywordIndexParams {
                is_tenant: flag("is_tenant"),
                on_disk: flag("on_disk"),
                enable_hnsw: flag("enable_hnsw"),
                ..Default::default()
            }),
            SchemaType::Integer => P::IntegerIndexParams(pb::IntegerIndexParams {
                lookup: flag("lookup"),
                range: flag("range"),
                is_principal: flag("is_principal"),
                on_disk: flag("on_disk"),
                enable_hnsw: flag("enable_hnsw"),
                ..Default::default()
            }),
            SchemaType::Float => P::FloatIndexParams(pb::FloatIndexParams {
                is_principal: flag("is_principal"),
                on_disk: flag("on_disk"),
                enable_hnsw: flag("enable_hnsw"),
                ..Default::default()
            }),
            SchemaType::Bool => P::BoolIndexParams(pb::BoolIndexParams {
                on_disk: flag("on_disk"),
                enable_hnsw: flag("enable_hnsw"),
                ..Default::default()
            }),
            SchemaType::Datetime => P::DatetimeIndexParams(pb::DatetimeIndexParams {
                is_principal: flag("is_principal"),
                on_disk: flag("on_disk"),
                enable_hnsw: flag("enable_hnsw"),
                ..Default::default()
            }),
            SchemaType::Uuid => P::UuidIndexParams(pb::UuidIndexParams {
                is_tenant: flag("is_tenant"),
                on_disk: flag("on_disk"),
                enable_hnsw: flag("enable_hnsw"),
                ..Default::default()
            }),
            SchemaType::Text => {
                let tokenizer = match p.get("tokenizer").and_then(Json::as_str) {
                    Some("prefix") => pb::TokenizerType::Prefix,
                    Some("whitespace") => pb::TokenizerType::Whitespace,
                    Some("multilingual") => pb::TokenizerType::Multilingual,
                    Some("code") => pb::TokenizerType::Code,
                    _ => pb::TokenizerType::Word,
                };
                P::TextIndexParams(pb::TextIndexParams {
                    tokenizer: tokenizer as i32,
                    lowercase: flag("lowercase"),
                    min_token_len: number("min_token_len"),
                    max_token_len: number("max_token_len"),
                    on_disk: flag("on_disk"),
                    phrase_matching: flag("phrase_matching"),
                    ascii_folding: flag("ascii_folding"),
                    enable_hnsw: flag("enable_hnsw"),
                    ..Default::default()
                })
            }
        })
    });
    pb::PayloadSchemaInfo {
        data_type: kind as i32,
        params: index_params.map(|i| pb::PayloadIndexParams {
            index_params: Some(i),
        }),
        points: entry.get("points").and_then(Json::as_u64),
    }
}

fn pb_info(info: CollectionInfoResponse) -> pb::CollectionInfo {
    let status = match info.status {
        "green" => pb::CollectionStatus::Green,
        "yellow" => pb::CollectionStatus::Yellow,
        "red" => pb::CollectionStatus::Red,
        "grey" => pb::CollectionStatus::Grey,
        _ => pb::CollectionStatus::UnknownCollectionStatus,
    };
    let optimizer_status = match info.optimizer_status.get("error").and_then(Json::as_str) {
        Some(error) => pb::OptimizerStatus {
            ok: false,
            error: error.to_string(),
        },
        None => pb::OptimizerStatus {
            ok: true,
            error: String::new(),
        },
    };
    pb::CollectionInfo {
        status: status as i32,
        optimizer_status: Some(optimizer_status),
        segments_count: info.segments_count as u64,
        config: Some(pb_config(&info.config)),
        payload_schema: info
            .payload_schema
            .iter()
            .map(|(field, entry)| (field.clone(), pb_schema_info(entry)))
            .collect(),
        points_count: Some(info.points_count as u64),
        indexed_vectors_count: Some(info.indexed_vectors_count as u64),
        warnings: Vec::new(),
        update_queue: None,
        created_at: None,
    }
}

fn operation(result: (bool, f64)) -> Response<pb::CollectionOperationResponse> {
    Response::new(pb::CollectionOperationResponse {
        result: result.0,
        time: result.1,
    })
}

#[tonic::async_trait]
impl Collections for Handler {
    async fn get(
        &self,
        request: Request<pb::GetCollectionInfoRequest>,
    ) -> Reply<pb::GetCollectionInfoResponse> {
        let (metadata, _, r) = request.into_parts();
        let (info, time) = self
            .run("qdrant.Collections/Get", &metadata, None, move |s| {
                s.collection_info(&r.collection_name)
            })
            .await?;
        Ok(Response::new(pb::GetCollectionInfoResponse {
            result: Some(pb_info(info)),
            time,
        }))
    }

    async fn list(
        &self,
        request: Request<pb::ListCollectionsRequest>,
    ) -> Reply<pb::ListCollectionsResponse> {
        let (metadata, _, _) = request.into_parts();
        let (list, time) = self
            .run("qdrant.Collections/List", &metadata, None, |s| {
                Ok(s.list_collections())
            })
            .await?;
        Ok(Response::new(pb::ListCollectionsResponse {
            collections: list
                .collections
                .into_iter()
                .map(|c| pb::CollectionDescription { name: c.name })
                .collect(),
            time,
        }))
    }

    async fn create(
        &self,
        request: Request<pb::CreateCollection>,
    ) -> Reply<pb::CollectionOperationResponse> {
        let (metadata, _, r) = request.into_parts();
        let timeout = r.timeout;
        self.run("qdrant.Collections/Create", &metadata, timeout, move |s| {
            let name = r.collection_name.clone();
            s.create_collection(&name, parse_value(create_json(r))?)
        })
        .await
        .map(operation)
    }

    async fn update(
        &self,
        request: Request<pb::UpdateCollection>,
    ) -> Reply<pb::CollectionOperationResponse> {
        let (metadata, _, r) = request.into_parts();
        let timeout = r.timeout;
        self.run("qdrant.Collections/Update", &metadata, timeout, move |s| {
            let name = r.collection_name.clone();
            s.update_collection(&name, parse_value(update_json(r)?)?)
        })
        .await
        .map(operation)
    }

    async fn delete(
        &self,
        request: Request<pb::DeleteCollection>,
    ) -> Reply<pb::CollectionOperationResponse> {
        let (metadata, _, r) = request.into_parts();
        self.run(
            "qdrant.Collections/Delete",
            &metadata,
            r.timeout,
            move |s| s.delete_collection(&r.collection_name),
        )
        .await
        .map(operation)
    }

    async fn update_aliases(
        &self,
        request: Request<pb::ChangeAliases>,
    ) -> Reply<pb::CollectionOperationResponse> {
        let (metadata, _, r) = request.into_parts();
        self.run(
            "qdrant.Collections/UpdateAliases",
            &metadata,
            r.timeout,
            move |s| {
                let actions = r
                    .actions
                    .into_iter()
                    .enumerate()
                    .map(|(i, a)| {
                        parse_value::<AliasOperation>(alias_action(a))
                            .map_err(|e| ApiError::BadInput(format!("actions[{i}]: {e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                s.change_aliases(ChangeAliasesRequest { actions })
            },
        )
        .await
        .map(operation)
    }

    async fn list_collection_aliases(
        &self,
        request: Request<pb::ListCollectionAliasesRequest>,
    ) -> Reply<pb::ListAliasesResponse> {
        let (metadata, _, r) = request.into_parts();
        let result = self
            .run(
                "qdrant.Collections/ListCollectionAliases",
                &metadata,
                None,
                move |s| s.list_aliases(Some(&r.collection_name)),
            )
            .await?;
        Ok(aliases(result))
    }

    async fn list_aliases(
        &self,
        request: Request<pb::ListAliasesRequest>,
    ) -> Reply<pb::ListAliasesResponse> {
        let (metadata, _, _) = request.into_parts();
        let result = self
            .run("qdrant.Collections/ListAliases", &metadata, None, |s| {
                s.list_aliases(None)
            })
            .await?;
        Ok(aliases(result))
    }

    async fn collection_exists(
        &self,
        request: Request<pb::CollectionExistsRequest>,
    ) -> Reply<pb::CollectionExistsResponse> {
        let (metadata, _, r) = request.into_parts();
        let (exists, time) = self
            .run(
                "qdrant.Collections/CollectionExists",
                &metadata,
                None,
                move |s| Ok(s.collection_exists(&r.collection_name)),
            )
            .await?;
        Ok(Response::new(pb::CollectionExistsResponse {
            result: Some(pb::CollectionExists { exists }),
            time,
        }))
    }

    async fn collection_cluster_info(
        &self,
        _: Request<pb::CollectionClusterInfoRequest>,
    ) -> Reply<pb::CollectionClusterInfoResponse> {
        unsupported("qdrant.Collections/CollectionClusterInfo")
    }

    async fn update_collection_cluster_setup(
        &self,
        _: Request<pb::UpdateCollectionClusterSetupRequest>,
    ) -> Reply<pb::UpdateCollectionClusterSetupResponse> {
        unsupported("qdrant.Collections/UpdateCollectionClusterSetup")
    }

    async fn create_shard_key(
        &self,
        _: Request<pb::CreateShardKeyRequest>,
    ) -> Reply<pb::CreateShardKeyResponse> {
        unsupported("qdrant.Collections/CreateShardKey")
    }

    async fn delete_shard_key(
        &self,
        _: Request<pb::DeleteShardKeyRequest>,
    ) -> Reply<pb::DeleteShardKeyResponse> {
        unsupported("qdrant.Collections/DeleteShardKey")
    }

    async fn list_shard_keys(
        &self,
        _: Request<pb::ListShardKeysRequest>,
    ) -> Reply<pb::ListShardKeysResponse> {
        unsupported("qdrant.Collections/ListShardKeys")
    }
}

fn aliases(
    (result, time): (crate::api::service::collections::AliasesResponse, f64),
) -> Response<pb::ListAliasesResponse> {
    Response::new(pb::ListAliasesResponse {
        aliases: result
            .aliases
            .into_iter()
            .map(|a| pb::AliasDescription {
                alias_name: a.alias_name,
                collection_name: a.collection_name,
            })
            .collect(),
        time,
    })
}
