//! HNSW build and search on 20,000 × 384 cosine vectors (the shared
//! `pydocs-minilm` MiniLM embeddings), beside hnswlib and Qdrant's engine
//! (`qdrant-edge-py`) measured in the same run, on the same data, parameters
//! (m = 16, ef_construct = 100) and cores (2 build threads; searches on one
//! thread).
//!
//! Prints, from one run: build seconds and the ratio ours / theirs; the
//! recall@10 → QPS curve at ef 16…512 for each engine; recall at equal ef;
//! single-thread QPS at recall 0.95, interpolated on each curve.
//!
//! Run: `cargo bench --bench hnsw`. Needs `../shared/data/` and
//! `.venv/bin/python` with `benches/requirements.txt` installed
//! (`python3 -m venv .venv && .venv/bin/pip install -r benches/requirements.txt`).
//! Under `cargo test --benches` only a small synthetic smoke run happens.
//! `HNSW_BENCH_NO_PEERS=1` prints only our build time and curve (no peers,
//! no criterion sampling), for quick iterations.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use vecforge::index::distance::Distance;
use vecforge::index::hnsw::{
    CpuBuilder, DenseVectors, GraphBuilder, HnswGraph, HnswParams, VectorSource,
};
use vecforge::segment::point_id::PointOffset;

const M: usize = 16;
const EF_CONSTRUCT: usize = 100;
const BUILD_THREADS: usize = 2;
const EFS: [usize; 6] = [16, 32, 64, 128, 256, 512];
const K: usize = 10;
/// Passes over the queries per ef; the fastest counts (as for the peers).
const REPEATS: usize = 15;
const TARGET_RECALL: f64 = 0.95;

fn build(vectors: &DenseVectors<'_>, threads: usize) -> (HnswGraph, f64) {
    let params = HnswParams {
        max_threads: threads,
        ..HnswParams::new(M, EF_CONSTRUCT)
    };
    let started = Instant::now();
    let graph = CpuBuilder
        .build(
            vectors,
            Distance::Cosine,
            &params,
            &|_| true,
            &AtomicBool::new(false),
            &|_| {},
        )
        .expect("build");
    (graph, started.elapsed().as_secs_f64())
}

/// One point of a recall → throughput curve.
#[derive(Debug, Clone, Copy)]
struct CurvePoint {
    ef: usize,
    recall: f64,
    qps: f64,
}

/// Recall@K against `gt` (rows of `gt_width` ids) and single-thread QPS.
fn measure(
    graph: &HnswGraph,
    vectors: &DenseVectors<'_>,
    queries: &[f32],
    gt: &[i32],
    gt_width: usize,
    ef: usize,
) -> CurvePoint {
    let dim = vectors.dim();
    let mut best = f64::INFINITY;
    let mut hits = 0;
    for pass in 0..REPEATS {
        let started = Instant::now();
        for (q, query) in queries.chunks_exact(dim).enumerate() {
            let results = graph.search(query, vectors, Distance::Cosine, K, ef, &|_| true);
            if pass == 0 {
                let truth: HashSet<i32> =
                    gt[q * gt_width..q * gt_width + K].iter().copied().collect();
                hits += results
                    .iter()
                    .filter(|r| truth.contains(&(r.offset.0 as i32)))
                    .count();
            }
            std::hint::black_box(results);
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    let n = queries.len() / dim;
    CurvePoint {
        ef,
        recall: hits as f64 / (K * n) as f64,
        qps: n as f64 / best,
    }
}

/// QPS where the curve crosses `target` recall, interpolated linearly in
/// recall between the two efs around it. `None` if the curve never gets
/// there; if even the smallest ef beats the target, that ef's QPS (a lower
/// bound), flagged `true`.
fn qps_at_recall(curve: &[CurvePoint], target: f64) -> Option<(f64, bool)> {
    let first = curve.first()?;
    if first.recall >= target {
        return Some((first.qps, true));
    }
    curve.windows(2).find_map(|w| {
        let (lo, hi) = (w[0], w[1]);
        (lo.recall < target && hi.recall >= target).then(|| {
            let t = (target - lo.recall) / (hi.recall - lo.recall);
            (lo.qps + t * (hi.qps - lo.qps), false)
        })
    })
}

/// What a peer printed: build seconds and its curve.
#[derive(Debug, Default)]
struct PeerResult {
    build_seconds: Option<f64>,
    curve: Vec<CurvePoint>,
    error: Option<String>,
}

fn parse_peer(output: &str, name: &str) -> PeerResult {
    let mut result = PeerResult::default();
    for line in output.lines() {
        let fields = support::fields(line);
        let get = |key: &str| fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        if get("peer") != Some(name) {
            continue;
        }
        match get("phase") {
            Some("build") => result.build_seconds = get("seconds").and_then(|v| v.parse().ok()),
            Some("search") => {
                let parsed = (|| {
                    Some(CurvePoint {
                        ef: get("ef")?.parse().ok()?,
                        recall: get("recall")?.parse().ok()?,
                        qps: get("qps")?.parse().ok()?,
                    })
                })();
                result.curve.extend(parsed);
            }
            Some("error") => result.error = Some(line.to_owned()),
            _ => {}
        }
    }
    result
}

/// `cargo test --benches`: a few hundred synthetic points, no peers.
fn smoke(c: &mut Criterion) {
    let dim = 16;
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut base: Vec<f32> = (0..400 * dim)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    for row in base.chunks_exact_mut(dim) {
        Distance::Cosine.preprocess(row);
    }
    let vectors = DenseVectors::new(&base, dim);
    let (graph, _) = build(&vectors, BUILD_THREADS);
    let query = vectors.vector(PointOffset(7)).to_vec();
    let results = graph.search(&query, &vectors, Distance::Cosine, K, 64, &|_| true);
    assert_eq!(results.first().map(|r| r.offset), Some(PointOffset(7)));
    c.bench_function("hnsw_smoke_search_400x16", |b| {
        b.iter(|| graph.search(&query, &vectors, Distance::Cosine, K, 64, &|_| true))
    });
}

/// Criterion's own figure for one point of the curve (ef 64).
fn search_latency(
    c: &mut Criterion,
    graph: &HnswGraph,
    vectors: &DenseVectors<'_>,
    queries: &[f32],
) {
    let dim = vectors.dim();
    let mut group = c.benchmark_group("hnsw");
    group.sample_size(20);
    let queries: Vec<&[f32]> = queries.chunks_exact(dim).collect();
    let mut q = 0;
    group.bench_function(format!("{}x{dim}_cosine_top10_ef64", vectors.len()), |b| {
        b.iter(|| {
            q = (q + 1) % queries.len();
            graph.search(queries[q], vectors, Distance::Cosine, K, 64, &|_| true)
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    if !support::is_real_run() {
        smoke(c);
        return;
    }
    let dir = support::data_dir();
    let (n, dim, base) = support::read_f16_rows(&dir.join("base.npy"));
    let (_, _, queries) = support::read_f16_rows(&dir.join("query.npy"));
    let (gt_width, gt) = support::read_i32_rows(&dir.join("gt.npy"));
    // Rows laid out as in a segment's vector file: page-aligned.
    let aligned = support::page_aligned(&base);
    let vectors = DenseVectors::new(support::aligned_f32(&aligned, base.len()), dim);

    let no_peers = std::env::var_os("HNSW_BENCH_NO_PEERS").is_some();
    let (graph, ours_build) = build(&vectors, BUILD_THREADS);
    let ours: Vec<CurvePoint> = EFS
        .iter()
        .map(|&ef| measure(&graph, &vectors, &queries, &gt, gt_width, ef))
        .collect();

    if !no_peers {
        search_latency(c, &graph, &vectors, &queries);
    }

    let efs: Vec<String> = EFS.iter().map(|ef| ef.to_string()).collect();
    let peers = Command::new(if no_peers {
        PathBuf::from("true")
    } else {
        support::python()
    })
    .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/hnsw_peers.py"))
    .args([
        dir.join("base.npy"),
        dir.join("query.npy"),
        dir.join("gt.npy"),
    ])
    .args([
        "--m",
        &M.to_string(),
        "--ef-construct",
        &EF_CONSTRUCT.to_string(),
    ])
    .args([
        "--threads",
        &BUILD_THREADS.to_string(),
        "--efs",
        &efs.join(","),
    ])
    .args(["--k", &K.to_string(), "--repeats", &REPEATS.to_string()])
    .output()
    .expect("run the HNSW peers");
    let out = String::from_utf8_lossy(&peers.stdout);
    if !peers.status.success() {
        println!(
            "peers exited with {}: {}",
            peers.status,
            String::from_utf8_lossy(&peers.stderr)
        );
    }
    let named = [
        ("hnswlib", parse_peer(&out, "hnswlib")),
        ("qdrant", parse_peer(&out, "qdrant")),
    ];

    println!();
    println!("HNSW {n}x{dim} cosine, m={M}, ef_construct={EF_CONSTRUCT}, {BUILD_THREADS} build threads, searches single-threaded, recall@{K}");
    println!("build seconds: vecforge {ours_build:.3}");
    for (name, peer) in &named {
        if let Some(error) = &peer.error {
            println!("  {name}: {error}");
        }
        match peer.build_seconds {
            Some(theirs) => println!(
                "  {name} {theirs:.3}  ratio vecforge/{name} = {:.2}",
                ours_build / theirs
            ),
            None => println!("  {name}: no build figure"),
        }
    }
    println!(
        "{:>5} | {:>16} | {:>24} | {:>24}",
        "ef", "vecforge rec/QPS", "hnswlib rec/QPS (Δrec)", "qdrant rec/QPS (Δrec)"
    );
    for point in &ours {
        let mut line = format!(
            "{:>5} | {:>7.4} {:>8.0} |",
            point.ef, point.recall, point.qps
        );
        for (_, peer) in &named {
            match peer.curve.iter().find(|p| p.ef == point.ef) {
                Some(p) => {
                    line += &format!(
                        " {:>6.4} {:>7.0} ({:+.4}) |",
                        p.recall,
                        p.qps,
                        point.recall - p.recall
                    )
                }
                None => line += &format!(" {:>24} |", "-"),
            }
        }
        println!("{line}");
    }
    let describe = |curve: &[CurvePoint]| match qps_at_recall(curve, TARGET_RECALL) {
        Some((qps, true)) => (
            Some(qps),
            format!(">= {qps:.0} (smallest ef already above)"),
        ),
        Some((qps, false)) => (Some(qps), format!("{qps:.0}")),
        None => (None, "not reached".to_owned()),
    };
    let (ours_qps, text) = describe(&ours);
    println!("single-thread QPS at recall {TARGET_RECALL}: vecforge {text}");
    for (name, peer) in &named {
        let (theirs, text) = describe(&peer.curve);
        let ratio = match (ours_qps, theirs) {
            (Some(a), Some(b)) => format!("  ratio vecforge/{name} = {:.2}", a / b),
            _ => String::new(),
        };
        println!("  {name} {text}{ratio}");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
