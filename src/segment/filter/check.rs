//! Evaluating a filter against one point, with Qdrant's semantics.
//!
//! Clauses: every `must` condition holds; when `should` is present at least
//! one holds (so `"should": []` matches nothing, as in Qdrant); no `must_not`
//! condition holds; `min_should` needs `min_count` of its conditions.
//!
//! Values: a key path reaches zero or more values (see `path.rs`). Scalar
//! predicates (`match`, `range`) hold when some value holds, looking one
//! level into arrays, so `{"tags": ["a", "b"]}` matches `value: "a"`. A
//! missing key matches no scalar predicate, `except` included; `except` also
//! never matches `null`. `values_count` counts per value (an array its
//! length, `null` 0, anything else 1, a missing key 0). `is_empty` holds when
//! every value is `null` or `[]` (or there is none); `is_null` when some
//! value is `null` or an array holding `null`.
//!
//! Numbers: `match` compares integers exactly and never matches a float
//! (`1.0` is not `1`), `range` compares every number as `f64`.
//!
//! Text: `match.text` and `match.text_any` are substring tests, unless the
//! point view reports a full-text index on exactly that key; then they
//! compare tokens (see `payload_index/text.rs`).
//!
//! Inside `nested`, conditions see one array element as the whole payload
//! and there is no point: id and vector conditions are false there (and
//! [`Filter::validate`] rejects them).

use serde_json::Value;

use super::condition::{
    Condition, FieldCondition, Match, MatchList, MatchValue, Predicate, Range, Slice,
};
use super::path::{values_at, JsonPath, PathStep};
use super::{datetime, Filter};
use crate::segment::payload::Payload;
use crate::segment::payload_index::Tokenizer;
use crate::segment::point_id::PointId;

/// What a filter can ask about a point.
pub trait PointView {
    fn id(&self) -> PointId;
    fn payload(&self) -> &Payload;
    fn has_vector(&self, name: &str) -> bool;

    /// The tokenizer of a full-text index on exactly `key`, which switches
    /// `match.text` and `match.text_any` to token semantics there.
    fn text_tokenizer(&self, _key: &JsonPath) -> Option<&Tokenizer> {
        None
    }
}

impl Filter {
    /// Whether `point` satisfies this filter.
    pub fn check(&self, point: &impl PointView) -> bool {
        Scope {
            point: Some(point),
            payload: point.payload(),
        }
        .filter(self)
    }
}

/// What conditions are evaluated against: a point and its payload, or, inside
/// `nested`, one array element and no point.
struct Scope<'a, P> {
    point: Option<&'a P>,
    payload: &'a Payload,
}

impl<P: PointView> Scope<'_, P> {
    fn filter(&self, filter: &Filter) -> bool {
        let holds = |c: &Condition| self.condition(c);
        filter.must.iter().flatten().all(holds)
            && !filter.must_not.iter().flatten().any(holds)
            && filter.should.as_ref().is_none_or(|s| s.iter().any(holds))
            && filter.min_should.as_ref().is_none_or(|m| {
                // `take` stops evaluating once enough conditions hold.
                let wanted = usize::try_from(m.min_count).unwrap_or(usize::MAX);
                m.conditions
                    .iter()
                    .filter(|c| holds(c))
                    .take(wanted)
                    .count()
                    == wanted
            })
    }

    fn condition(&self, condition: &Condition) -> bool {
        match condition {
            Condition::Field(field) => self.field(field),
            Condition::IsEmpty(key) => is_empty(&values_at(self.payload, key)),
            Condition::IsNull(key) => is_null(&values_at(self.payload, key)),
            Condition::HasId(ids) => self.point.is_some_and(|p| ids.contains(&p.id())),
            Condition::HasVector(name) => self.point.is_some_and(|p| p.has_vector(name)),
            Condition::Slice(slice) => self.point.is_some_and(|p| slice_contains(slice, p.id())),
            Condition::Nested(nested) => array_elements(self.payload, &nested.key)
                .filter_map(Value::as_object)
                .any(|element| {
                    Scope::<P> {
                        point: None,
                        payload: element,
                    }
                    .filter(&nested.filter)
                }),
            Condition::Filter(inner) => self.filter(inner),
        }
    }

    fn field(&self, field: &FieldCondition) -> bool {
        let values = values_at(self.payload, &field.key);
        match &field.predicate {
            Predicate::IsEmpty(wanted) => is_empty(&values) == *wanted,
            Predicate::IsNull(wanted) => is_null(&values) == *wanted,
            Predicate::ValuesCount(bounds) if values.is_empty() => bounds.contains(&0),
            Predicate::ValuesCount(bounds) => values.iter().any(|v| bounds.contains(&count(v))),
            Predicate::Match(m) => {
                // Inside `nested` there is no point and so no index.
                let tokenizer = self.point.and_then(|p| p.text_tokenizer(&field.key));
                any_scalar(&values, |v| matches(m, v, tokenizer))
            }
            Predicate::Range(r) => any_scalar(&values, |v| in_range(r, v)),
        }
    }
}

/// The elements of the arrays at `key`, read as `key[]` whether or not the
/// key ends in `[]` (what `nested` accepts), without building a new path.
fn array_elements<'a>(payload: &'a Payload, key: &JsonPath) -> impl Iterator<Item = &'a Value> {
    let already_elements = key.steps().last() == Some(&PathStep::EachElement);
    values_at(payload, key)
        .into_iter()
        .flat_map(move |value| match value {
            _ if already_elements => std::slice::from_ref(value),
            Value::Array(items) => items.as_slice(),
            _ => &[],
        })
}

/// Whether `holds` is true of some value, where an array value stands for its
/// elements (one level deep: arrays inside arrays are tested as arrays).
fn any_scalar(values: &[&Value], holds: impl Fn(&Value) -> bool) -> bool {
    values.iter().any(|value| match value {
        Value::Array(items) => items.iter().any(&holds),
        scalar => holds(scalar),
    })
}

fn matches(m: &Match, value: &Value, tokenizer: Option<&Tokenizer>) -> bool {
    match (m, tokenizer) {
        (Match::Text(text), Some(t)) => value.as_str().is_some_and(|s| {
            let wanted = t.tokens(text);
            !wanted.is_empty() && wanted.is_subset(&t.tokens(s))
        }),
        (Match::TextAny(text), Some(t)) => value.as_str().is_some_and(|s| {
            let have = t.tokens(s);
            t.tokens(text).iter().any(|w| have.contains(w))
        }),
        _ => matches_plain(m, value),
    }
}

/// `match` without a text index.
fn matches_plain(m: &Match, value: &Value) -> bool {
    match m {
        Match::Value(MatchValue::Keyword(s)) => value.as_str() == Some(s),
        Match::Value(MatchValue::Integer(i)) => value.as_i64() == Some(*i),
        Match::Value(MatchValue::Bool(b)) => value.as_bool() == Some(*b),
        Match::Any(list) => in_list(list, value),
        Match::Except(list) => match value {
            Value::Null => false,
            // A value of another type than the list is not in it; only
            // integers can equal listed integers, so a float is never listed.
            Value::String(_) | Value::Number(_) => !in_list(list, value),
            Value::Bool(_) | Value::Array(_) | Value::Object(_) => true,
        },
        Match::Text(text) | Match::Phrase(text) => {
            value.as_str().is_some_and(|s| s.contains(text.as_str()))
        }
        Match::TextAny(text) => value
            .as_str()
            .is_some_and(|s| text.split_whitespace().any(|word| s.contains(word))),
        Match::Prefix(prefix) => value
            .as_str()
            .is_some_and(|s| s.starts_with(prefix.as_str())),
    }
}

fn in_list(list: &MatchList, value: &Value) -> bool {
    match list {
        MatchList::Keywords(items) => value.as_str().is_some_and(|s| items.iter().any(|k| k == s)),
        MatchList::Integers(items) => value.as_i64().is_some_and(|i| items.contains(&i)),
    }
}

fn in_range(range: &Range, value: &Value) -> bool {
    match range {
        Range::Number(bounds) => value.as_f64().is_some_and(|x| bounds.contains(&x)),
        Range::Datetime(bounds) => value
            .as_str()
            .and_then(datetime::parse)
            .is_some_and(|instant| bounds.contains(&instant)),
    }
}

fn count(value: &Value) -> u64 {
    match value {
        Value::Null => 0,
        Value::Array(items) => items.len() as u64,
        _ => 1,
    }
}

fn is_empty(values: &[&Value]) -> bool {
    values
        .iter()
        .all(|v| v.is_null() || v.as_array().is_some_and(Vec::is_empty))
}

fn is_null(values: &[&Value]) -> bool {
    values.iter().any(|v| {
        v.is_null()
            || v.as_array()
                .is_some_and(|items| items.iter().any(Value::is_null))
    })
}

/// Whether `id` falls in the slice: `slice_hash(id) % total == index`.
fn slice_contains(slice: &Slice, id: PointId) -> bool {
    slice.total != 0 && slice_hash(id) % slice.total == slice.index
}

/// The stable id hash behind `slice`, frozen by Qdrant so that clients can
/// predict slice membership: SipHash-2-4 with an all-zero key over the id's
/// canonical bytes (8 little-endian bytes for a number, the 16 RFC 4122 bytes
/// for a UUID).
pub(super) fn slice_hash(id: PointId) -> u64 {
    use std::hash::Hasher as _;

    // `SipHasher` is deprecated only as a default choice of hasher; it is
    // documented as exactly SipHash-2-4, and `new()` uses the zero key. Its
    // `write` feeds raw bytes, unlike `Hash::hash`, which would add a length.
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new();
    match id {
        PointId::Num(n) => hasher.write(&n.to_le_bytes()),
        PointId::Uuid(u) => hasher.write(u.as_bytes()),
    }
    hasher.finish()
}
