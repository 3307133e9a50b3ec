use serde_json::json;

use super::*;
use crate::segment::filter::Filter;

fn payload(value: serde_json::Value) -> Payload {
    match value {
        Value::Object(map) => map,
        _ => Payload::new(),
    }
}

fn path(s: &str) -> JsonPath {
    s.parse().unwrap()
}

#[test]
fn arrays_contribute_each_element_and_points_count_once() {
    let mut indexes = PayloadIndexes::default();
    let p0 = payload(json!({"tags": ["a", "b", 3]}));
    let p1 = payload(json!({"tags": 7}));
    let rows = [(PointOffset(0), &p0), (PointOffset(1), &p1)];
    indexes.create(
        "tags",
        path("tags"),
        FieldSchema::parse(&json!("keyword")).unwrap(),
        rows.into_iter(),
    );
    assert_eq!(indexes.info()[0].points, 1);
    let f: Filter = serde_json::from_value(json!({"must": [
        {"key": "tags", "match": {"value": "b"}}
    ]}))
    .unwrap();
    let exact = |offsets| {
        Some(Candidates {
            offsets,
            exact: true,
        })
    };
    assert_eq!(indexes.candidates(&f), exact(vec![PointOffset(0)]));
    indexes.remove(PointOffset(0), &p0);
    assert_eq!(indexes.candidates(&f), exact(vec![]));
    assert_eq!(indexes.info()[0].points, 0);
}

#[test]
fn the_most_selective_must_condition_wins_and_others_are_ignored() {
    let mut indexes = PayloadIndexes::default();
    let rows: Vec<Payload> = (0..10)
        .map(|i| payload(json!({"n": i, "even": i % 2 == 0})))
        .collect();
    let iter = || {
        rows.iter()
            .enumerate()
            .map(|(i, p)| (PointOffset(i as u32), p))
    };
    let schema = |s| FieldSchema::parse(&json!(s)).unwrap();
    indexes.create("n", path("n"), schema("integer"), iter());
    indexes.create("even", path("even"), schema("bool"), iter());
    let f: Filter = serde_json::from_value(json!({
        "must": [
            {"key": "even", "match": {"value": true}},
            {"key": "n", "range": {"gte": 2, "lt": 5}}
        ],
        "should": [{"key": "n", "match": {"value": 100}}]
    }))
    .unwrap();
    // Not exact: the range needs checking on the payload, and the other
    // conditions too.
    assert_eq!(
        indexes.candidates(&f),
        Some(Candidates {
            offsets: vec![PointOffset(2), PointOffset(3), PointOffset(4)],
            exact: false,
        })
    );
    let unindexed: Filter =
        serde_json::from_value(json!({"must": [{"key": "other", "match": {"value": 1}}]})).unwrap();
    assert_eq!(indexes.candidates(&unindexed), None);
    assert!(indexes.delete("n"));
    assert!(!indexes.delete("n"));
}
