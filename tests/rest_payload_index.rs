//! Payload indexes through the REST router: create, list in collection info,
//! use in filters, delete; 4xx for bad schemas and missing collections; the
//! schema and index counts survive a restart.

mod common;

use axum::http::{Method, StatusCode};
use axum::Router;
use common::rest::{call, ok, open};
use serde_json::{json, Value};

async fn seed(app: &Router) {
    ok(
        app,
        Method::PUT,
        "/collections/c",
        json!({"vectors": {"size": 2, "distance": "Dot"}}),
    )
    .await;
    ok(
        app,
        Method::PUT,
        "/collections/c/points?wait=true",
        json!({"points": [
            {"id": 1, "vector": [1.0, 0.0], "payload": {"color": "red", "n": 1, "body": "The quick brown fox"}},
            {"id": 2, "vector": [0.0, 1.0], "payload": {"color": ["red", "blue"], "n": 5, "body": "foxes are quick"}},
            {"id": 3, "vector": [1.0, 1.0], "payload": {"color": "green", "n": 2.5}},
            {"id": 4, "vector": [1.0, 2.0], "payload": {}}
        ]}),
    )
    .await;
}

async fn schema(app: &Router) -> Value {
    ok(app, Method::GET, "/collections/c", Value::Null).await["payload_schema"].clone()
}

async fn count(app: &Router, filter: Value) -> u64 {
    let result = ok(
        app,
        Method::POST,
        "/collections/c/points/count",
        json!({"filter": filter, "exact": true}),
    )
    .await;
    result["count"].as_u64().expect("count")
}

#[tokio::test]
async fn create_list_use_and_delete_indexes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_storage, app) = open(dir.path());
    seed(&app).await;
    assert_eq!(schema(&app).await, json!({}));

    let result = ok(
        &app,
        Method::PUT,
        "/collections/c/index?wait=true&ordering=strong",
        json!({"field_name": "color", "field_schema": "keyword"}),
    )
    .await;
    assert_eq!(result["status"], "completed");
    assert!(result["operation_id"].is_u64());
    ok(
        &app,
        Method::PUT,
        "/collections/c/index?wait=true",
        json!({"field_name": "n", "field_schema": {"type": "integer", "lookup": true, "range": true}}),
    )
    .await;
    ok(
        &app,
        Method::PUT,
        "/collections/c/index?wait=true",
        json!({"field_name": "body", "field_schema": {"type": "text", "tokenizer": "word", "lowercase": true}}),
    )
    .await;
    assert_eq!(
        schema(&app).await,
        json!({
            "color": {"data_type": "keyword", "points": 3},
            "n": {"data_type": "integer", "params": {"type": "integer", "lookup": true, "range": true}, "points": 2},
            "body": {"data_type": "text", "params": {"type": "text", "tokenizer": "word", "lowercase": true}, "points": 2}
        })
    );

    let red = json!({"must": [{"key": "color", "match": {"value": "red"}}]});
    assert_eq!(count(&app, red).await, 2);
    // Ranges see the float in the integer field too.
    let range = json!({"must": [{"key": "n", "range": {"gte": 2}}]});
    assert_eq!(count(&app, range).await, 2);
    // Token semantics with a text index: "quick fox" is in point 1 only
    // ("foxes" is another token), case-insensitively.
    let text = json!({"must": [{"key": "body", "match": {"text": "QUICK fox"}}]});
    assert_eq!(count(&app, text.clone()).await, 1);
    let scrolled = ok(
        &app,
        Method::POST,
        "/collections/c/points/scroll",
        json!({"filter": {"must": [{"key": "color", "match": {"any": ["blue", "green"]}}]}}),
    )
    .await;
    let ids: Vec<&Value> = scrolled["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| &p["id"])
        .collect();
    assert_eq!(ids, [&json!(2), &json!(3)]);

    // Updates keep the counts in step.
    ok(
        &app,
        Method::POST,
        "/collections/c/points/delete?wait=true",
        json!({"points": [1]}),
    )
    .await;
    ok(
        &app,
        Method::POST,
        "/collections/c/points/payload?wait=true",
        json!({"payload": {"color": "red"}, "points": [4]}),
    )
    .await;
    assert_eq!(schema(&app).await["color"]["points"], 3);

    let result = ok(
        &app,
        Method::DELETE,
        "/collections/c/index/body?wait=true",
        Value::Null,
    )
    .await;
    assert_eq!(result["status"], "completed");
    assert!(schema(&app).await.get("body").is_none());
    // Without the index, `match.text` is a substring test again.
    let text = json!({"must": [{"key": "body", "match": {"text": "quick"}}]});
    assert_eq!(count(&app, text).await, 1);
    // Deleting an absent index is not an error, as in Qdrant.
    ok(
        &app,
        Method::DELETE,
        "/collections/c/index/body?wait=true",
        Value::Null,
    )
    .await;
}

#[tokio::test]
async fn bad_schemas_and_missing_collections_get_4xx() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_storage, app) = open(dir.path());
    seed(&app).await;
    let cases = [
        (json!({"field_name": "x", "field_schema": "geo"}), "geo"),
        (
            json!({"field_name": "x", "field_schema": "nope"}),
            "field_schema",
        ),
        (json!({"field_name": "x"}), "field_schema"),
        (
            json!({"field_name": "x", "field_schema": {"type": "text", "tokenizer": "multilingual"}}),
            "field_schema.tokenizer",
        ),
        (
            json!({"field_name": "x", "field_schema": {"type": "integer", "lookup": false, "range": false}}),
            "lookup",
        ),
        (
            json!({"field_name": 3, "field_schema": "keyword"}),
            "field_name",
        ),
        (
            json!({"field_name": "a[", "field_schema": "keyword"}),
            "field_name",
        ),
        (
            json!({"field_name": "x", "field_schema": "keyword", "extra": 1}),
            "extra",
        ),
    ];
    for (body, needle) in cases {
        let (status, value) = call(
            &app,
            Method::PUT,
            "/collections/c/index?wait=true",
            body.clone(),
        )
        .await;
        assert!(status.is_client_error(), "{body}: {status} {value}");
        let error = value["status"]["error"].as_str().unwrap_or_default();
        assert!(error.contains(needle), "{body}: {error}");
    }
    let (status, _) = call(
        &app,
        Method::PUT,
        "/collections/c/index?wait=maybe",
        json!({"field_name": "x", "field_schema": "keyword"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(schema(&app).await, json!({}));
    let (status, _) = call(
        &app,
        Method::PUT,
        "/collections/missing/index",
        json!({"field_name": "x", "field_schema": "keyword"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &app,
        Method::DELETE,
        "/collections/missing/index/x",
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn restart_keeps_the_schema_and_rebuilds_counts() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let (storage, app) = open(dir.path());
        seed(&app).await;
        for (field, schema) in [("color", json!("keyword")), ("n", json!("float"))] {
            ok(
                &app,
                Method::PUT,
                "/collections/c/index?wait=true",
                json!({"field_name": field, "field_schema": schema}),
            )
            .await;
        }
        // Changes after the index was created must reach it after restart.
        ok(
            &app,
            Method::PUT,
            "/collections/c/points?wait=true",
            json!({"points": [{"id": 9, "vector": [0.0, 0.0], "payload": {"color": "red", "n": 7}}]}),
        )
        .await;
        ok(
            &app,
            Method::DELETE,
            "/collections/c/index/n?wait=true",
            Value::Null,
        )
        .await;
        storage.close();
    }
    let (_storage, app) = open(dir.path());
    assert_eq!(
        schema(&app).await,
        json!({"color": {"data_type": "keyword", "points": 4}})
    );
    let red = json!({"must": [{"key": "color", "match": {"value": "red"}}]});
    assert_eq!(count(&app, red).await, 3);
}
