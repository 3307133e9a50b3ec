//! `storage`: where data lives and the defaults every new collection starts
//! from.
//!
//! [`WalConfig`], [`OptimizersConfig`] and [`HnswConfig`] are also what the
//! collection layer stores per collection, so they stay plain serde types:
//! no custom deserializers, every field public, and `Default` equal to what
//! `config/config.yaml` ships (a test holds the two together). Sizes follow
//! Qdrant's unit: 1 KB is about one 256-dimensional `f32` vector.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::SettingsError;

/// Storage locations and the server-wide defaults for collections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageConfig {
    /// Directory holding every collection; relative paths are resolved
    /// against the working directory of the server process.
    pub storage_path: PathBuf,
    /// Directory holding snapshots.
    pub snapshots_path: PathBuf,
    /// Write-ahead-log defaults for new collections.
    pub wal: WalConfig,
    /// Optimizer defaults for new collections.
    pub optimizers: OptimizersConfig,
    /// HNSW index defaults for new collections.
    pub hnsw_index: HnswConfig,
    /// Thread budgets shared by all collections.
    pub performance: PerformanceConfig,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            storage_path: PathBuf::from("./storage"),
            snapshots_path: PathBuf::from("./snapshots"),
            wal: WalConfig::default(),
            optimizers: OptimizersConfig::default(),
            hnsw_index: HnswConfig::default(),
            performance: PerformanceConfig::default(),
        }
    }
}

impl StorageConfig {
    /// Checks the rules serde cannot express; keys are reported under `prefix`.
    pub(crate) fn validate(&self, prefix: &str) -> Result<(), SettingsError> {
        for (field, path) in [
            ("storage_path", &self.storage_path),
            ("snapshots_path", &self.snapshots_path),
        ] {
            if path.as_os_str().is_empty() {
                return Err(SettingsError::invalid(
                    format!("{prefix}.{field}"),
                    "must not be empty",
                ));
            }
        }
        self.wal.validate(&format!("{prefix}.wal"))?;
        self.optimizers.validate(&format!("{prefix}.optimizers"))?;
        self.hnsw_index.validate(&format!("{prefix}.hnsw_index"))?;
        Ok(())
    }
}

/// Write-ahead-log sizing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WalConfig {
    /// Size of one WAL segment file, in MiB.
    pub wal_capacity_mb: usize,
    /// Segment files to create before they are needed, so an append never
    /// waits for a file to be allocated.
    pub wal_segments_ahead: usize,
}

impl Default for WalConfig {
    fn default() -> Self {
        WalConfig {
            wal_capacity_mb: 32,
            wal_segments_ahead: 0,
        }
    }
}

impl WalConfig {
    /// Checks the rules serde cannot express; keys are reported under `prefix`.
    pub fn validate(&self, prefix: &str) -> Result<(), SettingsError> {
        if self.wal_capacity_mb == 0 {
            return Err(SettingsError::invalid(
                format!("{prefix}.wal_capacity_mb"),
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// When the background optimizer vacuums, merges and indexes segments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OptimizersConfig {
    /// Fraction of deleted points in a segment, in `0..=1`, above which the
    /// segment is rewritten without them.
    pub deleted_threshold: f64,
    /// Segments with fewer points than this are never vacuumed: rewriting
    /// them costs more than the space it frees.
    pub vacuum_min_vector_number: usize,
    /// Number of segments the optimizer aims for; 0 picks from the CPU count.
    pub default_segment_number: usize,
    /// Largest segment the optimizer builds, in KB; `None` picks from the
    /// CPU count.
    pub max_segment_size_kb: Option<usize>,
    /// Segments larger than this (KB) keep their vectors in memory-mapped
    /// files instead of RAM; `None` never switches.
    pub memmap_threshold_kb: Option<usize>,
    /// Segments larger than this (KB) get an HNSW index; smaller ones are
    /// searched exhaustively. 0 disables indexing.
    pub indexing_threshold_kb: usize,
    /// Seconds between forced flushes of segments to disk.
    pub flush_interval_sec: u64,
    /// Optimization jobs run at once per shard; `None` lets the optimizer
    /// saturate the CPU budget, 0 turns optimization off.
    pub max_optimization_threads: Option<usize>,
}

impl Default for OptimizersConfig {
    fn default() -> Self {
        OptimizersConfig {
            deleted_threshold: 0.2,
            vacuum_min_vector_number: 1000,
            default_segment_number: 0,
            max_segment_size_kb: None,
            memmap_threshold_kb: None,
            indexing_threshold_kb: 10_000,
            flush_interval_sec: 5,
            max_optimization_threads: None,
        }
    }
}

impl OptimizersConfig {
    /// Checks the rules serde cannot express; keys are reported under `prefix`.
    pub fn validate(&self, prefix: &str) -> Result<(), SettingsError> {
        // `contains` is false for NaN as well, which is what we want.
        if !(0.0..=1.0).contains(&self.deleted_threshold) {
            return Err(SettingsError::invalid(
                format!("{prefix}.deleted_threshold"),
                format!("must be within 0..=1, got {}", self.deleted_threshold),
            ));
        }
        if self.max_segment_size_kb == Some(0) {
            return Err(SettingsError::invalid(
                format!("{prefix}.max_segment_size_kb"),
                "must be at least 1, or null to choose automatically",
            ));
        }
        if self.flush_interval_sec == 0 {
            return Err(SettingsError::invalid(
                format!("{prefix}.flush_interval_sec"),
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// How HNSW graphs are built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HnswConfig {
    /// Links per node. More links: better recall, more memory. 0 builds no
    /// graph for the vectors themselves (only `payload_m` graphs).
    pub m: usize,
    /// Candidates examined while linking a new node. Larger: better graph,
    /// slower build.
    pub ef_construct: usize,
    /// Below this many KB of candidate vectors, the query planner scans
    /// exhaustively instead of walking the graph.
    pub full_scan_threshold_kb: usize,
    /// Threads for one index build; 0 picks from the CPU count.
    pub max_indexing_threads: usize,
    /// Keep the graph in memory-mapped files instead of RAM.
    pub on_disk: bool,
    /// Links per node in the graphs built per payload value; `None` uses `m`.
    pub payload_m: Option<usize>,
}

impl Default for HnswConfig {
    fn default() -> Self {
        HnswConfig {
            m: 16,
            ef_construct: 100,
            full_scan_threshold_kb: 10_000,
            max_indexing_threads: 0,
            on_disk: false,
            payload_m: None,
        }
    }
}

impl HnswConfig {
    /// Smallest `ef_construct` accepted; below it the candidate list is too
    /// short to find good neighbours and the graph degrades.
    pub const MIN_EF_CONSTRUCT: usize = 4;

    /// Checks the rules serde cannot express; keys are reported under `prefix`.
    pub fn validate(&self, prefix: &str) -> Result<(), SettingsError> {
        if self.ef_construct < Self::MIN_EF_CONSTRUCT {
            return Err(SettingsError::invalid(
                format!("{prefix}.ef_construct"),
                format!("must be at least {}", Self::MIN_EF_CONSTRUCT),
            ));
        }
        Ok(())
    }
}

/// Thread budgets shared by all collections. Every default is 0, "choose
/// from the CPU count".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PerformanceConfig {
    /// Threads for search; 0 picks from the CPU count.
    pub max_search_threads: usize,
    /// Threads for all optimizations of one collection; 0 picks from the CPU
    /// count. Older Qdrant files set it; `optimizer_cpu_budget` is the newer
    /// knob.
    pub max_optimization_threads: usize,
    /// CPUs one optimization job may use: 0 picks automatically and leaves
    /// some CPUs free, a positive value is used as is, a negative value is
    /// subtracted from the CPU count.
    pub optimizer_cpu_budget: isize,
}
