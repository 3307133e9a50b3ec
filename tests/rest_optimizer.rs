//! The optimizer through the REST router: collection info's status fields,
//! `GET …/optimizations` in Qdrant's shape, `PATCH` of `optimizers_config`
//! and `hnsw_config` taking effect, and search `params`.

mod common;

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use axum::Router;
use common::rest::{call, ok, open};
use serde_json::{json, Value};

const DIM: usize = 4;

async fn upsert(app: &Router, first: u64, n: u64) {
    let points: Vec<Value> = (first..first + n)
        .map(|i| {
            let x = i as f32;
            json!({"id": i, "vector": [x.sin(), x.cos(), (x * 0.7).sin(), 1.0], "payload": {"i": i}})
        })
        .collect();
    ok(
        app,
        Method::PUT,
        "/collections/c/points?wait=true",
        json!({ "points": points }),
    )
    .await;
}

async fn info(app: &Router) -> Value {
    ok(app, Method::GET, "/collections/c", Value::Null).await
}

/// Polls collection info until `status` is `want`.
async fn wait_status(app: &Router, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let info = info(app).await;
        if info["status"] == want {
            return info;
        }
        assert!(Instant::now() < deadline, "never {want}: {info}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_optimizations_patch_and_search_params() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_storage, app) = open(dir.path());
    // 1 KB is 64 vectors of 4 floats: 300 points make an indexed segment.
    ok(
        &app,
        Method::PUT,
        "/collections/c",
        json!({
            "vectors": {"size": DIM, "distance": "Cosine"},
            "optimizers_config": {"indexing_threshold": 1, "default_segment_number": 1},
            "hnsw_config": {"m": 8, "ef_construct": 32, "full_scan_threshold": 1}
        }),
    )
    .await;
    upsert(&app, 0, 300).await;
    let green = wait_status(&app, "green").await;
    assert_eq!(green["optimizer_status"], "ok");
    assert_eq!(green["points_count"], 300);
    assert_eq!(green["indexed_vectors_count"], 300, "{green}");

    let report = ok(
        &app,
        Method::GET,
        "/collections/c/optimizations?with=queued,completed,idle_segments",
        Value::Null,
    )
    .await;
    for key in [
        "queued_optimizations",
        "queued_segments",
        "queued_points",
        "idle_segments",
    ] {
        assert!(report["summary"][key].is_u64(), "summary.{key}: {report}");
    }
    assert_eq!(report["running"], json!([]));
    assert_eq!(report["queued"], json!([]));
    let completed = report["completed"].as_array().expect("completed");
    let indexing = completed
        .iter()
        .find(|j| j["optimizer"] == "indexing")
        .expect("an indexing job");
    assert_eq!(indexing["status"], "done");
    assert_eq!(indexing["segments"][0]["points_count"], 300);
    assert!(
        indexing["progress"]["finished_at"].is_string(),
        "{indexing}"
    );
    assert!(!report["idle_segments"].as_array().expect("idle").is_empty());
    // Without `with`, only the summary and the running jobs.
    let plain = ok(
        &app,
        Method::GET,
        "/collections/c/optimizations",
        Value::Null,
    )
    .await;
    assert!(plain.get("completed").is_none() && plain.get("queued").is_none());

    let (status, body) = call(
        &app,
        Method::GET,
        "/collections/c/optimizations?with=everything",
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["status"]["error"]
        .as_str()
        .is_some_and(|e| e.contains("everything")));
    let (status, _) = call(
        &app,
        Method::GET,
        "/collections/missing/optimizations",
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Optimizer off: new work waits and the collection says so.
    ok(
        &app,
        Method::PATCH,
        "/collections/c",
        json!({"optimizers_config": {"max_optimization_threads": 0}}),
    )
    .await;
    upsert(&app, 300, 300).await;
    let grey = wait_status(&app, "grey").await;
    assert_eq!(grey["indexed_vectors_count"], 300, "{grey}");
    let queued = ok(
        &app,
        Method::GET,
        "/collections/c/optimizations?with=queued",
        Value::Null,
    )
    .await;
    assert_eq!(queued["queued"][0]["optimizer"], "indexing", "{queued}");
    assert!(queued["summary"]["queued_points"].as_u64() >= Some(300));
    ok(
        &app,
        Method::PATCH,
        "/collections/c",
        json!({"optimizers_config": {"max_optimization_threads": "auto"}}),
    )
    .await;
    let green = wait_status(&app, "green").await;
    assert_eq!(green["indexed_vectors_count"], 600, "{green}");

    // New graph parameters rebuild the graphs.
    ok(
        &app,
        Method::PATCH,
        "/collections/c",
        json!({"hnsw_config": {"m": 12}}),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let report = ok(
            &app,
            Method::GET,
            "/collections/c/optimizations?with=completed",
            Value::Null,
        )
        .await;
        let rebuilt = report["completed"]
            .as_array()
            .expect("completed")
            .iter()
            .any(|j| j["optimizer"] == "config_mismatch" && j["status"] == "done");
        if rebuilt && info(&app).await["status"] == "green" {
            break;
        }
        assert!(Instant::now() < deadline, "no rebuild: {report}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(info(&app).await["config"]["hnsw_config"]["m"], 12);

    // Search params: exact and graph agree on a point's own vector; a zero
    // beam is a validation error.
    let x = 7.0f32;
    let query = json!([x.sin(), x.cos(), (x * 0.7).sin(), 1.0]);
    for params in [json!({"exact": true}), json!({"hnsw_ef": 64})] {
        let found = ok(
            &app,
            Method::POST,
            "/collections/c/points/query",
            json!({"query": query, "limit": 1, "params": params}),
        )
        .await;
        assert_eq!(found["points"][0]["id"], 7, "{params}: {found}");
    }
    let (status, body) = call(
        &app,
        Method::POST,
        "/collections/c/points/query",
        json!({"query": query, "params": {"hnsw_ef": 0}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn float16_collections_store_halves_and_search_through_graphs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_storage, app) = open(dir.path());
    ok(
        &app,
        Method::PUT,
        "/collections/c",
        json!({
            "vectors": {"size": DIM, "distance": "Euclid", "datatype": "float16"},
            "optimizers_config": {"indexing_threshold": 1},
            "hnsw_config": {"m": 8, "ef_construct": 32, "full_scan_threshold": 1}
        }),
    )
    .await;
    upsert(&app, 0, 400).await;
    let green = wait_status(&app, "green").await;
    assert_eq!(green["indexed_vectors_count"], 400, "{green}");
    assert_eq!(green["config"]["params"]["vectors"]["datatype"], "float16");

    // Read back rounded to half precision: 11 significant bits.
    let x = 123.0f32;
    let want = [x.sin(), x.cos(), (x * 0.7).sin(), 1.0];
    let point = ok(&app, Method::GET, "/collections/c/points/123", Value::Null).await;
    let got: Vec<f32> = serde_json::from_value(point["vector"].clone()).expect("vector");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= w.abs() * 2f32.powi(-11),
            "{got:?} vs {want:?}"
        );
    }
    // The stored vector is its own nearest neighbour, at distance 0, both
    // by exact scan and through the graph.
    for params in [json!({"exact": true}), json!({"hnsw_ef": 32})] {
        let found = ok(
            &app,
            Method::POST,
            "/collections/c/points/query",
            json!({"query": got, "limit": 3, "params": params}),
        )
        .await;
        assert_eq!(found["points"][0]["id"], 123, "{params}: {found}");
        assert_eq!(found["points"][0]["score"], 0.0, "{params}: {found}");
    }

    let (status, body) = call(
        &app,
        Method::PUT,
        "/collections/u",
        json!({"vectors": {"size": DIM, "distance": "Dot", "datatype": "uint8"}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["status"]["error"]
        .as_str()
        .is_some_and(|e| e.contains("datatype")));
}
