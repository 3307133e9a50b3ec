//! Exact-search latency on 20,000 × 384 cosine vectors (the shared
//! `pydocs-minilm` MiniLM embeddings), through the real collection path
//! (WAL-backed collection, segment scan with SIMD kernels on every core),
//! beside numpy's brute force measured in the same run on the same data.
//!
//! Run: `cargo bench --bench exact_search`. Needs `../shared/data/` and a
//! python3 with numpy (`.venv/bin/python` is preferred when present).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use vecforge::collection::config::CollectionConfig;
use vecforge::collection::operations::{PointInsert, UpdateOperation};
use vecforge::collection::{Collection, SearchRequest};
use vecforge::segment::point_id::PointId;

fn config(dim: usize) -> CollectionConfig {
    let mut config = support::cosine_config(dim);
    // Measures exact search: no index build running alongside.
    config.optimizer_config.indexing_threshold = Some(0);
    config
}

fn bench(c: &mut Criterion) {
    let dir = support::data_dir();
    let (n, dim, base) = support::read_f16_rows(&dir.join("base.npy"));
    let (nq, _, queries) = support::read_f16_rows(&dir.join("query.npy"));
    let tmp = tempfile::tempdir().expect("temp dir");
    let collection =
        Collection::create(&tmp.path().join("c"), "bench", config(dim)).expect("create collection");
    for start in (0..n).step_by(1000) {
        let points = (start..(start + 1000).min(n))
            .map(|i| PointInsert {
                id: PointId::Num(i as u64),
                vectors: BTreeMap::from([(String::new(), base[i * dim..(i + 1) * dim].to_vec())]),
                payload: Default::default(),
            })
            .collect();
        collection
            .update(UpdateOperation::Upsert { points }, true)
            .expect("upsert");
    }
    let request = |q: usize| SearchRequest {
        vector_name: String::new(),
        vector: queries[q * dim..(q + 1) * dim].to_vec(),
        filter: None,
        limit: 10,
        offset: 0,
        score_threshold: None,
        hnsw_ef: None,
        exact: true,
    };

    let mut group = c.benchmark_group("exact_search");
    group.sample_size(20);
    let mut q = 0;
    group.bench_function(format!("{n}x{dim}_cosine_top10"), |b| {
        b.iter(|| {
            q = (q + 1) % nq;
            collection.search(&request(q)).expect("search")
        })
    });
    group.finish();

    // `cargo test --benches` runs each bench once as a smoke test; the peer
    // comparison only belongs in a real `cargo bench` run.
    if !support::is_real_run() {
        return;
    }
    // Same-run comparison: our mean over every query vs numpy's.
    let started = Instant::now();
    for q in 0..nq {
        std::hint::black_box(collection.search(&request(q)).expect("search"));
    }
    let ours_ms = started.elapsed().as_secs_f64() * 1000.0 / nq as f64;
    let peer = Command::new(support::python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/numpy_exact.py"))
        .args([
            dir.join("base.npy"),
            dir.join("query.npy"),
            dir.join("gt.npy"),
        ])
        .arg("1")
        .output()
        .expect("run the numpy peer");
    let peer_out = String::from_utf8_lossy(&peer.stdout);
    let numpy_ms = peer_out
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("numpy_ms_per_query="))
        .and_then(|v| v.parse::<f64>().ok());
    match numpy_ms {
        Some(numpy_ms) => println!(
            "exact_search {n}x{dim} cosine top-10, {nq} queries: vecforge {ours_ms:.3} ms/query, numpy {numpy_ms:.3} ms/query, ratio vecforge/numpy = {:.2}",
            ours_ms / numpy_ms
        ),
        None => println!(
            "exact_search: vecforge {ours_ms:.3} ms/query; numpy peer failed: {}",
            String::from_utf8_lossy(&peer.stderr)
        ),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
