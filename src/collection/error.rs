//! Errors of the collection layer and how every engine error is classed.

use std::path::PathBuf;

use crate::segment::SegmentError;
use crate::wal::WalError;

/// Who is at fault, and so which status code a client sees. The API layer
/// maps each class exactly once per transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Malformed or contradictory request (400).
    BadInput,
    /// Well-formed request whose values fail validation (422).
    Validation,
    /// A collection, alias or point that does not exist (404).
    NotFound,
    /// The thing already exists (409).
    Conflict,
    /// Well-formed, but the collection is not in a state to answer it, e.g.
    /// it lacks an index the request needs (400 on REST, as in Qdrant;
    /// FailedPrecondition on gRPC).
    Precondition,
    /// The service cannot take the request right now (503).
    Unavailable,
    /// Our fault: I/O failure, corruption, a bug (500).
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum CollectionError {
    #[error("Wrong input: {0}")]
    BadInput(String),
    #[error("Validation error: {field}: {message}")]
    Validation { field: String, message: String },
    #[error("Not found: {0}")]
    NotFound(String),
    #[error("Service is shutting down: collection {0} no longer accepts requests")]
    Closed(String),
    #[error("WAL error: {0}")]
    Wal(#[from] WalError),
    #[error("Segment error: {0}")]
    Segment(#[from] SegmentError),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl CollectionError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        CollectionError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            CollectionError::BadInput(_) => ErrorClass::BadInput,
            CollectionError::Validation { .. } => ErrorClass::Validation,
            CollectionError::NotFound(_) => ErrorClass::NotFound,
            CollectionError::Closed(_) => ErrorClass::Unavailable,
            CollectionError::Wal(e) => match e.is_user_fault() {
                true => ErrorClass::BadInput,
                false => ErrorClass::Internal,
            },
            CollectionError::Segment(e) => match e {
                SegmentError::UnknownVector(_) | SegmentError::WrongDimension { .. } => {
                    ErrorClass::BadInput
                }
                SegmentError::Index { source, .. } => match source.is_user_fault() {
                    true => ErrorClass::BadInput,
                    false => ErrorClass::Internal,
                },
                SegmentError::Io { .. } | SegmentError::Corrupted { .. } => ErrorClass::Internal,
            },
            CollectionError::Io { .. } => ErrorClass::Internal,
        }
    }
}
