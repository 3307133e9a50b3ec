//! Every class of bad input gets a 4xx in Qdrant's error envelope, naming
//! the field, and changes nothing. Driven through the axum router with
//! `tower::ServiceExt::oneshot`, no sockets.

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use vecforge::api::auth::ApiKeys;
use vecforge::api::rest::{self, RestOptions};
use vecforge::api::service::Service;
use vecforge::storage::Storage;

struct Fixture {
    _dir: tempfile::TempDir,
    app: Router,
}

fn fixture_with(max_request_size_bytes: usize, api_keys: ApiKeys) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = Arc::new(Storage::open(dir.path()).expect("open storage"));
    let defaults = common::defaults();
    let service = Service {
        storage,
        defaults: Arc::new(defaults),
        gpu: Default::default(),
    };
    let app = rest::router(
        service,
        &RestOptions {
            max_request_size_bytes,
            enable_cors: false,
            api_keys,
        },
    );
    Fixture { _dir: dir, app }
}

fn fixture() -> Fixture {
    fixture_with(1 << 20, ApiKeys::default())
}

async fn call(
    app: &Router,
    method: Method,
    uri: &str,
    body: impl Into<String>,
) -> (StatusCode, Value) {
    call_with(app, method, uri, body, &[]).await
}

async fn call_with(
    app: &Router,
    method: Method,
    uri: &str,
    body: impl Into<String>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    common::rest::send(app, method, uri, body.into(), headers).await
}

fn error_text(body: &Value) -> String {
    body["status"]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error envelope in {body}"))
        .to_string()
}

/// Creates `c` (3-d Dot, unnamed) and `n` (named `a` 2-d, `b` 3-d) with two points each.
async fn seed(app: &Router) {
    let (s, _) = call(
        app,
        Method::PUT,
        "/collections/c",
        json!({"vectors": {"size": 3, "distance": "Dot"}}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        app,
        Method::PUT,
        "/collections/n",
        json!({"vectors": {"a": {"size": 2, "distance": "Cosine"}, "b": {"size": 3, "distance": "Euclid"}}}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let points = json!({"points": [
        {"id": 1, "vector": [1.0, 2.0, 3.0], "payload": {"k": "one"}},
        {"id": 2, "vector": [4.0, 5.0, 6.0], "payload": {"k": "two"}}
    ]});
    let (s, body) = call(
        app,
        Method::PUT,
        "/collections/c/points?wait=true",
        points.to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let named = json!({"points": [
        {"id": 1, "vector": {"a": [1.0, 0.0], "b": [1.0, 2.0, 3.0]}},
        {"id": 2, "vector": {"a": [0.0, 1.0]}}
    ]});
    let (s, body) = call(
        app,
        Method::PUT,
        "/collections/n/points?wait=true",
        named.to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// The state `seed` made, as (count, retrieve-all) of both collections.
async fn snapshot(app: &Router) -> Vec<Value> {
    let mut out = Vec::new();
    for c in ["c", "n"] {
        let (_, count) = call(
            app,
            Method::POST,
            &format!("/collections/{c}/points/count"),
            "{}",
        )
        .await;
        let (_, points) = call(
            app,
            Method::POST,
            &format!("/collections/{c}/points"),
            json!({"ids": [1, 2, 3], "with_payload": true, "with_vector": true}).to_string(),
        )
        .await;
        out.push(count["result"].clone());
        out.push(points["result"].clone());
    }
    out
}

async fn assert_rejected(
    app: &Router,
    method: Method,
    uri: &str,
    body: &str,
    status: StatusCode,
    mentions: &str,
) {
    let before = snapshot(app).await;
    let (got, response) = call(app, method, uri, body.to_string()).await;
    assert_eq!(got, status, "{uri} {body}: {response}");
    let message = error_text(&response);
    assert!(
        message.contains(mentions),
        "error {message:?} should mention {mentions:?}"
    );
    assert_eq!(
        snapshot(app).await,
        before,
        "state changed after rejected {uri} {body}"
    );
}

#[tokio::test]
async fn dimension_mismatch_rejects_the_whole_batch() {
    let f = fixture();
    seed(&f.app).await;
    let body = json!({"points": [
        {"id": 3, "vector": [1.0, 1.0, 1.0]},
        {"id": 1, "vector": [9.0, 9.0]}
    ]})
    .to_string();
    assert_rejected(
        &f.app,
        Method::PUT,
        "/collections/c/points?wait=true",
        &body,
        StatusCode::BAD_REQUEST,
        "points[1].vector",
    )
    .await;
    let batch = json!({"batch": {"ids": [3, 4], "vectors": [[1.0, 1.0, 1.0], [1.0]]}}).to_string();
    assert_rejected(
        &f.app,
        Method::PUT,
        "/collections/c/points?wait=true",
        &batch,
        StatusCode::BAD_REQUEST,
        "dim",
    )
    .await;
    let search = json!({"query": [1.0, 2.0], "limit": 3}).to_string();
    assert_rejected(
        &f.app,
        Method::POST,
        "/collections/c/points/query",
        &search,
        StatusCode::BAD_REQUEST,
        "dim",
    )
    .await;
}

#[tokio::test]
async fn unknown_vector_name_is_rejected() {
    let f = fixture();
    seed(&f.app).await;
    let body =
        json!({"points": [{"id": 3, "vector": {"a": [1.0, 0.0], "zzz": [1.0]}}]}).to_string();
    assert_rejected(
        &f.app,
        Method::PUT,
        "/collections/n/points?wait=true",
        &body,
        StatusCode::BAD_REQUEST,
        "zzz",
    )
    .await;
    let update = json!({"points": [{"id": 1, "vector": {"nope": [1.0, 0.0]}}]}).to_string();
    assert_rejected(
        &f.app,
        Method::PUT,
        "/collections/n/points/vectors?wait=true",
        &update,
        StatusCode::BAD_REQUEST,
        "nope",
    )
    .await;
    let query = json!({"query": [1.0, 0.0], "using": "nope"}).to_string();
    assert_rejected(
        &f.app,
        Method::POST,
        "/collections/n/points/query",
        &query,
        StatusCode::BAD_REQUEST,
        "nope",
    )
    .await;
}

#[tokio::test]
async fn non_finite_numbers_are_rejected() {
    let f = fixture();
    seed(&f.app).await;
    let nan = r#"{"points": [{"id": 3, "vector": [NaN, 1.0, 1.0]}]}"#;
    assert_rejected(
        &f.app,
        Method::PUT,
        "/collections/c/points?wait=true",
        nan,
        StatusCode::BAD_REQUEST,
        "",
    )
    .await;
    let inf = r#"{"points": [{"id": 3, "vector": [1e39, 1.0, 1.0]}]}"#;
    assert_rejected(
        &f.app,
        Method::PUT,
        "/collections/c/points?wait=true",
        inf,
        StatusCode::BAD_REQUEST,
        "finite",
    )
    .await;
    let query = r#"{"query": [1e39, 1.0, 1.0]}"#;
    assert_rejected(
        &f.app,
        Method::POST,
        "/collections/c/points/query",
        query,
        StatusCode::BAD_REQUEST,
        "finite",
    )
    .await;
}

#[tokio::test]
async fn malformed_json_is_rejected() {
    let f = fixture();
    seed(&f.app).await;
    for body in [
        r#"{"points": [{"id": 3, "vector": [1,2,3]}"#,
        "not json",
        r#"{"points": "x"}"#,
        "",
    ] {
        assert_rejected(
            &f.app,
            Method::PUT,
            "/collections/c/points?wait=true",
            body,
            StatusCode::BAD_REQUEST,
            "",
        )
        .await;
    }
    let (status, body) = call(&f.app, Method::PUT, "/collections/x", "{").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(!error_text(&body).is_empty());
}

#[tokio::test]
async fn wrong_id_types_are_rejected() {
    let f = fixture();
    seed(&f.app).await;
    for id in ["-1", "1.5", "\"not-a-uuid\"", "true", "null", "[1]"] {
        let body = format!(r#"{{"points": [{{"id": {id}, "vector": [1, 2, 3]}}]}}"#);
        assert_rejected(
            &f.app,
            Method::PUT,
            "/collections/c/points?wait=true",
            &body,
            StatusCode::BAD_REQUEST,
            "points[0].id",
        )
        .await;
    }
    let (status, body) = call(&f.app, Method::GET, "/collections/c/points/not-an-id", "").await;
    assert!(status.is_client_error(), "{status} {body}");
}

#[tokio::test]
async fn ids_out_of_range_are_rejected() {
    let f = fixture();
    seed(&f.app).await;
    let body = r#"{"points": [{"id": 18446744073709551616, "vector": [1, 2, 3]}]}"#;
    assert_rejected(
        &f.app,
        Method::PUT,
        "/collections/c/points?wait=true",
        body,
        StatusCode::BAD_REQUEST,
        "points[0].id",
    )
    .await;
    let delete = r#"{"points": [18446744073709551616]}"#;
    assert_rejected(
        &f.app,
        Method::POST,
        "/collections/c/points/delete?wait=true",
        delete,
        StatusCode::BAD_REQUEST,
        "points[0]",
    )
    .await;
}

#[tokio::test]
async fn unknown_distance_and_bad_sizes_create_nothing() {
    let f = fixture();
    for (body, mentions) in [
        (
            json!({"vectors": {"size": 3, "distance": "Hamming"}}),
            "distance",
        ),
        (
            json!({"vectors": {"size": 0, "distance": "Dot"}}),
            "vectors.size",
        ),
        (
            json!({"vectors": {"size": 70000, "distance": "Dot"}}),
            "vectors.size",
        ),
        (
            json!({"vectors": {"v": {"size": 3, "distance": "Nope"}}}),
            "distance",
        ),
    ] {
        let (status, response) =
            call(&f.app, Method::PUT, "/collections/bad", body.to_string()).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{status} {response}"
        );
        let message = error_text(&response);
        assert!(
            message.contains(mentions),
            "{message:?} should mention {mentions:?}"
        );
        let (_, exists) = call(&f.app, Method::GET, "/collections/bad/exists", "").await;
        assert_eq!(exists["result"]["exists"], json!(false));
    }
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let f = fixture_with(4096, ApiKeys::default());
    seed(&f.app).await;
    let points: Vec<Value> = (10..400)
        .map(|i| json!({"id": i, "vector": [1.0, 2.0, 3.0]}))
        .collect();
    let body = json!({ "points": points }).to_string();
    assert!(body.len() > 4096);
    assert_rejected(
        &f.app,
        Method::PUT,
        "/collections/c/points?wait=true",
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "max_request_size_mb",
    )
    .await;
}

#[tokio::test]
async fn invalid_collection_names_are_rejected() {
    let f = fixture();
    seed(&f.app).await;
    let long = "x".repeat(256);
    for name in ["bad%2Fname", "%2Ehidden", long.as_str(), "a%3Ab"] {
        let (status, response) = call(
            &f.app,
            Method::PUT,
            &format!("/collections/{name}"),
            json!({"vectors": {"size": 3, "distance": "Dot"}}).to_string(),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {response}"
        );
        assert!(error_text(&response).contains("collection_name"));
    }
    let (_, list) = call(&f.app, Method::GET, "/collections", "").await;
    assert_eq!(
        list["result"]["collections"].as_array().map(Vec::len),
        Some(2),
        "{list}"
    );
}

#[tokio::test]
async fn missing_and_existing_collections() {
    let f = fixture();
    seed(&f.app).await;
    let (status, body) = call(&f.app, Method::GET, "/collections/missing", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_text(&body).contains("missing"));
    let (status, _) = call(
        &f.app,
        Method::POST,
        "/collections/missing/points/count",
        "{}",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let before = snapshot(&f.app).await;
    let (status, body) = call(
        &f.app,
        Method::PUT,
        "/collections/c",
        json!({"vectors": {"size": 8, "distance": "Cosine"}}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(snapshot(&f.app).await, before);
    let (status, body) = call(&f.app, Method::GET, "/collections/c/points/99", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let update = json!({"points": [{"id": 99, "vector": [1.0, 1.0, 1.0]}]}).to_string();
    assert_rejected(
        &f.app,
        Method::PUT,
        "/collections/c/points/vectors?wait=true",
        &update,
        StatusCode::NOT_FOUND,
        "99",
    )
    .await;
}

#[tokio::test]
async fn api_keys_guard_everything_but_health() {
    let keys = ApiKeys {
        full: Some("secret".into()),
        read_only: Some("ro".into()),
    };
    let f = fixture_with(1 << 20, keys);
    for open in ["/", "/healthz", "/livez", "/readyz"] {
        let (status, _) = call(&f.app, Method::GET, open, "").await;
        assert_eq!(status, StatusCode::OK, "{open}");
    }
    let (status, _) = call(&f.app, Method::GET, "/collections", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let create = json!({"vectors": {"size": 3, "distance": "Dot"}}).to_string();
    let (status, _) = call_with(
        &f.app,
        Method::PUT,
        "/collections/k",
        create.clone(),
        &[("api-key", "ro")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call_with(
        &f.app,
        Method::PUT,
        "/collections/k",
        create,
        &[("authorization", "Bearer secret")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call_with(
        &f.app,
        Method::POST,
        "/collections/k/points/count",
        "{}",
        &[("api-key", "ro")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call_with(
        &f.app,
        Method::GET,
        "/collections",
        "",
        &[("api-key", "wrong")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
