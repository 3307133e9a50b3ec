//! `Filter::validate`: rules beyond the JSON shape.

use serde_json::{json, Value};

use super::filter;
use crate::segment::filter::{Bounds, Condition, FieldCondition, Filter, Predicate, Range};

#[track_caller]
fn assert_invalid(json: Value, expected: &str) {
    match filter(json.clone()).validate() {
        Ok(()) => panic!("{json} validated"),
        Err(message) => assert!(
            message.contains(expected),
            "expected {expected:?} in {message:?}"
        ),
    }
}

#[test]
fn accepts_ordinary_and_degenerate_filters() {
    for json in [
        json!({}),
        json!({"should": []}),
        json!({"must": {"has_id": []}}),
        json!({"must": {"key": "x", "range": {}}}),
        json!({"must": {"key": "x", "range": {"gt": 10, "lt": 1}}}),
        json!({"min_should": {"conditions": [], "min_count": 3}}),
        json!({"must": {"slice": {"total": 3, "index": 2}}}),
        json!({"must": {"nested": {"key": "a", "filter": {
            "must": [{"key": "b", "match": {"value": 1}}, {"is_empty": {"key": "c"}}],
            "should": {"nested": {"key": "d", "filter": {}}}
        }}}}),
    ] {
        assert_eq!(filter(json.clone()).validate(), Ok(()), "{json}");
    }
}

#[test]
fn min_count_must_be_positive() {
    assert_invalid(
        json!({"min_should": {"conditions": [{"has_id": [1]}], "min_count": 0}}),
        "filter.min_should.min_count: must be at least 1",
    );
    assert_invalid(
        json!({"must": {"must_not": {"min_should": {"conditions": [], "min_count": 0}}}}),
        "filter.must[0].must_not[0].min_should.min_count: must be at least 1",
    );
}

#[test]
fn point_conditions_are_not_allowed_inside_nested() {
    assert_invalid(
        json!({"must": [
            {"has_id": [1]},
            {"nested": {"key": "diet", "filter": {"should": [{"key": "a", "match": {"value": 1}}, {"has_id": [1]}]}}}
        ]}),
        "filter.must[1].nested.filter.should[1]: has_id is not allowed inside a nested filter",
    );
    assert_invalid(
        json!({"must": {"nested": {"key": "d", "filter": {"must": {"must": {"has_vector": "v"}}}}}}),
        "filter.must[0].nested.filter.must[0].must[0]: has_vector is not allowed inside a nested filter",
    );
    assert_invalid(
        json!({"must": {"nested": {"key": "d", "filter": {
            "min_should": {"conditions": [{"slice": {"total": 2, "index": 0}}], "min_count": 1}
        }}}}),
        "filter.must[0].nested.filter.min_should.conditions[0]: slice is not allowed inside a nested filter",
    );
}

#[test]
fn slices_need_a_valid_index() {
    assert_invalid(
        json!({"must_not": {"slice": {"total": 0, "index": 0}}}),
        "filter.must_not[0].slice.total: must be at least 1",
    );
    assert_invalid(
        json!({"should": [{}, {"slice": {"total": 4, "index": 4}}]}),
        "filter.should[1].slice.index: 4 must be less than total (4)",
    );
}

#[test]
fn range_bounds_must_be_finite() {
    // Only reachable from code: JSON has no NaN or infinity.
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let f = Filter {
            must: Some(vec![Condition::Field(FieldCondition {
                key: "price".parse().expect("path"),
                predicate: Predicate::Range(Range::Number(Bounds {
                    gte: Some(1.0),
                    lt: Some(bad),
                    ..Bounds::default()
                })),
            })]),
            ..Filter::default()
        };
        assert_eq!(
            f.validate(),
            Err("filter.must[0].range.lt: must be a finite number".to_owned())
        );
    }
}
