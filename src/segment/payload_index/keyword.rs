//! Keyword index: string value → offsets. Serves `match.value` with a string
//! and `match.any` with strings.

use serde_json::Value;

use super::postings::{sorted_unique, Postings};
use crate::segment::filter::{Match, MatchList, MatchValue, Predicate};
use crate::segment::point_id::PointOffset;

#[derive(Debug, Clone, Default)]
pub struct KeywordIndex {
    postings: Postings<String>,
}

impl KeywordIndex {
    /// The points of every value held by at least `min` points.
    pub fn groups(&self, min: usize) -> Vec<Vec<PointOffset>> {
        self.postings.groups(min).collect()
    }

    pub fn accepts(value: &Value) -> bool {
        value.is_string()
    }

    pub fn add(&mut self, offset: PointOffset, value: &Value) {
        if let Some(s) = value.as_str() {
            self.postings.insert(s.to_string(), offset);
        }
    }

    pub fn remove(&mut self, offset: PointOffset, value: &Value) {
        if let Some(s) = value.as_str() {
            self.postings.remove(&s.to_string(), offset);
        }
    }

    /// A superset of the offsets satisfying `predicate`, or `None` when this
    /// index cannot tell.
    pub fn candidates(&self, predicate: &Predicate) -> Option<Vec<PointOffset>> {
        let keys: Vec<&String> = match predicate {
            Predicate::Match(Match::Value(MatchValue::Keyword(s))) => vec![s],
            Predicate::Match(Match::Any(MatchList::Keywords(list))) => list.iter().collect(),
            _ => return None,
        };
        Some(sorted_unique(
            keys.into_iter().flat_map(|k| self.postings.get(k)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn answers_keyword_matches_only() {
        let mut index = KeywordIndex::default();
        index.add(PointOffset(0), &json!("red"));
        index.add(PointOffset(1), &json!("blue"));
        index.add(PointOffset(2), &json!(3));
        let red = Predicate::Match(Match::Value(MatchValue::Keyword("red".into())));
        assert_eq!(index.candidates(&red), Some(vec![PointOffset(0)]));
        let any = Predicate::Match(Match::Any(MatchList::Keywords(vec![
            "red".into(),
            "blue".into(),
        ])));
        assert_eq!(index.candidates(&any).map(|s| s.len()), Some(2));
        let int = Predicate::Match(Match::Value(MatchValue::Integer(3)));
        assert_eq!(index.candidates(&int), None);
        index.remove(PointOffset(0), &json!("red"));
        assert_eq!(index.candidates(&red), Some(vec![]));
    }
}
