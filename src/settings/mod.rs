//! Layered configuration, read once at start-up.
//!
//! The key names and defaults follow Qdrant's `config.yaml`, so a Qdrant
//! configuration file or `QDRANT__…` variable means the same thing here.
//! Layers, lowest priority first (see [`Settings::load_from`] for the API):
//!
//! 1. `config/config.yaml` compiled into the binary, so the server starts
//!    with complete defaults even without a `config/` directory;
//! 2. `config/config.yaml` in the working directory, if present;
//! 3. `config/{RUN_MODE}.yaml`, if present (`RUN_MODE` defaults to
//!    `development`);
//! 4. the file named by `--config-path`, which must exist;
//! 5. environment variables `QDRANT__SECTION__KEY`, case-insensitive.
//!
//! Later layers override single keys; sections merge key by key. The merged
//! tree is deserialized into [`Settings`] and then validated; a failure names
//! the full dotted key and the file or variable that set it.
//!
//! Unknown keys do not fail the load, they are returned in
//! [`LoadedSettings::unknown_keys`] for the caller to log once logging is up.
//! Qdrant ignores unknown keys, and failing would stop a Qdrant config file
//! that sets sections we do not implement yet (`cluster`, `tls`, …) from
//! working here; a warning still catches typos.
//!
//! The `*Config` structs are plain serde types whose `Default` equals the
//! shipped `config/config.yaml`; the collection layer reuses [`WalConfig`],
//! [`OptimizersConfig`] and [`HnswConfig`] as per-collection parameters.

#![deny(unsafe_code)]

mod error;
mod gpu;
mod load;
mod service;
mod storage;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;

pub use error::SettingsError;
pub use gpu::GpuConfig;
pub use load::{LoadSources, LoadedSettings, UnknownKey, DEFAULT_CONFIG_YAML, DEFAULT_RUN_MODE};
pub use service::ServiceConfig;
pub use storage::{HnswConfig, OptimizersConfig, PerformanceConfig, StorageConfig, WalConfig};

/// The whole server configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// A `tracing` filter: a level (`INFO`), optionally followed by
    /// per-module levels (`INFO,vecforge::wal=debug`).
    pub log_level: String,
    /// Network listeners and API keys.
    pub service: ServiceConfig,
    /// Data locations and collection defaults.
    pub storage: StorageConfig,
    /// GPU index building.
    pub gpu: GpuConfig,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            log_level: "INFO".to_owned(),
            service: ServiceConfig::default(),
            storage: StorageConfig::default(),
            gpu: GpuConfig::default(),
        }
    }
}

impl Settings {
    /// Checks every rule serde cannot express, reporting the first broken one
    /// by its full dotted key.
    pub fn validate(&self) -> Result<(), SettingsError> {
        validate_log_level(&self.log_level)?;
        self.service.validate("service")?;
        self.storage.validate("storage")?;
        self.gpu.validate("gpu")?;
        Ok(())
    }
}

/// Accepts what `main` will hand to [`EnvFilter`], but stricter about bare
/// words: `EnvFilter` reads `INFOO` as "everything from a module named INFOO",
/// which silences all logging without a word. Here a directive without `=`
/// must be a level.
fn validate_log_level(spec: &str) -> Result<(), SettingsError> {
    const KEY: &str = "log_level";
    if spec.trim().is_empty() {
        return Err(SettingsError::invalid(KEY, "must not be empty"));
    }
    for directive in spec.split(',').map(str::trim) {
        if !directive.is_empty()
            && !directive.contains('=')
            && directive.parse::<LevelFilter>().is_err()
        {
            return Err(SettingsError::invalid(
                KEY,
                format!(
                    "invalid value {directive:?}, expected a level (TRACE, DEBUG, INFO, WARN, \
                     ERROR, OFF) or a directive such as `vecforge::wal=debug`"
                ),
            ));
        }
    }
    EnvFilter::try_new(spec)
        .map(drop)
        .map_err(|e| SettingsError::invalid(KEY, format!("invalid filter {spec:?}: {e}")))
}
