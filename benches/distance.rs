//! Throughput of the distance kernels at common embedding sizes (384: MiniLM
//! class, 1536: OpenAI `text-embedding-3-small` class), each beside its
//! peer: the plain scalar loop, i.e. what the compiler makes of the obvious
//! code. Both vectors stay in L1, so this measures the arithmetic, not
//! memory bandwidth.
//!
//! Run with `cargo bench --bench distance`. The kernels compile to 256-bit
//! FMA only when the build targets a CPU that has it (for example
//! `RUSTFLAGS="-C target-cpu=x86-64-v3"`); see `index::distance::simd`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vecforge::index::distance::simd;

fn scalar_dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn scalar_l2_squared(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn scalar_l1(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum()
}

/// Deterministic values in [-1, 1), so runs are comparable.
fn vector(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

type Kernel = fn(&[f32], &[f32]) -> f32;

fn kernels(c: &mut Criterion) {
    let pairs: [(&str, Kernel, Kernel); 3] = [
        ("dot", simd::dot, scalar_dot),
        ("l2_squared", simd::l2_squared, scalar_l2_squared),
        ("l1", simd::l1, scalar_l1),
    ];
    for dim in [384, 1536] {
        let a = vector(dim, 1);
        let b = vector(dim, 2);
        let mut group = c.benchmark_group(format!("distance/{dim}"));
        group.throughput(Throughput::Elements(dim as u64));
        for (name, ours, peer) in pairs {
            group.bench_function(name, |bench| {
                bench.iter(|| ours(black_box(&a), black_box(&b)))
            });
            group.bench_function(format!("{name}/scalar"), |bench| {
                bench.iter(|| peer(black_box(&a), black_box(&b)))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Kernels take tens of nanoseconds; short runs are already stable.
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = kernels
}
criterion_main!(benches);
