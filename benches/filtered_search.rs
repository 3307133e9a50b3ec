//! Filtered search with a keyword payload index at selectivities 1 %, 10 %
//! and 50 % on the 20,000 × 384 MiniLM vectors (`../shared/data/`), through
//! the collection: points upserted with a `sel` keyword array, the index
//! built by the background optimizer (m 16, ef_construct 100, 2 threads),
//! searched at `hnsw_ef` 128 on one thread.
//!
//! For each selectivity it prints recall@10 against exact filtered search
//! (`exact: true`) and the mean latency, twice: with the query planner as
//! configured (Qdrant's default `full_scan_threshold` of 10,000 KB, so
//! selective filters scan their index candidates) and with the graph forced
//! (`full_scan_threshold` 0). Beside them, from the same run on the same
//! data and labels: Qdrant's engine (`qdrant-edge-py`, same parameters and
//! default threshold, one search thread) and numpy's filtered brute force,
//! with latency ratios ours / theirs.
//!
//! Run: `cargo bench --bench filtered_search` (needs `.venv` with
//! `benches/requirements.txt`). Under `cargo test --benches` a small
//! synthetic smoke run checks the recall path and skips the peers.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use vecforge::collection::config::CollectionConfig;
use vecforge::collection::operations::{PointInsert, UpdateOperation};
use vecforge::collection::optimization::CollectionStatus;
use vecforge::collection::{Collection, SearchRequest};
use vecforge::segment::filter::Filter;
use vecforge::segment::payload::Payload;
use vecforge::segment::payload_index::FieldSchema;
use vecforge::segment::point_id::PointId;

const M: usize = 16;
const EF_CONSTRUCT: usize = 100;
const EF: usize = 128;
const K: usize = 10;
const REPEATS: usize = 3;
const BUILD_THREADS: usize = 2;
/// Label and percentage of points it selects.
const SELECTIVITIES: [(&str, u64); 3] = [("p1", 1), ("p10", 10), ("p50", 50)];

/// Which hundredth of the points `i` falls in, by a multiplicative hash
/// unrelated to its vector (the peer script uses the same formula).
fn bucket(i: u64) -> u64 {
    i.wrapping_mul(2_654_435_761) % (1 << 32) % 100
}

fn payload(i: u64) -> Payload {
    let labels: Vec<&str> = SELECTIVITIES
        .iter()
        .filter(|(_, pct)| bucket(i) < *pct)
        .map(|(name, _)| *name)
        .collect();
    let mut payload = Payload::new();
    payload.insert("sel".into(), json!(labels));
    payload
}

fn filter(label: &str) -> Filter {
    serde_json::from_value(json!({"must": [{"key": "sel", "match": {"value": label}}]}))
        .expect("filter")
}

fn config(dim: usize, indexing_threshold_kb: usize) -> CollectionConfig {
    let mut config = support::cosine_config(dim);
    config.hnsw_config.m = M;
    config.hnsw_config.ef_construct = EF_CONSTRUCT;
    config.hnsw_config.max_indexing_threads = BUILD_THREADS;
    config.optimizer_config.indexing_threshold = Some(indexing_threshold_kb);
    config.optimizer_config.default_segment_number = 1;
    config
}

/// A collection holding `base` with labels, indexed and at rest. Loaded
/// with indexing off, then indexed in one build (as the peer's
/// `optimize()` does), rather than segment by segment and merged.
fn load(dir: &Path, base: &[f32], dim: usize, indexing_threshold_kb: usize) -> Collection {
    let c = Collection::create(dir, "bench", config(dim, 0)).expect("create");
    c.update(
        UpdateOperation::CreateFieldIndex {
            field_name: "sel".into(),
            field_schema: FieldSchema::parse(&json!("keyword")).expect("schema"),
        },
        true,
    )
    .expect("create index");
    let n = base.len() / dim;
    for start in (0..n).step_by(1000) {
        let points = (start..(start + 1000).min(n))
            .map(|i| PointInsert {
                id: PointId::Num(i as u64),
                vectors: BTreeMap::from([(String::new(), base[i * dim..(i + 1) * dim].to_vec())]),
                payload: payload(i as u64),
            })
            .collect();
        c.update(UpdateOperation::Upsert { points }, true)
            .expect("upsert");
    }
    c.update_config(|config| {
        config.optimizer_config.indexing_threshold = Some(indexing_threshold_kb);
        Ok(())
    })
    .expect("config");
    let deadline = Instant::now() + Duration::from_secs(600);
    while c.optimizer_report().status != CollectionStatus::Green {
        assert!(Instant::now() < deadline, "index not built in time");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(c.indexed_vectors_count(), n, "every vector indexed");
    c
}

fn request(query: &[f32], label: &str, exact: bool) -> SearchRequest {
    SearchRequest {
        vector_name: String::new(),
        vector: query.to_vec(),
        filter: Some(filter(label)),
        limit: K,
        offset: 0,
        score_threshold: None,
        hnsw_ef: Some(EF),
        exact,
    }
}

/// Recall@K against exact filtered search, and mean ms per query on one
/// thread (best of [`REPEATS`] passes).
fn measure(c: &Collection, queries: &[f32], dim: usize, label: &str) -> (f64, f64) {
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let mut hits = 0;
    let mut best = f64::INFINITY;
    for pass in 0..REPEATS {
        let started = Instant::now();
        let found: Vec<Vec<PointId>> = one_thread.install(|| {
            queries
                .chunks_exact(dim)
                .map(|q| {
                    let hits = c.search(&request(q, label, false)).expect("search");
                    hits.into_iter().map(|p| p.id).collect()
                })
                .collect()
        });
        best = best.min(started.elapsed().as_secs_f64());
        if pass == 0 {
            for (q, got) in queries.chunks_exact(dim).zip(&found) {
                let truth: HashSet<PointId> = c
                    .search(&request(q, label, true))
                    .expect("exact search")
                    .into_iter()
                    .map(|p| p.id)
                    .collect();
                hits += got.iter().filter(|id| truth.contains(id)).count();
            }
        }
    }
    let n = queries.len() / dim;
    (hits as f64 / (K * n) as f64, best * 1000.0 / n as f64)
}

/// Our figures per selectivity: (label, matching points, recall, ms).
fn ours(c: &Collection, queries: &[f32], dim: usize, n: usize) -> Vec<(String, usize, f64, f64)> {
    SELECTIVITIES
        .iter()
        .map(|(label, _)| {
            let matching = (0..n as u64)
                .filter(|i| {
                    payload(*i)["sel"]
                        .as_array()
                        .is_some_and(|a| a.contains(&json!(label)))
                })
                .count();
            let (recall, ms) = measure(c, queries, dim, label);
            (label.to_string(), matching, recall, ms)
        })
        .collect()
}

fn set_full_scan_threshold(c: &Collection, kb: usize) {
    c.update_config(|config| {
        config.hnsw_config.full_scan_threshold = kb;
        Ok(())
    })
    .expect("config");
}

/// `cargo test --benches`: 2,000 synthetic points of 32 dimensions.
fn smoke(c: &mut Criterion) {
    let dim = 32;
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    let base: Vec<f32> = (0..2000 * dim).map(|_| next()).collect();
    let queries: Vec<f32> = (0..20 * dim).map(|_| next()).collect();
    let tmp = tempfile::tempdir().expect("temp dir");
    let collection = load(&tmp.path().join("c"), &base, dim, 1);
    set_full_scan_threshold(&collection, 0);
    for (label, matching, recall, _) in ours(&collection, &queries, dim, 2000) {
        assert!(matching > 0, "{label} selects nothing");
        assert!(recall > 0.5, "{label}: recall {recall}");
    }
    c.bench_function("filtered_search_smoke_p10", |b| {
        b.iter(|| collection.search(&request(&queries[..dim], "p10", false)))
    });
}

fn bench(c: &mut Criterion) {
    if !support::is_real_run() {
        return smoke(c);
    }
    let dir = support::data_dir();
    let (n, dim, base) = support::read_f16_rows(&dir.join("base.npy"));
    let (_, _, queries) = support::read_f16_rows(&dir.join("query.npy"));
    let tmp = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let collection = load(&tmp.path().join("c"), &base, dim, 1000);
    println!(
        "filtered_search: {n} x {dim} loaded and indexed in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let default_kb = collection.config().hnsw_config.full_scan_threshold;
    let planner = ours(&collection, &queries, dim, n);
    set_full_scan_threshold(&collection, 0);
    let graph_only = ours(&collection, &queries, dim, n);
    set_full_scan_threshold(&collection, default_kb);

    let mut group = c.benchmark_group("filtered_search");
    group.sample_size(20);
    for (label, _) in SELECTIVITIES {
        let mut q = 0;
        group.bench_function(format!("{n}x{dim}_{label}_ef{EF}"), |b| {
            b.iter(|| {
                q = (q + 1) % (queries.len() / dim);
                collection.search(&request(&queries[q * dim..(q + 1) * dim], label, false))
            })
        });
    }
    group.finish();

    let peer = Command::new(support::python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/filtered_peers.py"))
        .args([dir.join("base.npy"), dir.join("query.npy")])
        .args([
            "--m",
            &M.to_string(),
            "--ef-construct",
            &EF_CONSTRUCT.to_string(),
        ])
        .args([
            "--threads",
            &BUILD_THREADS.to_string(),
            "--ef",
            &EF.to_string(),
        ])
        .args(["--k", &K.to_string(), "--repeats", &REPEATS.to_string()])
        .output()
        .expect("run the peers");
    let out = String::from_utf8_lossy(&peer.stdout);
    let peer_value = |peer: &str, label: &str, key: &str| -> Option<f64> {
        out.lines().find_map(|line| {
            let f = support::fields(line);
            let get = |k: &str| f.iter().find(|(fk, _)| *fk == k).map(|(_, v)| *v);
            (get("peer") == Some(peer) && get("sel") == Some(label))
                .then(|| get(key)?.parse().ok())
                .flatten()
        })
    };
    for line in out.lines().filter(|l| l.contains("phase=")) {
        println!("filtered_search peer: {line}");
    }
    println!(
        "filtered_search {n} x {dim}, keyword index, hnsw_ef {EF}, one search thread, {} queries:",
        queries.len() / dim
    );
    println!("  sel  matching | planner (full_scan_threshold {default_kb} KB): recall ms | graph only: recall ms | qdrant-edge: recall ms | ratio ms ours/qdrant | numpy ms | ratio ours/numpy");
    for ((label, matching, recall, ms), (_, _, g_recall, g_ms)) in planner.iter().zip(&graph_only) {
        let q_recall = peer_value("qdrant", label, "recall");
        let q_ms = peer_value("qdrant", label, "ms_per_query");
        let np_ms = peer_value("numpy", label, "ms_per_query");
        let show = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.4}"));
        let ratio =
            |theirs: Option<f64>| theirs.map_or("n/a".to_string(), |t| format!("{:.2}", ms / t));
        println!(
            "  {label:<4} {matching:>8} | {recall:.4} {ms:.4} | {g_recall:.4} {g_ms:.4} | {} {} | {} | {} | {}",
            show(q_recall),
            show(q_ms),
            ratio(q_ms),
            show(np_ms),
            ratio(np_ms),
        );
    }
    if !peer.status.success() {
        println!(
            "filtered_search: peer script failed: {}",
            String::from_utf8_lossy(&peer.stderr)
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
