//! API-key checks for REST (keys: [`crate::api::auth`]). Health and version
//! endpoints stay open so that probes and clients' version checks work.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::response::error_response;
use crate::api::auth::{ApiKeys, Denied};

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

pub async fn check(State(keys): State<Arc<ApiKeys>>, req: Request, next: Next) -> Response {
    if OPEN_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let read = is_read(req.method(), req.uri().path());
    match keys.authorize(req.headers(), read) {
        Ok(()) => next.run(req).await,
        Err(denied) => {
            let status = match denied {
                Denied::Missing | Denied::Invalid => StatusCode::UNAUTHORIZED,
                Denied::ReadOnly => StatusCode::FORBIDDEN,
            };
            error_response(status, denied.message(), Instant::now())
        }
    }
}
