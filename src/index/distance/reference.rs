//! f64 reference implementations of the kernels in [`super::simd`], and the
//! error bound the kernels are held to. Test-only.
//!
//! Each term is formed from the f32 inputs widened to f64, so the reference
//! is exact up to f64 roundoff (2⁻⁵³), far below the f32 error being checked.

/// `Σ aᵢ·bᵢ`.
pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// `Σ |aᵢ·bᵢ|`: the scale the dot product's rounding error is relative to
/// (the result itself can cancel to near zero).
pub fn dot_magnitude(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 * y as f64).abs())
        .sum()
}

/// `Σ (aᵢ − bᵢ)²`; all terms are non-negative, so it is its own magnitude.
pub fn l2_squared(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = x as f64 - y as f64;
            d * d
        })
        .sum()
}

/// `Σ |aᵢ − bᵢ|`; its own magnitude.
pub fn l1(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).abs())
        .sum()
}

/// `Σ aᵢ²`; its own magnitude.
pub fn norm_squared(a: &[f32]) -> f64 {
    a.iter().map(|&x| x as f64 * x as f64).sum()
}

/// The largest error allowed for a kernel over `len` elements whose terms
/// have absolute sum `magnitude`.
///
/// The standard bound for a summation tree is `γₕ · Σ|termᵢ|` with
/// `γₕ = h·u / (1 − h·u)`, `u = 2⁻²⁴` and `h` the most roundings any term
/// goes through. In [`super::simd`] that is at most `len / 32` FMAs along one
/// lane, up to 3 leftover 8-lane groups, 2 levels joining the accumulators,
/// 3 levels of the horizontal sum, up to 7 scalar tail additions, and up to
/// 3 roundings inside a term (the difference, the product, a separate add
/// where there is no FMA): `len / 32 + 18`, rounded up to `+ 20`. For the
/// proptest lengths (< 2000) that is below `5·10⁻⁶ · Σ|termᵢ|`.
///
/// The absolute part allows for underflow, where relative bounds stop
/// holding: each rounding can then lose up to the smallest normal f32.
pub fn tolerance(len: usize, magnitude: f64) -> f64 {
    let unit_roundoff = f64::from(f32::EPSILON) / 2.0;
    let h = (len / 32 + 20) as f64;
    let gamma = h * unit_roundoff / (1.0 - h * unit_roundoff);
    gamma * magnitude + (len as f64 + 20.0) * f64::from(f32::MIN_POSITIVE)
}
