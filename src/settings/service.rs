//! `service`: where the REST and gRPC listeners bind and who may call them.
//!
//! Ports get their own deserializers: config-rs would otherwise turn `true`
//! into port 1 and round `6333.7` to 6334, and a port that is silently wrong
//! is worse than a server that refuses to start.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::SettingsError;

/// What a port error says the value should have been.
const EXPECTED_PORT: &str = "a port number (1-65535)";

/// Network listeners, request limits and API keys.
///
/// `Debug` is written by hand so that logging the settings at start-up never
/// prints an API key.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceConfig {
    /// Address both listeners bind to.
    pub host: String,
    /// REST port.
    #[serde(deserialize_with = "port")]
    pub http_port: u16,
    /// gRPC port; `None` disables the gRPC listener.
    #[serde(deserialize_with = "optional_port")]
    pub grpc_port: Option<u16>,
    /// Largest accepted request body, in MiB.
    pub max_request_size_mb: usize,
    /// Whether the REST API sends permissive CORS headers.
    pub enable_cors: bool,
    /// Key required on every request (`api-key` header); `None` disables
    /// authentication.
    pub api_key: Option<String>,
    /// Key that grants read-only access; `None` disables it.
    pub read_only_api_key: Option<String>,
    /// Threads serving the API; 0 picks the number of CPUs.
    pub max_workers: usize,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            host: "0.0.0.0".to_owned(),
            http_port: 6333,
            grpc_port: Some(6334),
            max_request_size_mb: 32,
            enable_cors: true,
            api_key: None,
            read_only_api_key: None,
            max_workers: 0,
        }
    }
}

impl fmt::Debug for ServiceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |key: &Option<String>| key.as_ref().map(|_| "<redacted>");
        f.debug_struct("ServiceConfig")
            .field("host", &self.host)
            .field("http_port", &self.http_port)
            .field("grpc_port", &self.grpc_port)
            .field("max_request_size_mb", &self.max_request_size_mb)
            .field("enable_cors", &self.enable_cors)
            .field("api_key", &redact(&self.api_key))
            .field("read_only_api_key", &redact(&self.read_only_api_key))
            .field("max_workers", &self.max_workers)
            .finish()
    }
}

impl ServiceConfig {
    /// Checks the rules serde cannot express; keys are reported under `prefix`.
    pub(crate) fn validate(&self, prefix: &str) -> Result<(), SettingsError> {
        if self.host.trim().is_empty() {
            return Err(SettingsError::invalid(
                format!("{prefix}.host"),
                "must not be empty",
            ));
        }
        if self.grpc_port == Some(self.http_port) {
            return Err(SettingsError::invalid(
                format!("{prefix}.grpc_port"),
                format!("must differ from {prefix}.http_port ({})", self.http_port),
            ));
        }
        if self.max_request_size_mb == 0 {
            return Err(SettingsError::invalid(
                format!("{prefix}.max_request_size_mb"),
                "must be at least 1",
            ));
        }
        // An empty key is rejected rather than read as "no key": it usually
        // means `QDRANT__SERVICE__API_KEY=$SECRET` with `SECRET` unset, and
        // silently dropping authentication is the worst reading of that.
        for (field, key) in [
            ("api_key", &self.api_key),
            ("read_only_api_key", &self.read_only_api_key),
        ] {
            if key.as_deref().is_some_and(|k| k.trim().is_empty()) {
                return Err(SettingsError::invalid(
                    format!("{prefix}.{field}"),
                    "must not be empty; remove the key to disable it",
                ));
            }
        }
        // With both keys equal, a read-only caller could not be told apart
        // from a full-access one.
        if self.api_key.is_some() && self.api_key == self.read_only_api_key {
            return Err(SettingsError::invalid(
                format!("{prefix}.read_only_api_key"),
                format!("must differ from {prefix}.api_key"),
            ));
        }
        Ok(())
    }
}

/// Deserializes a port from an integer or a numeric string.
fn port<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    deserializer.deserialize_any(PortVisitor)
}

/// Deserializes an optional port; null is `None`.
fn optional_port<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u16>, D::Error> {
    deserializer.deserialize_any(OptionalPortVisitor)
}

struct PortVisitor;

impl PortVisitor {
    fn check<E: de::Error>(value: impl fmt::Display, port: Option<u16>) -> Result<u16, E> {
        match port {
            Some(port) if port != 0 => Ok(port),
            _ => Err(E::custom(format_args!(
                "invalid value {value}, expected {EXPECTED_PORT}"
            ))),
        }
    }
}

impl<'de> Visitor<'de> for PortVisitor {
    type Value = u16;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED_PORT)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u16, E> {
        Self::check(v, u16::try_from(v).ok())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u16, E> {
        Self::check(v, u16::try_from(v).ok())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u16, E> {
        Self::check(format_args!("{v:?}"), v.trim().parse::<u16>().ok())
    }
}

struct OptionalPortVisitor;

impl<'de> Visitor<'de> for OptionalPortVisitor {
    type Value = Option<u16>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{EXPECTED_PORT} or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<u16>, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<u16>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<u16>, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<u16>, E> {
        PortVisitor.visit_u64(v).map(Some)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<u16>, E> {
        PortVisitor.visit_i64(v).map(Some)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<u16>, E> {
        PortVisitor.visit_str(v).map(Some)
    }
}
