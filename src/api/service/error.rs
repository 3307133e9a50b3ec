//! The one error type the transports see from the service layer.

use crate::collection::{CollectionError, ErrorClass};
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed request: bad JSON, wrong types. Names the field.
    #[error("Format error in JSON body: {0}")]
    Format(String),
    #[error("Wrong input: {0}")]
    BadInput(String),
    #[error("Validation error: {field}: {message}")]
    Validation { field: String, message: String },
    #[error("Not found: {0}")]
    NotFound(String),
    #[error("Bad request: {0}")]
    Precondition(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("Service internal error: {0}")]
    Internal(String),
}

impl From<CollectionError> for ApiError {
    fn from(e: CollectionError) -> Self {
        ApiError::Storage(StorageError::Collection(e))
    }
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            ApiError::Format(_) | ApiError::BadInput(_) => ErrorClass::BadInput,
            ApiError::Validation { .. } => ErrorClass::Validation,
            ApiError::NotFound(_) => ErrorClass::NotFound,
            ApiError::Precondition(_) => ErrorClass::Precondition,
            ApiError::Storage(e) => e.class(),
            ApiError::Internal(_) => ErrorClass::Internal,
        }
    }
}
