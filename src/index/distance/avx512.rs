//! The distance kernels with AVX-512 intrinsics, for x86-64 CPUs that have
//! AVX-512F (Intel server CPUs since Skylake-SP, AMD since Zen 4).
//!
//! The loop has the shape of [`super::avx2`]'s, twice as wide: blocks of 64
//! floats in four independent 16-lane accumulators, then leftover whole
//! 16-lane groups into the first accumulator. The last `len % 16` elements
//! go through one masked load (lanes past the end read as zero and are
//! never touched in memory) into the second accumulator rather than a
//! scalar loop, so a 384-d vector is six iterations and no tail. The
//! longest chain of roundings is then `len / 64 + 3 + 1 + 2 + 4` (blocks,
//! groups, tail, combining accumulators, reducing lanes), within the bound
//! `super::simd` documents for every kernel, and the tests hold these to it.
//!
//! Every function here is `unsafe` for one reason: it must only run on a CPU
//! with AVX-512F, which [`available`] checks. Pointer reads stay inside the
//! slices given that `a.len() == b.len()`, which callers assert.

#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m512, __mmask16, _mm512_abs_ps, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps,
    _mm512_maskz_loadu_ps, _mm512_reduce_add_ps, _mm512_setzero_ps, _mm512_sub_ps,
};

/// Whether this CPU can run the kernels (std caches the CPUID answer).
#[inline]
pub fn available() -> bool {
    is_x86_feature_detected!("avx512f")
}

/// The shared loop; `step` folds one group of 16 into an accumulator.
/// Lanes a masked load leaves at zero must add nothing: true of a product,
/// a squared difference and an absolute difference of zeros.
#[inline(always)]
unsafe fn fold(a: &[f32], b: &[f32], step: impl Fn(__m512, __m512, __m512) -> __m512) -> f32 {
    let len = a.len();
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let blocks = len / 64 * 64;
    let groups = len / 16 * 16;
    // SAFETY: every full load reads 16 floats at an index `i` with
    // `i + 16 <= groups <= len == b.len()`, so it stays inside both slices;
    // the masked load enables only the `len - groups` lanes inside them and
    // masked-off lanes are not accessed (AVX-512 fault suppression).
    // Unaligned loads: no alignment is assumed.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut i = 0;
        while i < blocks {
            for (k, acc) in acc.iter_mut().enumerate() {
                let at = i + 16 * k;
                *acc = step(
                    *acc,
                    _mm512_loadu_ps(pa.add(at)),
                    _mm512_loadu_ps(pb.add(at)),
                );
            }
            i += 64;
        }
        while i < groups {
            acc[0] = step(
                acc[0],
                _mm512_loadu_ps(pa.add(i)),
                _mm512_loadu_ps(pb.add(i)),
            );
            i += 16;
        }
        let rest = len - groups;
        if rest > 0 {
            let mask: __mmask16 = (1u16 << rest) - 1;
            acc[1] = step(
                acc[1],
                _mm512_maskz_loadu_ps(mask, pa.add(groups)),
                _mm512_maskz_loadu_ps(mask, pb.add(groups)),
            );
        }
        _mm512_reduce_add_ps(_mm512_add_ps(
            _mm512_add_ps(acc[0], acc[1]),
            _mm512_add_ps(acc[2], acc[3]),
        ))
    }
}

/// # Safety
/// The CPU must have AVX-512F ([`available`]); `a.len() == b.len()`.
#[target_feature(enable = "avx512f")]
pub unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: the caller upholds `fold`'s contract (see above).
    unsafe { fold(a, b, |acc, x, y| _mm512_fmadd_ps(x, y, acc)) }
}

/// # Safety
/// The CPU must have AVX-512F ([`available`]); `a.len() == b.len()`.
#[target_feature(enable = "avx512f")]
pub unsafe fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: the caller upholds `fold`'s contract (see above).
    unsafe {
        fold(a, b, |acc, x, y| {
            let d = _mm512_sub_ps(x, y);
            _mm512_fmadd_ps(d, d, acc)
        })
    }
}

/// # Safety
/// The CPU must have AVX-512F ([`available`]); `a.len() == b.len()`.
#[target_feature(enable = "avx512f")]
pub unsafe fn l1(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: the caller upholds `fold`'s contract (see above).
    unsafe {
        fold(a, b, |acc, x, y| {
            _mm512_add_ps(acc, _mm512_abs_ps(_mm512_sub_ps(x, y)))
        })
    }
}
