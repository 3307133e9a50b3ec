//! HNSW build on a Vulkan device against the CPU build, from one run on the
//! same data (the shared `pydocs-minilm` set, 20,000 × 384 cosine) and
//! parameters (m = 16, ef_construct = 100): build seconds and their ratio,
//! distance evaluations per inserted point, and recall@10 at ef 64 and 128
//! of both graphs, searched by the same CPU code against the exact top-10.
//!
//! Run: `cargo bench --bench gpu_build`. Of the devices the `gpu` settings
//! select with `allow_emulated` and `allow_integrated` on, it uses the best
//! kind (discrete, then integrated, virtual, emulated), so a machine with a
//! GPU uses it and one without runs on llvmpipe;
//! `VECFORGE_BENCH_GPU_FILTER=nvidia` (a `device_filter`) narrows the choice.
//! `VECFORGE_BENCH_GROUPS` sets `groups_count` (default 512),
//! `VECFORGE_BENCH_POINTS` uses only the first N points (ground truth is
//! then recomputed exactly). Under `cargo test --benches` only a small
//! synthetic smoke run happens.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

mod support;

use vecforge::gpu::{DeviceKind, Gpu};
use vecforge::index::distance::Distance;
use vecforge::index::hnsw::gpu_builder::{build_on_gpu, GpuBuildOptions};
use vecforge::index::hnsw::{
    CpuBuilder, DenseVectors, GraphBuilder, HnswGraph, HnswParams, VectorSource,
};
use vecforge::segment::point_id::PointOffset;
use vecforge::settings::GpuConfig;

const M: usize = 16;
const EF_CONSTRUCT: usize = 100;
const BUILD_THREADS: usize = 2;
const K: usize = 10;

/// Counts the keys a CPU build computes (a separate, untimed run: the
/// timed build uses the contiguous fast path, which this wrapper hides).
struct Counting<'a> {
    inner: DenseVectors<'a>,
    keys: AtomicU64,
}

impl VectorSource for Counting<'_> {
    fn len(&self) -> usize {
        self.inner.len()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn vector(&self, offset: PointOffset) -> Cow<'_, [f32]> {
        self.inner.vector(offset)
    }

    fn distance_key(&self, distance: Distance, query: &[f32], offset: PointOffset) -> f32 {
        self.keys.fetch_add(1, Ordering::Relaxed);
        self.inner.distance_key(distance, query, offset)
    }
}

fn params() -> HnswParams {
    HnswParams {
        max_threads: BUILD_THREADS,
        ..HnswParams::new(M, EF_CONSTRUCT)
    }
}

fn cpu_build(vectors: &dyn VectorSource) -> HnswGraph {
    CpuBuilder
        .build(
            vectors,
            Distance::Cosine,
            &params(),
            &|_| true,
            &AtomicBool::new(false),
            &|_| {},
        )
        .expect("CPU build")
}

/// Recall@K of `graph` at `ef` against `truth` (K ids per query).
fn recall(
    graph: &HnswGraph,
    vectors: &DenseVectors<'_>,
    queries: &[f32],
    truth: &[Vec<u32>],
    ef: usize,
) -> f64 {
    let mut hits = 0;
    for (query, truth) in queries.chunks_exact(vectors.dim()).zip(truth) {
        let truth: HashSet<u32> = truth.iter().copied().collect();
        let got = graph.search(query, vectors, Distance::Cosine, K, ef, &|_| true);
        hits += got.iter().filter(|r| truth.contains(&r.offset.0)).count();
    }
    hits as f64 / (truth.len() * K) as f64
}

/// Exact top-K by brute force (for a subset of the data).
fn exact(vectors: &DenseVectors<'_>, queries: &[f32]) -> Vec<Vec<u32>> {
    queries
        .chunks_exact(vectors.dim())
        .map(|query| {
            let mut scored: Vec<(f32, u32)> = (0..vectors.len() as u32)
                .map(|i| {
                    (
                        vectors.distance_key(Distance::Cosine, query, PointOffset(i)),
                        i,
                    )
                })
                .collect();
            scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            scored.iter().take(K).map(|&(_, i)| i).collect()
        })
        .collect()
}

fn open_gpu() -> Option<Gpu> {
    let config = GpuConfig {
        allow_emulated: true,
        allow_integrated: true,
        device_filter: std::env::var("VECFORGE_BENCH_GPU_FILTER").unwrap_or_default(),
        ..GpuConfig::default()
    };
    match Gpu::open(&config, false) {
        Ok(gpu) => Some(gpu),
        Err(error) => {
            println!("no Vulkan device: {error}");
            None
        }
    }
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn run(base: &[f32], dim: usize, queries: &[f32], truth: Option<Vec<Vec<u32>>>, groups: usize) {
    let vectors = DenseVectors::new(base, dim);
    let truth = truth.unwrap_or_else(|| exact(&vectors, queries));
    let Some(gpu) = open_gpu() else { return };
    let rank = |kind: DeviceKind| match kind {
        DeviceKind::Discrete => 0,
        DeviceKind::Integrated => 1,
        DeviceKind::Virtual => 2,
        DeviceKind::Other => 3,
        DeviceKind::Emulated => 4,
    };
    let device = gpu
        .devices
        .iter()
        .min_by_key(|d| rank(d.info().kind))
        .expect("Gpu::open returns at least one device");
    println!(
        "data: {} x {dim}, {} queries; m {M}, ef_construct {EF_CONSTRUCT}; CPU {BUILD_THREADS} threads; GPU {} ({}), groups {groups}",
        vectors.len(),
        truth.len(),
        device.info().name,
        device.info().kind
    );

    let started = Instant::now();
    let cpu = cpu_build(&vectors);
    let cpu_seconds = started.elapsed().as_secs_f64();
    let counting = Counting {
        inner: vectors,
        keys: AtomicU64::new(0),
    };
    cpu_build(&counting);
    let cpu_keys = counting.keys.load(Ordering::Relaxed) as f64 / vectors.len() as f64;

    let mut options = GpuBuildOptions {
        groups,
        ..GpuBuildOptions::default()
    };
    if let Some(growth) = env_usize("VECFORGE_BENCH_GROWTH") {
        options.growth = growth;
    }
    let started = Instant::now();
    let (gpu_graph, stats) = build_on_gpu(
        device,
        &options,
        &vectors,
        Distance::Cosine,
        &params(),
        &|_| true,
        &AtomicBool::new(false),
        &|_| {},
    )
    .expect("GPU build");
    let gpu_seconds = started.elapsed().as_secs_f64();
    let gpu_keys = stats.gpu_distance_evaluations as f64 / stats.gpu_points.max(1) as f64;

    println!(
        "build seconds: cpu {cpu_seconds:.2}  gpu {gpu_seconds:.2}  gpu/cpu {:.2}",
        gpu_seconds / cpu_seconds
    );
    println!(
        "distance evaluations per inserted point: cpu {cpu_keys:.0}  gpu {gpu_keys:.0} (over the {} GPU-inserted points; {} inserted on the CPU first)",
        stats.gpu_points, stats.cpu_points
    );
    for ef in [64, 128] {
        let c = recall(&cpu, &vectors, queries, &truth, ef);
        let g = recall(&gpu_graph, &vectors, queries, &truth, ef);
        println!(
            "recall@{K} ef {ef}: cpu {c:.4}  gpu {g:.4}  gpu-cpu {:+.4}",
            g - c
        );
    }
}

fn main() {
    let real = support::is_real_run();
    if !real {
        // `cargo test --benches`: a small synthetic run.
        let dim = 32;
        let mut seed = 1u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        let mut base: Vec<f32> = (0..2000 * dim).map(|_| next()).collect();
        let mut queries: Vec<f32> = (0..20 * dim).map(|_| next()).collect();
        for row in base
            .chunks_exact_mut(dim)
            .chain(queries.chunks_exact_mut(dim))
        {
            Distance::Cosine.preprocess(row);
        }
        run(&base, dim, &queries, None, 64);
        return;
    }
    let dir = support::data_dir();
    let (n, dim, mut base) = support::read_f16_rows(&dir.join("base.npy"));
    let (_, _, mut queries) = support::read_f16_rows(&dir.join("query.npy"));
    for row in base
        .chunks_exact_mut(dim)
        .chain(queries.chunks_exact_mut(dim))
    {
        Distance::Cosine.preprocess(row);
    }
    let groups = env_usize("VECFORGE_BENCH_GROUPS").unwrap_or(512);
    match env_usize("VECFORGE_BENCH_POINTS").filter(|&p| p < n) {
        Some(points) => run(&base[..points * dim], dim, &queries, None, groups),
        None => {
            let (width, gt) = support::read_i32_rows(&dir.join("gt.npy"));
            let truth = gt
                .chunks_exact(width)
                .map(|row| row[..K].iter().map(|&i| i as u32).collect())
                .collect();
            run(&base, dim, &queries, Some(truth), groups);
        }
    }
}
