//! Reading filters from Qdrant's REST JSON.
//!
//! Qdrant models conditions as an untagged enum, whose errors say only that
//! nothing matched. Here every value is first read into a `serde_json::Value`
//! and the condition kind is picked by its keys, so an error can say where it
//! is (`filter.must[1].match`) and what was expected there. The same code
//! serves JSON requests and the MessagePack write-ahead log.
//!
//! Leniencies kept from Qdrant: `must`/`should`/`must_not` take one condition
//! or an array, `null` means absent everywhere, and `{}` is an empty filter.
//! Strictness added: unknown fields are errors (a typo such as `"mach"` would
//! otherwise silently widen the filter), and a field condition must carry
//! exactly one predicate.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::condition::{
    Bounds, Condition, FieldCondition, Match, MatchList, MatchValue, NestedCondition, Predicate,
    Range, Slice,
};
use super::path::JsonPath;
use super::{datetime, Filter, MinShould};
use crate::segment::point_id::PointId;

type Object = Map<String, Value>;

const FILTER_KEYS: [&str; 4] = ["must", "should", "must_not", "min_should"];

/// The conditions other than field conditions and filters, each named by its
/// only key.
#[derive(Clone, Copy)]
enum Kind {
    IsEmpty,
    IsNull,
    HasId,
    HasVector,
    Nested,
    Slice,
}

const KINDS: [(&str, Kind); 6] = [
    ("is_empty", Kind::IsEmpty),
    ("is_null", Kind::IsNull),
    ("has_id", Kind::HasId),
    ("has_vector", Kind::HasVector),
    ("nested", Kind::Nested),
    ("slice", Kind::Slice),
];

const PREDICATES: &str = "match, range, values_count, is_empty or is_null";

/// Reads a filter; `at` names it in error messages (usually `"filter"`).
pub(super) fn filter(value: &Value, at: &str) -> Result<Filter, String> {
    match value {
        Value::Object(object) => filter_object(object, at),
        other => Err(format!(
            "{at}: a filter must be an object, got {}",
            kind(other)
        )),
    }
}

fn filter_object(object: &Object, at: &str) -> Result<Filter, String> {
    let mut filter = Filter::default();
    for (key, value) in object {
        let here = format!("{at}.{key}");
        match key.as_str() {
            "must" => filter.must = clause(value, &here)?,
            "should" => filter.should = clause(value, &here)?,
            "must_not" => filter.must_not = clause(value, &here)?,
            "min_should" if value.is_null() => filter.min_should = None,
            "min_should" => filter.min_should = Some(min_should(value, &here)?),
            other => {
                // A common slip is sending a bare condition as the filter.
                let hint = if other == "key" || KINDS.iter().any(|(name, _)| *name == other) {
                    " (to filter by one condition, put it in must)"
                } else {
                    ""
                };
                return Err(format!(
                    "{at}: unknown field {other:?}; a filter has must, should, must_not and \
                     min_should{hint}"
                ));
            }
        }
    }
    Ok(filter)
}

/// `must`, `should` or `must_not`: one condition, an array of them, or null.
fn clause(value: &Value, at: &str) -> Result<Option<Vec<Condition>>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Object(_) => Ok(Some(vec![condition(value, at)?])),
        Value::Array(items) => conditions(items, at).map(Some),
        other => Err(format!(
            "{at}: expected a condition or an array of conditions, got {}",
            kind(other)
        )),
    }
}

fn conditions(items: &[Value], at: &str) -> Result<Vec<Condition>, String> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| condition(item, &format!("{at}[{i}]")))
        .collect()
}

fn min_should(value: &Value, at: &str) -> Result<MinShould, String> {
    let object = object(value, at, "an object with conditions and min_count")?;
    let mut conditions_found = None;
    let mut min_count = None;
    for (key, value) in object {
        let here = format!("{at}.{key}");
        match key.as_str() {
            "conditions" => match value {
                Value::Array(items) => conditions_found = Some(conditions(items, &here)?),
                other => {
                    return Err(format!(
                        "{here}: expected an array of conditions, got {}",
                        kind(other)
                    ))
                }
            },
            "min_count" => min_count = Some(unsigned(value, &here)?),
            other => {
                return Err(format!(
                    "{at}: unknown field {other:?}; min_should has conditions and min_count"
                ))
            }
        }
    }
    match (conditions_found, min_count) {
        (Some(conditions), Some(min_count)) => Ok(MinShould {
            conditions,
            min_count,
        }),
        (None, _) => Err(format!("{at}: missing field \"conditions\"")),
        (_, None) => Err(format!("{at}: missing field \"min_count\"")),
    }
}

/// Reads one condition; `at` names it in error messages.
pub(super) fn condition(value: &Value, at: &str) -> Result<Condition, String> {
    let object = match value {
        Value::Object(object) => object,
        other => {
            return Err(format!(
                "{at}: a condition must be an object, got {}",
                kind(other)
            ))
        }
    };
    if let Some(key) = object.get("key") {
        return field_condition(object, key, at).map(Condition::Field);
    }
    let kinds: Vec<(&str, Kind, &Value)> = KINDS
        .into_iter()
        .filter_map(|(name, which)| object.get(name).map(|body| (name, which, body)))
        .collect();
    let (name, which, body) = match kinds.as_slice() {
        // A filter used as a condition; unknown fields beside filter fields
        // are reported by `filter_object`.
        [] if object.is_empty() || object.keys().any(|k| FILTER_KEYS.contains(&k.as_str())) => {
            return filter_object(object, at).map(Condition::Filter)
        }
        [] => {
            let keys: Vec<&String> = object.keys().collect();
            return Err(format!(
                "{at}: unrecognised condition with fields {keys:?}; expected a field condition \
                 (\"key\" with {PREDICATES}), is_empty, is_null, has_id, has_vector, nested, \
                 slice, or a filter (must, should, must_not, min_should)"
            ));
        }
        [one] => *one,
        several => {
            let names: Vec<&str> = several.iter().map(|(name, _, _)| *name).collect();
            return Err(format!(
                "{at}: one condition object cannot combine {}; use separate conditions",
                names.join(" and ")
            ));
        }
    };
    if let Some(other) = object.keys().find(|k| k.as_str() != name) {
        return Err(format!(
            "{at}: unexpected field {other:?} beside {name:?}; a {name} condition has no other \
             fields"
        ));
    }
    let here = format!("{at}.{name}");
    match which {
        Kind::IsEmpty => payload_field(body, &here).map(Condition::IsEmpty),
        Kind::IsNull => payload_field(body, &here).map(Condition::IsNull),
        Kind::HasId => has_id(body, &here).map(Condition::HasId),
        Kind::HasVector => match body {
            Value::String(name) => Ok(Condition::HasVector(name.clone())),
            other => Err(format!(
                "{here}: expected a vector name string, got {}",
                kind(other)
            )),
        },
        Kind::Nested => nested(body, &here).map(Condition::Nested),
        Kind::Slice => slice(body, &here).map(Condition::Slice),
    }
}

/// `{"key": "a.b"}`, the body of `is_empty` and `is_null`.
fn payload_field(value: &Value, at: &str) -> Result<JsonPath, String> {
    let object = object(value, at, "{\"key\": ...}")?;
    if let Some(other) = object.keys().find(|k| k.as_str() != "key") {
        return Err(format!(
            "{at}: unknown field {other:?}; expected only \"key\""
        ));
    }
    match object.get("key") {
        Some(key) => key_path(key, &format!("{at}.key")),
        None => Err(format!("{at}: missing field \"key\"")),
    }
}

fn key_path(value: &Value, at: &str) -> Result<JsonPath, String> {
    match value {
        Value::String(text) => text.parse().map_err(|e| format!("{at}: {e}")),
        other => Err(format!(
            "{at}: expected a key path string, got {}",
            kind(other)
        )),
    }
}

fn has_id(value: &Value, at: &str) -> Result<BTreeSet<PointId>, String> {
    let Value::Array(items) = value else {
        return Err(format!(
            "{at}: expected an array of point ids, got {}",
            kind(value)
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| PointId::deserialize(item).map_err(|e| format!("{at}[{i}]: {e}")))
        .collect()
}

fn nested(value: &Value, at: &str) -> Result<NestedCondition, String> {
    let object = object(value, at, "{\"key\": ..., \"filter\": ...}")?;
    if let Some(other) = object
        .keys()
        .find(|k| !["key", "filter"].contains(&k.as_str()))
    {
        return Err(format!(
            "{at}: unknown field {other:?}; nested has key and filter"
        ));
    }
    let key = match object.get("key") {
        Some(key) => key_path(key, &format!("{at}.key"))?,
        None => return Err(format!("{at}: missing field \"key\"")),
    };
    let filter = match object.get("filter") {
        Some(inner) => filter(inner, &format!("{at}.filter"))?,
        None => return Err(format!("{at}: missing field \"filter\"")),
    };
    Ok(NestedCondition { key, filter })
}

fn slice(value: &Value, at: &str) -> Result<Slice, String> {
    let object = object(value, at, "{\"total\": ..., \"index\": ...}")?;
    let (mut total, mut index) = (None, None);
    for (key, value) in object {
        let here = format!("{at}.{key}");
        match key.as_str() {
            "total" => total = Some(unsigned(value, &here)?),
            "index" => index = Some(unsigned(value, &here)?),
            other => {
                return Err(format!(
                    "{at}: unknown field {other:?}; slice has total and index"
                ))
            }
        }
    }
    match (total, index) {
        (Some(total), Some(index)) => Ok(Slice { total, index }),
        (None, _) => Err(format!("{at}: missing field \"total\"")),
        (_, None) => Err(format!("{at}: missing field \"index\"")),
    }
}

fn field_condition(object: &Object, key: &Value, at: &str) -> Result<FieldCondition, String> {
    let key = key_path(key, &format!("{at}.key"))?;
    let mut found: Vec<(&str, Predicate)> = Vec::new();
    for (name, value) in object {
        // Clients built from Qdrant's schema may send unused predicates as null.
        if name == "key" || value.is_null() {
            continue;
        }
        let here = format!("{at}.{name}");
        let predicate = match name.as_str() {
            "match" => Predicate::Match(match_predicate(value, &here)?),
            "range" => Predicate::Range(range(value, &here)?),
            "values_count" => Predicate::ValuesCount(count_bounds(value, &here)?),
            "is_empty" => Predicate::IsEmpty(boolean(value, &here)?),
            "is_null" => Predicate::IsNull(boolean(value, &here)?),
            "geo_bounding_box" | "geo_radius" | "geo_polygon" => {
                return Err(format!(
                    "{at}: {name} conditions (on key \"{key}\") are not supported yet"
                ))
            }
            other => {
                return Err(format!(
                    "{at}: unknown field {other:?} in the field condition on key \"{key}\"; \
                     expected {PREDICATES}"
                ))
            }
        };
        found.push((name, predicate));
    }
    if found.len() > 1 {
        let names: Vec<&str> = found.iter().map(|(name, _)| *name).collect();
        return Err(format!(
            "{at}: the field condition on key \"{key}\" has several predicates ({}); give exactly \
             one and combine conditions with must or should",
            names.join(", ")
        ));
    }
    match found.pop() {
        Some((_, predicate)) => Ok(FieldCondition { key, predicate }),
        None => Err(format!(
            "{at}: the field condition on key \"{key}\" needs one of {PREDICATES}"
        )),
    }
}

fn match_predicate(value: &Value, at: &str) -> Result<Match, String> {
    const FORMS: &str = "value, any, except, text, text_any, phrase or prefix";
    let object = object(value, at, "a match object")?;
    let mut entries = object.iter().filter(|(_, v)| !v.is_null());
    let (name, body) = match (entries.next(), entries.next()) {
        (Some(entry), None) => entry,
        (None, _) => return Err(format!("{at}: needs one of {FORMS}")),
        (Some((first, _)), Some((second, _))) => {
            return Err(format!(
                "{at}: give only one of {FORMS}, found {first:?} and {second:?}"
            ))
        }
    };
    let here = format!("{at}.{name}");
    let text = |body: &Value| match body {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("{here}: expected a string, got {}", kind(other))),
    };
    match name.as_str() {
        "value" => match_value(body, &here).map(Match::Value),
        "any" => match_list(body, &here).map(Match::Any),
        "except" => match_list(body, &here).map(Match::Except),
        "text" => text(body).map(Match::Text),
        "text_any" => text(body).map(Match::TextAny),
        "phrase" => text(body).map(Match::Phrase),
        "prefix" => text(body).map(Match::Prefix),
        other => Err(format!("{at}: unknown field {other:?}; expected {FORMS}")),
    }
}

fn match_value(value: &Value, at: &str) -> Result<MatchValue, String> {
    match value {
        Value::String(s) => Ok(MatchValue::Keyword(s.clone())),
        Value::Bool(b) => Ok(MatchValue::Bool(*b)),
        Value::Number(n) => integer(n, at).map(MatchValue::Integer),
        other => Err(format!(
            "{at}: expected a string, an integer or a boolean, got {}",
            kind(other)
        )),
    }
}

fn integer(n: &serde_json::Number, at: &str) -> Result<i64, String> {
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    if n.is_u64() {
        return Err(format!(
            "{at}: {n} is out of the signed 64-bit integer range"
        ));
    }
    Err(format!(
        "{at}: {n} is not an integer; match compares strings, integers and booleans \
         (use a range with gte and lte to select floats)"
    ))
}

fn match_list(value: &Value, at: &str) -> Result<MatchList, String> {
    let Value::Array(items) = value else {
        return Err(format!(
            "{at}: expected an array of strings or of integers, got {}",
            kind(value)
        ));
    };
    match items.first() {
        None | Some(Value::String(_)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "{at}[{i}]: expected a string like the first element, got {}",
                    kind(other)
                )),
            })
            .collect::<Result<_, _>>()
            .map(MatchList::Keywords),
        Some(Value::Number(_)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Number(n) => integer(n, &format!("{at}[{i}]")),
                other => Err(format!(
                    "{at}[{i}]: expected an integer like the first element, got {}",
                    kind(other)
                )),
            })
            .collect::<Result<_, _>>()
            .map(MatchList::Integers),
        Some(other) => Err(format!(
            "{at}[0]: expected a string or an integer, got {}",
            kind(other)
        )),
    }
}

/// A range is a datetime range when any bound is a string, as in Qdrant.
fn range(value: &Value, at: &str) -> Result<Range, String> {
    let object = object(value, at, "an object of gt, gte, lt, lte")?;
    if object.values().any(Value::is_string) {
        bounds(object, at, |value, here| match value {
            Value::String(text) => datetime::parse(text).ok_or_else(|| {
                format!(
                    "{here}: {text:?} is not a datetime; use {}",
                    datetime::ACCEPTED
                )
            }),
            other => Err(format!(
                "{here}: expected a datetime string like the other bounds, got {}",
                kind(other)
            )),
        })
        .map(Range::Datetime)
    } else {
        bounds(object, at, |value, here| match value {
            Value::Number(n) => n
                .as_f64()
                .ok_or_else(|| format!("{here}: {n} is not a finite number")),
            other => Err(format!(
                "{here}: expected a number or a datetime string, got {}",
                kind(other)
            )),
        })
        .map(Range::Number)
    }
}

fn count_bounds(value: &Value, at: &str) -> Result<Bounds<u64>, String> {
    let object = object(value, at, "an object of gt, gte, lt, lte")?;
    bounds(object, at, unsigned)
}

fn bounds<T>(
    object: &Object,
    at: &str,
    read: impl Fn(&Value, &str) -> Result<T, String>,
) -> Result<Bounds<T>, String> {
    let mut bounds = Bounds::default();
    for (name, value) in object {
        let slot = match name.as_str() {
            "gt" => &mut bounds.gt,
            "gte" => &mut bounds.gte,
            "lt" => &mut bounds.lt,
            "lte" => &mut bounds.lte,
            other => {
                return Err(format!(
                    "{at}: unknown field {other:?}; expected gt, gte, lt or lte"
                ))
            }
        };
        if !value.is_null() {
            *slot = Some(read(value, &format!("{at}.{name}"))?);
        }
    }
    Ok(bounds)
}

fn unsigned(value: &Value, at: &str) -> Result<u64, String> {
    value.as_u64().ok_or_else(|| {
        let shown = match value {
            Value::Number(n) => n.to_string(),
            other => kind(other).to_owned(),
        };
        format!("{at}: expected a non-negative integer, got {shown}")
    })
}

fn boolean(value: &Value, at: &str) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| format!("{at}: expected true or false, got {}", kind(value)))
}

fn object<'a>(value: &'a Value, at: &str, expected: &str) -> Result<&'a Object, String> {
    match value {
        Value::Object(object) => Ok(object),
        other => Err(format!("{at}: expected {expected}, got {}", kind(other))),
    }
}

/// A short name for the JSON type of `value`, for error messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
