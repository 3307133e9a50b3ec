//! Property test: filtered scroll, count and search give the same answers
//! with payload indexes as without, under random upserts, payload changes
//! and deletes, with the indexes created before, between or after them.
//! Text-match semantics are the one allowed difference, so filters with
//! `match.text` / `text_any` are compared against a full scan of the indexed
//! segment (which applies token semantics) instead.

use std::collections::BTreeMap;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::payload_index::FieldSchema;
use super::{NamedVectors, SearchParams, Segment, VectorSpec};
use crate::index::distance::Distance;
use crate::segment::filter::{
    Bounds, Condition, FieldCondition, Filter, Match, MatchList, MatchValue, Predicate, Range,
};
use crate::segment::payload::Payload;
use crate::segment::point_id::PointId;

const FIELDS: [(&str, &str); 7] = [
    ("kw", "keyword"),
    ("int", "integer"),
    ("flt", "float"),
    ("flag", "bool"),
    ("when", "datetime"),
    ("uid", "uuid"),
    ("txt", "text"),
];

const UUID: &str = "550e8400-e29b-41d4-a716-446655440000";

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("a")),
        Just(json!("b")),
        Just(json!(1)),
        Just(json!(2)),
        Just(json!(-1)),
        Just(json!(1.5)),
        Just(json!(1.5)),
        Just(json!(-0.0)),
        Just(json!(-0.0)),
        Just(json!(true)),
        Just(json!(false)),
        Just(json!(null)),
        Just(json!("2024-01-01")),
        Just(json!("2024-02-01T10:00:00+01:00")),
        Just(json!(UUID)),
        Just(json!(UUID.to_uppercase())),
        Just(json!("Red fox")),
        Just(json!("the red FOX jumps")),
        Just(json!({"a": 1})),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![3 => scalar(), 1 => vec(scalar(), 0..3).prop_map(Value::Array)]
}

fn payload() -> impl Strategy<Value = Payload> {
    vec(option::of(value()), FIELDS.len()).prop_map(|values| {
        FIELDS
            .iter()
            .zip(values)
            .filter_map(|((name, _), v)| v.map(|v| (name.to_string(), v)))
            .collect()
    })
}

fn number() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![Just(-1.0), Just(0.0), Just(1.0), Just(1.5), Just(2.0)]
}

fn bounds<T: Clone + std::fmt::Debug + 'static>(
    b: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = Bounds<T>> {
    (
        option::of(b.clone()),
        option::of(b.clone()),
        option::of(b.clone()),
        option::of(b),
    )
        .prop_map(|(gt, gte, lt, lte)| Bounds { gt, gte, lt, lte })
}

fn predicate() -> impl Strategy<Value = Predicate> {
    let keyword = prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just(UUID.to_string()),
        Just(UUID.to_uppercase()),
        Just("2024-01-01".to_string()),
    ];
    let date = prop_oneof![
        Just("2023-12-31T00:00:00Z"),
        Just("2024-01-01T00:00:00Z"),
        Just("2024-02-01T09:00:00Z"),
        Just("2025-01-01T00:00:00Z"),
    ]
    .prop_map(|s| crate::segment::filter::datetime::parse(s).unwrap_or_default());
    let text = prop_oneof![Just("red"), Just("FOX red"), Just("jumps fox"), Just(" ,")]
        .prop_map(str::to_string);
    prop_oneof![
        bounds(number()).prop_map(|b| Predicate::Range(Range::Number(b))),
        keyword
            .clone()
            .prop_map(|s| Predicate::Match(Match::Value(MatchValue::Keyword(s)))),
        (-1i64..3).prop_map(|i| Predicate::Match(Match::Value(MatchValue::Integer(i)))),
        any::<bool>().prop_map(|b| Predicate::Match(Match::Value(MatchValue::Bool(b)))),
        vec(keyword.clone(), 0..3)
            .prop_map(|l| Predicate::Match(Match::Any(MatchList::Keywords(l)))),
        vec(-1i64..3, 1..3).prop_map(|l| Predicate::Match(Match::Any(MatchList::Integers(l)))),
        vec(keyword, 0..2).prop_map(|l| Predicate::Match(Match::Except(MatchList::Keywords(l)))),
        bounds(number()).prop_map(|b| Predicate::Range(Range::Number(b))),
        bounds(date).prop_map(|b| Predicate::Range(Range::Datetime(b))),
        text.clone().prop_map(|t| Predicate::Match(Match::Text(t))),
        text.prop_map(|t| Predicate::Match(Match::TextAny(t))),
        any::<bool>().prop_map(Predicate::IsEmpty),
    ]
}

/// A predicate of the kind the field's index serves, so that most generated
/// filters take the indexed path.
fn typed_predicate(field: usize) -> BoxedStrategy<Predicate> {
    let any = predicate().boxed();
    let range = bounds(number()).prop_map(|b| Predicate::Range(Range::Number(b)));
    match FIELDS[field].1 {
        "integer" => prop_oneof![
            range,
            (-1i64..3).prop_map(|i| Predicate::Match(Match::Value(MatchValue::Integer(i)))),
        ]
        .boxed(),
        "float" => range.boxed(),
        _ => any,
    }
}

fn condition() -> impl Strategy<Value = Condition> {
    (0..FIELDS.len())
        .prop_flat_map(|i| (Just(i), prop_oneof![typed_predicate(i), predicate()]))
        .prop_map(|(i, predicate)| {
            Condition::Field(FieldCondition {
                key: FIELDS[i].0.parse().unwrap_or_else(|_| unreachable!()),
                predicate,
            })
        })
}

fn filter() -> impl Strategy<Value = Filter> {
    (
        vec(condition(), 0..4),
        option::of(vec(condition(), 0..2)),
        option::of(vec(condition(), 0..2)),
    )
        .prop_map(|(must, should, must_not)| Filter {
            must: Some(must),
            should,
            must_not,
            min_should: None,
        })
}

fn uses_text(filter: &Filter) -> bool {
    [&filter.must, &filter.should, &filter.must_not]
        .into_iter()
        .flatten()
        .flatten()
        .any(|c| {
            matches!(
                c,
                Condition::Field(FieldCondition {
                    predicate: Predicate::Match(Match::Text(_) | Match::TextAny(_)),
                    ..
                })
            )
        })
}

#[derive(Debug, Clone)]
enum Op {
    Upsert(u64, Payload),
    SetPayload(u64, Payload),
    Delete(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..10, payload()).prop_map(|(id, p)| Op::Upsert(id, p)),
        1 => (0u64..10, payload()).prop_map(|(id, p)| Op::SetPayload(id, p)),
        1 => (0u64..10).prop_map(Op::Delete),
    ]
}

fn open(dir: &std::path::Path) -> Segment {
    let specs = BTreeMap::from([(
        String::new(),
        VectorSpec {
            dim: 2,
            distance: Distance::Dot,
            datatype: Default::default(),
        },
    )]);
    Segment::create(dir, &specs).unwrap_or_else(|e| panic!("create segment: {e}"))
}

fn apply(segment: &mut Segment, op: &Op) {
    let result = match op {
        Op::Upsert(id, p) => {
            let vectors = NamedVectors::from([(String::new(), vec![*id as f32, 1.0])]);
            segment.upsert(PointId::Num(*id), &vectors, p.clone())
        }
        Op::SetPayload(id, p) => segment
            .modify_payload(PointId::Num(*id), |current| *current = p.clone())
            .map(|_| ()),
        Op::Delete(id) => segment.delete(PointId::Num(*id)).map(|_| ()),
    };
    result.unwrap_or_else(|e| panic!("{op:?}: {e}"));
}

fn create_indexes(segment: &mut Segment) {
    for (name, kind) in FIELDS {
        let schema = FieldSchema::parse(&json!(kind)).unwrap_or_else(|e| panic!("{e}"));
        let path = name.parse().unwrap_or_else(|_| unreachable!());
        segment.create_index(name, path, schema);
    }
}

/// Ids of points matching `filter` by checking every live point.
fn scan(segment: &Segment, filter: &Filter) -> Vec<PointId> {
    segment
        .ids
        .iter_from(None)
        .filter(|(id, offset)| filter.check(&segment.point(*id, *offset)))
        .map(|(id, _)| id)
        .collect()
}

const EXACT: SearchParams = SearchParams {
    ef: 100,
    exact: true,
    full_scan_threshold_kb: 0,
};

fn search_ids(segment: &Segment, filter: &Filter) -> Vec<PointId> {
    let mut ids: Vec<PointId> = segment
        .search("", &[0.5, 1.0], Some(filter), 100, &EXACT)
        .unwrap_or_else(|e| panic!("search: {e}"))
        .into_iter()
        .map(|p| p.id)
        .collect();
    ids.sort();
    ids
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn indexed_answers_equal_unindexed_answers(
        ops in vec(op(), 0..25),
        index_at in 0usize..26,
        filters in vec(filter(), 1..6),
        from in 0u64..10,
    ) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut indexed = open(&dir.path().join("indexed"));
        let mut plain = open(&dir.path().join("plain"));
        for (i, op) in ops.iter().enumerate() {
            if i == index_at {
                create_indexes(&mut indexed);
            }
            apply(&mut indexed, op);
            apply(&mut plain, op);
        }
        if index_at >= ops.len() {
            create_indexes(&mut indexed);
        }
        for filter in &filters {
            let expected = if uses_text(filter) {
                scan(&indexed, filter)
            } else {
                scan(&plain, filter)
            };
            prop_assert_eq!(indexed.scroll(None, Some(filter), usize::MAX), expected.clone());
            prop_assert_eq!(indexed.count(Some(filter)), expected.len());
            prop_assert_eq!(search_ids(&indexed, filter), expected.clone());
            let from = PointId::Num(from);
            let tail: Vec<PointId> =
                expected.iter().copied().filter(|id| *id >= from).take(2).collect();
            prop_assert_eq!(indexed.scroll(Some(from), Some(filter), 2), tail);
            if !uses_text(filter) {
                prop_assert_eq!(plain.scroll(None, Some(filter), usize::MAX), expected);
            }
        }
        // Reopened with the flushed log, and given the schema again (as the
        // collection does from its manifest), the segment rebuilds the same
        // indexes from the replayed payloads.
        let log_len = indexed.flush().unwrap_or_else(|e| panic!("{e}"));
        let counts = indexed.index_info();
        drop(indexed);
        let mut reopened = Segment::open(&dir.path().join("indexed"), log_len)
            .unwrap_or_else(|e| panic!("reopen: {e}"));
        create_indexes(&mut reopened);
        prop_assert_eq!(reopened.index_info(), counts);
        for filter in &filters {
            prop_assert_eq!(reopened.scroll(None, Some(filter), usize::MAX), scan(&reopened, filter));
        }
    }
}

#[test]
fn floats_in_an_integer_field_still_match_ranges() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut segment = open(dir.path());
    let payload = |v: Value| json!({ "int": v }).as_object().cloned().unwrap_or_default();
    apply(&mut segment, &Op::Upsert(1, payload(json!(1.5))));
    apply(&mut segment, &Op::Upsert(2, payload(json!(1))));
    create_indexes(&mut segment);
    let filter: Filter =
        serde_json::from_value(json!({"must": [{"key": "int", "range": {"gt": 1}}]}))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(segment.count(Some(&filter)), 1);
    assert_eq!(
        segment.scroll(None, Some(&filter), 10),
        vec![PointId::Num(1)]
    );
}
