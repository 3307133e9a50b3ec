//! The one error type of the settings module.
//!
//! Every variant is the operator's fault (a bad file, flag or variable) except
//! [`SettingsError::Assemble`], which also covers the odd case config-rs cannot
//! describe in terms of a key. The server prints the message and refuses to
//! start, so each message names what to fix: the file, the flag, or the full
//! dotted key and where its value came from.

use std::fmt;
use std::path::PathBuf;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// User's fault: `--config-path` names a file that does not exist.
    #[error("config file {} given by --config-path does not exist", path.display())]
    ConfigFileMissing { path: PathBuf },

    /// User's fault: a config file exists but could not be read or is not
    /// valid YAML. `file` is the path, or a label for the built-in defaults.
    #[error("cannot load config file {file}: {reason}")]
    File { file: String, reason: String },

    /// User's fault: `RUN_MODE` cannot name a file under `config/`.
    #[error("RUN_MODE {value:?}: {reason}")]
    RunMode { value: String, reason: &'static str },

    /// User's fault: a key holds a value of the wrong type or out of range.
    /// `key` is the full dotted path (`service.http_port`); `origin` is the
    /// file or environment variable that set the value, when known.
    #[error("{key}: {message}{}", OriginSuffix(origin.as_deref()))]
    InvalidValue {
        key: String,
        message: String,
        origin: Option<String>,
    },

    /// Anything else config-rs reports while merging the layers, such as an
    /// environment variable whose value is not Unicode.
    #[error("cannot assemble configuration: {0}")]
    Assemble(#[source] config::ConfigError),
}

impl SettingsError {
    /// A value that deserialized but breaks a rule; the origin is filled in
    /// later by the loader, which knows the merged tree.
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        SettingsError::InvalidValue {
            key: key.into(),
            message: message.into(),
            origin: None,
        }
    }
}

/// Renders ` (from <origin>)` or nothing, so the message reads the same with
/// and without an origin.
struct OriginSuffix<'a>(Option<&'a str>);

impl fmt::Display for OriginSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(origin) => write!(f, " (from {origin})"),
            None => Ok(()),
        }
    }
}
