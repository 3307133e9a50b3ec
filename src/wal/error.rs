//! [`WalError`], the one error type of the WAL layer.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in the WAL.
///
/// Each variant says in its docs whose fault it is; [`WalError::is_user_fault`]
/// gives the same answer to code that maps errors to API statuses.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// The user's fault: a record is larger than
    /// [`MAX_RECORD_LEN`](super::MAX_RECORD_LEN). Nothing was written.
    #[error("record of {len} bytes exceeds the limit of {limit} bytes for WAL {dir}")]
    RecordTooLarge {
        dir: PathBuf,
        len: usize,
        limit: usize,
    },

    /// The service's fault: a file system operation failed. `op` is a verb
    /// phrase such as `"fsync segment"`.
    #[error("failed to {op} {path}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The service's fault: a segment file fails validation in a way a crash
    /// cannot explain (damage before the tail of the newest segment, a
    /// sequence gap between segments, a header that disagrees with the file
    /// name). `offset` is the byte offset of the first bad record or header.
    #[error("WAL file {path} is corrupted at byte offset {offset}: {reason}")]
    Corrupted {
        path: PathBuf,
        offset: u64,
        reason: &'static str,
    },

    /// The service's fault: a segment was written in a format version this
    /// build cannot read.
    #[error("WAL file {path} has format version {found}, this build reads version {supported}")]
    UnsupportedVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    /// The service's fault: an earlier fsync failed, or a failed write could
    /// not be rolled back, so the WAL can no longer promise durability and
    /// refuses appends and syncs. Reopening re-validates the files on disk.
    #[error("WAL {dir} refuses writes after an earlier write or fsync failure")]
    Poisoned { dir: PathBuf },
}

impl WalError {
    /// Whether the caller caused this error (bad input) rather than the
    /// service (storage failure, corruption).
    pub fn is_user_fault(&self) -> bool {
        match self {
            WalError::RecordTooLarge { .. } => true,
            WalError::Io { .. }
            | WalError::Corrupted { .. }
            | WalError::UnsupportedVersion { .. }
            | WalError::Poisoned { .. } => false,
        }
    }

    pub(super) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> WalError {
        WalError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
