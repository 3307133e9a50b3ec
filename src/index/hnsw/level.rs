//! Deterministic level assignment.
//!
//! HNSW draws each point's top layer from a geometric distribution:
//! `level = floor(-ln(u) / ln(m))` with `u` uniform in (0, 1]. Instead of a
//! random generator whose state depends on insertion order, `u` is a hash of
//! `(seed, offset)`, so any builder (threads in any order, a GPU builder)
//! gives every point the same level. Builders must call [`level`] rather
//! than re-derive it: the float logarithm is only guaranteed to round the
//! same way on the same platform, and levels are cheap to compute on the
//! host and hand to a device.

use crate::segment::point_id::PointOffset;

/// Highest level ever assigned. `u ≥ 2⁻⁵³` bounds `-ln(u) / ln(2)` by 53
/// anyway; the cap keeps upper-layer tables small for pathological `m`.
pub const MAX_LEVEL: usize = 32;

/// SplitMix64's finaliser: a bijection on `u64` whose output bits each
/// depend on every input bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The top layer of the point at `offset`, for a graph with `m` links per
/// upper-layer node (`m ≥ 2`; smaller values are treated as 2).
///
/// `h = mix(seed ⊕ mix(offset + φ))` with φ the 64-bit golden ratio;
/// `u = (h >> 11 + 1) · 2⁻⁵³`, uniform on (0, 1];
/// `level = min(floor(-ln(u) / ln(m)), MAX_LEVEL)`.
pub fn level(seed: u64, offset: PointOffset, m: usize) -> usize {
    let h = mix(seed ^ mix(u64::from(offset.0).wrapping_add(0x9E37_79B9_7F4A_7C15)));
    let u = ((h >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64);
    let multiplier = 1.0 / (m.max(2) as f64).ln();
    let level = (-u.ln() * multiplier).floor();
    // `level` is finite and ≥ 0 (u in (0, 1]), so the cast is exact.
    (level as usize).min(MAX_LEVEL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_is_geometric() {
        let m = 16;
        let n = 200_000u32;
        let mut counts = [0usize; MAX_LEVEL + 1];
        for i in 0..n {
            counts[level(42, PointOffset(i), m)] += 1;
        }
        // P(level ≥ l) = m^-l: about n/16 points reach level 1, n/256 level 2.
        let at_least = |l: usize| counts[l..].iter().sum::<usize>() as f64 / n as f64;
        assert!((at_least(1) - 1.0 / 16.0).abs() < 0.005, "{counts:?}");
        assert!((at_least(2) - 1.0 / 256.0).abs() < 0.001, "{counts:?}");
    }

    #[test]
    fn depends_on_seed_and_offset_only() {
        let a: Vec<usize> = (0..1000).map(|i| level(7, PointOffset(i), 16)).collect();
        let b: Vec<usize> = (0..1000).map(|i| level(7, PointOffset(i), 16)).collect();
        let c: Vec<usize> = (0..1000).map(|i| level(8, PointOffset(i), 16)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
