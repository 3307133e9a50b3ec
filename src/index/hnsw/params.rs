//! Build parameters of an HNSW graph.

use super::error::IndexError;

/// Upper bound on `m` and `m0`: link counts are stored as `u32` beside
/// fixed-size slots, and a node with thousands of links makes every hop of a
/// search cost thousands of distances, which is never what anyone wants.
pub const MAX_LINKS: usize = 4096;

/// Seed used when a collection does not set one, so that two servers given
/// the same points build the same graph.
pub const DEFAULT_SEED: u64 = 0x5EED_0F4E_5F0A_6E5D;

/// How a graph is built. The same parameters and vectors give the same
/// levels on every builder (see [`super::level`]) and, single-threaded, the
/// same graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HnswParams {
    /// Links per node on the upper layers (Qdrant's `m`). At least 2: the
    /// level distribution is `1 / ln(m)`.
    pub m: usize,
    /// Links per node on layer 0, usually `2 * m`: layer 0 holds every
    /// point, and more links there buy recall for little memory.
    pub m0: usize,
    /// Beam width while inserting (Qdrant's `ef_construct`).
    pub ef_construct: usize,
    /// Seeds the level of every point.
    pub seed: u64,
    /// Threads a build may use; 0 means one per core. 1 gives a
    /// deterministic build.
    pub max_threads: usize,
}

impl HnswParams {
    /// Parameters with `m0 = 2 * m`, the default seed and every core.
    pub fn new(m: usize, ef_construct: usize) -> Self {
        HnswParams {
            m,
            m0: 2 * m,
            ef_construct,
            seed: DEFAULT_SEED,
            max_threads: 0,
        }
    }

    /// Checks the ranges documented on each field.
    pub fn validate(&self) -> Result<(), IndexError> {
        let bad = |reason: String| Err(IndexError::InvalidParams(reason));
        if self.m < 2 || self.m > MAX_LINKS {
            return bad(format!("m must be in 2..={MAX_LINKS}, got {}", self.m));
        }
        if self.m0 < 1 || self.m0 > MAX_LINKS {
            return bad(format!("m0 must be in 1..={MAX_LINKS}, got {}", self.m0));
        }
        if self.ef_construct == 0 {
            return bad("ef_construct must be at least 1".to_owned());
        }
        Ok(())
    }

    /// Worker threads for a build: `max_threads`, or every core for 0.
    pub fn threads(&self) -> usize {
        match self.max_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// Qdrant's defaults (`m = 16`, `ef_construct = 100`).
impl Default for HnswParams {
    fn default() -> Self {
        HnswParams::new(16, 100)
    }
}
