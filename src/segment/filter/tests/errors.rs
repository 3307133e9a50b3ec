//! Parse errors say where the problem is and what was expected.

use serde_json::{json, Value};

use crate::segment::filter::{Condition, Filter};

fn error(json: Value) -> String {
    match serde_json::from_value::<Filter>(json.clone()) {
        Ok(filter) => panic!("{json} parsed as {filter:?}"),
        Err(e) => e.to_string(),
    }
}

#[track_caller]
fn assert_error(json: Value, expected: &str) {
    let message = error(json);
    assert!(
        message.contains(expected),
        "expected {expected:?} in {message:?}"
    );
}

#[test]
fn field_condition_needs_exactly_one_predicate() {
    assert_error(
        json!({"must": [{"key": "city"}]}),
        "filter.must[0]: the field condition on key \"city\" needs one of match, range, \
         values_count, is_empty or is_null",
    );
    assert_error(
        json!({"must": [{"key": "city", "match": null}]}),
        "needs one of match, range",
    );
    assert_error(
        json!({"should": [{"key": "x", "match": {"value": 1}}, {"key": "price", "match": {"value": 1}, "range": {"gt": 1}}]}),
        "filter.should[1]: the field condition on key \"price\" has several predicates (match, range); \
         give exactly one",
    );
}

#[test]
fn unsupported_and_unknown_field_predicates() {
    assert_error(
        json!({"must": {"key": "loc", "geo_radius": {"center": {"lat": 1, "lon": 2}, "radius": 5}}}),
        "filter.must: geo_radius conditions (on key \"loc\") are not supported yet",
    );
    assert_error(
        json!({"must": {"key": "loc", "geo_bounding_box": {}}}),
        "geo_bounding_box conditions (on key \"loc\") are not supported yet",
    );
    assert_error(
        json!({"must": {"key": "city", "mach": {"value": "x"}}}),
        "filter.must: unknown field \"mach\" in the field condition on key \"city\"",
    );
}

#[test]
fn filter_and_condition_shapes() {
    assert_error(
        json!([]),
        "filter: a filter must be an object, got an array",
    );
    assert_error(
        json!({"muts": []}),
        "filter: unknown field \"muts\"; a filter has must, should, must_not and min_should",
    );
    assert_error(
        json!({"key": "city", "match": {"value": "London"}}),
        "filter: unknown field \"key\"; a filter has must, should, must_not and min_should \
         (to filter by one condition, put it in must)",
    );
    assert_error(
        json!({"must": [{"must": [], "mustnot": []}]}),
        "filter.must[0]: unknown field \"mustnot\"; a filter has must",
    );
    assert_error(
        json!({"must": "city"}),
        "filter.must: expected a condition or an array of conditions, got a string",
    );
    assert_error(
        json!({"must": [1]}),
        "filter.must[0]: a condition must be an object, got an integer",
    );
    assert_error(
        json!({"must": [{"city": "London"}]}),
        "filter.must[0]: unrecognised condition with fields [\"city\"]",
    );
    assert_error(
        json!({"must": [{"has_id": [1], "has_vector": "v"}]}),
        "filter.must[0]: one condition object cannot combine has_id and has_vector",
    );
    assert_error(
        json!({"must": [{"has_id": [1], "must": []}]}),
        "filter.must[0]: unexpected field \"must\" beside \"has_id\"",
    );
    assert_error(
        json!({"must": {"must": {"should": [{"nested": {"key": "a"}}]}}}),
        "filter.must.must.should[0].nested: missing field \"filter\"",
    );
    let condition = serde_json::from_value::<Condition>(json!("x")).expect_err("not a condition");
    assert!(
        condition
            .to_string()
            .contains("condition: a condition must be an object"),
        "{condition}"
    );
}

#[test]
fn key_paths() {
    assert_error(
        json!({"must": {"key": "a..b", "match": {"value": 1}}}),
        "filter.must.key: invalid key path \"a..b\": expected a key at byte 2",
    );
    assert_error(
        json!({"must": {"is_empty": {"key": "a["}}}),
        "filter.must.is_empty.key: invalid key path \"a[\"",
    );
    assert_error(
        json!({"must": {"key": 5, "match": {"value": 1}}}),
        "filter.must.key: expected a key path string, got an integer",
    );
    assert_error(
        json!({"must": {"is_null": {"key": "a", "extra": 1}}}),
        "filter.must.is_null: unknown field \"extra\"; expected only \"key\"",
    );
    assert_error(
        json!({"must": {"is_null": "a"}}),
        "filter.must.is_null: expected {\"key\": ...}, got a string",
    );
}

#[test]
fn match_values() {
    assert_error(
        json!({"must": {"key": "x", "match": {"value": 1.5}}}),
        "filter.must.match.value: 1.5 is not an integer; match compares strings, integers and booleans",
    );
    assert_error(
        json!({"must": {"key": "x", "match": {"value": u64::MAX}}}),
        "filter.must.match.value: 18446744073709551615 is out of the signed 64-bit integer range",
    );
    assert_error(
        json!({"must": {"key": "x", "match": {"value": null}}}),
        "filter.must.match: needs one of value, any, except, text, text_any, phrase or prefix",
    );
    assert_error(
        json!({"must": {"key": "x", "match": {"value": [1]}}}),
        "filter.must.match.value: expected a string, an integer or a boolean, got an array",
    );
    assert_error(
        json!({"must": {"key": "x", "match": {"any": ["a", 1]}}}),
        "filter.must.match.any[1]: expected a string like the first element, got an integer",
    );
    assert_error(
        json!({"must": {"key": "x", "match": {"except": [true]}}}),
        "filter.must.match.except[0]: expected a string or an integer, got a boolean",
    );
    assert_error(
        json!({"must": {"key": "x", "match": {"any": "a"}}}),
        "filter.must.match.any: expected an array of strings or of integers, got a string",
    );
    assert_error(
        json!({"must": {"key": "x", "match": {"value": "a", "text": "a"}}}),
        "filter.must.match: give only one of value, any, except, text, text_any, phrase or prefix, \
         found \"value\" and \"text\"",
    );
    assert_error(
        json!({"must": {"key": "x", "match": {"keywords": ["a"]}}}),
        "filter.must.match: unknown field \"keywords\"",
    );
    assert_error(
        json!({"must": {"key": "x", "match": {"text": 5}}}),
        "filter.must.match.text: expected a string, got an integer",
    );
}

#[test]
fn ranges_and_counts() {
    assert_error(
        json!({"must": {"key": "d", "range": {"gte": "2023-02-30"}}}),
        "filter.must.range.gte: \"2023-02-30\" is not a datetime; use RFC 3339 such as 2023-02-08T10:49:00Z",
    );
    assert_error(
        json!({"must": {"key": "d", "range": {"gte": "2023-02-01", "lt": 5}}}),
        "filter.must.range.lt: expected a datetime string like the other bounds, got an integer",
    );
    assert_error(
        json!({"must": {"key": "d", "range": {"gte": true}}}),
        "filter.must.range.gte: expected a number or a datetime string, got a boolean",
    );
    assert_error(
        json!({"must": {"key": "d", "range": {"from": 1}}}),
        "filter.must.range: unknown field \"from\"; expected gt, gte, lt or lte",
    );
    assert_error(
        json!({"must": {"key": "c", "values_count": {"lt": -1}}}),
        "filter.must.values_count.lt: expected a non-negative integer, got -1",
    );
    assert_error(
        json!({"must": {"key": "c", "values_count": {"lt": 1.5}}}),
        "filter.must.values_count.lt: expected a non-negative integer, got 1.5",
    );
    assert_error(
        json!({"must": {"key": "c", "is_empty": "yes"}}),
        "filter.must.is_empty: expected true or false, got a string",
    );
}

#[test]
fn ids_vectors_slices_and_min_should() {
    assert_error(
        json!({"must": {"has_id": [1, -2]}}),
        "filter.must.has_id[1]: point id -2 is negative",
    );
    assert_error(
        json!({"must": {"has_id": [1, "nope"]}}),
        "filter.must.has_id[1]: point id \"nope\" is not a valid UUID",
    );
    assert_error(
        json!({"must": {"has_id": 1}}),
        "filter.must.has_id: expected an array of point ids, got an integer",
    );
    assert_error(
        json!({"must": {"has_vector": ["a"]}}),
        "filter.must.has_vector: expected a vector name string, got an array",
    );
    assert_error(
        json!({"must": {"slice": {"total": 2}}}),
        "filter.must.slice: missing field \"index\"",
    );
    assert_error(
        json!({"must": {"slice": {"total": 2, "index": 0, "seed": 1}}}),
        "filter.must.slice: unknown field \"seed\"",
    );
    assert_error(
        json!({"min_should": {"conditions": []}}),
        "filter.min_should: missing field \"min_count\"",
    );
    assert_error(
        json!({"min_should": {"conditions": [], "min_count": -1}}),
        "filter.min_should.min_count: expected a non-negative integer, got -1",
    );
    assert_error(
        json!({"min_should": {"conditions": {"has_id": [1]}, "min_count": 1}}),
        "filter.min_should.conditions: expected an array of conditions, got an object",
    );
    assert_error(
        json!({"min_should": {"conditions": [{"has_id": ["x"]}], "min_count": 1}}),
        "filter.min_should.conditions[0].has_id[0]: point id \"x\" is not a valid UUID",
    );
}

#[test]
fn message_pack_errors_are_as_clear() {
    let bytes = rmp_serde::to_vec_named(&json!({"must": {"key": "city"}})).expect("MessagePack");
    let message = rmp_serde::from_slice::<Filter>(&bytes)
        .expect_err("no predicate")
        .to_string();
    assert!(
        message.contains("field condition on key \"city\" needs one of"),
        "{message}"
    );
}
