//! Accepted JSON shapes, and round trips through JSON and MessagePack.

use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use super::filter;
use crate::segment::filter::{
    Bounds, Condition, FieldCondition, Filter, JsonPath, Match, MatchList, MatchValue, MinShould,
    NestedCondition, Predicate, Range, Slice,
};
use crate::segment::point_id::PointId;

fn path(s: &str) -> JsonPath {
    s.parse().expect("test path parses")
}

fn field(key: &str, predicate: Predicate) -> Condition {
    Condition::Field(FieldCondition {
        key: path(key),
        predicate,
    })
}

/// Serializes to JSON text and MessagePack and checks both read back equal.
fn assert_round_trips(filter: &Filter) {
    let text = serde_json::to_string(filter).expect("serializes to JSON");
    let from_text: Filter = serde_json::from_str(&text).expect("JSON reads back");
    assert_eq!(&from_text, filter, "JSON: {text}");

    let bytes = rmp_serde::to_vec_named(filter).expect("serializes to MessagePack");
    let from_bytes: Filter = rmp_serde::from_slice(&bytes).expect("MessagePack reads back");
    assert_eq!(&from_bytes, filter, "MessagePack of {text}");
}

#[test]
fn reads_every_condition_kind() {
    let f = filter(json!({
        "must": [
            {"key": "city", "match": {"value": "London"}},
            {"key": "count", "match": {"value": 7}},
            {"key": "flag", "match": {"value": false}},
            {"key": "color", "match": {"any": ["black", "yellow"]}},
            {"key": "n", "match": {"except": [1, 2]}},
            {"key": "body", "match": {"text": "quick fox"}},
            {"key": "body", "match": {"text_any": "quick fox"}},
            {"key": "body", "match": {"phrase": "quick fox"}},
            {"key": "url", "match": {"prefix": "https://"}},
            {"key": "price", "range": {"gt": 1, "lte": 2.5}},
            {"key": "date", "range": {"gte": "2023-02-08T10:49:00+01:00", "lt": "2023-03-01"}},
            {"key": "tags", "values_count": {"gte": 2}},
            {"key": "a", "is_empty": true},
            {"key": "b", "is_null": false},
            {"is_empty": {"key": "reports"}},
            {"is_null": {"key": "a.b[]"}},
            {"has_id": [3, "550e8400-e29b-41d4-a716-446655440000", 3]},
            {"has_vector": "image"},
            {"nested": {"key": "diet", "filter": {"must": {"key": "food", "match": {"value": "meat"}}}}},
            {"slice": {"total": 4, "index": 1}},
            {"should": [{"key": "x", "match": {"value": 1}}]}
        ],
        "min_should": {"conditions": [{"has_id": [1]}], "min_count": 1}
    }));
    let must = f.must.as_deref().expect("must is present");
    let datetime = |y, mo, d, h, mi| {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("valid")
    };
    let expected = [
        field(
            "city",
            Predicate::Match(Match::Value(MatchValue::Keyword("London".into()))),
        ),
        field(
            "count",
            Predicate::Match(Match::Value(MatchValue::Integer(7))),
        ),
        field(
            "flag",
            Predicate::Match(Match::Value(MatchValue::Bool(false))),
        ),
        field(
            "color",
            Predicate::Match(Match::Any(MatchList::Keywords(vec![
                "black".into(),
                "yellow".into(),
            ]))),
        ),
        field(
            "n",
            Predicate::Match(Match::Except(MatchList::Integers(vec![1, 2]))),
        ),
        field("body", Predicate::Match(Match::Text("quick fox".into()))),
        field("body", Predicate::Match(Match::TextAny("quick fox".into()))),
        field("body", Predicate::Match(Match::Phrase("quick fox".into()))),
        field("url", Predicate::Match(Match::Prefix("https://".into()))),
        field(
            "price",
            Predicate::Range(Range::Number(Bounds {
                gt: Some(1.0),
                lte: Some(2.5),
                ..Bounds::default()
            })),
        ),
        field(
            "date",
            Predicate::Range(Range::Datetime(Bounds {
                gte: Some(datetime(2023, 2, 8, 9, 49)),
                lt: Some(datetime(2023, 3, 1, 0, 0)),
                ..Bounds::default()
            })),
        ),
        field(
            "tags",
            Predicate::ValuesCount(Bounds {
                gte: Some(2),
                ..Bounds::default()
            }),
        ),
        field("a", Predicate::IsEmpty(true)),
        field("b", Predicate::IsNull(false)),
        Condition::IsEmpty(path("reports")),
        Condition::IsNull(path("a.b[]")),
        Condition::HasId(BTreeSet::from([
            PointId::Num(3),
            "550e8400-e29b-41d4-a716-446655440000"
                .parse()
                .expect("uuid id"),
        ])),
        Condition::HasVector("image".into()),
        Condition::Nested(NestedCondition {
            key: path("diet"),
            filter: Filter {
                must: Some(vec![field(
                    "food",
                    Predicate::Match(Match::Value(MatchValue::Keyword("meat".into()))),
                )]),
                ..Filter::default()
            },
        }),
        Condition::Slice(Slice { total: 4, index: 1 }),
        Condition::Filter(Filter {
            should: Some(vec![field(
                "x",
                Predicate::Match(Match::Value(MatchValue::Integer(1))),
            )]),
            ..Filter::default()
        }),
    ];
    assert_eq!(must.len(), expected.len());
    for (got, want) in must.iter().zip(&expected) {
        assert_eq!(got, want);
    }
    assert_eq!(
        f.min_should,
        Some(MinShould {
            conditions: vec![Condition::HasId(BTreeSet::from([PointId::Num(1)]))],
            min_count: 1
        })
    );
    assert_round_trips(&f);
}

#[test]
fn one_condition_or_an_array_and_null_as_absent() {
    let one =
        filter(json!({"must": {"has_id": [1]}, "should": null, "must_not": {"has_vector": "v"}}));
    let many = filter(
        json!({"must": [{"has_id": [1]}], "must_not": [{"has_vector": "v"}], "min_should": null}),
    );
    assert_eq!(one, many);
    assert_eq!(one.should, None);
    // An empty array stays distinct from absence (it matters for should).
    let empty = filter(json!({"should": []}));
    assert_eq!(empty.should, Some(vec![]));
    assert_round_trips(&empty);
}

#[test]
fn null_predicates_are_absent() {
    // Clients generated from Qdrant's schema send unused fields as null.
    let f = filter(json!({"must": {
        "key": "k", "match": null, "range": {"gt": null, "lt": 5}, "values_count": null,
        "geo_radius": null, "is_empty": null, "is_null": null
    }}));
    let expected = field(
        "k",
        Predicate::Range(Range::Number(Bounds {
            lt: Some(5.0),
            ..Bounds::default()
        })),
    );
    assert_eq!(f.must, Some(vec![expected]));
    let m = filter(json!({"must": {"key": "k", "match": {"value": null, "any": ["a"]}}}));
    assert_eq!(
        m.must,
        Some(vec![field(
            "k",
            Predicate::Match(Match::Any(MatchList::Keywords(vec!["a".into()])))
        )])
    );
}

#[test]
fn canonical_json_output() {
    let f = filter(json!({
        "should": {"key": "d", "range": {"gte": "2023-02-08 10:49:00", "lt": "2023-02-08T10:49:00.5+01:00"}},
        "must": [{"has_id": ["550E8400-E29B-41D4-A716-446655440000", 9]}, {}],
        "must_not": {"key": "\"a.b\"[]", "match": {"except": []}}
    }));
    let out = serde_json::to_value(&f).expect("serializes");
    assert_eq!(
        out,
        json!({
            "must": [{"has_id": [9, "550e8400-e29b-41d4-a716-446655440000"]}, {}],
            "should": [{"key": "d", "range": {"gte": "2023-02-08T10:49:00Z", "lt": "2023-02-08T09:49:00.500Z"}}],
            "must_not": [{"key": "\"a.b\"[]", "match": {"except": []}}]
        })
    );
    assert_round_trips(&f);
}

#[test]
fn condition_reads_and_writes_on_its_own() {
    let json = json!({"key": "a.b", "match": {"value": "x"}});
    let c: Condition = serde_json::from_value(json.clone()).expect("condition parses");
    assert_eq!(serde_json::to_value(&c).expect("serializes"), json);
    let bytes = rmp_serde::to_vec_named(&c).expect("MessagePack");
    assert_eq!(
        rmp_serde::from_slice::<Condition>(&bytes).expect("reads back"),
        c
    );
}

#[test]
fn filter_inside_a_request_struct() {
    // How the API layer will embed it, including a missing filter.
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Request {
        #[serde(default)]
        filter: Option<Filter>,
        limit: u32,
    }
    let with: Request =
        serde_json::from_value(json!({"filter": {"must": {"has_id": [1]}}, "limit": 3}))
            .expect("request parses");
    assert!(with.filter.is_some());
    let without: Request = serde_json::from_value(json!({"limit": 3})).expect("request parses");
    assert_eq!(without.filter, None);
    let null: Request =
        serde_json::from_value(json!({"filter": null, "limit": 3})).expect("parses");
    assert_eq!(null.filter, None);
    let bytes = rmp_serde::to_vec_named(&with).expect("MessagePack");
    assert_eq!(
        rmp_serde::from_slice::<Request>(&bytes).expect("reads back"),
        with
    );
}

#[test]
fn extreme_values_round_trip() {
    let f = filter(json!({"must": [
        {"key": "i", "match": {"value": i64::MIN}},
        {"key": "i", "match": {"any": [i64::MAX, -1, 0]}},
        {"key": "f", "range": {"gt": -1.7976931348623157e308, "lt": 5e-324}},
        {"key": "d", "range": {"lte": "9999-12-31T23:59:59.999999999Z", "gte": "0000-01-01"}},
        {"key": "c", "values_count": {"lt": u64::MAX}},
        {"has_id": [0, u64::MAX]},
        {"slice": {"total": u64::MAX, "index": 0}},
        {"key": "\"\"", "match": {"text": ""}},
        {"key": "ключ.\"with space\"[7]", "match": {"value": "ünïcödé"}}
    ], "min_should": {"conditions": [], "min_count": u64::MAX}}));
    assert_round_trips(&f);
    let _: Value = serde_json::to_value(&f).expect("serializes");
}
