//! Distance functions and their SIMD kernels.
//!
//! Scores follow Qdrant's conventions: `Cosine` and `Dot` are similarities
//! (higher is better); `Euclid` and `Manhattan` are distances (lower is
//! better), reported as the true distance (Euclid takes the square root).
//! Cosine vectors are normalised once, on write and on query, so scoring them
//! is a plain dot product.

use serde::{Deserialize, Serialize};

/// The metric a vector space is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Distance {
    Cosine,
    #[serde(alias = "Euclidean")]
    Euclid,
    Dot,
    Manhattan,
}

impl Distance {
    /// True where a lower score is a better match (distances, not similarities).
    pub fn is_ascending(self) -> bool {
        matches!(self, Distance::Euclid | Distance::Manhattan)
    }
}
