//! `GET /telemetry`: what the server is and what it has done, including
//! whether HNSW graphs were built on a GPU.

use serde::Serialize;

use super::Service;
use crate::optimizer::gpu::GpuTelemetry;

#[derive(Debug, Serialize)]
pub struct Telemetry {
    pub app: AppTelemetry,
    pub collections: CollectionsTelemetry,
    pub gpu: GpuTelemetry,
}

#[derive(Debug, Serialize)]
pub struct AppTelemetry {
    pub name: &'static str,
    pub version: &'static str,
    /// The Qdrant API version this server follows.
    pub qdrant_api_version: &'static str,
    /// Whether this binary was built with the `gpu` feature.
    pub gpu_feature: bool,
}

#[derive(Debug, Serialize)]
pub struct CollectionsTelemetry {
    pub number_of_collections: usize,
}

impl Service {
    pub fn telemetry(&self) -> Telemetry {
        Telemetry {
            app: AppTelemetry {
                name: "vecforge",
                version: env!("CARGO_PKG_VERSION"),
                qdrant_api_version: crate::QDRANT_COMPATIBLE_VERSION,
                gpu_feature: cfg!(feature = "gpu"),
            },
            collections: CollectionsTelemetry {
                number_of_collections: self.storage.collection_names().len(),
            },
            gpu: self.gpu.snapshot(),
        }
    }
}
