//! Graph quality of the GPU build on real data: the 20,000 MiniLM
//! embeddings of `../shared/data/pydocs-minilm` (384-d, cosine), built
//! on the CPU and on the first Vulkan device (llvmpipe without a GPU) with
//! the same parameters (m 16, ef_construct 100, `groups_count` 512), both
//! searched by the same CPU code. The GPU graph's recall@10 against the
//! exact top-10 must be within 0.005 of the CPU graph's at `hnsw_ef` 64 and
//! 128, over all 500 queries.
//!
//! The validation layer is on where installed (always under `CI`), and any
//! message from it fails the test. Without a Vulkan device the test says
//! so and passes, except under `CI`, where it fails. `benches/gpu_build.rs` prints the same figures with
//! build times.
#![cfg(feature = "gpu")]

#[path = "../benches/support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;

use vecforge::gpu::Gpu;
use vecforge::index::distance::Distance;
use vecforge::index::hnsw::gpu_builder::{build_on_gpu, GpuBuildOptions};
use vecforge::index::hnsw::{
    CpuBuilder, DenseVectors, GraphBuilder, HnswGraph, HnswParams, VectorSource,
};
use vecforge::settings::GpuConfig;

const K: usize = 10;

fn recall(
    graph: &HnswGraph,
    vectors: &DenseVectors<'_>,
    queries: &[f32],
    truth: &[i32],
    width: usize,
    ef: usize,
) -> f64 {
    let mut hits = 0;
    let mut wanted = 0;
    for (query, truth) in queries
        .chunks_exact(vectors.dim())
        .zip(truth.chunks_exact(width))
    {
        let truth: HashSet<u32> = truth[..K].iter().map(|&i| i as u32).collect();
        let got = graph.search(query, vectors, Distance::Cosine, K, ef, &|_| true);
        hits += got.iter().filter(|r| truth.contains(&r.offset.0)).count();
        wanted += K;
    }
    hits as f64 / wanted as f64
}

#[test]
fn gpu_graph_recall_matches_cpu_graph_on_real_embeddings() {
    let config = GpuConfig {
        allow_emulated: true,
        allow_integrated: true,
        devices: Some(vec![0]),
        ..GpuConfig::default()
    };
    // With the validation layer where it is installed (always in CI).
    let validation = std::env::var_os("CI").is_some() || Gpu::open(&config, true).is_ok();
    let gpu = match Gpu::open(&config, validation) {
        Ok(gpu) => gpu,
        Err(error) if std::env::var_os("CI").is_some() => {
            panic!("CI is set, so the GPU tests must run, but: {error}")
        }
        Err(error) => {
            eprintln!("SKIPPED GPU graph quality test: {error}");
            return;
        }
    };
    let dir = support::data_dir();
    let (n, dim, base) = support::read_f16_rows(&dir.join("base.npy"));
    let (_, _, queries) = support::read_f16_rows(&dir.join("query.npy"));
    let (width, truth) = support::read_i32_rows(&dir.join("gt.npy"));
    assert_eq!((n, dim), (20_000, 384));
    let vectors = DenseVectors::new(&base, dim);
    let params = HnswParams {
        max_threads: 2,
        ..HnswParams::new(16, 100)
    };
    let cancel = AtomicBool::new(false);
    let cpu = CpuBuilder
        .build(
            &vectors,
            Distance::Cosine,
            &params,
            &|_| true,
            &cancel,
            &|_| {},
        )
        .expect("CPU build");
    let (gpu_graph, stats) = build_on_gpu(
        &gpu.devices[0],
        &GpuBuildOptions::default(),
        &vectors,
        Distance::Cosine,
        &params,
        &|_| true,
        &cancel,
        &|_| {},
    )
    .expect("GPU build");
    assert_eq!(stats.cpu_points + stats.gpu_points, n);
    for ef in [64, 128] {
        let c = recall(&cpu, &vectors, &queries, &truth, width, ef);
        let g = recall(&gpu_graph, &vectors, &queries, &truth, width, ef);
        eprintln!(
            "recall@10 at ef {ef}: cpu {c:.4}, gpu {g:.4} ({})",
            gpu.devices[0].info().name
        );
        assert!(
            g >= c - 0.005,
            "ef {ef}: GPU graph recall {g:.4} is more than 0.005 below the CPU graph's {c:.4}"
        );
    }
}
