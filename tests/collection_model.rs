//! Property test: random sequences of upserts, deletes, payload operations,
//! optimizations and restarts applied to a collection and to a plain
//! `HashMap` model must never diverge (points, payloads, vectors, counts,
//! scroll order, exact and HNSW search results).
//!
//! The collection indexes every segment of 4 points or more (1 KB of 64-d
//! vectors), vacuums and merges down to two sealed segments, so its
//! background optimizer seals, copies, builds graphs and swaps segments
//! while the operations go on; `Optimize` also waits until it is idle.

mod common;

use std::collections::{BTreeMap, HashMap};

use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::json;
use vecforge::collection::operations::{PointInsert, PointsSelector, UpdateOperation};
use vecforge::collection::optimization::CollectionStatus;
use vecforge::collection::{Collection, SearchRequest};
use vecforge::index::distance::Distance;
use vecforge::segment::filter::Filter;
use vecforge::segment::payload::Payload;
use vecforge::segment::point_id::PointId;

/// Distinct values per vector; each is repeated to [`STORED_DIM`].
const DIM: usize = 4;
const STORED_DIM: usize = 64;

#[derive(Debug, Clone)]
enum Op {
    Upsert(Vec<(u64, [i8; DIM], Option<i64>)>, bool),
    Delete(Vec<u64>, bool),
    DeleteWhereA(i64),
    SetA(u64, i64),
    SetB(u64, String),
    OverwriteB(u64, String),
    DeleteKeyA(u64),
    Clear(u64),
    UpdateVector(u64, [i8; DIM]),
    Restart,
    Optimize,
}

fn op() -> impl Strategy<Value = Op> {
    let id = 0u64..24;
    let vec = prop::array::uniform4(-5i8..=5);
    prop_oneof![
        4 => (prop::collection::vec((id.clone(), vec.clone(), prop::option::of(0i64..4)), 1..6), any::<bool>())
            .prop_map(|(p, w)| Op::Upsert(p, w)),
        2 => (prop::collection::vec(id.clone(), 1..4), any::<bool>()).prop_map(|(ids, w)| Op::Delete(ids, w)),
        1 => (0i64..4).prop_map(Op::DeleteWhereA),
        1 => (id.clone(), 0i64..4).prop_map(|(i, a)| Op::SetA(i, a)),
        1 => (id.clone(), "[a-c]{1,2}").prop_map(|(i, s)| Op::SetB(i, s)),
        1 => (id.clone(), "[a-c]{1,2}").prop_map(|(i, s)| Op::OverwriteB(i, s)),
        1 => id.clone().prop_map(Op::DeleteKeyA),
        1 => id.clone().prop_map(Op::Clear),
        1 => (id, vec.clone()).prop_map(|(i, v)| Op::UpdateVector(i, v)),
        1 => Just(Op::Restart),
        1 => Just(Op::Optimize),
    ]
}

type Model = HashMap<u64, (Vec<f32>, Payload)>;

fn a_filter(a: i64) -> Filter {
    serde_json::from_value(json!({"must": [{"key": "a", "match": {"value": a}}]}))
        .expect("filter parses")
}

fn vector(v: &[i8; DIM]) -> Vec<f32> {
    v.iter()
        .map(|x| *x as f32)
        .cycle()
        .take(STORED_DIM)
        .collect()
}

fn one(v: Vec<f32>) -> BTreeMap<String, Vec<f32>> {
    BTreeMap::from([(String::new(), v)])
}

/// Applies `op` to both; returns false for a restart (handled by caller).
fn apply(c: &Collection, model: &mut Model, op: &Op) {
    let ids = |ids: &[u64]| PointsSelector::Ids(ids.iter().map(|i| PointId::Num(*i)).collect());
    match op {
        Op::Upsert(points, wait) => {
            let mut inserts = Vec::new();
            for (id, v, a) in points {
                let mut payload = Payload::new();
                if let Some(a) = a {
                    payload.insert("a".into(), json!(a));
                }
                inserts.push(PointInsert {
                    id: PointId::Num(*id),
                    vectors: one(vector(v)),
                    payload: payload.clone(),
                });
                model.insert(*id, (vector(v), payload));
            }
            c.update(UpdateOperation::Upsert { points: inserts }, *wait)
                .expect("upsert");
        }
        Op::Delete(list, wait) => {
            for id in list {
                model.remove(id);
            }
            c.update(
                UpdateOperation::Delete {
                    selector: ids(list),
                },
                *wait,
            )
            .expect("delete");
        }
        Op::DeleteWhereA(a) => {
            model.retain(|_, (_, p)| p.get("a") != Some(&json!(a)));
            c.update(
                UpdateOperation::Delete {
                    selector: PointsSelector::Filter(a_filter(*a)),
                },
                true,
            )
            .expect("delete");
        }
        Op::SetA(id, _)
        | Op::SetB(id, _)
        | Op::OverwriteB(id, _)
        | Op::DeleteKeyA(id)
        | Op::Clear(id) => {
            let exists = model.contains_key(id);
            let payload: Payload = match op {
                Op::SetA(_, a) => [("a".to_string(), json!(a))].into_iter().collect(),
                Op::SetB(_, s) | Op::OverwriteB(_, s) => {
                    [("b".to_string(), json!(s))].into_iter().collect()
                }
                _ => Payload::new(),
            };
            let update = match op {
                Op::SetA(..) | Op::SetB(..) => UpdateOperation::SetPayload {
                    payload: payload.clone(),
                    selector: ids(&[*id]),
                    key: None,
                },
                Op::OverwriteB(..) => UpdateOperation::OverwritePayload {
                    payload: payload.clone(),
                    selector: ids(&[*id]),
                },
                Op::DeleteKeyA(_) => UpdateOperation::DeletePayload {
                    keys: vec!["a".into()],
                    selector: ids(&[*id]),
                },
                _ => UpdateOperation::ClearPayload {
                    selector: ids(&[*id]),
                },
            };
            let result = c.update(update, true);
            assert_eq!(result.is_ok(), exists, "payload op on {id}: {result:?}");
            if let Some((_, p)) = model.get_mut(id) {
                match op {
                    Op::SetA(..) | Op::SetB(..) => p.extend(payload),
                    Op::OverwriteB(..) => *p = payload,
                    Op::DeleteKeyA(_) => {
                        p.remove("a");
                    }
                    _ => p.clear(),
                }
            }
        }
        Op::UpdateVector(id, v) => {
            let result = c.update(
                UpdateOperation::UpdateVectors {
                    points: vec![(PointId::Num(*id), one(vector(v)))],
                },
                true,
            );
            assert_eq!(
                result.is_ok(),
                model.contains_key(id),
                "update vectors on {id}: {result:?}"
            );
            if let Some((old, _)) = model.get_mut(id) {
                *old = vector(v);
            }
        }
        Op::Optimize => wait_until_optimized(c),
        Op::Restart => unreachable!("handled by the caller"),
    }
}

fn wait_until_optimized(c: &Collection) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let report = c.optimizer_report();
        assert_eq!(report.error, None, "optimizer failed");
        if report.status == CollectionStatus::Green {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "optimizer still busy after 30 s: {report:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn check(c: &Collection, model: &Model) {
    assert_eq!(c.count(None), model.len());
    let (ids, next) = c.scroll(None, None, 1000);
    assert!(next.is_none());
    let mut expected: Vec<u64> = model.keys().copied().collect();
    expected.sort();
    assert_eq!(
        ids,
        expected
            .iter()
            .map(|i| PointId::Num(*i))
            .collect::<Vec<_>>()
    );
    for p in c.retrieve(&ids) {
        let PointId::Num(n) = p.id else {
            panic!("uuid in model test")
        };
        let (v, payload) = &model[&n];
        assert_eq!(&p.vectors[""], v, "vector of {n}");
        assert_eq!(&p.payload, payload, "payload of {n}");
    }
    for a in 0..4 {
        let want = model
            .values()
            .filter(|(_, p)| p.get("a") == Some(&json!(a)))
            .count();
        assert_eq!(c.count(Some(&a_filter(a))), want, "count where a = {a}");
    }
    // Euclid search from the origin-ish query against the model, exact and
    // through the graphs (tiny, so a beam of 64 sees every point).
    let query = vector(&[1, 0, 2, -1]);
    for exact in [true, false] {
        check_search(c, model, &query, exact);
    }
}

fn check_search(c: &Collection, model: &Model, query: &[f32], exact: bool) {
    let found = c
        .search(&SearchRequest {
            vector_name: String::new(),
            vector: query.to_vec(),
            filter: None,
            limit: 5,
            offset: 0,
            score_threshold: None,
            hnsw_ef: Some(64),
            exact,
        })
        .expect("search");
    let mut brute: Vec<(f32, u64)> = model
        .iter()
        .map(|(id, (v, _))| {
            (
                v.iter()
                    .zip(query)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f32>()
                    .sqrt(),
                *id,
            )
        })
        .collect();
    brute.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
    let got: Vec<f32> = found.iter().map(|p| p.score).collect();
    let want: Vec<f32> = brute.iter().take(5).map(|x| x.0).collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!(
            (g - w).abs() <= 1e-5,
            "search (exact: {exact}) scores {got:?} vs model {want:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn collection_matches_hashmap_model(ops in prop::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("c");
        let mut config = common::collection_config(vecforge::collection::config::VectorsConfig::Single(Box::new(common::vector_params(STORED_DIM as u64, Distance::Euclid))));
        let optimizers = &mut config.optimizer_config;
        optimizers.indexing_threshold = Some(1);
        optimizers.default_segment_number = 2;
        optimizers.vacuum_min_vector_number = 4;
        config.hnsw_config.full_scan_threshold = 0;
        let mut collection = Some(Collection::create(&path, "model", config).expect("create"));
        let mut model = Model::new();
        for op in &ops {
            if let Op::Restart = op {
                drop(collection.take());
                collection = Some(Collection::open(&path, "model").expect("reopen"));
                check(collection.as_ref().expect("open"), &model);
                continue;
            }
            apply(collection.as_ref().expect("open"), &mut model, op);
        }
        // A waited operation is applied after everything queued before it.
        let c = collection.as_ref().expect("open");
        c.update(UpdateOperation::Delete { selector: PointsSelector::Ids(vec![PointId::Num(1_000_000)]) }, true).expect("barrier");
        check(c, &model);
        // At rest, a segment is left without a graph only while it is below
        // the 1 KB threshold (three points or fewer): the optimizer ran.
        wait_until_optimized(c);
        prop_assert!(
            c.indexed_vectors_count() + 3 * c.segments_count() >= model.len(),
            "{} of {} indexed: {:?}", c.indexed_vectors_count(), model.len(), c.optimizer_report()
        );
        check(c, &model);
    }
}
