//! The GPU builder against the CPU builder, on whatever Vulkan device is
//! here (llvmpipe in CI, with the validation layer; see `gpu::tests`).

use std::sync::atomic::AtomicBool;

use super::gpu_builder::{build_on_gpu, GpuBuildError, GpuBuildOptions};
use super::tests::{build, check_invariants, clustered, params, random_rows, recall};
use super::*;
use crate::gpu::tests::{finish, test_gpu};
use crate::gpu::Device;
use crate::index::distance::Distance;
use crate::segment::point_id::PointOffset;

fn gpu_build(
    device: &Device,
    options: &GpuBuildOptions,
    vectors: &dyn VectorSource,
    distance: Distance,
    params: &HnswParams,
    indexed: &(dyn Fn(PointOffset) -> bool + Sync),
) -> HnswGraph {
    let (graph, stats) = build_on_gpu(
        device,
        options,
        vectors,
        distance,
        params,
        indexed,
        &AtomicBool::new(false),
        &|_| {},
    )
    .unwrap_or_else(|e| panic!("GPU build failed: {e:?}"));
    assert!(stats.gpu_points > 0, "nothing was inserted on the GPU");
    graph
}

/// One point per batch on rows in {-1, 0, 1} (every distance exact in f32,
/// with many ties): the GPU graph is the single-threaded CPU graph, link
/// for link.
#[test]
fn single_group_builds_equal_the_cpu_build() {
    let Some(gpu) = test_gpu() else { return };
    let device = &gpu.devices[0];
    let options = GpuBuildOptions {
        groups: 1,
        cpu_prefix: 50,
        ..GpuBuildOptions::default()
    };
    let cases = [
        (Distance::Euclid, 12, 6, 24),
        (Distance::Dot, 12, 6, 24),
        (Distance::Manhattan, 12, 6, 24),
        // ef above the workgroup width, links filling it.
        (Distance::Euclid, 64, 16, 100),
        (Distance::Dot, 384, 16, 100),
    ];
    for (distance, dim, m, ef) in cases {
        let base = random_rows(1500, dim, distance, 5, true);
        let vectors = DenseVectors::new(&base, dim);
        let params = HnswParams {
            max_threads: 1,
            ..HnswParams::new(m, ef)
        };
        let cpu = build(&vectors, distance, &params);
        let gpu_graph = gpu_build(device, &options, &vectors, distance, &params, &|_| true);
        check_invariants(&gpu_graph, &vectors, &params, &|_| true);
        if cpu != gpu_graph {
            let first = (0..1500u32)
                .flat_map(|i| (0..=cpu.level(PointOffset(i))).map(move |l| (i, l)))
                .find(|&(i, l)| {
                    cpu.links(PointOffset(i), l).collect::<Vec<_>>()
                        != gpu_graph.links(PointOffset(i), l).collect::<Vec<_>>()
                });
            panic!("{distance:?}: GPU graph differs from the CPU graph, first at {first:?}");
        }
    }
    finish(gpu);
}

/// Batches of many points: recall@10 within 0.01 of the CPU graph's, for
/// every metric and for f16 rows on the device.
#[test]
fn batched_builds_keep_the_cpu_recall() {
    let Some(gpu) = test_gpu() else { return };
    let device = &gpu.devices[0];
    for (distance, half) in [
        (Distance::Cosine, false),
        (Distance::Euclid, false),
        (Distance::Dot, false),
        (Distance::Manhattan, false),
        (Distance::Cosine, true),
    ] {
        let dim = 24;
        let (base, queries) = clustered(4000, 100, dim, distance, 17);
        let vectors = DenseVectors::new(&base, dim);
        let params = params(0);
        let cpu = build(&vectors, distance, &params);
        let options = GpuBuildOptions {
            groups: 128,
            cpu_prefix: 256,
            half_precision: half,
            ..GpuBuildOptions::default()
        };
        let gpu_graph = gpu_build(device, &options, &vectors, distance, &params, &|_| true);
        check_invariants(&gpu_graph, &vectors, &params, &|_| true);
        let cpu_recall = recall(&cpu, &vectors, &queries, distance, 10, 64, &|_| true);
        let gpu_recall = recall(&gpu_graph, &vectors, &queries, distance, 10, 64, &|_| true);
        eprintln!(
            "{distance:?} half {half}: recall@10 ef 64: cpu {cpu_recall:.4} gpu {gpu_recall:.4}"
        );
        assert!(
            gpu_recall >= cpu_recall - 0.01,
            "{distance:?} half {half}: GPU recall {gpu_recall} vs CPU {cpu_recall}"
        );
    }
    finish(gpu);
}

/// Points the segment left out get no links, on the GPU as on the CPU.
#[test]
fn unindexed_points_are_left_out_on_the_gpu() {
    let Some(gpu) = test_gpu() else { return };
    let (base, _) = clustered(1500, 0, 8, Distance::Euclid, 2);
    let vectors = DenseVectors::new(&base, 8);
    let params = params(0);
    let indexed = |o: PointOffset| o.0 % 3 != 1;
    let options = GpuBuildOptions {
        groups: 64,
        cpu_prefix: 100,
        ..GpuBuildOptions::default()
    };
    let graph = gpu_build(
        &gpu.devices[0],
        &options,
        &vectors,
        Distance::Euclid,
        &params,
        &indexed,
    );
    check_invariants(&graph, &vectors, &params, &indexed);
    finish(gpu);
}

/// The same on real-valued 384-d rows: the GPU's sums round differently
/// from the CPU's, so the graph may differ where two keys are within an ulp,
/// but a sequential build must give the same lists almost everywhere and
/// the same recall.
#[test]
fn single_group_builds_on_real_valued_rows_match_the_cpu() {
    let Some(gpu) = test_gpu() else { return };
    let dim = 384;
    let (base, queries) = clustered(2000, 100, dim, Distance::Cosine, 17);
    let vectors = DenseVectors::new(&base, dim);
    let params = HnswParams {
        max_threads: 1,
        ..HnswParams::new(16, 100)
    };
    let cpu = build(&vectors, Distance::Cosine, &params);
    let options = GpuBuildOptions {
        groups: 1,
        cpu_prefix: 50,
        ..GpuBuildOptions::default()
    };
    let graph = gpu_build(
        &gpu.devices[0],
        &options,
        &vectors,
        Distance::Cosine,
        &params,
        &|_| true,
    );
    let differing = (0..2000u32)
        .filter(|&i| {
            cpu.links(PointOffset(i), 0).collect::<Vec<_>>()
                != graph.links(PointOffset(i), 0).collect::<Vec<_>>()
        })
        .count();
    assert!(differing <= 20, "{differing} of 2000 layer-0 lists differ");
    for ef in [16, 64] {
        let c = recall(&cpu, &vectors, &queries, Distance::Cosine, 10, ef, &|_| {
            true
        });
        let g = recall(
            &graph,
            &vectors,
            &queries,
            Distance::Cosine,
            10,
            ef,
            &|_| true,
        );
        assert!(g >= c - 0.005, "ef {ef}: GPU {g} vs CPU {c}");
    }
    finish(gpu);
}

/// A build that needs more loop iterations per invocation than llvmpipe
/// allows (65,535) is refused, not returned half-searched; a real GPU
/// builds it.
#[test]
fn cut_short_kernels_are_reported() {
    let Some(gpu) = test_gpu() else { return };
    let device = &gpu.devices[0];
    let dim = 384;
    let (base, _) = clustered(3000, 0, dim, Distance::Cosine, 5);
    let vectors = DenseVectors::new(&base, dim);
    let params = HnswParams::new(16, 512);
    let options = GpuBuildOptions {
        groups: 64,
        cpu_prefix: 200,
        ..GpuBuildOptions::default()
    };
    let result = build_on_gpu(
        device,
        &options,
        &vectors,
        Distance::Cosine,
        &params,
        &|_| true,
        &AtomicBool::new(false),
        &|_| {},
    );
    if device.info().name.contains("llvmpipe") {
        match result {
            Err(GpuBuildError::Gpu(crate::gpu::GpuError::Unsupported(why))) => {
                assert!(why.contains("cut a shader loop short"), "{why}")
            }
            other => panic!(
                "expected the loop budget to run out on llvmpipe: {:?}",
                other.map(|_| ())
            ),
        }
    } else {
        result.unwrap_or_else(|e| panic!("{e:?}"));
    }
    finish(gpu);
}
