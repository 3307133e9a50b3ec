//! Payload index durability at the collection level: old configs without
//! `payload_schema` load, and the segment (meta file plus WAL replay) is the
//! authority on indexes, so a lost config write is repaired on open.

mod common;

use std::collections::BTreeMap;

use serde_json::json;
use vecforge::collection::config::{CollectionConfig, VectorsConfig};
use vecforge::collection::operations::{PointInsert, UpdateOperation};
use vecforge::collection::Collection;
use vecforge::index::distance::Distance;
use vecforge::segment::payload_index::FieldSchema;
use vecforge::segment::point_id::PointId;

fn config() -> CollectionConfig {
    // A long flush interval keeps everything in the WAL until close.
    let mut config = common::collection_config(VectorsConfig::Single(Box::new(
        common::vector_params(2, Distance::Dot),
    )));
    config.optimizer_config.flush_interval_sec = 3600;
    config
}

fn point(id: u64, color: &str) -> PointInsert {
    PointInsert {
        id: PointId::Num(id),
        vectors: BTreeMap::from([(String::new(), vec![1.0, 0.0])]),
        payload: json!({ "color": color })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn configs_without_payload_schema_load_and_stay_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut value = serde_json::to_value(config()).expect("serialise");
    assert!(value.get("payload_schema").is_none());
    value
        .as_object_mut()
        .expect("object")
        .remove("payload_schema");
    std::fs::write(dir.path().join("config.json"), value.to_string()).expect("write");
    let loaded = CollectionConfig::load(dir.path()).expect("load");
    assert!(loaded.payload_schema.is_empty());
}

#[test]
fn indexes_survive_a_crash_and_a_lost_config_write() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("c");
    let crashed = dir.path().join("crashed");
    {
        let c = Collection::create(&path, "c", config()).expect("create");
        c.update(
            UpdateOperation::Upsert {
                points: vec![point(1, "red"), point(2, "blue")],
            },
            true,
        )
        .expect("upsert");
        let before_index = std::fs::read(path.join("config.json")).expect("read config");
        c.update(
            UpdateOperation::CreateFieldIndex {
                field_name: "color".into(),
                field_schema: FieldSchema::parse(&json!("keyword")).expect("schema"),
            },
            true,
        )
        .expect("create index");
        c.update(
            UpdateOperation::Upsert {
                points: vec![point(3, "red")],
            },
            true,
        )
        .expect("upsert");
        // A copy taken now, before any flush, is what a crash leaves: the
        // index exists only in the WAL. Lose its config write too.
        copy_dir(&path, &crashed);
        std::fs::write(crashed.join("config.json"), &before_index).expect("restore config");
        c.close();
        drop(c);
        // As if the config write after the WAL append had failed: the
        // flushed segment has the index, the config does not.
        std::fs::write(path.join("config.json"), before_index).expect("restore config");
    }
    let c = Collection::open(&crashed, "crashed").expect("open crashed copy");
    let infos = c.payload_indexes();
    assert_eq!(infos.len(), 1);
    assert_eq!(
        (infos[0].field_name.as_str(), infos[0].points),
        ("color", 3)
    );
    assert!(CollectionConfig::load(&crashed)
        .expect("load")
        .payload_schema
        .contains_key("color"));
    drop(c);
    let c = Collection::open(&path, "c").expect("reopen");
    let infos = c.payload_indexes();
    assert_eq!(infos.len(), 1);
    assert_eq!(
        (infos[0].field_name.as_str(), infos[0].points),
        ("color", 3)
    );
    assert!(c.config().payload_schema.contains_key("color"));
    let stored = CollectionConfig::load(&path).expect("load");
    assert!(stored.payload_schema.contains_key("color"));
}
