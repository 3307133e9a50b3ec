//! UUID index: strings that parse as UUIDs → offsets, keyed by the 128-bit
//! value. Serves `match.value` / `match.any` with strings when every listed
//! string is a UUID; a string that is not a UUID could still equal a
//! non-UUID value this index does not hold, so then it declines.

use serde_json::Value;
use uuid::Uuid;

use super::postings::{sorted_unique, Postings};
use crate::segment::filter::{Match, MatchList, MatchValue, Predicate};
use crate::segment::point_id::PointOffset;

#[derive(Debug, Clone, Default)]
pub struct UuidIndex {
    postings: Postings<u128>,
}

fn key(s: &str) -> Option<u128> {
    Uuid::parse_str(s).ok().map(|u| u.as_u128())
}

impl UuidIndex {
    pub fn accepts(value: &Value) -> bool {
        value.as_str().and_then(key).is_some()
    }

    pub fn add(&mut self, offset: PointOffset, value: &Value) {
        if let Some(k) = value.as_str().and_then(key) {
            self.postings.insert(k, offset);
        }
    }

    pub fn remove(&mut self, offset: PointOffset, value: &Value) {
        if let Some(k) = value.as_str().and_then(key) {
            self.postings.remove(&k, offset);
        }
    }

    pub fn candidates(&self, predicate: &Predicate) -> Option<Vec<PointOffset>> {
        let strings: Vec<&String> = match predicate {
            Predicate::Match(Match::Value(MatchValue::Keyword(s))) => vec![s],
            Predicate::Match(Match::Any(MatchList::Keywords(list))) => list.iter().collect(),
            _ => return None,
        };
        let keys = strings
            .into_iter()
            .map(|s| key(s))
            .collect::<Option<Vec<u128>>>()?;
        Some(sorted_unique(
            keys.iter().flat_map(|k| self.postings.get(k)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn answers_uuid_matches_and_declines_other_strings() {
        let id = "550e8400-e29b-41d4-a716-446655440000";
        let mut index = UuidIndex::default();
        index.add(PointOffset(0), &json!(id));
        index.add(PointOffset(1), &json!("plain"));
        let m = Predicate::Match(Match::Value(MatchValue::Keyword(id.into())));
        assert_eq!(index.candidates(&m), Some(vec![PointOffset(0)]));
        let plain = Predicate::Match(Match::Value(MatchValue::Keyword("plain".into())));
        assert_eq!(index.candidates(&plain), None);
        assert!(!UuidIndex::accepts(&json!("plain")));
    }
}
