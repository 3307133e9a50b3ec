//! SIMD kernels behind every score: dot product, squared L2, L1 and the
//! squared norm, over `f32` slices of equal length.
//!
//! Each kernel walks its inputs in blocks of 32 floats held in four
//! independent [`f32x8`] accumulators. One accumulator would chain every
//! fused multiply-add on the previous one and stall for its full latency
//! (about four cycles); four chains in flight keep the FMA units busy, and
//! with two loads per FMA the loop is then bound by load bandwidth rather
//! than by latency. A leftover of whole 8-lane groups goes into the first
//! accumulator, the last `len % 8` elements through a scalar tail, so every
//! length is handled, 0 included.
//!
//! Results are *not* bit-identical to a sequential scalar loop: the sum is
//! split over 32 lanes and reduced as a tree. Its error is at most about
//! `(len / 32 + 20) · 2⁻²⁴ · Σ|termᵢ|`, the number of roundings on the
//! longest path through that tree times the unit roundoff (see
//! `reference::tolerance`), and the tests hold every kernel to that bound
//! against an f64 reference.
//!
//! On x86-64 CPUs with AVX2 and FMA (checked once at run time) the kernels
//! run the same loop written with `std::arch` intrinsics in [`super::avx2`]:
//! one 256-bit register per group and a fused multiply-add, about 1.6× the
//! baseline build's throughput; with AVX-512F, the twice-as-wide loop of
//! [`super::avx512`]. Elsewhere the portable code below runs.
//!
//! `wide` picks its instructions when the crate is compiled: built for a
//! CPU with AVX and FMA (for example `-C target-cpu=x86-64-v3`) an
//! [`f32x8`] is one 256-bit register and `mul_add` one `vfmadd`; on the
//! x86-64 baseline it is two SSE registers and a separate multiply and add;
//! on aarch64 it is two NEON registers with fused multiply-add. The code
//! here is the same in every case and needs no `unsafe`.

use wide::f32x8;

#[cfg(target_arch = "x86_64")]
use super::{avx2, avx512};

/// Runs the widest native version of `$kernel` this CPU has (AVX-512F,
/// else AVX2+FMA; checked at run time, cached by std) and returns;
/// elsewhere falls through to the portable `wide` code.
macro_rules! dispatch {
    ($kernel:ident, $a:expr, $b:expr) => {
        assert_eq!(
            $a.len(),
            $b.len(),
            "distance kernel on vectors of different lengths"
        );
        #[cfg(target_arch = "x86_64")]
        {
            if avx512::available() {
                // SAFETY: `available()` confirmed AVX-512F on this CPU, and
                // the slices have equal lengths (asserted above), which is
                // all the kernel's pointer reads rely on.
                #[allow(unsafe_code)]
                return unsafe { avx512::$kernel($a, $b) };
            }
            if avx2::available() {
                // SAFETY: as above, for AVX2 and FMA.
                #[allow(unsafe_code)]
                return unsafe { avx2::$kernel($a, $b) };
            }
        }
    };
}

/// Lanes in one SIMD register.
const LANES: usize = 8;
/// Independent accumulators, enough to cover FMA latency (see module docs).
const ACCUMULATORS: usize = 4;
/// Floats consumed per iteration of the main loop.
const BLOCK: usize = LANES * ACCUMULATORS;

/// Dot product `Σ aᵢ·bᵢ`.
///
/// # Panics
/// If the slices differ in length (a caller bug: dimensions are validated
/// before vectors reach the index).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dispatch!(dot, a, b);
    portable_dot(a, b)
}

fn portable_dot(a: &[f32], b: &[f32]) -> f32 {
    fold_pairs(a, b, |acc, x, y| x.mul_add(y, acc), |acc, x, y| acc + x * y)
}

/// Squared Euclidean distance `Σ (aᵢ − bᵢ)²`.
///
/// # Panics
/// If the slices differ in length.
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    dispatch!(l2_squared, a, b);
    portable_l2_squared(a, b)
}

fn portable_l2_squared(a: &[f32], b: &[f32]) -> f32 {
    fold_pairs(
        a,
        b,
        |acc, x, y| {
            let d = x - y;
            d.mul_add(d, acc)
        },
        |acc, x, y| {
            let d = x - y;
            acc + d * d
        },
    )
}

/// Manhattan distance `Σ |aᵢ − bᵢ|`.
///
/// # Panics
/// If the slices differ in length.
pub fn l1(a: &[f32], b: &[f32]) -> f32 {
    dispatch!(l1, a, b);
    portable_l1(a, b)
}

fn portable_l1(a: &[f32], b: &[f32]) -> f32 {
    fold_pairs(
        a,
        b,
        |acc, x, y| acc + (x - y).abs(),
        |acc, x, y| acc + (x - y).abs(),
    )
}

/// Squared L2 norm `Σ aᵢ²`.
///
/// Only used when a cosine vector is normalised (once per write and per
/// query), so it reuses the dot kernel rather than carrying a one-input copy
/// of the loop; reading `a` twice costs nothing measurable there.
pub fn norm_squared(a: &[f32]) -> f32 {
    dot(a, a)
}

/// Loads one register from a slice of exactly [`LANES`] floats.
#[inline(always)]
fn load(s: &[f32]) -> f32x8 {
    // Callers only pass `LANES`-long chunks, so the `Err` arm is dead and the
    // optimiser drops it; it is there so the kernel has no panic path.
    match <[f32; LANES]>::try_from(s) {
        Ok(lanes) => f32x8::new(lanes),
        Err(_) => f32x8::ZERO,
    }
}

/// The loop shared by all kernels: `step` folds one 8-lane group of `a` and
/// `b` into an accumulator, `tail` one scalar pair into the running sum.
///
/// `#[inline(always)]` so that each kernel gets its own copy with the
/// closures inlined into the loop body; a call per group would cost more
/// than the arithmetic.
#[inline(always)]
fn fold_pairs(
    a: &[f32],
    b: &[f32],
    step: impl Fn(f32x8, f32x8, f32x8) -> f32x8,
    tail: impl Fn(f32, f32, f32) -> f32,
) -> f32 {
    assert_eq!(
        a.len(),
        b.len(),
        "distance kernel on vectors of different lengths"
    );

    let mut acc = [f32x8::ZERO; ACCUMULATORS];
    let blocks_a = a.chunks_exact(BLOCK);
    let blocks_b = b.chunks_exact(BLOCK);
    let (rest_a, rest_b) = (blocks_a.remainder(), blocks_b.remainder());
    for (xa, xb) in blocks_a.zip(blocks_b) {
        acc[0] = step(acc[0], load(&xa[0..8]), load(&xb[0..8]));
        acc[1] = step(acc[1], load(&xa[8..16]), load(&xb[8..16]));
        acc[2] = step(acc[2], load(&xa[16..24]), load(&xb[16..24]));
        acc[3] = step(acc[3], load(&xa[24..32]), load(&xb[24..32]));
    }

    let groups_a = rest_a.chunks_exact(LANES);
    let groups_b = rest_b.chunks_exact(LANES);
    let (tail_a, tail_b) = (groups_a.remainder(), groups_b.remainder());
    for (ga, gb) in groups_a.zip(groups_b) {
        acc[0] = step(acc[0], load(ga), load(gb));
    }

    // Pairwise, so the reduction adds depth log2(4) rather than 3.
    let mut sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])).reduce_add();
    for (&x, &y) in tail_a.iter().zip(tail_b) {
        sum = tail(sum, x, y);
    }
    sum
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::index::distance::reference;

    /// Lengths around every boundary of the loop structure, plus the sizes
    /// that matter in practice.
    const LENGTHS: &[usize] = &[
        0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 39, 40, 63, 64, 65, 100, 384, 768, 1024, 1536,
        4096, 65536,
    ];

    /// Deterministic values in [-1, 1) without pulling in an RNG crate.
    fn pseudo_random(len: usize, seed: u64) -> Vec<f32> {
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

    fn assert_close(kernel: &str, got: f32, want: f64, len: usize, magnitude: f64) {
        let tolerance = reference::tolerance(len, magnitude);
        let err = (got as f64 - want).abs();
        assert!(
            err <= tolerance,
            "{kernel} len {len}: got {got}, want {want}, error {err:e} > tolerance {tolerance:e}"
        );
    }

    fn check_all(a: &[f32], b: &[f32]) {
        let n = a.len();
        // The portable loop must hold the same bound where AVX2 is used.
        assert_close(
            "portable dot",
            portable_dot(a, b),
            reference::dot(a, b),
            n,
            reference::dot_magnitude(a, b),
        );
        assert_close(
            "portable l2_squared",
            portable_l2_squared(a, b),
            reference::l2_squared(a, b),
            n,
            reference::l2_squared(a, b),
        );
        assert_close(
            "portable l1",
            portable_l1(a, b),
            reference::l1(a, b),
            n,
            reference::l1(a, b),
        );
        assert_close(
            "dot",
            dot(a, b),
            reference::dot(a, b),
            n,
            reference::dot_magnitude(a, b),
        );
        assert_close(
            "l2_squared",
            l2_squared(a, b),
            reference::l2_squared(a, b),
            n,
            reference::l2_squared(a, b),
        );
        assert_close("l1", l1(a, b), reference::l1(a, b), n, reference::l1(a, b));
        check_native(a, b);
        assert_close(
            "norm_squared",
            norm_squared(a),
            reference::norm_squared(a),
            n,
            reference::norm_squared(a),
        );
    }

    /// Every native kernel this CPU can run, called directly: the dispatch
    /// above only ever reaches the widest one.
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    fn check_native(a: &[f32], b: &[f32]) {
        type Kernel = unsafe fn(&[f32], &[f32]) -> f32;
        let n = a.len();
        let mut sets: Vec<(&str, [Kernel; 3])> = Vec::new();
        if avx2::available() {
            sets.push(("avx2", [avx2::dot, avx2::l2_squared, avx2::l1]));
        }
        if avx512::available() {
            sets.push(("avx512", [avx512::dot, avx512::l2_squared, avx512::l1]));
        }
        for (name, [dot, l2, l1]) in sets {
            // SAFETY: `available()` confirmed the features just above, and
            // `check_all`'s callers pass slices of equal length.
            let (d, l2, l1) = unsafe { (dot(a, b), l2(a, b), l1(a, b)) };
            let reference_l2 = reference::l2_squared(a, b);
            let reference_l1 = reference::l1(a, b);
            assert_close(
                name,
                d,
                reference::dot(a, b),
                n,
                reference::dot_magnitude(a, b),
            );
            assert_close(name, l2, reference_l2, n, reference_l2);
            assert_close(name, l1, reference_l1, n, reference_l1);
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn check_native(_: &[f32], _: &[f32]) {}

    #[test]
    fn matches_reference_at_boundary_lengths() {
        for (i, &len) in LENGTHS.iter().enumerate() {
            let a = pseudo_random(len, 2 * i as u64 + 1);
            let b = pseudo_random(len, 2 * i as u64 + 2);
            check_all(&a, &b);
        }
    }

    #[test]
    fn empty_vectors_score_zero() {
        assert_eq!(dot(&[], &[]), 0.0);
        assert_eq!(l2_squared(&[], &[]), 0.0);
        assert_eq!(l1(&[], &[]), 0.0);
        assert_eq!(norm_squared(&[]), 0.0);
    }

    /// Small integers keep every partial sum exact, so any element that is
    /// skipped or counted twice shows up as an exact mismatch, not noise.
    #[test]
    fn exact_on_small_integers() {
        for &len in LENGTHS {
            let a: Vec<f32> = (0..len).map(|i| (i % 5) as f32 - 2.0).collect();
            let b: Vec<f32> = (0..len).map(|i| (i % 3) as f32).collect();
            let (mut d, mut l2, mut l1_sum) = (0.0f64, 0.0f64, 0.0f64);
            for (&x, &y) in a.iter().zip(&b) {
                d += (x * y) as f64;
                l2 += ((x - y) * (x - y)) as f64;
                l1_sum += (x - y).abs() as f64;
            }
            assert_eq!(dot(&a, &b) as f64, d, "dot len {len}");
            assert_eq!(l2_squared(&a, &b) as f64, l2, "l2_squared len {len}");
            assert_eq!(l1(&a, &b) as f64, l1_sum, "l1 len {len}");
        }
    }

    /// Every position, in the main blocks, the 8-lane leftovers and the
    /// scalar tail, is read exactly once.
    #[test]
    fn every_position_contributes_once() {
        let len = 2 * BLOCK + 3 * LANES + 5;
        let ones = vec![1.0f32; len];
        let zeros = vec![0.0f32; len];
        for i in 0..len {
            let mut unit = vec![0.0f32; len];
            unit[i] = 3.0;
            assert_eq!(dot(&unit, &ones), 3.0, "dot position {i}");
            assert_eq!(l2_squared(&unit, &zeros), 9.0, "l2_squared position {i}");
            assert_eq!(l1(&zeros, &unit), 3.0, "l1 position {i}");
        }
    }

    #[test]
    #[should_panic(expected = "different lengths")]
    fn mismatched_lengths_panic() {
        dot(&[1.0, 2.0], &[1.0]);
    }

    proptest! {
        #[test]
        fn matches_reference_on_random_input(
            pairs in prop::collection::vec((-1e3f32..1e3f32, -1e3f32..1e3f32), 0..2000)
        ) {
            let (a, b): (Vec<f32>, Vec<f32>) = pairs.into_iter().unzip();
            check_all(&a, &b);
        }

        /// Values spread over many orders of magnitude, where cancellation
        /// makes a relative-to-result bound useless but the bound relative
        /// to Σ|terms| still holds.
        #[test]
        fn matches_reference_across_magnitudes(
            pairs in prop::collection::vec(
                ((-1.0f32..1.0, -8i32..8), (-1.0f32..1.0, -8i32..8)),
                0..600,
            )
        ) {
            let scale = |(m, e): (f32, i32)| m * 10f32.powi(e);
            let (a, b): (Vec<f32>, Vec<f32>) =
                pairs.into_iter().map(|(x, y)| (scale(x), scale(y))).unzip();
            check_all(&a, &b);
        }
    }
}
