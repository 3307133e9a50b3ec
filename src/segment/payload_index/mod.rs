//! Payload indexes: in-memory lookups from payload values to the offsets of
//! the points holding them, one per indexed field.
//!
//! Durability: only the schema is persisted: in the segment's `meta.json` at
//! each flush, in the WAL record that created the index (replayed like any
//! update), and mirrored in the collection config. Index contents are rebuilt from
//! the segment's payloads, which are in memory anyway, when the segment
//! opens, and from then on every payload change goes through
//! [`PayloadIndexes::add`] / [`PayloadIndexes::remove`] from the segment's
//! record replay, so live updates and load-time replay maintain the indexes
//! the same way. Nothing here is ever out of date with the payloads.
//!
//! Values: the values at the field's key path, as
//! [`values_at`](crate::segment::filter::values_at) finds them, with an
//! array value standing for its elements (one level deep), exactly as the
//! filter's `match` and `range` look at them.
//!
//! Use: [`PayloadIndexes::candidates`] turns a filter's `must` clauses into a
//! candidate set: a superset of the matching offsets taken from the most
//! selective indexed condition. Callers still run the full filter on every
//! candidate, so results never depend on which index was picked. The one
//! semantic change an index brings is `match.text` / `match.text_any` on a
//! field with a text index, which then compare tokens (see `text.rs`).

#![deny(unsafe_code)]

mod boolean;
mod datetime;
mod float;
mod integer;
mod keyword;
mod postings;
mod schema;
mod text;
mod uuid;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::segment::filter::{
    values_at, Condition, Filter, JsonPath, Match, MatchList, MatchValue, Predicate,
};
use crate::segment::payload::Payload;
use crate::segment::point_id::PointOffset;
use boolean::BoolIndex;
use datetime::DatetimeIndex;
use float::FloatIndex;
use integer::IntegerIndex;
use keyword::KeywordIndex;
pub use schema::{FieldSchema, IntegerModes, SchemaType};
pub use text::{TextIndex, Tokenizer};
use uuid::UuidIndex;

/// One kind of index over one field.
#[derive(Debug, Clone)]
enum FieldIndex {
    Keyword(KeywordIndex),
    Integer(IntegerIndex),
    Float(FloatIndex),
    Bool(BoolIndex),
    Datetime(DatetimeIndex),
    Uuid(UuidIndex),
    Text(TextIndex),
}

impl FieldIndex {
    fn new(schema: &FieldSchema) -> FieldIndex {
        match schema.data_type {
            SchemaType::Keyword => FieldIndex::Keyword(KeywordIndex::default()),
            SchemaType::Integer => FieldIndex::Integer(IntegerIndex::new(schema.integer_modes())),
            SchemaType::Float => FieldIndex::Float(FloatIndex::default()),
            SchemaType::Bool => FieldIndex::Bool(BoolIndex::default()),
            SchemaType::Datetime => FieldIndex::Datetime(DatetimeIndex::default()),
            SchemaType::Uuid => FieldIndex::Uuid(UuidIndex::default()),
            SchemaType::Text => {
                FieldIndex::Text(TextIndex::new(schema.tokenizer().unwrap_or(Tokenizer {
                    lowercase: true,
                    min_len: 0,
                    max_len: usize::MAX,
                })))
            }
        }
    }

    /// Whether `value` counts as an indexed value of this kind.
    fn accepts(&self, value: &Value) -> bool {
        match self {
            FieldIndex::Keyword(_) => KeywordIndex::accepts(value),
            FieldIndex::Integer(_) => IntegerIndex::accepts(value),
            FieldIndex::Float(_) => FloatIndex::accepts(value),
            FieldIndex::Bool(_) => BoolIndex::accepts(value),
            FieldIndex::Datetime(_) => DatetimeIndex::accepts(value),
            FieldIndex::Uuid(_) => UuidIndex::accepts(value),
            FieldIndex::Text(_) => TextIndex::accepts(value),
        }
    }

    fn add(&mut self, offset: PointOffset, value: &Value) {
        match self {
            FieldIndex::Keyword(i) => i.add(offset, value),
            FieldIndex::Integer(i) => i.add(offset, value),
            FieldIndex::Float(i) => i.add(offset, value),
            FieldIndex::Bool(i) => i.add(offset, value),
            FieldIndex::Datetime(i) => i.add(offset, value),
            FieldIndex::Uuid(i) => i.add(offset, value),
            FieldIndex::Text(i) => i.add(offset, value),
        }
    }

    fn remove(&mut self, offset: PointOffset, value: &Value) {
        match self {
            FieldIndex::Keyword(i) => i.remove(offset, value),
            FieldIndex::Integer(i) => i.remove(offset, value),
            FieldIndex::Float(i) => i.remove(offset, value),
            FieldIndex::Bool(i) => i.remove(offset, value),
            FieldIndex::Datetime(i) => i.remove(offset, value),
            FieldIndex::Uuid(i) => i.remove(offset, value),
            FieldIndex::Text(i) => i.remove(offset, value),
        }
    }

    /// True when [`FieldIndex::candidates`] for `predicate` are exactly the
    /// points whose payload satisfies it: lookups of whole values in
    /// keyword, bool and uuid indexes. (Integer lookups also see floats
    /// that the filter treats differently, ranges and text need a check.)
    fn answers_exactly(&self, predicate: &Predicate) -> bool {
        matches!(
            (self, predicate),
            (
                FieldIndex::Keyword(_) | FieldIndex::Uuid(_),
                Predicate::Match(
                    Match::Value(MatchValue::Keyword(_)) | Match::Any(MatchList::Keywords(_))
                )
            ) | (
                FieldIndex::Bool(_),
                Predicate::Match(Match::Value(MatchValue::Bool(_)))
            )
        )
    }

    /// Ascending, without repeats.
    fn candidates(&self, predicate: &Predicate) -> Option<Vec<PointOffset>> {
        match self {
            FieldIndex::Keyword(i) => i.candidates(predicate),
            FieldIndex::Integer(i) => i.candidates(predicate),
            FieldIndex::Float(i) => i.candidates(predicate),
            FieldIndex::Bool(i) => i.candidates(predicate),
            FieldIndex::Datetime(i) => i.candidates(predicate),
            FieldIndex::Uuid(i) => i.candidates(predicate),
            FieldIndex::Text(i) => match predicate {
                Predicate::Match(Match::Text(q)) => Some(i.all_tokens(q).into_iter().collect()),
                Predicate::Match(Match::TextAny(q)) => Some(i.any_token(q).into_iter().collect()),
                _ => None,
            },
        }
    }
}

/// What the payload indexes know of a filter's matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidates {
    /// Ascending; every live point matching the filter is among them
    /// (deleted points may be too).
    pub offsets: Vec<PointOffset>,
    /// The live candidates are exactly the matches: the filter is a single
    /// `must` condition that an index answers without a payload check.
    pub exact: bool,
}

#[derive(Debug, Clone)]
struct IndexedField {
    path: JsonPath,
    schema: FieldSchema,
    index: FieldIndex,
    /// Offsets with at least one indexed value: collection info's `points`.
    points: BTreeSet<PointOffset>,
}

/// What collection info shows for one index.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexInfo {
    pub field_name: String,
    pub schema: FieldSchema,
    pub points: usize,
}

/// The scalar values an index sees at `path`: array values stand for their
/// elements, as in the filter's `match` and `range`.
fn scalars<'a>(payload: &'a Payload, path: &JsonPath) -> impl Iterator<Item = &'a Value> {
    values_at(payload, path)
        .into_iter()
        .flat_map(|value| match value {
            Value::Array(items) => items.as_slice(),
            scalar => std::slice::from_ref(scalar),
        })
}

/// Every payload index of a segment, by field name.
#[derive(Debug, Clone, Default)]
pub struct PayloadIndexes {
    fields: BTreeMap<String, IndexedField>,
}

impl PayloadIndexes {
    /// Creates (or replaces, if the schema differs) the index on
    /// `field_name`, filling it from `payloads`.
    pub fn create<'a>(
        &mut self,
        field_name: &str,
        path: JsonPath,
        schema: FieldSchema,
        payloads: impl Iterator<Item = (PointOffset, &'a Payload)>,
    ) {
        if self
            .fields
            .get(field_name)
            .is_some_and(|f| f.schema == schema && f.path == path)
        {
            return;
        }
        let mut field = IndexedField {
            index: FieldIndex::new(&schema),
            path,
            schema,
            points: BTreeSet::new(),
        };
        for (offset, payload) in payloads {
            field.add(offset, payload);
        }
        self.fields.insert(field_name.to_string(), field);
    }

    /// Drops the index on `field_name`; false if there was none.
    pub fn delete(&mut self, field_name: &str) -> bool {
        self.fields.remove(field_name).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Indexes `payload` as the payload at `offset`.
    pub fn add(&mut self, offset: PointOffset, payload: &Payload) {
        for field in self.fields.values_mut() {
            field.add(offset, payload);
        }
    }

    /// Un-indexes `payload`, which must be what was added for `offset`.
    pub fn remove(&mut self, offset: PointOffset, payload: &Payload) {
        for field in self.fields.values_mut() {
            for value in scalars(payload, &field.path) {
                field.index.remove(offset, value);
            }
            field.points.remove(&offset);
        }
    }

    /// Every index's schema, by field name: what the segment persists.
    pub fn schemas(&self) -> BTreeMap<String, FieldSchema> {
        self.fields
            .iter()
            .map(|(name, f)| (name.clone(), f.schema.clone()))
            .collect()
    }

    pub fn info(&self) -> Vec<IndexInfo> {
        self.fields
            .iter()
            .map(|(name, f)| IndexInfo {
                field_name: name.clone(),
                schema: f.schema.clone(),
                points: f.points.len(),
            })
            .collect()
    }

    /// The tokenizer of a text index on exactly `key`, if there is one.
    pub fn tokenizer(&self, key: &JsonPath) -> Option<&Tokenizer> {
        self.fields.values().find_map(|f| match &f.index {
            FieldIndex::Text(t) if &f.path == key => Some(t.tokenizer()),
            _ => None,
        })
    }

    /// For Qdrant's `payload_m`: the fields whose values get links among
    /// their points (keyword, and integer with lookups), and the points of
    /// every value of those fields held by at least `min` points.
    pub fn value_groups(&self, min: usize) -> (Vec<String>, Vec<Vec<PointOffset>>) {
        let mut fields = Vec::new();
        let mut groups = Vec::new();
        for (name, field) in &self.fields {
            let found = match &field.index {
                FieldIndex::Keyword(i) => i.groups(min),
                FieldIndex::Integer(i) if i.answers_lookups() => i.groups(min),
                _ => continue,
            };
            fields.push(name.clone());
            groups.extend(found);
        }
        (fields, groups)
    }

    /// The field of `filter` when it is one value looked up in a keyword or
    /// integer index (one `must` condition, `match: {value}`): the case
    /// payload links serve.
    pub fn single_value(&self, filter: &Filter) -> Option<&str> {
        let [Condition::Field(field)] = filter.must.as_deref()? else {
            return None;
        };
        if filter.should.is_some() || filter.must_not.is_some() || filter.min_should.is_some() {
            return None;
        }
        let Predicate::Match(Match::Value(MatchValue::Keyword(_) | MatchValue::Integer(_))) =
            &field.predicate
        else {
            return None;
        };
        self.fields.iter().find_map(|(name, f)| {
            let linked = matches!(&f.index, FieldIndex::Keyword(_))
                || matches!(&f.index, FieldIndex::Integer(i) if i.answers_lookups());
            (f.path == field.key && linked).then_some(name.as_str())
        })
    }

    /// A superset of the offsets matching `filter`, from the indexed `must`
    /// condition with the fewest candidates; `None` when no `must`
    /// condition can use an index (scan everything then).
    pub fn candidates(&self, filter: &Filter) -> Option<Candidates> {
        let only_condition = filter.should.is_none()
            && filter.must_not.is_none()
            && filter.min_should.is_none()
            && filter.must.as_ref().is_some_and(|m| m.len() == 1);
        let mut best: Option<(Vec<PointOffset>, bool)> = None;
        for condition in filter.must.iter().flatten() {
            let Condition::Field(field) = condition else {
                continue;
            };
            for indexed in self.fields.values().filter(|f| f.path == field.key) {
                if let Some(found) = indexed.index.candidates(&field.predicate) {
                    if best.as_ref().is_none_or(|(b, _)| found.len() < b.len()) {
                        let exact =
                            only_condition && indexed.index.answers_exactly(&field.predicate);
                        best = Some((found, exact));
                    }
                }
            }
        }
        best.map(|(offsets, exact)| Candidates { offsets, exact })
    }
}

impl IndexedField {
    fn add(&mut self, offset: PointOffset, payload: &Payload) {
        let mut any = false;
        for value in scalars(payload, &self.path) {
            any |= self.index.accepts(value);
            self.index.add(offset, value);
        }
        if any {
            self.points.insert(offset);
        }
    }
}

#[cfg(test)]
mod tests;
