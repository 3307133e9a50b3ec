//! Segment search over a graph with payload links: a filter on one value
//! of a linked keyword field walks only the accepted points, and still
//! finds the exact answers; the links and what they cover survive a reopen.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::AtomicBool;

use serde_json::json;

use super::meta::GraphParams;
use super::payload_index::FieldSchema;
use super::{NamedVectors, SearchParams, Segment, VectorSpec};
use crate::index::distance::Distance;
use crate::index::hnsw::{CpuBuilder, HnswParams};
use crate::segment::filter::Filter;
use crate::segment::point_id::PointId;

const N: u64 = 6000;
const DIM: usize = 16;
const GROUPS: u64 = 30;
/// 10 KB of 16-d vectors is 160 points: every group (about 200) is linked.
const FULL_SCAN_KB: usize = 10;

fn xorshift(state: &mut u64) -> f32 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
}

/// A segment of `N` clustered points, each in group `i % GROUPS` (unrelated
/// to where its vector lies), with a keyword index on the group and a graph
/// with payload links.
fn linked_segment(dir: &std::path::Path) -> Segment {
    let specs = BTreeMap::from([(
        String::new(),
        VectorSpec {
            dim: DIM,
            distance: Distance::Cosine,
            datatype: Default::default(),
        },
    )]);
    let mut segment = Segment::create(dir, &specs).unwrap_or_else(|e| panic!("{e}"));
    let mut state = 0x9E37_79B9_7F4A_7C15;
    let centres: Vec<Vec<f32>> = (0..40)
        .map(|_| (0..DIM).map(|_| xorshift(&mut state) * 4.0).collect())
        .collect();
    for i in 0..N {
        let mut v: Vec<f32> = centres[(i * 7 % 40) as usize]
            .iter()
            .map(|c| c + xorshift(&mut state))
            .collect();
        Distance::Cosine.preprocess(&mut v);
        let payload = json!({ "g": format!("g{}", i % GROUPS) })
            .as_object()
            .cloned()
            .unwrap_or_default();
        segment
            .upsert(
                PointId::Num(i),
                &NamedVectors::from([(String::new(), v)]),
                payload,
            )
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let schema = FieldSchema::parse(&json!("keyword")).unwrap_or_else(|e| panic!("{e}"));
    segment.create_index("g", "g".parse().unwrap_or_else(|_| unreachable!()), schema);
    let params = GraphParams {
        m: 16,
        ef_construct: 100,
        payload_m: Some(16),
    };
    let hnsw = HnswParams {
        max_threads: 1,
        ..HnswParams::new(16, 100)
    };
    segment
        .build_graphs(
            &BTreeMap::from([(String::new(), (params, hnsw))]),
            FULL_SCAN_KB,
            &CpuBuilder,
            &AtomicBool::new(false),
            &|_| {},
        )
        .unwrap_or_else(|e| panic!("{e}"));
    segment
}

fn group_filter(g: u64) -> Filter {
    serde_json::from_value(json!({"must": [{"key": "g", "match": {"value": format!("g{g}")}}]}))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn recall(segment: &Segment) -> f64 {
    let mut state = 42;
    let (mut hits, mut wanted) = (0, 0);
    for q in 0..60u64 {
        let mut query: Vec<f32> = (0..DIM).map(|_| xorshift(&mut state) * 4.0).collect();
        Distance::Cosine.preprocess(&mut query);
        let filter = group_filter(q % GROUPS);
        let params = |exact| SearchParams {
            ef: 32,
            exact,
            full_scan_threshold_kb: FULL_SCAN_KB,
        };
        let search = |exact| {
            segment
                .search("", &query, Some(&filter), 10, &params(exact))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let truth: HashSet<PointId> = search(true).iter().map(|p| p.id).collect();
        let found = search(false);
        assert!(
            found.iter().all(|p| p.id_num() % GROUPS == q % GROUPS),
            "a point outside the filter came back"
        );
        hits += found.iter().filter(|p| truth.contains(&p.id)).count();
        wanted += truth.len();
    }
    hits as f64 / wanted as f64
}

impl super::ScoredPoint {
    fn id_num(&self) -> u64 {
        match self.id {
            PointId::Num(n) => n,
            PointId::Uuid(_) => unreachable!("numeric ids only"),
        }
    }
}

#[test]
fn linked_filtered_search_finds_the_exact_answers_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let segment = linked_segment(dir.path());
    let stored = &segment.meta.graphs[""];
    assert_eq!(stored.payload_fields, vec!["g".to_string()]);
    assert_eq!(stored.payload_min_group, 160);
    let graph = &segment.graphs[""];
    assert_eq!(graph.meta().payload_m, 16);
    let filter = group_filter(3);
    let points = segment
        .indexes
        .candidates(&filter)
        .map_or(0, |c| c.offsets.len());
    assert!(segment.payload_linked("", graph, &filter, points));
    let r = recall(&segment);
    assert!(r >= 0.95, "recall@10 {r:.4} keeping to the accepted points");

    let log_len = segment.flush().unwrap_or_else(|e| panic!("{e}"));
    drop(segment);
    let mut reopened = Segment::open(dir.path(), log_len).unwrap_or_else(|e| panic!("{e}"));
    let schema = FieldSchema::parse(&json!("keyword")).unwrap_or_else(|e| panic!("{e}"));
    reopened.create_index("g", "g".parse().unwrap_or_else(|_| unreachable!()), schema);
    assert_eq!(
        reopened.meta.graphs[""].payload_fields,
        vec!["g".to_string()]
    );
    let again = recall(&reopened);
    assert_eq!(again, r, "same graph, same answers");
}
