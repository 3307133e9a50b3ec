//! REST transport (axum): routing, envelopes, API keys. Every handler is a
//! one-liner over [`crate::api::service`], run on a blocking thread because
//! the service takes storage locks and scans segments.
//!
//! Cancel safety: a handler's blocking call keeps running if the client goes
//! away, so an update that reached the WAL is always applied.

#![deny(unsafe_code)]

mod auth;
mod extract;
mod response;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

use crate::api::auth::ApiKeys;
use crate::api::service::optimizations::OptimizationsParams;
use crate::api::service::points::UpdateKind;
use crate::api::service::{parse_json, ApiError, Service};
use extract::{Body, UpdateParams};
use response::respond;

/// A handler for one [`UpdateKind`]: all single update endpoints share
/// [`update`] and differ only in the kind.
macro_rules! update_handler {
    ($kind:expr) => {
        |State(s): State<Service>, Path(name): Path<String>, p: UpdateParams, body: Body| {
            update(s, name, $kind, p, body)
        }
    };
}

/// Transport options.
#[derive(Debug, Clone)]
pub struct RestOptions {
    pub max_request_size_bytes: usize,
    pub enable_cors: bool,
    pub api_keys: ApiKeys,
}

/// Runs `f` on the blocking pool and wraps its result in the envelope.
async fn call<T, F>(service: Service, f: F) -> Response
where
    T: Serialize + Send + 'static,
    F: FnOnce(&Service) -> Result<T, ApiError> + Send + 'static,
{
    let started = Instant::now();
    let result = tokio::task::spawn_blocking(move || f(&service))
        .await
        .unwrap_or_else(|e| Err(ApiError::Internal(format!("request handler failed: {e}"))));
    respond(started, result)
}

pub fn router(service: Service, options: &RestOptions) -> Router {
    let api = Router::new()
        .route("/", get(root))
        .route("/healthz", get(health))
        .route("/livez", get(health))
        .route("/readyz", get(health))
        .route("/telemetry", get(telemetry))
        .route("/collections", get(list_collections))
        .route("/collections/aliases", post(change_aliases))
        .route("/aliases", get(list_aliases))
        .route(
            "/collections/{name}",
            put(create_collection)
                .get(collection_info)
                .patch(update_collection)
                .delete(delete_collection),
        )
        .route("/collections/{name}/exists", get(collection_exists))
        .route("/collections/{name}/index", put(create_field_index))
        .route(
            "/collections/{name}/index/{field_name}",
            axum::routing::delete(delete_field_index),
        )
        .route("/collections/{name}/aliases", get(collection_aliases))
        .route("/collections/{name}/optimizations", get(optimizations))
        .route(
            "/collections/{name}/points",
            put(update_handler!(UpdateKind::Upsert)).post(retrieve),
        )
        .route("/collections/{name}/points/{id}", get(get_point))
        .route(
            "/collections/{name}/points/delete",
            post(update_handler!(UpdateKind::Delete)),
        )
        .route(
            "/collections/{name}/points/payload",
            post(update_handler!(UpdateKind::SetPayload))
                .put(update_handler!(UpdateKind::OverwritePayload)),
        )
        .route(
            "/collections/{name}/points/payload/delete",
            post(update_handler!(UpdateKind::DeletePayload)),
        )
        .route(
            "/collections/{name}/points/payload/clear",
            post(update_handler!(UpdateKind::ClearPayload)),
        )
        .route(
            "/collections/{name}/points/vectors",
            put(update_handler!(UpdateKind::UpdateVectors)),
        )
        .route(
            "/collections/{name}/points/vectors/delete",
            post(update_handler!(UpdateKind::DeleteVectors)),
        )
        .route("/collections/{name}/points/batch", post(batch_update))
        .route("/collections/{name}/points/scroll", post(scroll))
        .route("/collections/{name}/points/count", post(count))
        .route("/collections/{name}/points/search", post(search))
        .route(
            "/collections/{name}/points/search/batch",
            post(search_batch),
        )
        .route("/collections/{name}/points/query", post(query))
        .route("/collections/{name}/points/query/batch", post(query_batch))
        .with_state(service)
        .layer(DefaultBodyLimit::max(options.max_request_size_bytes))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(options.api_keys.clone()),
            auth::check,
        ))
        .fallback(not_found);
    if options.enable_cors {
        api.layer(tower_http::cors::CorsLayer::permissive())
    } else {
        api
    }
}

/// A body that may be empty, meaning all defaults (scroll, count).
fn parse_or_default<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    match body.is_empty() {
        true => Ok(T::default()),
        false => parse_json(body),
    }
}

async fn not_found(uri: axum::http::Uri) -> Response {
    response::error_response(
        axum::http::StatusCode::NOT_FOUND,
        &format!("Not found: no route {}", uri.path()),
        Instant::now(),
    )
}

async fn root() -> Json<serde_json::Value> {
    Json(json!({
        "title": crate::TITLE,
        "version": crate::QDRANT_COMPATIBLE_VERSION,
        "commit": option_env!("VECFORGE_COMMIT"),
        "vecforge_version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn health() -> &'static str {
    "healthz check passed"
}

async fn telemetry(State(s): State<Service>) -> Response {
    call(s, |s| Ok(s.telemetry())).await
}

async fn list_collections(State(s): State<Service>) -> Response {
    call(s, |s| Ok(s.list_collections())).await
}

async fn create_collection(
    State(s): State<Service>,
    Path(name): Path<String>,
    Body(body): Body,
) -> Response {
    call(s, move |s| s.create_collection(&name, parse_json(&body)?)).await
}

async fn collection_info(State(s): State<Service>, Path(name): Path<String>) -> Response {
    call(s, move |s| s.collection_info(&name)).await
}

async fn update_collection(
    State(s): State<Service>,
    Path(name): Path<String>,
    Body(body): Body,
) -> Response {
    call(s, move |s| s.update_collection(&name, parse_json(&body)?)).await
}

async fn delete_collection(State(s): State<Service>, Path(name): Path<String>) -> Response {
    call(s, move |s| s.delete_collection(&name)).await
}

async fn collection_exists(State(s): State<Service>, Path(name): Path<String>) -> Response {
    call(s, move |s| {
        Ok(json!({"exists": s.collection_exists(&name)}))
    })
    .await
}

async fn create_field_index(
    State(s): State<Service>,
    Path(name): Path<String>,
    p: UpdateParams,
    Body(body): Body,
) -> Response {
    call(s, move |s| {
        s.create_field_index(&name, parse_json(&body)?, p.wait)
    })
    .await
}

async fn delete_field_index(
    State(s): State<Service>,
    Path((name, field_name)): Path<(String, String)>,
    p: UpdateParams,
) -> Response {
    call(s, move |s| s.delete_field_index(&name, &field_name, p.wait)).await
}

async fn optimizations(
    State(s): State<Service>,
    Path(name): Path<String>,
    params: Result<Query<OptimizationsParams>, QueryRejection>,
) -> Response {
    call(s, move |s| {
        let Query(params) = params.map_err(|e| ApiError::BadInput(e.body_text()))?;
        s.optimizations(&name, &params)
    })
    .await
}

async fn change_aliases(State(s): State<Service>, Body(body): Body) -> Response {
    call(s, move |s| s.change_aliases(parse_json(&body)?)).await
}

async fn list_aliases(State(s): State<Service>) -> Response {
    call(s, |s| s.list_aliases(None)).await
}

async fn collection_aliases(State(s): State<Service>, Path(name): Path<String>) -> Response {
    call(s, move |s| s.list_aliases(Some(&name))).await
}

async fn update(
    s: Service,
    name: String,
    kind: UpdateKind,
    params: UpdateParams,
    body: Body,
) -> Response {
    call(s, move |s| {
        s.update_points(&name, kind.parse(&body.0)?, params.wait)
    })
    .await
}

async fn batch_update(
    State(s): State<Service>,
    Path(name): Path<String>,
    p: UpdateParams,
    Body(body): Body,
) -> Response {
    call(s, move |s| {
        s.batch_update(&name, parse_json(&body)?, p.wait)
    })
    .await
}

async fn retrieve(
    State(s): State<Service>,
    Path(name): Path<String>,
    Body(body): Body,
) -> Response {
    call(s, move |s| s.retrieve(&name, parse_json(&body)?)).await
}

async fn get_point(State(s): State<Service>, Path((name, id)): Path<(String, String)>) -> Response {
    call(s, move |s| s.get_point(&name, &id)).await
}

async fn scroll(State(s): State<Service>, Path(name): Path<String>, Body(body): Body) -> Response {
    call(s, move |s| s.scroll(&name, parse_or_default(&body)?)).await
}

async fn count(State(s): State<Service>, Path(name): Path<String>, Body(body): Body) -> Response {
    call(s, move |s| s.count(&name, parse_or_default(&body)?)).await
}

async fn search(State(s): State<Service>, Path(name): Path<String>, Body(body): Body) -> Response {
    call(s, move |s| s.search(&name, parse_json(&body)?)).await
}

async fn search_batch(
    State(s): State<Service>,
    Path(name): Path<String>,
    Body(body): Body,
) -> Response {
    call(s, move |s| s.search_batch(&name, parse_json(&body)?)).await
}

async fn query(State(s): State<Service>, Path(name): Path<String>, Body(body): Body) -> Response {
    call(s, move |s| s.query(&name, parse_json(&body)?)).await
}

async fn query_batch(
    State(s): State<Service>,
    Path(name): Path<String>,
    Body(body): Body,
) -> Response {
    call(s, move |s| s.query_batch(&name, parse_json(&body)?)).await
}
