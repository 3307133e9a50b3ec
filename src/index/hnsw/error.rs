//! The one error type of the HNSW index.
//!
//! Each variant says whose fault it is, so that the layers above (optimizer,
//! collection) can class it without looking inside: see
//! [`IndexError::is_user_fault`].

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// User's fault: index parameters out of range (`m < 2`, `ef_construct
    /// == 0`, ...), as they come from a collection's `hnsw_config`.
    #[error("invalid HNSW parameters: {0}")]
    InvalidParams(String),
    /// User's fault: the vectors handed to a build do not fit the index
    /// (more points than a `u32` offset addresses, zero dimensions).
    #[error("cannot index these vectors: {0}")]
    InvalidVectors(String),
    /// Nobody's fault: the caller raised the cancel flag (an optimization
    /// superseded, the service shutting down). The partial graph is dropped.
    #[error("HNSW build cancelled")]
    Cancelled,
    /// Service's fault: the worker threads of a build could not be started.
    #[error("cannot start HNSW build threads: {0}")]
    ThreadPool(String),
    /// Service's fault: reading or writing a graph file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Service's fault: a graph file does not read back as written (bad
    /// magic, checksum, or links that point nowhere).
    #[error("corrupted HNSW graph file {path}: {reason}")]
    Corrupted { path: PathBuf, reason: String },
    /// Service's fault: a graph file written by another version of the
    /// format, which this build cannot read.
    #[error("HNSW graph file {path} has format version {found}, this build reads {supported}")]
    UnsupportedVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
}

impl IndexError {
    /// True where the request (its parameters or data) was wrong, false
    /// where the service failed or the job was cancelled.
    pub fn is_user_fault(&self) -> bool {
        match self {
            IndexError::InvalidParams(_) | IndexError::InvalidVectors(_) => true,
            IndexError::Cancelled
            | IndexError::ThreadPool(_)
            | IndexError::Io { .. }
            | IndexError::Corrupted { .. }
            | IndexError::UnsupportedVersion { .. } => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IndexError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupted(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        IndexError::Corrupted {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
