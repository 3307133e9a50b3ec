//! Writing filters back as Qdrant REST JSON.
//!
//! The output is the canonical form of what `parse.rs` reads: clauses are
//! always arrays, absent parts are omitted, datetimes are RFC 3339 in UTC.
//! Reading the output back gives an equal value; the write-ahead log depends
//! on that (it stores filters with `rmp_serde::to_vec_named`, and MessagePack
//! carries the same tree as JSON).
//!
//! Numeric range bounds must be finite: JSON has no NaN or infinity, so a
//! non-finite bound would be written as `null` and read back as absent.
//! [`Filter::validate`](super::Filter::validate) rejects them.

use serde_json::{json, Map, Value};

use super::condition::{
    Bounds, Condition, FieldCondition, Match, MatchList, MatchValue, Predicate, Range,
};
use super::{datetime, Filter};
use crate::segment::point_id::PointId;

pub(super) fn filter(filter: &Filter) -> Value {
    let mut object = Map::new();
    let clauses = [
        ("must", &filter.must),
        ("should", &filter.should),
        ("must_not", &filter.must_not),
    ];
    for (name, clause) in clauses {
        if let Some(conditions) = clause {
            object.insert(name.to_owned(), conditions_array(conditions));
        }
    }
    if let Some(min_should) = &filter.min_should {
        object.insert(
            "min_should".to_owned(),
            json!({
                "conditions": conditions_array(&min_should.conditions),
                "min_count": min_should.min_count,
            }),
        );
    }
    Value::Object(object)
}

fn conditions_array(conditions: &[Condition]) -> Value {
    Value::Array(conditions.iter().map(condition).collect())
}

pub(super) fn condition(condition: &Condition) -> Value {
    match condition {
        Condition::Field(field) => field_condition(field),
        Condition::IsEmpty(key) => json!({"is_empty": {"key": key.to_string()}}),
        Condition::IsNull(key) => json!({"is_null": {"key": key.to_string()}}),
        Condition::HasId(ids) => json!({"has_id": ids.iter().map(point_id).collect::<Vec<_>>()}),
        Condition::HasVector(name) => json!({"has_vector": name}),
        Condition::Nested(nested) => json!({
            "nested": {"key": nested.key.to_string(), "filter": filter(&nested.filter)}
        }),
        Condition::Slice(slice) => json!({
            "slice": {"total": slice.total, "index": slice.index}
        }),
        Condition::Filter(inner) => filter(inner),
    }
}

fn field_condition(field: &FieldCondition) -> Value {
    let (name, body) = match &field.predicate {
        Predicate::Match(m) => ("match", match_body(m)),
        Predicate::Range(Range::Number(bounds)) => ("range", bounds_object(bounds, |x| json!(x))),
        Predicate::Range(Range::Datetime(bounds)) => (
            "range",
            bounds_object(bounds, |x| Value::String(datetime::format(x))),
        ),
        Predicate::ValuesCount(bounds) => ("values_count", bounds_object(bounds, |x| json!(x))),
        Predicate::IsEmpty(flag) => ("is_empty", Value::Bool(*flag)),
        Predicate::IsNull(flag) => ("is_null", Value::Bool(*flag)),
    };
    let mut object = Map::new();
    object.insert("key".to_owned(), Value::String(field.key.to_string()));
    object.insert(name.to_owned(), body);
    Value::Object(object)
}

fn match_body(m: &Match) -> Value {
    match m {
        Match::Value(MatchValue::Keyword(s)) => json!({"value": s}),
        Match::Value(MatchValue::Integer(i)) => json!({"value": i}),
        Match::Value(MatchValue::Bool(b)) => json!({"value": b}),
        Match::Any(list) => json!({"any": list_array(list)}),
        Match::Except(list) => json!({"except": list_array(list)}),
        Match::Text(s) => json!({"text": s}),
        Match::TextAny(s) => json!({"text_any": s}),
        Match::Phrase(s) => json!({"phrase": s}),
        Match::Prefix(s) => json!({"prefix": s}),
    }
}

fn list_array(list: &MatchList) -> Value {
    match list {
        MatchList::Keywords(items) => json!(items),
        MatchList::Integers(items) => json!(items),
    }
}

fn bounds_object<T>(bounds: &Bounds<T>, write: impl Fn(&T) -> Value) -> Value {
    let mut object = Map::new();
    let all = [
        ("gt", &bounds.gt),
        ("gte", &bounds.gte),
        ("lt", &bounds.lt),
        ("lte", &bounds.lte),
    ];
    for (name, bound) in all {
        if let Some(x) = bound {
            object.insert(name.to_owned(), write(x));
        }
    }
    Value::Object(object)
}

fn point_id(id: &PointId) -> Value {
    match id {
        PointId::Num(n) => json!(n),
        PointId::Uuid(u) => Value::String(u.hyphenated().to_string()),
    }
}
