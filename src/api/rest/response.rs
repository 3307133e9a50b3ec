//! Qdrant's response envelope and the one mapping from error class to HTTP
//! status.
//!
//! Success: `{"result": ..., "status": "ok", "time": seconds}`.
//! Failure: `{"status": {"error": "..."}, "time": seconds}`.

use std::time::Instant;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

use crate::api::service::ApiError;
use crate::collection::ErrorClass;

pub fn status_of(class: ErrorClass) -> StatusCode {
    match class {
        ErrorClass::BadInput => StatusCode::BAD_REQUEST,
        ErrorClass::Validation => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorClass::NotFound => StatusCode::NOT_FOUND,
        ErrorClass::Conflict => StatusCode::CONFLICT,
        ErrorClass::Precondition => StatusCode::BAD_REQUEST,
        ErrorClass::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorClass::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub fn error_response(status: StatusCode, message: &str, started: Instant) -> Response {
    let body = json!({"status": {"error": message}, "time": started.elapsed().as_secs_f64()});
    (status, Json(body)).into_response()
}

/// Wraps a service result in the envelope.
pub fn respond<T: Serialize>(started: Instant, result: Result<T, ApiError>) -> Response {
    match result {
        Ok(value) => {
            let body =
                json!({"result": value, "status": "ok", "time": started.elapsed().as_secs_f64()});
            Json(body).into_response()
        }
        Err(e) => {
            let status = status_of(e.class());
            if status.is_server_error() {
                tracing::error!(error = %e, "request failed");
            }
            error_response(status, &e.to_string(), started)
        }
    }
}
