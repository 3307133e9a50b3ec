//! Bool index: `true` / `false` → offsets. Serves `match.value` with a bool.

use serde_json::Value;

use super::postings::Postings;
use crate::segment::filter::{Match, MatchValue, Predicate};
use crate::segment::point_id::PointOffset;

#[derive(Debug, Clone, Default)]
pub struct BoolIndex {
    postings: Postings<bool>,
}

impl BoolIndex {
    pub fn accepts(value: &Value) -> bool {
        value.is_boolean()
    }

    pub fn add(&mut self, offset: PointOffset, value: &Value) {
        if let Some(b) = value.as_bool() {
            self.postings.insert(b, offset);
        }
    }

    pub fn remove(&mut self, offset: PointOffset, value: &Value) {
        if let Some(b) = value.as_bool() {
            self.postings.remove(&b, offset);
        }
    }

    pub fn candidates(&self, predicate: &Predicate) -> Option<Vec<PointOffset>> {
        match predicate {
            Predicate::Match(Match::Value(MatchValue::Bool(b))) => {
                Some(self.postings.get(b).collect())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn answers_bool_matches() {
        let mut index = BoolIndex::default();
        index.add(PointOffset(0), &json!(true));
        index.add(PointOffset(1), &json!(false));
        index.add(PointOffset(2), &json!("true"));
        let t = Predicate::Match(Match::Value(MatchValue::Bool(true)));
        assert_eq!(index.candidates(&t), Some(vec![PointOffset(0)]));
        index.remove(PointOffset(0), &json!(true));
        assert_eq!(index.candidates(&t), Some(vec![]));
    }
}
