//! The REST router in-process (axum `oneshot`), over a storage directory.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use vecforge::api::auth::ApiKeys;
use vecforge::api::rest::{self, RestOptions};
use vecforge::api::service::Service;
use vecforge::storage::Storage;

/// Opens the storage in `dir` and a router over it, with the built-in
/// collection defaults.
pub fn open(dir: &Path) -> (Arc<Storage>, Router) {
    let storage = Arc::new(Storage::open(dir).expect("open storage"));
    let service = Service {
        storage: storage.clone(),
        defaults: Arc::new(super::defaults()),
        gpu: Default::default(),
    };
    let app = rest::router(
        service,
        &RestOptions {
            max_request_size_bytes: 1 << 20,
            enable_cors: false,
            api_keys: ApiKeys::default(),
        },
    );
    (storage, app)
}

/// One JSON request with a JSON `body` (`null` for none).
pub async fn call(app: &Router, method: Method, uri: &str, body: Value) -> (StatusCode, Value) {
    let body = match body {
        Value::Null => String::new(),
        other => other.to_string(),
    };
    send(app, method, uri, body, &[]).await
}

/// One request with a raw `body` and extra `headers`; the response body as
/// JSON, or as a JSON string where it is not JSON.
pub async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    body: String,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = app
        .clone()
        .oneshot(req.body(Body::from(body)).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, value)
}

pub async fn ok(app: &Router, method: Method, uri: &str, body: Value) -> Value {
    let (status, value) = call(app, method, uri, body).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {value}");
    value["result"].clone()
}
