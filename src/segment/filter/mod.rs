//! Qdrant filters: the types, their REST JSON form, and evaluation against a
//! point's id, payload and vectors.
//!
//! A [`Filter`] combines [`Condition`]s with `must` (all hold), `should` (at
//! least one holds, when present), `must_not` (none holds) and `min_should`
//! (at least `min_count` hold). Conditions test payload values at a
//! [`JsonPath`], the point id, the presence of a named vector, or nest
//! further filters.
//!
//! Data flow: the API layer deserializes a filter from request JSON
//! (`parse.rs`, with errors naming the offending part), calls
//! [`Filter::validate`] (`validate.rs`), and the collection stores it in the
//! write-ahead log with `rmp_serde::to_vec_named` (`serialize.rs` writes the
//! canonical JSON tree, which reads back to an equal filter). Segments then
//! call [`Filter::check`] (`check.rs`) on each candidate point through the
//! [`PointView`] trait. `path.rs` also provides the payload edits behind
//! set_payload and delete_payload with keys.
//!
//! Semantics follow Qdrant 1.19; where Qdrant's documentation is silent we
//! follow its behaviour, and the module docs of `check.rs` list the cases.

#![deny(unsafe_code)]

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod check;
mod condition;
pub(crate) mod datetime;
mod parse;
mod path;
mod serialize;
mod validate;

#[cfg(test)]
mod tests;

pub use check::PointView;
pub use condition::{
    Bounds, Condition, FieldCondition, Match, MatchList, MatchValue, NestedCondition, Predicate,
    Range, Slice,
};
pub use path::{merge, remove_at, set_at, values_at, JsonPath, PathError, PathStep};

/// A boolean combination of conditions. `None` and `Some(vec![])` differ only
/// for `should`: an absent `should` does not constrain, an empty one matches
/// nothing (Qdrant's behaviour).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub must: Option<Vec<Condition>>,
    pub should: Option<Vec<Condition>>,
    pub must_not: Option<Vec<Condition>>,
    pub min_should: Option<MinShould>,
}

/// At least `min_count` of `conditions` hold.
#[derive(Debug, Clone, PartialEq)]
pub struct MinShould {
    pub conditions: Vec<Condition>,
    pub min_count: u64,
}

impl Serialize for Filter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize::filter(self).serialize(serializer)
    }
}

/// Reads a filter from its REST JSON form; `at` names it in error messages
/// (for example `"filter"` or `"points_selector.filter"`).
pub fn parse_at(value: &serde_json::Value, at: &str) -> Result<Filter, String> {
    parse::filter(value, at)
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        parse::filter(&value, "filter").map_err(D::Error::custom)
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize::condition(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        parse::condition(&value, "condition").map_err(D::Error::custom)
    }
}
