//! The condition types a [`Filter`](super::Filter) is built from.
//!
//! They mirror Qdrant's REST JSON one to one (see `parse.rs` and
//! `serialize.rs` for the exact shapes), with one deliberate tightening: a
//! field condition carries exactly one predicate. Qdrant accepts several in
//! one object and ORs them, which is rarely what the writer meant; we reject
//! that at parse time and ask for separate conditions instead.
//!
//! Geo predicates (`geo_bounding_box`, `geo_radius`, `geo_polygon`) are not
//! supported yet and are rejected when parsing.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::path::JsonPath;
use super::Filter;
use crate::segment::point_id::PointId;

/// One entry of `must`, `should`, `must_not` or `min_should.conditions`.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `{"key": ..., "match" | "range" | "values_count" | "is_empty" | "is_null": ...}`
    Field(FieldCondition),
    /// `{"is_empty": {"key": ...}}`: the key is missing, `null` or `[]`.
    IsEmpty(JsonPath),
    /// `{"is_null": {"key": ...}}`: the key holds `null` (or an array with a `null`).
    IsNull(JsonPath),
    /// `{"has_id": [...]}`: the point id is one of these.
    HasId(BTreeSet<PointId>),
    /// `{"has_vector": "name"}`: the point has this named vector (`""` is the unnamed one).
    HasVector(String),
    /// `{"nested": {"key": ..., "filter": ...}}`: some element of an array of
    /// objects satisfies the whole inner filter on its own.
    Nested(NestedCondition),
    /// `{"slice": {"total": n, "index": i}}`: the point falls in slice `i` of `n`.
    Slice(Slice),
    /// A filter used as a condition, for arbitrary boolean nesting.
    Filter(Filter),
}

/// A predicate on the values found at `key`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldCondition {
    pub key: JsonPath,
    pub predicate: Predicate,
}

/// What a field condition tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    Match(Match),
    Range(Range),
    /// Number of values: an array counts its elements, `null` counts 0,
    /// anything else 1, and a missing key counts 0.
    ValuesCount(Bounds<u64>),
    /// `"is_empty": true|false`: the field form of [`Condition::IsEmpty`] and
    /// its negation.
    IsEmpty(bool),
    /// `"is_null": true|false`: the field form of [`Condition::IsNull`] and
    /// its negation.
    IsNull(bool),
}

/// The `match` predicates. All of them look at scalars: an array value
/// matches when one of its elements does.
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// `{"value": ...}`: equal to this string, integer or boolean.
    Value(MatchValue),
    /// `{"any": [...]}`: equal to one of these.
    Any(MatchList),
    /// `{"except": [...]}`: present and equal to none of these.
    Except(MatchList),
    /// `{"text": "..."}`: the string contains this substring. Without a full
    /// text index this is a plain substring test, as in Qdrant.
    Text(String),
    /// `{"text_any": "..."}`: the string contains one of these
    /// whitespace-separated words.
    TextAny(String),
    /// `{"phrase": "..."}`: the string contains this phrase (a substring test
    /// until there is a text index).
    Phrase(String),
    /// `{"prefix": "..."}`: the string starts with this prefix (byte-wise,
    /// case-sensitive).
    Prefix(String),
}

/// The value of `match.value`. Floats are not matchable, as in Qdrant; a
/// range with equal bounds does that job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchValue {
    Keyword(String),
    Integer(i64),
    Bool(bool),
}

/// The list of `match.any` or `match.except`: all strings or all integers.
/// An empty list parses as `Keywords`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchList {
    Keywords(Vec<String>),
    Integers(Vec<i64>),
}

/// `range`: numeric bounds, or datetime bounds when the bounds are strings.
#[derive(Debug, Clone, PartialEq)]
pub enum Range {
    /// Matches numbers (integers and floats, compared as `f64`).
    Number(Bounds<f64>),
    /// Matches strings that parse as datetimes, compared as UTC instants.
    Datetime(Bounds<DateTime<Utc>>),
}

/// `gt`/`gte`/`lt`/`lte`; an absent bound does not constrain. With no bound
/// at all, every value of the right type is in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds<T> {
    pub gt: Option<T>,
    pub gte: Option<T>,
    pub lt: Option<T>,
    pub lte: Option<T>,
}

impl<T> Default for Bounds<T> {
    fn default() -> Self {
        Bounds {
            gt: None,
            gte: None,
            lt: None,
            lte: None,
        }
    }
}

impl<T: PartialOrd> Bounds<T> {
    /// Whether `x` satisfies every bound that is present.
    pub fn contains(&self, x: &T) -> bool {
        self.gt.as_ref().is_none_or(|b| x > b)
            && self.gte.as_ref().is_none_or(|b| x >= b)
            && self.lt.as_ref().is_none_or(|b| x < b)
            && self.lte.as_ref().is_none_or(|b| x <= b)
    }
}

/// `nested`: `filter` is evaluated against each object element of the array
/// at `key` (`key` may end in `[]` or not), with keys relative to the
/// element.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedCondition {
    pub key: JsonPath,
    pub filter: Filter,
}

/// `slice`: partitions the id space into `total` disjoint slices by a stable
/// hash of the point id (see `check.rs` for the hash contract). Valid when
/// `total >= 1` and `index < total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    pub total: u64,
    pub index: u64,
}
