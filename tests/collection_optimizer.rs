//! The background optimizer at the collection level: segments get indexed
//! while the collection stays searchable, a reopened collection maps its
//! graphs instead of rebuilding them, readers never see a point missing or
//! twice during a swap, changed HNSW parameters rebuild the graphs, and a
//! copy of the directory taken mid-optimization (what a crash leaves)
//! opens consistent and finishes the work.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use vecforge::collection::config::{CollectionConfig, HnswConfigDiff, VectorsConfig};
use vecforge::collection::operations::{PointInsert, PointsSelector, UpdateOperation};
use vecforge::collection::optimization::{CollectionStatus, OptimizerReport};
use vecforge::collection::{Collection, SearchRequest};
use vecforge::index::distance::Distance;
use vecforge::optimizer::planner::OptimizerKind;
use vecforge::segment::payload::Payload;
use vecforge::segment::point_id::PointId;

const DIM: usize = 32;

/// Points around 20 random centres, deterministic (xorshift).
fn clustered(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed.max(1);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..20)
        .map(|_| (0..DIM).map(|_| next() * 4.0).collect())
        .collect();
    (0..n)
        .map(|i| centres[i % 20].iter().map(|c| c + next()).collect())
        .collect()
}

fn config(indexing_threshold_kb: usize) -> CollectionConfig {
    let vectors = VectorsConfig::Single(Box::new(common::vector_params(
        DIM as u64,
        Distance::Cosine,
    )));
    let mut config = common::collection_config(vectors);
    config.optimizer_config.indexing_threshold = Some(indexing_threshold_kb);
    config.optimizer_config.default_segment_number = 2;
    config.hnsw_config.full_scan_threshold = 1;
    config
}

fn upsert(c: &Collection, vectors: &[Vec<f32>], first_id: u64, wait: bool) {
    let points = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let id = first_id + i as u64;
            let mut payload = Payload::new();
            payload.insert("id".into(), json!(id));
            PointInsert {
                id: PointId::Num(id),
                vectors: BTreeMap::from([(String::new(), v.clone())]),
                payload,
            }
        })
        .collect();
    c.update(UpdateOperation::Upsert { points }, wait)
        .expect("upsert");
}

/// Returns once everything queued before it is applied.
fn barrier(c: &Collection) {
    c.update(
        UpdateOperation::Delete {
            selector: PointsSelector::Ids(vec![PointId::Num(u64::MAX)]),
        },
        true,
    )
    .expect("barrier");
}

fn wait_green(c: &Collection, limit: Duration) -> OptimizerReport {
    let deadline = Instant::now() + limit;
    loop {
        let report = c.optimizer_report();
        assert_eq!(report.error, None, "optimizer failed: {report:?}");
        if report.status == CollectionStatus::Green {
            return report;
        }
        assert!(Instant::now() < deadline, "not green in time: {report:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn search(c: &Collection, query: &[f32], exact: bool, limit: usize) -> Vec<PointId> {
    c.search(&SearchRequest {
        vector_name: String::new(),
        vector: query.to_vec(),
        filter: None,
        limit,
        offset: 0,
        score_threshold: None,
        hnsw_ef: Some(64),
        exact,
    })
    .expect("search")
    .into_iter()
    .map(|p| p.id)
    .collect()
}

fn recall_at_10(c: &Collection, queries: &[Vec<f32>]) -> f64 {
    let mut hits = 0;
    for q in queries {
        let truth: BTreeSet<PointId> = search(c, q, true, 10).into_iter().collect();
        hits += search(c, q, false, 10)
            .iter()
            .filter(|id| truth.contains(id))
            .count();
    }
    hits as f64 / (10 * queries.len()) as f64
}

fn graph_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("segments"))
        .expect("segments dir")
        .flat_map(|s| std::fs::read_dir(s.expect("entry").path()).expect("segment dir"))
        .filter(|f| {
            f.as_ref()
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .ends_with(".hnsw")
        })
        .count()
}

#[test]
fn indexes_in_the_background_and_reopens_without_rebuilding() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("c");
    // Queries from the same clusters as the points, held out.
    let mut vectors = clustered(4050, 7);
    let queries = vectors.split_off(4000);
    let before;
    {
        // 100 KB is 800 points of 32 floats: several segments get indexed.
        let c = Collection::create(&path, "c", config(100)).expect("create");
        for (i, chunk) in vectors.chunks(250).enumerate() {
            upsert(&c, chunk, (i * 250) as u64, false);
        }
        barrier(&c);
        let report = wait_green(&c, Duration::from_secs(120));
        assert!(
            report.completed.iter().all(|j| j.status == "done"),
            "{report:?}"
        );
        assert!(report
            .completed
            .iter()
            .any(|j| j.kind == OptimizerKind::Indexing));
        assert_eq!(c.points_count(), 4000);
        assert_eq!(c.indexed_vectors_count(), 4000);
        // Two sealed segments at most, plus the (empty) appendable one.
        assert!(c.segments_count() <= 3, "{} segments", c.segments_count());
        let recall = recall_at_10(&c, &queries);
        assert!(recall >= 0.95, "recall@10 {recall}");
        before = queries
            .iter()
            .map(|q| search(&c, q, false, 10))
            .collect::<Vec<_>>();
    }
    let graphs = graph_files(&path);
    assert!(graphs >= 1);
    let c = Collection::open(&path, "c").expect("reopen");
    let report = c.optimizer_report();
    assert_eq!(report.status, CollectionStatus::Green, "{report:?}");
    assert!(report.queued.is_empty() && report.running.is_empty());
    assert_eq!(c.indexed_vectors_count(), 4000);
    assert_eq!(graph_files(&path), graphs, "graphs rebuilt on open");
    let after: Vec<_> = queries.iter().map(|q| search(&c, q, false, 10)).collect();
    assert_eq!(after, before);
}

#[test]
fn readers_never_see_a_point_missing_or_twice_during_optimizations() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = Arc::new(Collection::create(&dir.path().join("c"), "c", config(40)).expect("create"));
    let vectors = clustered(3000, 3);
    upsert(&c, &vectors, 0, true);
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (c, stop) = (c.clone(), stop.clone());
        let query = vectors[0].clone();
        std::thread::spawn(move || {
            let expected: Vec<PointId> = (0..3000).map(PointId::Num).collect();
            let mut rounds = 0;
            while !stop.load(Ordering::Relaxed) {
                let (ids, next) = c.scroll(None, None, 10_000);
                assert_eq!(next, None);
                assert_eq!(ids, expected, "scroll during optimization");
                assert_eq!(c.count(None), 3000);
                let mut found = search(&c, &query, true, 3000);
                found.sort();
                assert_eq!(found, expected, "exact search during optimization");
                rounds += 1;
            }
            rounds
        })
    };
    wait_green(&c, Duration::from_secs(120));
    stop.store(true, Ordering::Relaxed);
    let rounds = reader.join().expect("reader");
    assert!(rounds > 0);
    assert_eq!(c.indexed_vectors_count(), 3000);
}

#[test]
fn changed_hnsw_parameters_rebuild_the_graphs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = Collection::create(&dir.path().join("c"), "c", config(40)).expect("create");
    upsert(&c, &clustered(1500, 5), 0, true);
    wait_green(&c, Duration::from_secs(60));
    c.update_config(|config| {
        config.hnsw_config.apply(&HnswConfigDiff {
            m: Some(8),
            ..Default::default()
        });
        Ok(())
    })
    .expect("patch");
    let report = wait_green(&c, Duration::from_secs(60));
    assert!(
        report
            .completed
            .iter()
            .any(|j| j.kind == OptimizerKind::ConfigMismatch && j.status == "done"),
        "{report:?}"
    );
    assert_eq!(c.indexed_vectors_count(), 1500);
}

#[test]
fn a_copy_taken_mid_optimization_opens_consistent_and_finishes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("c");
    let crashed = dir.path().join("crashed");
    let vectors = clustered(6000, 11);
    {
        let mut config = config(100);
        config.hnsw_config.ef_construct = 400;
        config.hnsw_config.max_indexing_threads = 1;
        let c = Collection::create(&path, "c", config).expect("create");
        upsert(&c, &vectors, 0, true);
        // Wait for a build to be running, then change some points under it.
        let deadline = Instant::now() + Duration::from_secs(60);
        while c.optimizer_report().running.is_empty() {
            assert!(Instant::now() < deadline, "no optimization started");
            std::thread::sleep(Duration::from_millis(2));
        }
        c.update(
            UpdateOperation::Delete {
                selector: PointsSelector::Ids((0..100).map(PointId::Num).collect()),
            },
            true,
        )
        .expect("delete");
        assert!(
            !c.optimizer_report().running.is_empty(),
            "build finished too soon to test"
        );
        copy_dir(&path, &crashed);
    }
    let c = Collection::open(&crashed, "crashed").expect("open the copy");
    assert_eq!(c.points_count(), 5900);
    let ids: Vec<PointId> = c.scroll(None, None, 10_000).0;
    assert_eq!(ids, (100..6000).map(PointId::Num).collect::<Vec<_>>());
    let p = &c.retrieve(&[PointId::Num(4321)])[0];
    assert_eq!(p.payload.get("id"), Some(&json!(4321)));
    wait_green(&c, Duration::from_secs(120));
    assert_eq!(c.indexed_vectors_count(), 5900);
    assert_eq!(c.points_count(), 5900);
}

/// Copies a live collection directory the way a crash leaves it: the WAL
/// first, then the config and manifest, then the segments, so that the WAL
/// copy holds every operation after the copied manifest's version.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    let Ok(entries) = std::fs::read_dir(from) else {
        // Removed meanwhile (a replaced segment): a crash would not have it.
        return;
    };
    let mut entries: Vec<_> = entries.map(|e| e.expect("entry")).collect();
    entries.sort_by_key(|e| match e.file_name().to_str() {
        Some("wal") => 0,
        Some("segments") => 2,
        _ => 1,
    });
    for entry in entries {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            match std::fs::copy(entry.path(), &target) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("copy {}: {e}", entry.path().display()),
            }
        }
    }
}
