//! Request extractors whose rejections use the error envelope.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::Response;

use super::response::error_response;

/// The raw request body (JSON is parsed by the service layer, so that
/// errors can name the field). Over-size bodies get 413 in the envelope.
#[derive(Debug)]
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let started = Instant::now();
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|rejection| {
                let status = rejection.status();
                let message = match status {
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                        "Payload error: request body is larger than service.max_request_size_mb"
                            .to_string()
                    }
                    _ => format!("Bad request body: {rejection}"),
                };
                error_response(status, &message, started)
            })
    }
}

/// Query parameters common to update requests: `wait`, `ordering`, `timeout`.
#[derive(Debug, Clone, Copy, Default)]
pub struct UpdateParams {
    pub wait: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for UpdateParams {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let started = Instant::now();
        let bad = |m: String| error_response(axum::http::StatusCode::BAD_REQUEST, &m, started);
        let mut params = UpdateParams::default();
        for pair in parts
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "wait" => {
                    params.wait = match value {
                        "true" | "" => true,
                        "false" => false,
                        other => return Err(bad(format!("wait: {other:?} is not a boolean"))),
                    }
                }
                "ordering" if !matches!(value, "weak" | "medium" | "strong") => {
                    return Err(bad(format!(
                        "ordering: {value:?} is not one of weak, medium, strong"
                    )));
                }
                "timeout" if value.parse::<u64>().is_err() => {
                    return Err(bad(format!(
                        "timeout: {value:?} is not a number of seconds"
                    )));
                }
                _ => {}
            }
        }
        Ok(params)
    }
}
