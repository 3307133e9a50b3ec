//! Integer index: integer value → offsets, ordered so that it serves
//! `range` as well as `match.value` / `match.any` with integers.
//!
//! `range` compares every number as `f64`, floats included, but only
//! integers are keys here; so the offsets holding other numbers (floats,
//! integers beyond `i64`) are kept aside and join every range answer, which
//! keeps the answer a superset of the true matches.

use std::collections::BTreeSet;
use std::ops::Bound;

use serde_json::Value;

use super::postings::{sorted_unique, Postings};
use super::schema::IntegerModes;
use crate::segment::filter::{Match, MatchList, MatchValue, Predicate, Range};
use crate::segment::point_id::PointOffset;

#[derive(Debug, Clone)]
pub struct IntegerIndex {
    modes: IntegerModes,
    postings: Postings<i64>,
    other_numbers: BTreeSet<PointOffset>,
}

impl IntegerIndex {
    /// True where the index holds values for `match` lookups.
    pub fn answers_lookups(&self) -> bool {
        self.modes.lookup
    }

    /// The points of every value held by at least `min` points, where the
    /// index answers value lookups (none for a range-only index).
    pub fn groups(&self, min: usize) -> Vec<Vec<PointOffset>> {
        if !self.modes.lookup {
            return Vec::new();
        }
        self.postings.groups(min).collect()
    }

    pub fn new(modes: IntegerModes) -> IntegerIndex {
        IntegerIndex {
            modes,
            postings: Postings::default(),
            other_numbers: BTreeSet::new(),
        }
    }

    pub fn accepts(value: &Value) -> bool {
        value.as_i64().is_some()
    }

    pub fn add(&mut self, offset: PointOffset, value: &Value) {
        match (value.as_i64(), value.is_number()) {
            (Some(i), _) => self.postings.insert(i, offset),
            (None, true) => {
                self.other_numbers.insert(offset);
            }
            (None, false) => {}
        }
    }

    pub fn remove(&mut self, offset: PointOffset, value: &Value) {
        match (value.as_i64(), value.is_number()) {
            (Some(i), _) => self.postings.remove(&i, offset),
            (None, true) => {
                self.other_numbers.remove(&offset);
            }
            (None, false) => {}
        }
    }

    pub fn candidates(&self, predicate: &Predicate) -> Option<Vec<PointOffset>> {
        match predicate {
            Predicate::Match(m) if self.modes.lookup => {
                let keys: Vec<i64> = match m {
                    Match::Value(MatchValue::Integer(i)) => vec![*i],
                    Match::Any(MatchList::Integers(list)) => list.clone(),
                    _ => return None,
                };
                Some(sorted_unique(
                    keys.iter().flat_map(|k| self.postings.get(k)),
                ))
            }
            Predicate::Range(Range::Number(bounds)) if self.modes.range => {
                let mut found: Vec<PointOffset> = self.other_numbers.iter().copied().collect();
                // Every key whose `f64` value is in range lies between the
                // floor of the lower and the ceiling of the upper bound; the
                // exact test is then made on the key itself.
                let lo = bounds.gt.into_iter().chain(bounds.gte).reduce(f64::max);
                let hi = bounds.lt.into_iter().chain(bounds.lte).reduce(f64::min);
                let lo = lo.map(|x| x.floor() as i64).unwrap_or(i64::MIN);
                let hi = hi.map(|x| x.ceil() as i64).unwrap_or(i64::MAX);
                if lo <= hi {
                    found.extend(
                        self.postings
                            .range((Bound::Included(lo), Bound::Included(hi)))
                            .filter(|(k, _)| bounds.contains(&(**k as f64)))
                            .map(|(_, o)| o),
                    );
                }
                Some(sorted_unique(found))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::segment::filter::Bounds;

    const BOTH: IntegerModes = IntegerModes {
        lookup: true,
        range: true,
    };

    #[test]
    fn match_and_range() {
        let mut index = IntegerIndex::new(BOTH);
        for (i, v) in [json!(1), json!(5), json!(10), json!(2.5), json!("7")]
            .iter()
            .enumerate()
        {
            index.add(PointOffset(i as u32), v);
        }
        let five = Predicate::Match(Match::Value(MatchValue::Integer(5)));
        assert_eq!(index.candidates(&five), Some(vec![PointOffset(1)]));
        let range = Predicate::Range(Range::Number(Bounds {
            gt: Some(1.5),
            lte: Some(5.0),
            ..Bounds::default()
        }));
        // 5, plus the float that the full check will then test.
        assert_eq!(
            index.candidates(&range),
            Some(vec![PointOffset(1), PointOffset(3)])
        );
        let empty = Predicate::Range(Range::Number(Bounds {
            gt: Some(9.0),
            lt: Some(2.0),
            ..Bounds::default()
        }));
        assert_eq!(index.candidates(&empty), Some(vec![PointOffset(3)]));
    }

    #[test]
    fn disabled_modes_are_not_used() {
        let index = IntegerIndex::new(IntegerModes {
            lookup: false,
            range: true,
        });
        let five = Predicate::Match(Match::Value(MatchValue::Integer(5)));
        assert_eq!(index.candidates(&five), None);
        let index = IntegerIndex::new(IntegerModes {
            lookup: true,
            range: false,
        });
        let range = Predicate::Range(Range::Number(Bounds::default()));
        assert_eq!(index.candidates(&range), None);
    }
}
