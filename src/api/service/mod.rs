//! One function per API operation, shared by every transport.
//!
//! Functions here are synchronous (they take storage locks and may scan
//! segments); transports call them on a blocking thread. Request models are
//! Qdrant's JSON shapes; each handler validates what storage cannot (names,
//! selectors) and converts models into engine operations.

pub mod collections;
pub mod error;
pub mod points;
pub mod query;
pub mod selectors;

use std::sync::Arc;

use crate::collection::config::{HnswConfig, OptimizersConfig, WalConfig};
use crate::storage::Storage;
pub use error::ApiError;

/// Collection settings used where a create request leaves them out.
#[derive(Debug, Clone)]
pub struct CollectionDefaults {
    pub hnsw: HnswConfig,
    pub optimizers: OptimizersConfig,
    pub wal: WalConfig,
}

/// Shared state behind every transport.
#[derive(Debug, Clone)]
pub struct Service {
    pub storage: Arc<Storage>,
    pub defaults: Arc<CollectionDefaults>,
}

/// Parses a JSON body into `T`, naming the offending field on failure.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match path.as_str() {
            "." | "" => ApiError::Format(inner.to_string()),
            _ => ApiError::Format(format!("{path}: {inner}")),
        }
    })
}
