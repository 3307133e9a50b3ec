//! Search: the universal `query` endpoint and the legacy `search` one.

use serde::{Deserialize, Serialize};

use super::points::VectorInput;
use super::selectors::{VectorOutput, WithPayload, WithVector};
use super::{ApiError, Service};
use crate::collection::{display_name, Collection, SearchRequest};
use crate::segment::filter::{Condition, Filter};
use crate::segment::payload::Payload;
use crate::segment::point_id::PointId;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    pub hnsw_ef: Option<usize>,
    #[serde(default)]
    pub exact: Option<bool>,
    #[serde(default)]
    pub quantization: Option<serde_json::Value>,
    #[serde(default)]
    pub indexed_only: Option<bool>,
    #[serde(default)]
    pub acorn: Option<serde_json::Value>,
}

/// What to search near: a vector, or the stored vector of a point.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum NearestInput {
    Vector(Vec<f32>),
    Id(PointId),
    Other(serde_json::Value),
}

/// `query`: a bare input, or `{"nearest": input}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum QueryInput {
    Nearest { nearest: NearestInput },
    Plain(NearestInput),
}

#[derive(Debug, Clone, Deserialize)]
pub struct QueryRequest {
    #[serde(default)]
    pub query: Option<QueryInput>,
    #[serde(default)]
    pub using: Option<String>,
    #[serde(default)]
    pub prefetch: Option<serde_json::Value>,
    #[serde(default)]
    pub filter: Option<Filter>,
    #[serde(default)]
    pub params: Option<SearchParams>,
    #[serde(default)]
    pub score_threshold: Option<f32>,
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub offset: Option<usize>,
    #[serde(default, alias = "with_vectors")]
    pub with_vector: Option<WithVector>,
    #[serde(default)]
    pub with_payload: Option<WithPayload>,
    #[serde(default)]
    pub lookup_from: Option<serde_json::Value>,
    #[serde(default)]
    pub shard_key: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct QueryBatchRequest {
    pub searches: Vec<QueryRequest>,
}

/// Legacy `vector`: a bare list, or `{"name", "vector"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum NamedVectorStruct {
    Default(Vec<f32>),
    Named { name: String, vector: VectorInput },
}

#[derive(Debug, Clone, Deserialize)]
pub struct SearchRequestBody {
    pub vector: NamedVectorStruct,
    #[serde(default)]
    pub filter: Option<Filter>,
    #[serde(default)]
    pub params: Option<SearchParams>,
    pub limit: usize,
    #[serde(default)]
    pub offset: Option<usize>,
    #[serde(default)]
    pub with_payload: Option<WithPayload>,
    #[serde(default, alias = "with_vectors")]
    pub with_vector: Option<WithVector>,
    #[serde(default)]
    pub score_threshold: Option<f32>,
    #[serde(default)]
    pub shard_key: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct SearchBatchRequest {
    pub searches: Vec<SearchRequestBody>,
}

#[derive(Debug, Serialize)]
pub struct ScoredPointResponse {
    pub id: PointId,
    pub version: u64,
    pub score: f32,
    pub payload: Option<Payload>,
    pub vector: Option<VectorOutput>,
}

#[derive(Debug, Serialize)]
pub struct QueryResponse {
    pub points: Vec<ScoredPointResponse>,
}

/// A parsed search, before it runs.
struct Plan {
    request: SearchRequest,
    with_payload: WithPayload,
    with_vector: WithVector,
}

impl Service {
    pub fn query(&self, collection: &str, req: QueryRequest) -> Result<QueryResponse, ApiError> {
        let collection = self.storage.collection(collection)?;
        let points = run(&collection, query_plan(&collection, req)?)?;
        Ok(QueryResponse { points })
    }

    pub fn query_batch(
        &self,
        collection: &str,
        req: QueryBatchRequest,
    ) -> Result<Vec<QueryResponse>, ApiError> {
        let collection = self.storage.collection(collection)?;
        let plans = req
            .searches
            .into_iter()
            .map(|q| query_plan(&collection, q))
            .collect::<Result<Vec<_>, _>>()?;
        plans
            .into_iter()
            .map(|p| {
                Ok(QueryResponse {
                    points: run(&collection, p)?,
                })
            })
            .collect()
    }

    pub fn search(
        &self,
        collection: &str,
        req: SearchRequestBody,
    ) -> Result<Vec<ScoredPointResponse>, ApiError> {
        let collection = self.storage.collection(collection)?;
        run(&collection, search_plan(req)?)
    }

    pub fn search_batch(
        &self,
        collection: &str,
        req: SearchBatchRequest,
    ) -> Result<Vec<Vec<ScoredPointResponse>>, ApiError> {
        let collection = self.storage.collection(collection)?;
        let plans = req
            .searches
            .into_iter()
            .map(search_plan)
            .collect::<Result<Vec<_>, _>>()?;
        plans.into_iter().map(|p| run(&collection, p)).collect()
    }
}

fn search_plan(req: SearchRequestBody) -> Result<Plan, ApiError> {
    let (vector_name, vector) = match req.vector {
        NamedVectorStruct::Default(v) => (String::new(), v),
        NamedVectorStruct::Named {
            name,
            vector: VectorInput::Dense(v),
        } => (name, v),
        NamedVectorStruct::Named { name, .. } => {
            return Err(ApiError::BadInput(format!(
                "vector.{name}: only dense vectors are supported"
            )))
        }
    };
    Ok(Plan {
        request: SearchRequest {
            vector_name,
            vector,
            filter: req.filter,
            limit: req.limit,
            offset: req.offset.unwrap_or(0),
            score_threshold: req.score_threshold,
            hnsw_ef: req.params.as_ref().and_then(|p| p.hnsw_ef),
            exact: req.params.as_ref().and_then(|p| p.exact).unwrap_or(false),
        },
        with_payload: req.with_payload.unwrap_or(WithPayload::Enable(false)),
        with_vector: req.with_vector.unwrap_or(WithVector::Enable(false)),
    })
}

fn query_plan(collection: &Collection, req: QueryRequest) -> Result<Plan, ApiError> {
    if req.prefetch.as_ref().is_some_and(|p| !p.is_null()) {
        return Err(ApiError::BadInput("prefetch is not supported yet".into()));
    }
    if req.lookup_from.as_ref().is_some_and(|p| !p.is_null()) {
        return Err(ApiError::BadInput(
            "lookup_from is not supported yet".into(),
        ));
    }
    let vector_name = req.using.unwrap_or_default();
    let input = match req.query {
        Some(QueryInput::Nearest { nearest }) | Some(QueryInput::Plain(nearest)) => nearest,
        None => {
            return Err(ApiError::BadInput(
                "query: a vector or a point id to search near is required".into(),
            ))
        }
    };
    let mut filter = req.filter;
    let vector = match input {
        NearestInput::Vector(v) => v,
        NearestInput::Id(id) => {
            let point = collection
                .retrieve(&[id])
                .pop()
                .ok_or_else(|| ApiError::NotFound(format!("No point with id {id} found")))?;
            let v = point.vectors.get(&vector_name).cloned().ok_or_else(|| {
                ApiError::BadInput(format!("point {id} has no vector {}", display_name(&vector_name)))
            })?;
            // Qdrant leaves the query point itself out of its own results.
            filter = Some(excluding_id(filter, id));
            v
        }
        NearestInput::Other(v) => {
            return Err(ApiError::BadInput(format!(
                "query: unsupported query {v}; supported are a dense vector, a point id or {{\"nearest\": ...}}"
            )))
        }
    };
    Ok(Plan {
        request: SearchRequest {
            vector_name,
            vector,
            filter,
            limit: req.limit.unwrap_or(10),
            offset: req.offset.unwrap_or(0),
            score_threshold: req.score_threshold,
            hnsw_ef: req.params.as_ref().and_then(|p| p.hnsw_ef),
            exact: req.params.as_ref().and_then(|p| p.exact).unwrap_or(false),
        },
        with_payload: req.with_payload.unwrap_or(WithPayload::Enable(false)),
        with_vector: req.with_vector.unwrap_or(WithVector::Enable(false)),
    })
}

fn run(collection: &Collection, plan: Plan) -> Result<Vec<ScoredPointResponse>, ApiError> {
    let config = collection.config();
    plan.with_payload.validate()?;
    plan.with_vector.validate(&config.params.vectors)?;
    if let Some(f) = &plan.request.filter {
        f.validate()
            .map_err(|e| ApiError::validation("filter", e))?;
    }
    let found = collection.search(&plan.request)?;
    let need_points = !matches!(plan.with_payload, WithPayload::Enable(false))
        || !matches!(plan.with_vector, WithVector::Enable(false));
    let stored = if need_points {
        let ids: Vec<PointId> = found.iter().map(|p| p.id).collect();
        collection.retrieve(&ids)
    } else {
        Vec::new()
    };
    Ok(found
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let point = stored.get(i).filter(|s| s.id == p.id);
            ScoredPointResponse {
                id: p.id,
                version: p.version,
                score: p.score,
                payload: point.and_then(|s| plan.with_payload.select(&s.payload)),
                vector: point
                    .and_then(|s| plan.with_vector.select(&s.vectors, &config.params.vectors)),
            }
        })
        .collect())
}

/// `filter` and "not the point `id`".
fn excluding_id(filter: Option<Filter>, id: PointId) -> Filter {
    let mut out = filter.unwrap_or_default();
    out.must_not
        .get_or_insert_with(Vec::new)
        .push(Condition::HasId([id].into_iter().collect()));
    out
}
