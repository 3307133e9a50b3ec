//! The distance kernels with AVX2 + FMA intrinsics, for x86-64 CPUs that
//! have them (nearly every x86 server CPU since 2013).
//!
//! The loop has exactly the shape of the portable one in [`super::simd`]:
//! blocks of 32 floats in four independent 8-lane accumulators, leftover
//! whole 8-lane groups into the first accumulator, a pairwise reduction,
//! then a scalar tail of fewer than 8 elements. So the same error bound
//! holds, and the tests check both versions against the f64 reference.
//!
//! Every function here is `unsafe` for one reason: it must only run on a CPU
//! with AVX2 and FMA, which [`available`] checks. Pointer reads stay inside
//! the slices given that `a.len() == b.len()`, which callers assert.

#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m256, _mm256_add_ps, _mm256_andnot_ps, _mm256_castps256_ps128, _mm256_extractf128_ps,
    _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_sub_ps, _mm_add_ps,
    _mm_cvtss_f32, _mm_movehl_ps, _mm_shuffle_ps,
};

/// Whether this CPU can run the kernels (std caches the CPUID answer).
#[inline]
pub fn available() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// Horizontal sum of the 8 lanes.
#[inline(always)]
unsafe fn reduce(v: __m256) -> f32 {
    // SAFETY (whole body): plain register arithmetic; the caller's target
    // features cover every intrinsic.
    unsafe {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps::<1>(v);
        let quad = _mm_add_ps(lo, hi);
        let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
        let one = _mm_add_ps(pair, _mm_shuffle_ps::<0b01>(pair, pair));
        _mm_cvtss_f32(one)
    }
}

/// The shared loop; `step` folds one group into an accumulator and `tail`
/// one scalar pair into the sum. Inlined into each kernel.
#[inline(always)]
unsafe fn fold(
    a: &[f32],
    b: &[f32],
    step: impl Fn(__m256, __m256, __m256) -> __m256,
    tail: impl Fn(f32, f32, f32) -> f32,
) -> f32 {
    let len = a.len();
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let blocks = len / 32 * 32;
    let groups = len / 8 * 8;
    // SAFETY: every load reads 8 floats at an index `i` with
    // `i + 8 <= groups <= len == b.len()`, so it stays inside both slices;
    // unaligned loads are used, so no alignment is assumed.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i < blocks {
            acc[0] = step(
                acc[0],
                _mm256_loadu_ps(pa.add(i)),
                _mm256_loadu_ps(pb.add(i)),
            );
            acc[1] = step(
                acc[1],
                _mm256_loadu_ps(pa.add(i + 8)),
                _mm256_loadu_ps(pb.add(i + 8)),
            );
            acc[2] = step(
                acc[2],
                _mm256_loadu_ps(pa.add(i + 16)),
                _mm256_loadu_ps(pb.add(i + 16)),
            );
            acc[3] = step(
                acc[3],
                _mm256_loadu_ps(pa.add(i + 24)),
                _mm256_loadu_ps(pb.add(i + 24)),
            );
            i += 32;
        }
        while i < groups {
            acc[0] = step(
                acc[0],
                _mm256_loadu_ps(pa.add(i)),
                _mm256_loadu_ps(pb.add(i)),
            );
            i += 8;
        }
        let mut sum = reduce(_mm256_add_ps(
            _mm256_add_ps(acc[0], acc[1]),
            _mm256_add_ps(acc[2], acc[3]),
        ));
        for j in groups..len {
            sum = tail(sum, a[j], b[j]);
        }
        sum
    }
}

/// # Safety
/// The CPU must have AVX2 and FMA ([`available`]); `a.len() == b.len()`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: the caller upholds `fold`'s contract (see above).
    unsafe {
        fold(
            a,
            b,
            |acc, x, y| _mm256_fmadd_ps(x, y, acc),
            |s, x, y| s + x * y,
        )
    }
}

/// # Safety
/// The CPU must have AVX2 and FMA ([`available`]); `a.len() == b.len()`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: the caller upholds `fold`'s contract (see above).
    unsafe {
        fold(
            a,
            b,
            |acc, x, y| {
                let d = _mm256_sub_ps(x, y);
                _mm256_fmadd_ps(d, d, acc)
            },
            |s, x, y| {
                let d = x - y;
                s + d * d
            },
        )
    }
}

/// # Safety
/// The CPU must have AVX2 and FMA ([`available`]); `a.len() == b.len()`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn l1(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: the caller upholds `fold`'s contract (see above).
    unsafe {
        // |d| by clearing the sign bit: andnot(-0.0, d).
        let sign = _mm256_set1_ps(-0.0);
        fold(
            a,
            b,
            |acc, x, y| _mm256_add_ps(acc, _mm256_andnot_ps(sign, _mm256_sub_ps(x, y))),
            |s, x, y| s + (x - y).abs(),
        )
    }
}
