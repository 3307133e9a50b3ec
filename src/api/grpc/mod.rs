//! gRPC transport (tonic), wire-compatible with Qdrant: the services
//! `qdrant.Qdrant`, `qdrant.Collections` and `qdrant.Points` from the
//! messages and server traits that the `qdrant-client` crate generates, plus
//! `grpc.health.v1.Health`.
//!
//! Every RPC converts its message into the service layer's request model
//! ([`convert`]), runs the same [`crate::api::service`] function as REST on
//! a blocking thread, and converts the result back; errors map to a status
//! code in one place ([`status_of`]). As with REST, an update whose blocking
//! call has started is finished even when the client goes away or its
//! deadline passes.
//!
//! Around the services: API-key checks on the metadata (the same keys and
//! rules as REST), gzip in both directions, requests up to
//! `service.max_request_size_mb`, and an `Unimplemented` status that names
//! the RPC for everything not served.

#![deny(unsafe_code)]

mod collections;
pub mod convert;
mod points;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use qdrant_client::qdrant as pb;
use qdrant_client::qdrant::collections_server::CollectionsServer;
use qdrant_client::qdrant::points_server::PointsServer;
use qdrant_client::qdrant::qdrant_server::{Qdrant, QdrantServer};
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::service::Routes;
use tonic::{Code, Status};

use crate::api::auth::{ApiKeys, Denied};
use crate::api::service::{ApiError, Service};
use crate::collection::ErrorClass;

/// Transport options.
#[derive(Debug, Clone)]
pub struct GrpcOptions {
    pub max_request_size_bytes: usize,
    pub api_keys: ApiKeys,
}

/// The one mapping from the service's errors to gRPC status codes.
pub fn status_of(error: &ApiError) -> Status {
    let code = match error.class() {
        ErrorClass::BadInput | ErrorClass::Validation => Code::InvalidArgument,
        ErrorClass::NotFound => Code::NotFound,
        ErrorClass::Conflict => Code::AlreadyExists,
        ErrorClass::Precondition => Code::FailedPrecondition,
        ErrorClass::Unavailable => Code::Unavailable,
        ErrorClass::Internal => Code::Internal,
    };
    if code == Code::Internal {
        tracing::error!(%error, "gRPC request failed");
    }
    Status::new(code, error.to_string())
}

fn status_of_denied(denied: Denied) -> Status {
    match denied {
        Denied::Missing | Denied::Invalid => Status::unauthenticated(denied.message()),
        Denied::ReadOnly => Status::permission_denied(denied.message()),
    }
}

/// What every RPC handler shares: the service and a way to run on it.
#[derive(Debug, Clone)]
struct Handler {
    service: Service,
}

impl Handler {
    /// Runs `f` on the blocking pool within the request's deadline: the
    /// sooner of the message's `timeout` (seconds) and the `grpc-timeout`
    /// header. Returns the result and the seconds it took.
    async fn run<T, F>(
        &self,
        rpc: &'static str,
        metadata: &MetadataMap,
        timeout_s: Option<u64>,
        f: F,
    ) -> Result<(T, f64), Status>
    where
        T: Send + 'static,
        F: FnOnce(&Service) -> Result<T, ApiError> + Send + 'static,
    {
        let started = Instant::now();
        let service = self.service.clone();
        let task = tokio::task::spawn_blocking(move || f(&service));
        let deadline = [timeout_s.map(Duration::from_secs), grpc_timeout(metadata)]
            .into_iter()
            .flatten()
            .min();
        let joined = match deadline {
            None => task.await,
            Some(limit) => match tokio::time::timeout(limit, task).await {
                Ok(joined) => joined,
                Err(_) => {
                    return Err(Status::deadline_exceeded(format!(
                        "{rpc} did not finish within {limit:?}; an update that was accepted is still applied"
                    )))
                }
            },
        };
        let result = joined
            .unwrap_or_else(|e| Err(ApiError::Internal(format!("{rpc} handler failed: {e}"))));
        match result {
            Ok(value) => Ok((value, started.elapsed().as_secs_f64())),
            Err(e) => Err(status_of(&e)),
        }
    }
}

/// The `grpc-timeout` header: an integer and a unit (H, M, S, m, u, n).
fn grpc_timeout(metadata: &MetadataMap) -> Option<Duration> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// `Unimplemented`, naming the RPC, for a method of a served service that
/// VecForge does not support.
fn unsupported<T>(rpc: &str) -> Result<T, Status> {
    Err(Status::unimplemented(format!(
        "{rpc} is not supported by VecForge; see the README for the RPCs it serves"
    )))
}

#[tonic::async_trait]
impl Qdrant for Handler {
    async fn health_check(
        &self,
        _request: tonic::Request<pb::HealthCheckRequest>,
    ) -> Result<tonic::Response<pb::HealthCheckReply>, Status> {
        Ok(tonic::Response::new(pb::HealthCheckReply {
            title: crate::TITLE.to_string(),
            version: crate::QDRANT_COMPATIBLE_VERSION.to_string(),
            commit: option_env!("VECFORGE_COMMIT").map(str::to_string),
        }))
    }
}

/// RPCs that need no key: health checks, as on REST.
const OPEN_PREFIXES: &[&str] = &["/qdrant.Qdrant/", "/grpc.health.v1.Health/"];

/// RPCs the read-only key may call.
const READ_RPCS: &[&str] = &[
    "/qdrant.Collections/Get",
    "/qdrant.Collections/List",
    "/qdrant.Collections/ListCollectionAliases",
    "/qdrant.Collections/ListAliases",
    "/qdrant.Collections/CollectionExists",
    "/qdrant.Collections/CollectionClusterInfo",
    "/qdrant.Collections/ListShardKeys",
    "/qdrant.Points/Get",
    "/qdrant.Points/Scroll",
    "/qdrant.Points/Count",
    "/qdrant.Points/Search",
    "/qdrant.Points/SearchBatch",
    "/qdrant.Points/SearchGroups",
    "/qdrant.Points/Query",
    "/qdrant.Points/QueryBatch",
    "/qdrant.Points/QueryGroups",
    "/qdrant.Points/Recommend",
    "/qdrant.Points/RecommendBatch",
    "/qdrant.Points/RecommendGroups",
    "/qdrant.Points/Discover",
    "/qdrant.Points/DiscoverBatch",
    "/qdrant.Points/Facet",
    "/qdrant.Points/SearchMatrixPairs",
    "/qdrant.Points/SearchMatrixOffsets",
];

async fn authorize(State(keys): State<Arc<ApiKeys>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !keys.enabled() || OPEN_PREFIXES.iter().any(|p| path.starts_with(p)) {
        return next.run(req).await;
    }
    match keys.authorize(req.headers(), READ_RPCS.contains(&path)) {
        Ok(()) => next.run(req).await,
        Err(denied) => status_of_denied(denied)
            .into_http::<axum::body::Body>()
            .into_response(),
    }
}

/// Services that are not served at all (snapshots, cluster, raft, ...).
async fn unknown_service(uri: axum::http::Uri) -> Response {
    Status::unimplemented(format!(
        "{} is not supported by VecForge; see the README for the RPCs it serves",
        uri.path().trim_start_matches('/')
    ))
    .into_http::<axum::body::Body>()
    .into_response()
}

/// Every gRPC service, with keys, compression and size limits.
pub fn routes(service: Service, options: &GrpcOptions) -> Routes {
    let handler = Handler { service };
    let limit = options.max_request_size_bytes;
    macro_rules! configured {
        ($server:ty) => {
            <$server>::new(handler.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limit)
                .max_encoding_message_size(usize::MAX)
        };
    }
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    // Serving means serving everything; there is no partial readiness.
    drop(health_reporter);
    let router = Routes::new(configured!(QdrantServer<Handler>))
        .add_service(configured!(CollectionsServer<Handler>))
        .add_service(configured!(PointsServer<Handler>))
        .add_service(health_service)
        .into_axum_router()
        .fallback(unknown_service)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(options.api_keys.clone()),
            authorize,
        ));
    Routes::from(router)
}

/// Serves the gRPC API on `listener` until `shutdown` completes.
pub async fn serve(
    service: Service,
    options: &GrpcOptions,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .add_routes(routes(service, options))
        .serve_with_incoming_shutdown(
            // Without TCP_NODELAY a response written in more than one piece
            // waits for the client's delayed ACK: about 40 ms per query
            // that returns payloads (measured with benches/grpc_vs_rest.py).
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_units() {
        let mut m = MetadataMap::new();
        for (text, expected) in [
            ("2S", Duration::from_secs(2)),
            ("150m", Duration::from_millis(150)),
            ("1H", Duration::from_secs(3600)),
            ("7n", Duration::from_nanos(7)),
        ] {
            m.insert("grpc-timeout", text.parse().expect("ascii"));
            assert_eq!(grpc_timeout(&m), Some(expected), "{text}");
        }
        m.insert("grpc-timeout", "12x".parse().expect("ascii"));
        assert_eq!(grpc_timeout(&m), None);
    }

    #[test]
    fn every_error_class_has_a_code() {
        use crate::storage::StorageError;
        let cases = [
            (ApiError::BadInput("x".into()), Code::InvalidArgument),
            (ApiError::validation("f", "m"), Code::InvalidArgument),
            (ApiError::NotFound("x".into()), Code::NotFound),
            (
                ApiError::Storage(StorageError::CollectionExists("c".into())),
                Code::AlreadyExists,
            ),
            (ApiError::Precondition("x".into()), Code::FailedPrecondition),
            (
                ApiError::Storage(StorageError::Collection(
                    crate::collection::CollectionError::Closed("c".into()),
                )),
                Code::Unavailable,
            ),
            (ApiError::Internal("x".into()), Code::Internal),
        ];
        for (error, code) in cases {
            let status = status_of(&error);
            assert_eq!(status.code(), code, "{error}");
            assert_eq!(status.message(), error.to_string());
        }
        assert_eq!(
            status_of_denied(Denied::Missing).code(),
            Code::Unauthenticated
        );
        assert_eq!(
            status_of_denied(Denied::ReadOnly).code(),
            Code::PermissionDenied
        );
    }
}
