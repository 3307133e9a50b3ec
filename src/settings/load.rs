//! Reading the configuration layers and merging them into [`Settings`].
//!
//! Each layer is collected on its own first, so a read or parse failure names
//! its file, and every value is tagged with where it came from (a file path or
//! `environment variable QDRANT__…`). config-rs then merges the layers, later
//! ones overriding single keys, and deserializes the result. Errors are
//! rewritten to `full.key: what is wrong (from origin)`.
//!
//! Two config-rs behaviours are corrected here:
//! * An optional file that exists but cannot be read would be skipped as if
//!   absent; we test for existence ourselves and read present files as
//!   required, so a permission error stops the start.
//! * A YAML section whose keys are all commented out (`gpu:` alone) parses as
//!   null and would wipe the section set by lower layers; such null sections
//!   are dropped, so an empty section means "no overrides".

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use config::{Config, ConfigError, Environment, File, FileFormat, Map, Source, Value, ValueKind};
use serde_json::Value as JsonValue;

use super::{Settings, SettingsError};

/// The shipped `config/config.yaml`, compiled in as the lowest layer.
pub const DEFAULT_CONFIG_YAML: &str = include_str!("../../config/config.yaml");

/// `RUN_MODE` when the variable is unset or empty.
pub const DEFAULT_RUN_MODE: &str = "development";

/// Variables `QDRANT__SECTION__KEY` set `section.key`, as in Qdrant.
const ENV_PREFIX: &str = "QDRANT";
const ENV_SEPARATOR: &str = "__";
const RUN_MODE_VAR: &str = "RUN_MODE";
const CONFIG_DIR: &str = "config";
const EMBEDDED_ORIGIN: &str = "built-in config/config.yaml";

/// Keys of string type whose environment values are kept exactly as written.
/// config-rs's `try_parsing` (needed so `1` reads as `true` and numbers as
/// numbers) would turn an API key `007` into `7` and `1e3` into `1000`.
pub(super) const VERBATIM_ENV_KEYS: &[&str] = &[
    "log_level",
    "service.host",
    "service.api_key",
    "service.read_only_api_key",
    "storage.storage_path",
    "storage.snapshots_path",
    "gpu.device_filter",
];

/// Where [`Settings::load_from`] reads from. `Default` reads what
/// [`Settings::load`] reads, without a `--config-path` file.
#[derive(Debug, Clone, Default)]
pub struct LoadSources {
    /// Selects `config/{run_mode}.yaml`. `None` takes `RUN_MODE` from `env`
    /// (or the process environment when `env` is `None`), falling back to
    /// [`DEFAULT_RUN_MODE`].
    pub run_mode: Option<String>,
    /// The `--config-path` file; it must exist.
    pub config_path: Option<PathBuf>,
    /// Environment variables to read instead of the process environment, so
    /// tests need not mutate it.
    pub env: Option<HashMap<String, String>>,
    /// Directory containing `config/`; `None` is the working directory.
    pub base_dir: Option<PathBuf>,
}

/// The outcome of a successful load.
#[derive(Debug, Clone)]
pub struct LoadedSettings {
    /// The merged and validated settings.
    pub settings: Settings,
    /// The `RUN_MODE` that selected the overlay file.
    pub run_mode: String,
    /// Files read from disk, lowest priority first (the built-in defaults are
    /// not listed).
    pub files: Vec<PathBuf>,
    /// Keys set by some layer that no setting reads, sorted by key. Returned
    /// rather than logged because logging is configured from the settings.
    pub unknown_keys: Vec<UnknownKey>,
}

impl LoadedSettings {
    /// Logs what was loaded and one warning per unknown key; call once the
    /// subscriber built from [`Settings::log_level`] is installed.
    pub fn log_summary(&self) {
        tracing::info!(run_mode = %self.run_mode, files = ?self.files, "configuration loaded");
        for unknown in &self.unknown_keys {
            tracing::warn!("ignoring unknown configuration key {unknown}");
        }
    }
}

/// A key no setting reads, with the file or variable that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// Full dotted key, e.g. `storage.optimizers.indexing_treshold_kb`.
    pub key: String,
    /// The file or environment variable that set it, when known.
    pub origin: Option<String>,
}

impl fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(origin) => write!(f, "{} (from {origin})", self.key),
            None => f.write_str(&self.key),
        }
    }
}

impl Settings {
    /// Loads the settings the server runs with: the layers described in the
    /// [module docs](super), reading `RUN_MODE` and `QDRANT__…` variables from
    /// the process environment and `config/` from the working directory.
    pub fn load(config_path: Option<&Path>) -> Result<LoadedSettings, SettingsError> {
        Self::load_from(LoadSources {
            config_path: config_path.map(Path::to_path_buf),
            ..LoadSources::default()
        })
    }

    /// Loads the settings from explicit sources; see [`LoadSources`].
    pub fn load_from(sources: LoadSources) -> Result<LoadedSettings, SettingsError> {
        let LoadSources {
            run_mode,
            config_path,
            env,
            base_dir,
        } = sources;
        let run_mode = resolve_run_mode(run_mode, env.as_ref())?;
        let config_dir = base_dir.unwrap_or_default().join(CONFIG_DIR);
        let schema = schema(&Settings::default())?;

        let mut layers = vec![embedded_layer(&schema)?];
        let mut files = Vec::new();
        for path in [
            config_dir.join("config.yaml"),
            config_dir.join(format!("{run_mode}.yaml")),
        ] {
            if path.exists() {
                layers.push(file_layer(&path, &schema)?);
                files.push(path);
            }
        }
        if let Some(path) = config_path {
            if !path.exists() {
                return Err(SettingsError::ConfigFileMissing { path });
            }
            layers.push(file_layer(&path, &schema)?);
            files.push(path);
        }
        layers.push(env_layer(env.as_ref())?);

        let config = layers
            .into_iter()
            .fold(Config::builder(), |builder, layer| {
                builder.add_source(layer)
            })
            .build()
            .map_err(SettingsError::Assemble)?;
        let tree = Value::new(
            None,
            ValueKind::Table(config.collect().map_err(SettingsError::Assemble)?),
        );
        let settings: Settings = config
            .try_deserialize()
            .map_err(|e| describe_config_error(e, &tree))?;
        settings.validate().map_err(|e| add_origin(e, &tree))?;
        let unknown_keys = unknown_keys(&tree, &schema);

        Ok(LoadedSettings {
            settings,
            run_mode,
            files,
            unknown_keys,
        })
    }
}

/// Picks the run mode and checks that it can only name a file directly
/// under `config/`.
fn resolve_run_mode(
    explicit: Option<String>,
    env: Option<&HashMap<String, String>>,
) -> Result<String, SettingsError> {
    let from_env = match env {
        Some(vars) => vars.get(RUN_MODE_VAR).cloned(),
        None => match std::env::var_os(RUN_MODE_VAR) {
            None => None,
            Some(value) => Some(
                value
                    .into_string()
                    .map_err(|value| SettingsError::RunMode {
                        value: value.to_string_lossy().into_owned(),
                        reason: "must be valid Unicode",
                    })?,
            ),
        },
    };
    let mode = explicit
        .or(from_env)
        .filter(|mode| !mode.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_RUN_MODE.to_owned());
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !mode.chars().all(allowed) || mode.starts_with('.') {
        return Err(SettingsError::RunMode {
            value: mode,
            reason: "must be a file name: letters, digits, '-', '_' and '.', not starting with '.'",
        });
    }
    Ok(mode)
}

/// The key tree of [`Settings`], from its serialized form: objects are
/// sections, anything else is a setting.
fn schema(settings: &Settings) -> Result<serde_json::Map<String, JsonValue>, SettingsError> {
    match serde_json::to_value(settings) {
        Ok(JsonValue::Object(map)) => Ok(map),
        Ok(_) => Ok(serde_json::Map::new()),
        Err(e) => Err(SettingsError::Assemble(ConfigError::Foreign(Box::new(e)))),
    }
}

/// One collected layer, handed to config-rs for merging.
#[derive(Debug, Clone)]
struct Layer(Map<String, Value>);

impl Source for Layer {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, ConfigError> {
        Ok(self.0.clone())
    }
}

impl Layer {
    /// A layer from a parsed file: values tagged with `origin`, null sections
    /// dropped.
    fn from_file(
        mut map: Map<String, Value>,
        origin: &str,
        schema: &serde_json::Map<String, JsonValue>,
    ) -> Layer {
        drop_null_sections(&mut map, schema);
        let origin = origin.to_owned();
        Layer(
            map.into_iter()
                .map(|(key, value)| (key, retag(value, &origin)))
                .collect(),
        )
    }
}

fn embedded_layer(schema: &serde_json::Map<String, JsonValue>) -> Result<Layer, SettingsError> {
    let map = File::from_str(DEFAULT_CONFIG_YAML, FileFormat::Yaml)
        .collect()
        .map_err(|e| SettingsError::File {
            file: EMBEDDED_ORIGIN.to_owned(),
            reason: file_error_reason(e),
        })?;
    Ok(Layer::from_file(map, EMBEDDED_ORIGIN, schema))
}

fn file_layer(
    path: &Path,
    schema: &serde_json::Map<String, JsonValue>,
) -> Result<Layer, SettingsError> {
    let file = path.display().to_string();
    // The format is fixed rather than guessed from the extension: YAML also
    // reads JSON, and a `--config-path` without `.yaml` should still load.
    let map = File::from(path.to_path_buf())
        .format(FileFormat::Yaml)
        .required(true)
        .collect()
        .map_err(|e| SettingsError::File {
            file: file.clone(),
            reason: file_error_reason(e),
        })?;
    Ok(Layer::from_file(map, &file, schema))
}

/// The `QDRANT__…` variables as one layer, each value tagged with the
/// variable that set it.
fn env_layer(env: Option<&HashMap<String, String>>) -> Result<Layer, SettingsError> {
    let source: Option<Map<String, String>> = env.map(|vars| {
        vars.iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    });
    let base = Environment::with_prefix(ENV_PREFIX)
        .prefix_separator(ENV_SEPARATOR)
        .separator(ENV_SEPARATOR)
        .source(source);
    let mut values = base
        .clone()
        .try_parsing(true)
        .collect()
        .map_err(SettingsError::Assemble)?;
    let raw = base.collect().map_err(SettingsError::Assemble)?;
    for (key, value) in values.iter_mut() {
        if VERBATIM_ENV_KEYS.contains(&key.as_str()) {
            if let Some(raw_value) = raw.get(key) {
                *value = raw_value.clone();
            }
        } else if matches!(&value.kind, ValueKind::String(s) if s.is_empty()) {
            // A variable cannot hold YAML's null; an empty value stands in
            // for it (`QDRANT__SERVICE__GRPC_PORT=` turns gRPC off). String
            // keys are exempt so an empty API key is rejected, not dropped.
            value.kind = ValueKind::Nil;
        }
    }
    Ok(Layer(
        values
            .into_iter()
            .map(|(key, value)| {
                let origin = format!("environment variable {}", env_var_name(&key));
                let value = retag(value, &origin);
                (key, value)
            })
            .collect(),
    ))
}

/// The canonical variable for a dotted key; config-rs lower-cases the name
/// it read, so the original spelling is lost.
fn env_var_name(key: &str) -> String {
    format!(
        "{ENV_PREFIX}{ENV_SEPARATOR}{}",
        key.to_uppercase().replace('.', ENV_SEPARATOR)
    )
}

/// `value` and everything below it, with `origin` as its origin.
fn retag(value: Value, origin: &String) -> Value {
    let kind = match value.kind {
        ValueKind::Table(table) => ValueKind::Table(
            table
                .into_iter()
                .map(|(key, value)| (key, retag(value, origin)))
                .collect(),
        ),
        ValueKind::Array(items) => {
            ValueKind::Array(items.into_iter().map(|item| retag(item, origin)).collect())
        }
        other => other,
    };
    Value::new(Some(origin), kind)
}

/// Removes null values where the schema has a section; see the module docs.
fn drop_null_sections(map: &mut Map<String, Value>, schema: &serde_json::Map<String, JsonValue>) {
    map.retain(|key, value| match (schema.get(key), &mut value.kind) {
        (Some(JsonValue::Object(_)), ValueKind::Nil) => false,
        (Some(JsonValue::Object(section)), ValueKind::Table(table)) => {
            drop_null_sections(table, section);
            true
        }
        _ => true,
    });
}

/// The file-level part of a config-rs error; the path is added by the caller.
fn file_error_reason(error: ConfigError) -> String {
    match error {
        ConfigError::FileParse { cause, .. } => cause.to_string(),
        ConfigError::Foreign(cause) => cause.to_string(),
        other => other.to_string(),
    }
}

/// Rewrites a deserialization error as `key: message (from origin)`.
/// config-rs records the dotted key in `Type` and `At` errors.
fn describe_config_error(error: ConfigError, tree: &Value) -> SettingsError {
    let (key, message, origin) = match error {
        ConfigError::Type {
            origin,
            unexpected,
            expected,
            key: Some(key),
        } => (
            key,
            format!("invalid type: {unexpected}, expected {expected}"),
            origin,
        ),
        ConfigError::At {
            error,
            origin,
            key: Some(key),
        } => (key, error.to_string(), origin),
        ConfigError::NotFound(key) => (key, "missing".to_owned(), None),
        other => return SettingsError::Assemble(other),
    };
    let origin = origin_of(tree, &key).or(origin);
    SettingsError::InvalidValue {
        key,
        message,
        origin,
    }
}

/// Fills in where a value that failed validation came from.
fn add_origin(error: SettingsError, tree: &Value) -> SettingsError {
    match error {
        SettingsError::InvalidValue {
            key,
            message,
            origin: None,
        } => {
            let origin = origin_of(tree, &key);
            SettingsError::InvalidValue {
                key,
                message,
                origin,
            }
        }
        other => other,
    }
}

/// The origin of the value at a dotted key such as `gpu.devices[1]`; list
/// elements report the origin of their list.
fn origin_of(tree: &Value, key: &str) -> Option<String> {
    let mut node = tree;
    for segment in key.split('.') {
        let name = segment.split('[').next().unwrap_or(segment);
        match &node.kind {
            ValueKind::Table(table) => node = table.get(name)?,
            _ => return None,
        }
    }
    any_origin(node)
}

/// The origin of `value`, or of some value inside it: config-rs rebuilds
/// tables while merging and leaves them without an origin.
fn any_origin(value: &Value) -> Option<String> {
    if let Some(origin) = value.origin() {
        return Some(origin.to_owned());
    }
    match &value.kind {
        ValueKind::Table(table) => table.values().find_map(any_origin),
        ValueKind::Array(items) => items.iter().find_map(any_origin),
        _ => None,
    }
}

/// Keys in the merged tree that the schema does not have, sorted.
fn unknown_keys(tree: &Value, schema: &serde_json::Map<String, JsonValue>) -> Vec<UnknownKey> {
    fn walk(
        table: &Map<String, Value>,
        schema: &serde_json::Map<String, JsonValue>,
        prefix: &str,
        found: &mut Vec<UnknownKey>,
    ) {
        for (name, value) in table {
            let key = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            match (schema.get(name), &value.kind) {
                (None, _) => found.push(UnknownKey {
                    key,
                    origin: any_origin(value),
                }),
                (Some(JsonValue::Object(section)), ValueKind::Table(table)) => {
                    walk(table, section, &key, found);
                }
                (Some(_), _) => {}
            }
        }
    }

    let mut found = Vec::new();
    if let ValueKind::Table(table) = &tree.kind {
        walk(table, schema, "", &mut found);
    }
    found.sort_by(|a, b| a.key.cmp(&b.key));
    found
}
