//! [`WalOptions`], the tunables of a [`Wal`](super::Wal).

/// How a [`Wal`](super::Wal) lays out its segment files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalOptions {
    /// Target size of one segment file in bytes, header included. A record
    /// that would push the active segment past this size goes to a new
    /// segment; a record larger than the capacity gets a segment of its own.
    /// Any value is valid: 0 puts every record in its own file.
    pub segment_capacity_bytes: u64,

    /// Accepted for compatibility with Qdrant's WAL settings and ignored:
    /// segments are created on demand when the active one fills up, not
    /// pre-allocated ahead. Creating a file costs one file fsync and one
    /// directory fsync, paid by the append that triggers the rotation.
    pub segments_ahead: usize,
}

impl WalOptions {
    /// 32 MiB segments, Qdrant's default.
    pub const DEFAULT_SEGMENT_CAPACITY_BYTES: u64 = 32 * 1024 * 1024;
}

impl Default for WalOptions {
    fn default() -> WalOptions {
        WalOptions {
            segment_capacity_bytes: WalOptions::DEFAULT_SEGMENT_CAPACITY_BYTES,
            segments_ahead: 0,
        }
    }
}
