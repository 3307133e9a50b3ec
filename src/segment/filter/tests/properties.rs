//! Property tests: random filters survive the write-ahead log encoding, and
//! evaluation obeys the boolean laws the clauses promise.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use super::TestPoint;
use crate::segment::filter::{
    Bounds, Condition, FieldCondition, Filter, JsonPath, Match, MatchList, MatchValue, MinShould,
    NestedCondition, Predicate, Range, Slice,
};
use crate::segment::point_id::PointId;

fn key_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[abc]",
        1 => "[a-z_][a-z0-9_-]{0,5}",
        1 => "[a-z .\\[\\]$]{0,5}".prop_map(|k| format!("\"{k}\"")),
    ]
}

fn path() -> impl Strategy<Value = JsonPath> {
    let step = prop_oneof![
        key_text().prop_map(|k| format!(".{k}")),
        (0usize..3).prop_map(|i| format!("[{i}]")),
        Just("[]".to_owned()),
    ];
    (key_text(), vec(step, 0..3)).prop_map(|(head, steps)| {
        let text = format!("{head}{}", steps.concat());
        text.parse()
            .unwrap_or_else(|e| panic!("generated path {text:?}: {e}"))
    })
}

fn bounds<T: std::fmt::Debug + Clone + 'static>(
    bound: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = Bounds<T>> {
    (
        option::of(bound.clone()),
        option::of(bound.clone()),
        option::of(bound.clone()),
        option::of(bound),
    )
        .prop_map(|(gt, gte, lt, lte)| Bounds { gt, gte, lt, lte })
}

fn datetime() -> impl Strategy<Value = DateTime<Utc>> + Clone {
    // 0001-01-01 to 9999-12-31, any nanosecond.
    (-62_135_596_800i64..=253_402_300_799, 0u32..1_000_000_000).prop_map(|(secs, nanos)| {
        DateTime::from_timestamp(secs, nanos)
            .unwrap_or_else(|| panic!("{secs}.{nanos} is in range"))
    })
}

fn match_list() -> impl Strategy<Value = MatchList> {
    prop_oneof![
        vec(".*", 0..3).prop_map(MatchList::Keywords),
        // An empty list reads back as keywords, so integer lists are non-empty.
        vec(any::<i64>(), 1..3).prop_map(MatchList::Integers),
    ]
}

fn predicate(float: BoxedStrategy<f64>) -> impl Strategy<Value = Predicate> {
    let matches = prop_oneof![
        ".*".prop_map(|s| Match::Value(MatchValue::Keyword(s))),
        any::<i64>().prop_map(|i| Match::Value(MatchValue::Integer(i))),
        any::<bool>().prop_map(|b| Match::Value(MatchValue::Bool(b))),
        match_list().prop_map(Match::Any),
        match_list().prop_map(Match::Except),
        ".*".prop_map(Match::Text),
        ".*".prop_map(Match::TextAny),
        ".*".prop_map(Match::Phrase),
        ".*".prop_map(Match::Prefix),
    ];
    let datetime_bounds = bounds(datetime()).prop_filter("a datetime range needs a bound", |b| {
        b.gt.is_some() || b.gte.is_some() || b.lt.is_some() || b.lte.is_some()
    });
    prop_oneof![
        matches.prop_map(Predicate::Match),
        bounds(float).prop_map(|b| Predicate::Range(Range::Number(b))),
        datetime_bounds.prop_map(|b| Predicate::Range(Range::Datetime(b))),
        bounds(any::<u64>()).prop_map(Predicate::ValuesCount),
        any::<bool>().prop_map(Predicate::IsEmpty),
        any::<bool>().prop_map(Predicate::IsNull),
    ]
}

fn point_id() -> impl Strategy<Value = PointId> {
    prop_oneof![
        any::<u64>().prop_map(PointId::Num),
        any::<u128>().prop_map(|u| PointId::Uuid(Uuid::from_u128(u))),
    ]
}

fn leaf(float: BoxedStrategy<f64>) -> BoxedStrategy<Condition> {
    prop_oneof![
        4 => (path(), predicate(float))
            .prop_map(|(key, predicate)| Condition::Field(FieldCondition { key, predicate })),
        1 => path().prop_map(Condition::IsEmpty),
        1 => path().prop_map(Condition::IsNull),
        1 => vec(point_id(), 0..4).prop_map(|ids| Condition::HasId(ids.into_iter().collect::<BTreeSet<_>>())),
        1 => ".*".prop_map(Condition::HasVector),
        1 => (any::<u64>(), any::<u64>()).prop_map(|(total, index)| Condition::Slice(Slice { total, index })),
    ]
    .boxed()
}

fn filter_of(condition: BoxedStrategy<Condition>) -> BoxedStrategy<Filter> {
    let clause = option::of(vec(condition.clone(), 0..3));
    let min_should = option::of((vec(condition, 0..3), any::<u64>()).prop_map(
        |(conditions, min_count)| MinShould {
            conditions,
            min_count,
        },
    ));
    (clause.clone(), clause.clone(), clause, min_should)
        .prop_map(|(must, should, must_not, min_should)| Filter {
            must,
            should,
            must_not,
            min_should,
        })
        .boxed()
}

fn filter(float: BoxedStrategy<f64>) -> BoxedStrategy<Filter> {
    let condition = leaf(float).prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            (path(), filter_of(inner.clone()))
                .prop_map(|(key, filter)| Condition::Nested(NestedCondition { key, filter })),
            filter_of(inner).prop_map(Condition::Filter),
        ]
    });
    filter_of(condition.boxed())
}

/// Floats that survive JSON text exactly (serde_json's default float
/// parser is not guaranteed to round-trip every `f64`, MessagePack is).
fn json_safe_float() -> BoxedStrategy<f64> {
    (-1_000_000i64..1_000_000)
        .prop_map(|n| n as f64 / 8.0)
        .boxed()
}

fn any_finite_float() -> BoxedStrategy<f64> {
    any::<f64>()
        .prop_filter("finite", |x| x.is_finite())
        .boxed()
}

fn payload_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..4).prop_map(Value::from),
        (-3i64..4).prop_map(|n| Value::from(n as f64 / 2.0)),
        prop::sample::select(vec!["a", "b", "", "2020-01-01", "2020-01-01T10:00:00Z"])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(Value::Array),
            btree_map("[abc]", inner, 0..3).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn test_point() -> impl Strategy<Value = TestPoint> {
    (
        point_id(),
        btree_map("[abc]", payload_value(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(id, fields, with_vector)| TestPoint {
            id,
            payload: fields.into_iter().collect(),
            vectors: if with_vector { vec![""] } else { Vec::new() },
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn filters_round_trip_through_message_pack(f in filter(any_finite_float())) {
        let bytes = rmp_serde::to_vec_named(&f).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Filter = rmp_serde::from_slice(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, f);
    }

    #[test]
    fn filters_round_trip_through_json_text(f in filter(json_safe_float())) {
        let text = serde_json::to_string(&f).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Filter = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert_eq!(back, f);
    }

    #[test]
    fn clauses_obey_boolean_laws(f in filter(json_safe_float()), p in test_point()) {
        let holds = f.check(&p);
        let negated = Filter { must_not: Some(vec![Condition::Filter(f.clone())]), ..Filter::default() };
        prop_assert_eq!(negated.check(&p), !holds);
        let wrapped = Filter { should: Some(vec![Condition::Filter(f.clone())]), ..Filter::default() };
        prop_assert_eq!(wrapped.check(&p), holds);
        let one_of = Filter {
            min_should: Some(MinShould { conditions: vec![Condition::Filter(f)], min_count: 1 }),
            ..Filter::default()
        };
        prop_assert_eq!(one_of.check(&p), holds);
    }
}
