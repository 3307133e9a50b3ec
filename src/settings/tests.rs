//! Layering, environment parsing and error messages of the settings loader.
//!
//! Every test loads from a temporary `base_dir` and an injected environment
//! map, so none reads the real `config/` directory or the process
//! environment.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::*;

/// A temporary directory standing in for the server's working directory.
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().expect("create temp dir"),
        }
    }

    /// Writes `config/<name>` under the fixture directory.
    fn config_file(&self, name: &str, yaml: &str) -> PathBuf {
        let dir = self.dir.path().join("config");
        fs::create_dir_all(&dir).expect("create config dir");
        write(&dir.join(name), yaml)
    }

    /// Writes a file outside `config/`, as `--config-path` would name.
    fn other_file(&self, name: &str, yaml: &str) -> PathBuf {
        write(&self.dir.path().join(name), yaml)
    }

    /// Sources reading only this fixture and an empty environment.
    fn sources(&self) -> LoadSources {
        LoadSources {
            run_mode: None,
            config_path: None,
            env: Some(HashMap::new()),
            base_dir: Some(self.dir.path().to_path_buf()),
        }
    }

    fn load(&self) -> LoadedSettings {
        Settings::load_from(self.sources()).expect("settings load")
    }

    fn load_with_env(&self, vars: &[(&str, &str)]) -> Result<LoadedSettings, SettingsError> {
        Settings::load_from(LoadSources {
            env: Some(env(vars)),
            ..self.sources()
        })
    }
}

fn write(path: &Path, yaml: &str) -> PathBuf {
    fs::write(path, yaml).expect("write config file");
    path.to_path_buf()
}

fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
    vars.iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

fn error_text(result: Result<LoadedSettings, SettingsError>) -> String {
    result.expect_err("load should fail").to_string()
}

// ---- defaults ------------------------------------------------------------

#[test]
fn embedded_yaml_gives_the_documented_defaults() {
    let loaded = Fixture::new().load();
    let s = &loaded.settings;
    assert_eq!(s, &Settings::default());
    assert_eq!(s.log_level, "INFO");
    assert_eq!(s.service.host, "0.0.0.0");
    assert_eq!(s.service.http_port, 6333);
    assert_eq!(s.service.grpc_port, Some(6334));
    assert_eq!(s.service.max_request_size_mb, 32);
    assert!(s.service.enable_cors);
    assert_eq!(s.service.api_key, None);
    assert_eq!(s.storage.storage_path, PathBuf::from("./storage"));
    assert_eq!(s.storage.snapshots_path, PathBuf::from("./snapshots"));
    assert_eq!(s.storage.wal.wal_capacity_mb, 32);
    assert_eq!(s.storage.optimizers.deleted_threshold, 0.2);
    assert_eq!(s.storage.optimizers.indexing_threshold_kb, 10_000);
    assert_eq!(s.storage.optimizers.max_optimization_threads, None);
    assert_eq!(s.storage.hnsw_index.m, 16);
    assert_eq!(s.storage.hnsw_index.ef_construct, 100);
    assert_eq!(s.gpu.groups_count, 512);
    assert_eq!(s.gpu.devices, None);
    assert_eq!(loaded.run_mode, DEFAULT_RUN_MODE);
    assert!(loaded.files.is_empty());
    assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
}

/// Every setting is written out (and so documented) in config/config.yaml.
#[test]
fn embedded_yaml_lists_every_setting() {
    fn walk(json: &serde_json::Value, yaml: &serde_json::Value, prefix: &str) {
        let serde_json::Value::Object(fields) = json else {
            return;
        };
        for (name, value) in fields {
            let key = format!("{prefix}{name}");
            let in_yaml = yaml.get(name);
            assert!(
                in_yaml.is_some() || name.ends_with("api_key"),
                "{key} missing from config/config.yaml"
            );
            if let Some(in_yaml) = in_yaml {
                walk(value, in_yaml, &format!("{key}."));
            }
        }
    }
    let json = serde_json::to_value(Settings::default()).expect("serialize");
    let yaml: serde_json::Value = config::Config::builder()
        .add_source(config::File::from_str(
            DEFAULT_CONFIG_YAML,
            config::FileFormat::Yaml,
        ))
        .build()
        .and_then(|c| c.try_deserialize())
        .expect("parse embedded yaml");
    walk(&json, &yaml, "");
}

#[test]
fn shipped_run_mode_files_load() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for mode in ["development", "production"] {
        let loaded = Settings::load_from(LoadSources {
            run_mode: Some(mode.to_owned()),
            config_path: None,
            env: Some(HashMap::new()),
            base_dir: Some(repo.clone()),
        })
        .expect("shipped config loads");
        assert_eq!(loaded.files.len(), 2, "{mode}: {:?}", loaded.files);
        assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
    }
}

#[test]
fn settings_round_trip_through_json() {
    let settings = Settings::default();
    let json = serde_json::to_string(&settings).expect("serialize");
    let back: Settings = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, settings);
    // Collection-level configs fill missing fields from their defaults.
    let hnsw: HnswConfig = serde_json::from_str(r#"{"m": 32}"#).expect("deserialize");
    assert_eq!(hnsw.m, 32);
    assert_eq!(hnsw.ef_construct, HnswConfig::default().ef_construct);
}

// ---- layering ------------------------------------------------------------

#[test]
fn config_yaml_on_disk_overrides_embedded_defaults() {
    let fx = Fixture::new();
    let path = fx.config_file("config.yaml", "service:\n  http_port: 7000\n");
    let loaded = fx.load();
    assert_eq!(loaded.settings.service.http_port, 7000);
    // Keys the file does not mention keep their defaults.
    assert_eq!(loaded.settings.service.grpc_port, Some(6334));
    assert_eq!(loaded.files, vec![path]);
}

#[test]
fn run_mode_file_overrides_config_yaml() {
    let fx = Fixture::new();
    fx.config_file(
        "config.yaml",
        "service:\n  http_port: 7000\n  max_workers: 3\n",
    );
    fx.config_file("production.yaml", "service:\n  http_port: 7001\n");
    fx.config_file("development.yaml", "service:\n  http_port: 7002\n");
    let loaded = Settings::load_from(LoadSources {
        run_mode: Some("production".to_owned()),
        ..fx.sources()
    })
    .expect("load");
    assert_eq!(loaded.run_mode, "production");
    assert_eq!(loaded.settings.service.http_port, 7001);
    assert_eq!(loaded.settings.service.max_workers, 3);
}

#[test]
fn run_mode_defaults_to_development_and_is_read_from_env() {
    let fx = Fixture::new();
    fx.config_file("development.yaml", "service:\n  http_port: 7002\n");
    fx.config_file("staging.yaml", "service:\n  http_port: 7003\n");
    assert_eq!(fx.load().settings.service.http_port, 7002);
    let loaded = fx.load_with_env(&[("RUN_MODE", "staging")]).expect("load");
    assert_eq!(loaded.run_mode, "staging");
    assert_eq!(loaded.settings.service.http_port, 7003);
}

#[test]
fn config_path_overrides_run_mode_file() {
    let fx = Fixture::new();
    fx.config_file("development.yaml", "service:\n  http_port: 7002\n");
    let custom = fx.other_file("custom.yaml", "service:\n  http_port: 7004\n");
    let loaded = Settings::load_from(LoadSources {
        config_path: Some(custom.clone()),
        ..fx.sources()
    })
    .expect("load");
    assert_eq!(loaded.settings.service.http_port, 7004);
    assert_eq!(loaded.files.last(), Some(&custom));
}

#[test]
fn environment_overrides_every_file() {
    let fx = Fixture::new();
    fx.config_file("config.yaml", "service:\n  http_port: 7000\n");
    fx.config_file("development.yaml", "service:\n  http_port: 7002\n");
    let custom = fx.other_file("custom.yaml", "service:\n  http_port: 7004\n");
    let loaded = Settings::load_from(LoadSources {
        config_path: Some(custom),
        env: Some(env(&[
            ("QDRANT__SERVICE__HTTP_PORT", "7005"),
            ("QDRANT__STORAGE__STORAGE_PATH", "/tmp/x"),
        ])),
        ..fx.sources()
    })
    .expect("load");
    assert_eq!(loaded.settings.service.http_port, 7005);
    assert_eq!(
        loaded.settings.storage.storage_path,
        PathBuf::from("/tmp/x")
    );
}

#[test]
fn empty_section_in_a_file_keeps_lower_layers() {
    let fx = Fixture::new();
    fx.config_file("config.yaml", "gpu:\n  groups_count: 64\n");
    // All keys commented out: YAML reads `gpu` as null.
    fx.config_file("development.yaml", "gpu:\n  # indexing: true\n");
    assert_eq!(fx.load().settings.gpu.groups_count, 64);
}

#[test]
fn null_grpc_port_in_a_file_disables_grpc() {
    let fx = Fixture::new();
    fx.config_file("config.yaml", "service:\n  grpc_port: null\n");
    assert_eq!(fx.load().settings.service.grpc_port, None);
}

// ---- environment ---------------------------------------------------------

#[test]
fn environment_keys_are_case_insensitive() {
    let fx = Fixture::new();
    for name in [
        "QDRANT__SERVICE__HTTP_PORT",
        "qdrant__service__http_port",
        "Qdrant__Service__Http_Port",
    ] {
        let loaded = fx.load_with_env(&[(name, "7000")]).expect("load");
        assert_eq!(loaded.settings.service.http_port, 7000, "{name}");
    }
}

#[test]
fn environment_booleans_accept_numbers_and_words() {
    let fx = Fixture::new();
    for (value, expected) in [
        ("1", true),
        ("true", true),
        ("TRUE", true),
        ("0", false),
        ("false", false),
    ] {
        let loaded = fx
            .load_with_env(&[("QDRANT__GPU__INDEXING", value)])
            .expect("load");
        assert_eq!(loaded.settings.gpu.indexing, expected, "{value}");
    }
}

#[test]
fn environment_reaches_nested_sections() {
    let loaded = Fixture::new()
        .load_with_env(&[
            ("QDRANT__STORAGE__OPTIMIZERS__INDEXING_THRESHOLD_KB", "0"),
            ("QDRANT__STORAGE__OPTIMIZERS__DELETED_THRESHOLD", "0.5"),
            ("QDRANT__STORAGE__OPTIMIZERS__MAX_SEGMENT_SIZE_KB", "200000"),
            ("QDRANT__STORAGE__PERFORMANCE__OPTIMIZER_CPU_BUDGET", "-2"),
        ])
        .expect("load");
    let storage = &loaded.settings.storage;
    assert_eq!(storage.optimizers.indexing_threshold_kb, 0);
    assert_eq!(storage.optimizers.deleted_threshold, 0.5);
    assert_eq!(storage.optimizers.max_segment_size_kb, Some(200_000));
    assert_eq!(storage.performance.optimizer_cpu_budget, -2);
}

#[test]
fn environment_string_values_are_kept_verbatim() {
    let loaded = Fixture::new()
        .load_with_env(&[
            ("QDRANT__SERVICE__API_KEY", "007"),
            ("QDRANT__SERVICE__READ_ONLY_API_KEY", "1e3"),
            ("QDRANT__GPU__DEVICE_FILTER", "true"),
        ])
        .expect("load");
    let s = &loaded.settings;
    assert_eq!(s.service.api_key.as_deref(), Some("007"));
    assert_eq!(s.service.read_only_api_key.as_deref(), Some("1e3"));
    assert_eq!(s.gpu.device_filter, "true");
    // Keys stay out of logs.
    let debug = format!("{s:?}");
    assert!(!debug.contains("007") && !debug.contains("1e3"), "{debug}");
}

/// Every string setting must be read verbatim from the environment, or a
/// value such as `007` would arrive as `7`.
#[test]
fn every_string_setting_is_read_verbatim_from_env() {
    fn walk(json: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
        if let serde_json::Value::Object(fields) = json {
            for (name, value) in fields {
                walk(value, &format!("{prefix}{name}."), out);
            }
        } else if json.is_string() {
            out.push(prefix.trim_end_matches('.').to_owned());
        }
    }
    let mut strings = Vec::new();
    walk(
        &serde_json::to_value(Settings::default()).expect("serialize"),
        "",
        &mut strings,
    );
    assert!(strings.len() >= 5, "{strings:?}");
    for key in strings {
        assert!(
            load::VERBATIM_ENV_KEYS.contains(&key.as_str()),
            "{key} missing from VERBATIM_ENV_KEYS"
        );
    }
}

#[test]
fn empty_grpc_port_variable_disables_grpc() {
    let loaded = Fixture::new()
        .load_with_env(&[("QDRANT__SERVICE__GRPC_PORT", "")])
        .expect("load");
    assert_eq!(loaded.settings.service.grpc_port, None);
}

#[test]
fn empty_variable_means_null() {
    let fx = Fixture::new();
    fx.config_file(
        "config.yaml",
        "storage:\n  optimizers:\n    max_segment_size_kb: 100\n",
    );
    let loaded = fx
        .load_with_env(&[("QDRANT__STORAGE__OPTIMIZERS__MAX_SEGMENT_SIZE_KB", "")])
        .expect("load");
    assert_eq!(loaded.settings.storage.optimizers.max_segment_size_kb, None);
    // Where null is not allowed, the error says so.
    let text = error_text(fx.load_with_env(&[("QDRANT__SERVICE__HTTP_PORT", "")]));
    assert!(
        text.starts_with("service.http_port: invalid type: unit value, expected a port number"),
        "{text}"
    );
}

#[test]
fn gpu_devices_from_list_string_or_single_index() {
    let fx = Fixture::new();
    let from_env = |value: &str| {
        fx.load_with_env(&[("QDRANT__GPU__DEVICES", value)])
            .expect("load")
            .settings
            .gpu
            .devices
    };
    assert_eq!(from_env("0,2"), Some(vec![0, 2]));
    assert_eq!(from_env("1"), Some(vec![1]));
    assert_eq!(from_env(""), None);
    fx.config_file("config.yaml", "gpu:\n  devices: [3, 1]\n");
    assert_eq!(fx.load().settings.gpu.devices, Some(vec![3, 1]));
}

#[test]
fn gpu_device_filter_matches_any_pattern_ignoring_case() {
    let gpu = GpuConfig {
        device_filter: " nvidia, AMD ,".to_owned(),
        ..GpuConfig::default()
    };
    assert_eq!(gpu.device_filters(), vec!["nvidia", "amd"]);
    assert!(gpu.accepts_device_name("NVIDIA H100 80GB"));
    assert!(gpu.accepts_device_name("AMD Radeon"));
    assert!(!gpu.accepts_device_name("llvmpipe (LLVM 17.0.6, 256 bits)"));
    assert!(GpuConfig::default().accepts_device_name("anything"));
}

#[test]
fn unknown_keys_are_reported_not_fatal() {
    let fx = Fixture::new();
    let path = fx.config_file(
        "config.yaml",
        "cluster:\n  enabled: false\nstorage:\n  optimizers:\n    indexing_treshold_kb: 5\n",
    );
    let loaded = fx
        .load_with_env(&[("QDRANT__SERVICE__HTTP_PROT", "1")])
        .expect("load");
    let keys: Vec<_> = loaded.unknown_keys.iter().map(|k| k.to_string()).collect();
    let file = path.display();
    assert_eq!(
        keys,
        vec![
            format!("cluster (from {file})"),
            "service.http_prot (from environment variable QDRANT__SERVICE__HTTP_PROT)".to_owned(),
            format!("storage.optimizers.indexing_treshold_kb (from {file})"),
        ]
    );
}

// ---- errors --------------------------------------------------------------

#[test]
fn bad_port_string_names_the_key_and_variable() {
    let text = error_text(Fixture::new().load_with_env(&[("QDRANT__SERVICE__HTTP_PORT", "abc")]));
    assert_eq!(
        text,
        "service.http_port: invalid value \"abc\", expected a port number (1-65535) \
         (from environment variable QDRANT__SERVICE__HTTP_PORT)"
    );
}

#[test]
fn out_of_range_and_mistyped_ports_are_rejected() {
    let fx = Fixture::new();
    for value in ["70000", "0", "-1"] {
        let text = error_text(fx.load_with_env(&[("QDRANT__SERVICE__GRPC_PORT", value)]));
        assert!(
            text.starts_with("service.grpc_port: invalid value"),
            "{text}"
        );
    }
    fx.config_file("config.yaml", "service:\n  http_port: true\n");
    let text = error_text(Settings::load_from(fx.sources()));
    assert!(
        text.starts_with("service.http_port: invalid type: boolean"),
        "{text}"
    );
}

#[test]
fn type_error_in_a_file_names_the_key_and_file() {
    let fx = Fixture::new();
    let path = fx.config_file(
        "config.yaml",
        "storage:\n  wal:\n    wal_capacity_mb: lots\n",
    );
    let text = error_text(Settings::load_from(fx.sources()));
    assert_eq!(
        text,
        format!(
            "storage.wal.wal_capacity_mb: invalid type: string \"lots\", expected an integer \
             (from {})",
            path.display()
        )
    );
}

#[test]
fn invalid_gpu_values_name_the_key() {
    let fx = Fixture::new();
    let text = error_text(fx.load_with_env(&[("QDRANT__GPU__GROUPS_COUNT", "0")]));
    assert_eq!(
        text,
        "gpu.groups_count: must be at least 1 (from environment variable QDRANT__GPU__GROUPS_COUNT)"
    );
    let text = error_text(fx.load_with_env(&[("QDRANT__GPU__INDEXING", "maybe")]));
    assert!(
        text.starts_with("gpu.indexing: invalid type: string \"maybe\""),
        "{text}"
    );
    let text = error_text(fx.load_with_env(&[("QDRANT__GPU__DEVICES", "0,x")]));
    assert!(
        text.starts_with("gpu.devices: invalid value \"0,x\""),
        "{text}"
    );
    let text = error_text(fx.load_with_env(&[("QDRANT__GPU__DEVICES", "1,1")]));
    assert!(
        text.starts_with("gpu.devices: device index 1 is listed twice"),
        "{text}"
    );
    fx.config_file("config.yaml", "gpu:\n  devices: []\n");
    let text = error_text(Settings::load_from(fx.sources()));
    assert!(
        text.starts_with("gpu.devices: must list at least one"),
        "{text}"
    );
}

#[test]
fn range_rules_name_the_full_key() {
    let fx = Fixture::new();
    let cases = [
        (
            "QDRANT__STORAGE__OPTIMIZERS__DELETED_THRESHOLD",
            "1.5",
            "storage.optimizers.deleted_threshold: must be within 0..=1, got 1.5",
        ),
        (
            "QDRANT__STORAGE__HNSW_INDEX__EF_CONSTRUCT",
            "2",
            "storage.hnsw_index.ef_construct: must be at least 4",
        ),
        (
            "QDRANT__STORAGE__WAL__WAL_CAPACITY_MB",
            "0",
            "storage.wal.wal_capacity_mb: must be at least 1",
        ),
        (
            "QDRANT__SERVICE__GRPC_PORT",
            "6333",
            "service.grpc_port: must differ from service.http_port (6333)",
        ),
        (
            "QDRANT__SERVICE__API_KEY",
            "",
            "service.api_key: must not be empty",
        ),
        (
            "QDRANT__LOG_LEVEL",
            "INFOO",
            "log_level: invalid value \"INFOO\"",
        ),
    ];
    for (var, value, expected) in cases {
        let text = error_text(fx.load_with_env(&[(var, value)]));
        assert!(text.starts_with(expected), "{var}={value}: {text}");
        assert!(
            text.ends_with(&format!("(from environment variable {var})")),
            "{text}"
        );
    }
    let loaded = fx
        .load_with_env(&[("QDRANT__LOG_LEVEL", "warn,vecforge::wal=trace")])
        .expect("load");
    assert_eq!(loaded.settings.log_level, "warn,vecforge::wal=trace");
}

#[test]
fn missing_config_path_names_the_file() {
    let fx = Fixture::new();
    let missing = fx.dir.path().join("nope.yaml");
    let text = error_text(Settings::load_from(LoadSources {
        config_path: Some(missing.clone()),
        ..fx.sources()
    }));
    assert_eq!(
        text,
        format!(
            "config file {} given by --config-path does not exist",
            missing.display()
        )
    );
}

#[test]
fn malformed_yaml_names_the_file() {
    let fx = Fixture::new();
    let path = fx.config_file("development.yaml", "service: [unclosed\n");
    let text = error_text(Settings::load_from(fx.sources()));
    assert!(
        text.starts_with(&format!("cannot load config file {}: ", path.display())),
        "{text}"
    );
}

#[test]
fn run_mode_cannot_leave_the_config_dir() {
    let fx = Fixture::new();
    for mode in ["../etc/passwd", ".hidden", "a/b"] {
        let text = error_text(Settings::load_from(LoadSources {
            run_mode: Some(mode.to_owned()),
            ..fx.sources()
        }));
        assert!(text.starts_with(&format!("RUN_MODE {mode:?}: ")), "{text}");
    }
}
