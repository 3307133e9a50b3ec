//! API-key checks: `service.api_key` grants everything,
//! `service.read_only_api_key` grants reads. Keys come in the `api-key`
//! header or as `Authorization: Bearer <key>`. Health and version endpoints
//! stay open so that probes and clients' version checks work.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::response::error_response;

#[derive(Debug, Clone, Default)]
pub struct ApiKeys {
    pub full: Option<String>,
    pub read_only: Option<String>,
}

impl ApiKeys {
    pub fn enabled(&self) -> bool {
        self.full.is_some() || self.read_only.is_some()
    }
}

const OPEN_PATHS: &[&str] = &["/", "/healthz", "/livez", "/readyz"];

/// POST endpoints that only read.
const READ_SUFFIXES: &[&str] = &[
    "/points",
    "/points/scroll",
    "/points/count",
    "/points/search",
    "/points/search/batch",
    "/points/query",
    "/points/query/batch",
];

fn is_read(method: &Method, path: &str) -> bool {
    match *method {
        Method::GET | Method::HEAD | Method::OPTIONS => true,
        Method::POST => {
            path.starts_with("/collections/") && READ_SUFFIXES.iter().any(|s| path.ends_with(s))
        }
        _ => false,
    }
}

fn presented_key(req: &Request) -> Option<&str> {
    let headers = req.headers();
    if let Some(key) = headers.get("api-key").and_then(|v| v.to_str().ok()) {
        return Some(key);
    }
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Constant-time comparison, so response timing does not leak the key.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub async fn check(State(keys): State<Arc<ApiKeys>>, req: Request, next: Next) -> Response {
    if !keys.enabled() || OPEN_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let started = Instant::now();
    let Some(key) = presented_key(&req) else {
        return error_response(
            StatusCode::UNAUTHORIZED,
            "Must provide an API key or an Authorization bearer token",
            started,
        );
    };
    if keys.full.as_deref().is_some_and(|k| same(k, key)) {
        return next.run(req).await;
    }
    if keys.read_only.as_deref().is_some_and(|k| same(k, key)) {
        if is_read(req.method(), req.uri().path()) {
            return next.run(req).await;
        }
        return error_response(
            StatusCode::FORBIDDEN,
            "Forbidden: the read-only API key cannot write",
            started,
        );
    }
    error_response(
        StatusCode::UNAUTHORIZED,
        "Invalid API key or token",
        started,
    )
}
