//! `qdrant.Points`: each served RPC converts its message into the model
//! REST parses, calls the same service function, and converts the answer.

use qdrant_client::qdrant as pb;
use qdrant_client::qdrant::points_server::Points;
use serde_json::{json, Value as Json};
use tonic::{Request, Response, Status};

use super::convert::{self, payload_of, point_id, point_ids, points_selector};
use super::{unsupported, Handler};
use crate::api::service::payload_index::CreateFieldIndexRequest;
use crate::api::service::points::{
    BatchOperation, BatchRequest, CountRequest, DeletePayloadRequest, DeleteVectorsRequest,
    PointStruct, PointVectors, RetrieveRequest, ScrollRequest, SetPayloadRequest,
    UpdateVectorsRequest, UpsertRequest,
};
use crate::api::service::query::{
    NamedVectorStruct, NearestInput, QueryBatchRequest, QueryInput, QueryRequest,
    SearchBatchRequest, SearchRequestBody,
};
use crate::api::service::ApiError;

type Reply<T> = Result<Response<T>, Status>;

fn upsert_points(points: Vec<pb::PointStruct>, at: &str) -> Result<BatchOperation, ApiError> {
    let points = points
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            Ok(PointStruct {
                id: point_id(p.id, &format!("{at}[{i}].id"))?,
                vector: convert::vector_struct(p.vectors, &format!("{at}[{i}].vectors"))?,
                payload: Some(payload_of(p.payload)),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(BatchOperation::Upsert(UpsertRequest {
        points: Some(points),
        batch: None,
    }))
}

/// Options of an upsert that Qdrant has and we do not; refused rather than
/// ignored, because ignoring them would write what the client did not ask.
fn refuse_conditional_update(
    update_filter: &Option<pb::Filter>,
    update_mode: Option<i32>,
) -> Result<(), ApiError> {
    if update_filter.is_some() {
        return Err(ApiError::BadInput(
            "update_filter (conditional updates) is not supported".into(),
        ));
    }
    match update_mode.map(pb::UpdateMode::try_from) {
        None | Some(Ok(pb::UpdateMode::Upsert)) => Ok(()),
        Some(_) => Err(ApiError::BadInput(
            "update_mode: only upsert is supported".into(),
        )),
    }
}

fn update_vectors(points: Vec<pb::PointVectors>, at: &str) -> Result<BatchOperation, ApiError> {
    let points = points
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            Ok(PointVectors {
                id: point_id(p.id, &format!("{at}[{i}].id"))?,
                vector: convert::vector_struct(p.vectors, &format!("{at}[{i}].vectors"))?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(BatchOperation::UpdateVectors(UpdateVectorsRequest {
        points,
    }))
}

fn set_payload(
    payload: std::collections::HashMap<String, pb::Value>,
    selector: Option<pb::PointsSelector>,
    key: Option<String>,
) -> Result<SetPayloadRequest, ApiError> {
    Ok(SetPayloadRequest {
        payload: payload_of(payload),
        selector: points_selector(selector, "points_selector")?,
        key,
    })
}

/// One operation of `UpdateBatch`, as the REST `operations[i]` entry.
fn batch_operation(op: pb::PointsUpdateOperation, i: usize) -> Result<BatchOperation, ApiError> {
    use pb::points_update_operation::Operation as Op;
    let at = format!("operations[{i}]");
    #[allow(deprecated)] // the deprecated forms are still sent by older clients
    Ok(match op.operation {
        None => {
            return Err(ApiError::BadInput(format!(
                "{at}: an operation is required"
            )))
        }
        Some(Op::Upsert(list)) => {
            refuse_conditional_update(&list.update_filter, list.update_mode)?;
            upsert_points(list.points, &format!("{at}.upsert.points"))?
        }
        Some(Op::DeleteDeprecated(selector)) => {
            BatchOperation::Delete(points_selector(Some(selector), &at)?)
        }
        Some(Op::DeletePoints(d)) => {
            BatchOperation::Delete(points_selector(d.points, &format!("{at}.delete_points"))?)
        }
        Some(Op::SetPayload(s)) => {
            BatchOperation::SetPayload(set_payload(s.payload, s.points_selector, s.key)?)
        }
        Some(Op::OverwritePayload(s)) => {
            BatchOperation::OverwritePayload(set_payload(s.payload, s.points_selector, s.key)?)
        }
        Some(Op::DeletePayload(d)) => BatchOperation::DeletePayload(DeletePayloadRequest {
            keys: d.keys,
            selector: points_selector(d.points_selector, &format!("{at}.delete_payload"))?,
        }),
        Some(Op::ClearPayloadDeprecated(selector)) => {
            BatchOperation::ClearPayload(points_selector(Some(selector), &at)?)
        }
        Some(Op::ClearPayload(c)) => {
            BatchOperation::ClearPayload(points_selector(c.points, &format!("{at}.clear_payload"))?)
        }
        Some(Op::UpdateVectors(u)) => {
            refuse_conditional_update(&u.update_filter, None)?;
            update_vectors(u.points, &format!("{at}.update_vectors.points"))?
        }
        Some(Op::DeleteVectors(d)) => BatchOperation::DeleteVectors(DeleteVectorsRequest {
            selector: points_selector(d.points_selector, &format!("{at}.delete_vectors"))?,
            vector: d.vectors.map(|v| v.names).unwrap_or_default(),
        }),
    })
}

/// `field_schema` as REST spells it: a type name, or a params object.
fn field_schema(field_type: Option<i32>, params: Option<pb::PayloadIndexParams>) -> Option<Json> {
    use pb::payload_index_params::IndexParams as P;
    let type_name = |t: i32| match pb::FieldType::try_from(t) {
        Ok(pb::FieldType::Keyword) => "keyword",
        Ok(pb::FieldType::Integer) => "integer",
        Ok(pb::FieldType::Float) => "float",
        Ok(pb::FieldType::Geo) => "geo",
        Ok(pb::FieldType::Text) => "text",
        Ok(pb::FieldType::Bool) => "bool",
        Ok(pb::FieldType::Datetime) => "datetime",
        Ok(pb::FieldType::Uuid) => "uuid",
        Err(_) => "unknown",
    };
    let Some(params) = params.and_then(|p| p.index_params) else {
        return field_type.map(|t| json!(type_name(t)));
    };
    // The members we read; the schema parser checks them as it does REST's.
    #[allow(deprecated)]
    let object = match params {
        P::KeywordIndexParams(p) => json!({"type": "keyword", "is_tenant": p.is_tenant,
            "on_disk": p.on_disk, "enable_hnsw": p.enable_hnsw}),
        P::IntegerIndexParams(p) => json!({"type": "integer", "lookup": p.lookup,
            "range": p.range, "is_principal": p.is_principal, "on_disk": p.on_disk,
            "enable_hnsw": p.enable_hnsw}),
        P::FloatIndexParams(p) => json!({"type": "float", "is_principal": p.is_principal,
            "on_disk": p.on_disk, "enable_hnsw": p.enable_hnsw}),
        P::GeoIndexParams(p) => json!({"type": "geo", "on_disk": p.on_disk}),
        P::TextIndexParams(p) => {
            let tokenizer = match pb::TokenizerType::try_from(p.tokenizer) {
                Ok(pb::TokenizerType::Prefix) => json!("prefix"),
                Ok(pb::TokenizerType::Whitespace) => json!("whitespace"),
                Ok(pb::TokenizerType::Word) => json!("word"),
                Ok(pb::TokenizerType::Multilingual) => json!("multilingual"),
                Ok(pb::TokenizerType::Code) => json!("code"),
                Ok(pb::TokenizerType::Unknown) | Err(_) => Json::Null,
            };
            json!({"type": "text", "tokenizer": tokenizer, "lowercase": p.lowercase,
                "min_token_len": p.min_token_len, "max_token_len": p.max_token_len,
                "on_disk": p.on_disk, "phrase_matching": p.phrase_matching,
                "ascii_folding": p.ascii_folding, "enable_hnsw": p.enable_hnsw,
                "stopwords": p.stopwords.map(|s| json!({"languages": s.languages, "custom": s.custom})),
                "stemmer": p.stemmer.map(|_| json!({"type": "snowball"}))})
        }
        P::BoolIndexParams(p) => json!({"type": "bool", "on_disk": p.on_disk,
            "enable_hnsw": p.enable_hnsw}),
        P::DatetimeIndexParams(p) => json!({"type": "datetime", "is_principal": p.is_principal,
            "on_disk": p.on_disk, "enable_hnsw": p.enable_hnsw}),
        P::UuidIndexParams(p) => json!({"type": "uuid", "is_tenant": p.is_tenant,
            "on_disk": p.on_disk, "enable_hnsw": p.enable_hnsw}),
    };
    Some(object)
}

fn nearest(query: Option<pb::Query>) -> Result<Option<QueryInput>, ApiError> {
    use pb::query::Variant as Q;
    use pb::vector_input::Variant as V;
    let Some(variant) = query.and_then(|q| q.variant) else {
        return Ok(None);
    };
    let input = match variant {
        Q::Nearest(input) => match input.variant {
            Some(V::Dense(d)) => NearestInput::Vector(d.data),
            Some(V::Id(id)) => NearestInput::Id(point_id(Some(id), "query.nearest.id")?),
            Some(V::Sparse(_)) => NearestInput::Other(json!("a sparse vector")),
            Some(V::MultiDense(_)) => NearestInput::Other(json!("a multi-dense vector")),
            Some(V::Document(_) | V::Image(_) | V::Object(_)) => {
                NearestInput::Other(json!("an inference input"))
            }
            None => NearestInput::Other(json!("an empty vector input")),
        },
        Q::Recommend(_) => NearestInput::Other(json!("recommend")),
        Q::Discover(_) => NearestInput::Other(json!("discover")),
        Q::Context(_) => NearestInput::Other(json!("context")),
        Q::OrderBy(_) => NearestInput::Other(json!("order_by")),
        Q::Fusion(_) => NearestInput::Other(json!("fusion")),
        Q::Sample(_) => NearestInput::Other(json!("sample")),
        Q::Formula(_) => NearestInput::Other(json!("formula")),
        Q::NearestWithMmr(_) => NearestInput::Other(json!("nearest with mmr")),
        Q::Rrf(_) => NearestInput::Other(json!("rrf")),
        Q::RelevanceFeedback(_) => NearestInput::Other(json!("relevance feedback")),
        Q::Text(_) => NearestInput::Other(json!("text")),
    };
    Ok(Some(QueryInput::Plain(input)))
}

fn query_request(q: pb::QueryPoints) -> Result<QueryRequest, ApiError> {
    Ok(QueryRequest {
        query: nearest(q.query)?,
        using: q.using,
        prefetch: (!q.prefetch.is_empty()).then(|| json!(q.prefetch.len())),
        filter: convert::filter(q.filter, "filter")?,
        params: convert::search_params(q.params),
        score_threshold: q.score_threshold,
        limit: q.limit.map(saturate),
        offset: q.offset.map(saturate),
        with_vector: convert::with_vector(q.with_vectors),
        with_payload: convert::with_payload(q.with_payload),
        lookup_from: q.lookup_from.map(|l| json!(l.collection_name)),
        shard_key: None,
    })
}

fn search_request(s: pb::SearchPoints) -> Result<SearchRequestBody, ApiError> {
    if s.sparse_indices.is_some() {
        return Err(ApiError::BadInput(
            "sparse_indices: only dense vectors are supported".into(),
        ));
    }
    let vector = match s.vector_name {
        Some(name) if !name.is_empty() => NamedVectorStruct::Named {
            name,
            vector: crate::api::service::points::VectorInput::Dense(s.vector),
        },
        _ => NamedVectorStruct::Default(s.vector),
    };
    Ok(SearchRequestBody {
        vector,
        filter: convert::filter(s.filter, "filter")?,
        params: convert::search_params(s.params),
        limit: saturate(s.limit),
        offset: s.offset.map(saturate),
        with_payload: convert::with_payload(s.with_payload),
        with_vector: convert::with_vector(s.with_vectors),
        score_threshold: s.score_threshold,
        shard_key: None,
    })
}

fn saturate(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn operation_response(
    (result, time): (crate::api::service::points::UpdateResultResponse, f64),
) -> Response<pb::PointsOperationResponse> {
    Response::new(pb::PointsOperationResponse {
        result: Some(convert::update_result(result)),
        time,
        usage: None,
    })
}

impl Handler {
    /// One single update RPC: `op` builds the operation on the blocking
    /// thread (payload conversion is work), then the service applies it.
    async fn update<F>(
        &self,
        rpc: &'static str,
        metadata: &tonic::metadata::MetadataMap,
        collection: String,
        wait: Option<bool>,
        timeout: Option<u64>,
        op: F,
    ) -> Reply<pb::PointsOperationResponse>
    where
        F: FnOnce() -> Result<BatchOperation, ApiError> + Send + 'static,
    {
        let wait = wait.unwrap_or(false);
        self.run(rpc, metadata, timeout, move |s| {
            s.update_points(&collection, op()?, wait)
        })
        .await
        .map(operation_response)
    }
}

#[tonic::async_trait]
impl Points for Handler {
    async fn upsert(
        &self,
        request: Request<pb::UpsertPoints>,
    ) -> Reply<pb::PointsOperationResponse> {
        let (metadata, _, r) = request.into_parts();
        self.update(
            "qdrant.Points/Upsert",
            &metadata,
            r.collection_name,
            r.wait,
            r.timeout,
            move || {
                refuse_conditional_update(&r.update_filter, r.update_mode)?;
                upsert_points(r.points, "points")
            },
        )
        .await
    }

    async fn delete(
        &self,
        request: Request<pb::DeletePoints>,
    ) -> Reply<pb::PointsOperationResponse> {
        let (metadata, _, r) = request.into_parts();
        self.update(
            "qdrant.Points/Delete",
            &metadata,
            r.collection_name,
            r.wait,
            r.timeout,
            move || Ok(BatchOperation::Delete(points_selector(r.points, "points")?)),
        )
        .await
    }

    async fn get(&self, request: Request<pb::GetPoints>) -> Reply<pb::GetResponse> {
        let (metadata, _, r) = request.into_parts();
        let (records, time) = self
            .run("qdrant.Points/Get", &metadata, r.timeout, move |s| {
                let req = RetrieveRequest {
                    ids: point_ids(r.ids, "ids")?,
                    with_payload: convert::with_payload(r.with_payload),
                    with_vector: convert::with_vector(r.with_vectors),
                };
                s.retrieve(&r.collection_name, req)
            })
            .await?;
        Ok(Response::new(pb::GetResponse {
            result: records.into_iter().map(convert::retrieved_point).collect(),
            time,
            usage: None,
        }))
    }

    async fn update_vectors(
        &self,
        request: Request<pb::UpdatePointVectors>,
    ) -> Reply<pb::PointsOperationResponse> {
        let (metadata, _, r) = request.into_parts();
        self.update(
            "qdrant.Points/UpdateVectors",
            &metadata,
            r.collection_name,
            r.wait,
            r.timeout,
            move || {
                refuse_conditional_update(&r.update_filter, None)?;
                update_vectors(r.points, "points")
            },
        )
        .await
    }

    async fn delete_vectors(
        &self,
        request: Request<pb::DeletePointVectors>,
    ) -> Reply<pb::PointsOperationResponse> {
        let (metadata, _, r) = request.into_parts();
        self.update(
            "qdrant.Points/DeleteVectors",
            &metadata,
            r.collection_name,
            r.wait,
            r.timeout,
            move || {
                Ok(BatchOperation::DeleteVectors(DeleteVectorsRequest {
                    selector: points_selector(r.points_selector, "points_selector")?,
                    vector: r.vectors.map(|v| v.names).unwrap_or_default(),
                }))
            },
        )
        .await
    }

    async fn set_payload(
        &self,
        request: Request<pb::SetPayloadPoints>,
    ) -> Reply<pb::PointsOperationResponse> {
        let (metadata, _, r) = request.into_parts();
        self.update(
            "qdrant.Points/SetPayload",
            &metadata,
            r.collection_name,
            r.wait,
            r.timeout,
            move || {
                Ok(BatchOperation::SetPayload(set_payload(
                    r.payload,
                    r.points_selector,
                    r.key,
                )?))
            },
        )
        .await
    }

    async fn overwrite_payload(
        &self,
        request: Request<pb::SetPayloadPoints>,
    ) -> Reply<pb::PointsOperationResponse> {
        let (metadata, _, r) = request.into_parts();
        self.update(
            "qdrant.Points/OverwritePayload",
            &metadata,
            r.collection_name,
            r.wait,
            r.timeout,
            move || {
                Ok(BatchOperation::OverwritePayload(set_payload(
                    r.payload,
                    r.points_selector,
                    r.key,
                )?))
            },
        )
        .await
    }

    async fn delete_payload(
        &self,
        request: Request<pb::DeletePayloadPoints>,
    ) -> Reply<pb::PointsOperationResponse> {
        let (metadata, _, r) = request.into_parts();
        self.update(
            "qdrant.Points/DeletePayload",
            &metadata,
            r.collection_name,
            r.wait,
            r.timeout,
            move || {
                Ok(BatchOperation::DeletePayload(DeletePayloadRequest {
                    keys: r.keys,
                    selector: points_selector(r.points_selector, "points_selector")?,
                }))
            },
        )
        .await
    }

    async fn clear_payload(
        &self,
        request: Request<pb::ClearPayloadPoints>,
    ) -> Reply<pb::PointsOperationResponse> {
        let (metadata, _, r) = request.into_parts();
        self.update(
            "qdrant.Points/ClearPayload",
            &metadata,
            r.collection_name,
            r.wait,
            r.timeout,
            move || {
                Ok(BatchOperation::ClearPayload(points_selector(
                    r.points, "points",
                )?))
            },
        )
        .await
    }

    async fn create_field_index(
        &self,
        request: Request<pb::CreateFieldIndexCollection>,
    ) -> Reply<pb::PointsOperationResponse> {
        let (metadata, _, r) = request.into_parts();
        let wait = r.wait.unwrap_or(false);
        self.run(
            "qdrant.Points/CreateFieldIndex",
            &metadata,
            r.timeout,
            move |s| {
                let req = CreateFieldIndexRequest {
                    field_name: r.field_name,
                    field_schema: field_schema(r.field_type, r.field_index_params),
                };
                s.create_field_index(&r.collection_name, req, wait)
            },
        )
        .await
        .map(operation_response)
    }

    async fn delete_field_index(
        &self,
        request: Request<pb::DeleteFieldIndexCollection>,
    ) -> Reply<pb::PointsOperationResponse> {
        let (metadata, _, r) = request.into_parts();
        let wait = r.wait.unwrap_or(false);
        self.run(
            "qdrant.Points/DeleteFieldIndex",
            &metadata,
            r.timeout,
            move |s| s.delete_field_index(&r.collection_name, &r.field_name, wait),
        )
        .await
        .map(operation_response)
    }

    async fn scroll(&self, request: Request<pb::ScrollPoints>) -> Reply<pb::ScrollResponse> {
        let (metadata, _, r) = request.into_parts();
        let (page, time) = self
            .run("qdrant.Points/Scroll", &metadata, r.timeout, move |s| {
                let req = ScrollRequest {
                    offset: r
                        .offset
                        .map(|id| point_id(Some(id), "offset"))
                        .transpose()?,
                    limit: r.limit.map(|l| l as usize),
                    filter: convert::filter(r.filter, "filter")?,
                    with_payload: convert::with_payload(r.with_payload),
                    with_vector: convert::with_vector(r.with_vectors),
                    order_by: r.order_by.map(|o| json!(o.key)),
                };
                s.scroll(&r.collection_name, req)
            })
            .await?;
        Ok(Response::new(pb::ScrollResponse {
            next_page_offset: page.next_page_offset.map(convert::pb_point_id),
            result: page
                .points
                .into_iter()
                .map(convert::retrieved_point)
                .collect(),
            time,
            usage: None,
        }))
    }

    async fn count(&self, request: Request<pb::CountPoints>) -> Reply<pb::CountResponse> {
        let (metadata, _, r) = request.into_parts();
        let (counted, time) = self
            .run("qdrant.Points/Count", &metadata, r.timeout, move |s| {
                let req = CountRequest {
                    filter: convert::filter(r.filter, "filter")?,
                    exact: r.exact,
                };
                s.count(&r.collection_name, req)
            })
            .await?;
        Ok(Response::new(pb::CountResponse {
            result: Some(pb::CountResult {
                count: counted.count as u64,
            }),
            time,
            usage: None,
        }))
    }

    async fn update_batch(
        &self,
        request: Request<pb::UpdateBatchPoints>,
    ) -> Reply<pb::UpdateBatchResponse> {
        let (metadata, _, r) = request.into_parts();
        let wait = r.wait.unwrap_or(false);
        let (results, time) = self
            .run(
                "qdrant.Points/UpdateBatch",
                &metadata,
                r.timeout,
                move |s| {
                    let operations = r
                        .operations
                        .into_iter()
                        .enumerate()
                        .map(|(i, op)| batch_operation(op, i))
                        .collect::<Result<Vec<_>, _>>()?;
                    s.batch_update(&r.collection_name, BatchRequest { operations }, wait)
                },
            )
            .await?;
        Ok(Response::new(pb::UpdateBatchResponse {
            result: results.into_iter().map(convert::update_result).collect(),
            time,
            usage: None,
        }))
    }

    async fn query(&self, request: Request<pb::QueryPoints>) -> Reply<pb::QueryResponse> {
        let (metadata, _, r) = request.into_parts();
        let timeout = r.timeout;
        let (found, time) = self
            .run("qdrant.Points/Query", &metadata, timeout, move |s| {
                let collection = r.collection_name.clone();
                s.query(&collection, query_request(r)?)
            })
            .await?;
        Ok(Response::new(pb::QueryResponse {
            result: found
                .points
                .into_iter()
                .map(convert::scored_point)
                .collect(),
            time,
            usage: None,
        }))
    }

    async fn query_batch(
        &self,
        request: Request<pb::QueryBatchPoints>,
    ) -> Reply<pb::QueryBatchResponse> {
        let (metadata, _, r) = request.into_parts();
        let (found, time) = self
            .run("qdrant.Points/QueryBatch", &metadata, r.timeout, move |s| {
                let searches = r
                    .query_points
                    .into_iter()
                    .map(query_request)
                    .collect::<Result<Vec<_>, _>>()?;
                s.query_batch(&r.collection_name, QueryBatchRequest { searches })
            })
            .await?;
        Ok(Response::new(pb::QueryBatchResponse {
            result: found
                .into_iter()
                .map(|q| pb::BatchResult {
                    result: q.points.into_iter().map(convert::scored_point).collect(),
                })
                .collect(),
            time,
            usage: None,
        }))
    }

    async fn search(&self, request: Request<pb::SearchPoints>) -> Reply<pb::SearchResponse> {
        let (metadata, _, r) = request.into_parts();
        let timeout = r.timeout;
        let (found, time) = self
            .run("qdrant.Points/Search", &metadata, timeout, move |s| {
                let collection = r.collection_name.clone();
                s.search(&collection, search_request(r)?)
            })
            .await?;
        Ok(Response::new(pb::SearchResponse {
            result: found.into_iter().map(convert::scored_point).collect(),
            time,
            usage: None,
        }))
    }

    async fn search_batch(
        &self,
        request: Request<pb::SearchBatchPoints>,
    ) -> Reply<pb::SearchBatchResponse> {
        let (metadata, _, r) = request.into_parts();
        let (found, time) = self
            .run(
                "qdrant.Points/SearchBatch",
                &metadata,
                r.timeout,
                move |s| {
                    let searches = r
                        .search_points
                        .into_iter()
                        .map(search_request)
                        .collect::<Result<Vec<_>, _>>()?;
                    s.search_batch(&r.collection_name, SearchBatchRequest { searches })
                },
            )
            .await?;
        Ok(Response::new(pb::SearchBatchResponse {
            result: found
                .into_iter()
                .map(|points| pb::BatchResult {
                    result: points.into_iter().map(convert::scored_point).collect(),
                })
                .collect(),
            time,
            usage: None,
        }))
    }

    async fn create_vector_name(
        &self,
        _: Request<pb::CreateVectorNameRequest>,
    ) -> Reply<pb::PointsOperationResponse> {
        unsupported("qdrant.Points/CreateVectorName")
    }

    async fn delete_vector_name(
        &self,
        _: Request<pb::DeleteVectorNameRequest>,
    ) -> Reply<pb::PointsOperationResponse> {
        unsupported("qdrant.Points/DeleteVectorName")
    }

    async fn search_groups(
        &self,
        _: Request<pb::SearchPointGroups>,
    ) -> Reply<pb::SearchGroupsResponse> {
        unsupported("qdrant.Points/SearchGroups")
    }

    async fn recommend(&self, _: Request<pb::RecommendPoints>) -> Reply<pb::RecommendResponse> {
        unsupported("qdrant.Points/Recommend")
    }

    async fn recommend_batch(
        &self,
        _: Request<pb::RecommendBatchPoints>,
    ) -> Reply<pb::RecommendBatchResponse> {
        unsupported("qdrant.Points/RecommendBatch")
    }

    async fn recommend_groups(
        &self,
        _: Request<pb::RecommendPointGroups>,
    ) -> Reply<pb::RecommendGroupsResponse> {
        unsupported("qdrant.Points/RecommendGroups")
    }

    async fn discover(&self, _: Request<pb::DiscoverPoints>) -> Reply<pb::DiscoverResponse> {
        unsupported("qdrant.Points/Discover")
    }

    async fn discover_batch(
        &self,
        _: Request<pb::DiscoverBatchPoints>,
    ) -> Reply<pb::DiscoverBatchResponse> {
        unsupported("qdrant.Points/DiscoverBatch")
    }

    async fn query_groups(
        &self,
        _: Request<pb::QueryPointGroups>,
    ) -> Reply<pb::QueryGroupsResponse> {
        unsupported("qdrant.Points/QueryGroups")
    }

    async fn facet(&self, _: Request<pb::FacetCounts>) -> Reply<pb::FacetResponse> {
        unsupported("qdrant.Points/Facet")
    }

    async fn search_matrix_pairs(
        &self,
        _: Request<pb::SearchMatrixPoints>,
    ) -> Reply<pb::SearchMatrixPairsResponse> {
        unsupported("qdrant.Points/SearchMatrixPairs")
    }

    async fn search_matrix_offsets(
        &self,
        _: Request<pb::SearchMatrixPoints>,
    ) -> Reply<pb::SearchMatrixOffsetsResponse> {
        unsupported("qdrant.Points/SearchMatrixOffsets")
    }
}
