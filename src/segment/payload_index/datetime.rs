//! Datetime index: strings that parse as datetimes (with the filter
//! module's parser, so the accepted forms agree) → offsets, ordered by
//! instant. Serves `range` with datetime bounds.

use std::ops::Bound;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::postings::{sorted_unique, Postings};
use crate::segment::filter::{datetime, Predicate, Range};
use crate::segment::point_id::PointOffset;

#[derive(Debug, Clone, Default)]
pub struct DatetimeIndex {
    postings: Postings<DateTime<Utc>>,
}

fn instant(value: &Value) -> Option<DateTime<Utc>> {
    value.as_str().and_then(datetime::parse)
}

impl DatetimeIndex {
    pub fn accepts(value: &Value) -> bool {
        instant(value).is_some()
    }

    pub fn add(&mut self, offset: PointOffset, value: &Value) {
        if let Some(t) = instant(value) {
            self.postings.insert(t, offset);
        }
    }

    pub fn remove(&mut self, offset: PointOffset, value: &Value) {
        if let Some(t) = instant(value) {
            self.postings.remove(&t, offset);
        }
    }

    pub fn candidates(&self, predicate: &Predicate) -> Option<Vec<PointOffset>> {
        let Predicate::Range(Range::Datetime(bounds)) = predicate else {
            return None;
        };
        let lo = bounds.gt.into_iter().chain(bounds.gte).max();
        let hi = bounds.lt.into_iter().chain(bounds.lte).min();
        if let (Some(lo), Some(hi)) = (lo, hi) {
            if lo > hi {
                return Some(Vec::new());
            }
        }
        let lo = lo.map_or(Bound::Unbounded, Bound::Included);
        let hi = hi.map_or(Bound::Unbounded, Bound::Included);
        Some(sorted_unique(
            self.postings
                .range((lo, hi))
                .filter(|(k, _)| bounds.contains(k))
                .map(|(_, o)| o),
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::segment::filter::Bounds;

    #[test]
    fn ranges_over_instants() {
        let mut index = DatetimeIndex::default();
        index.add(PointOffset(0), &json!("2024-01-01T00:00:00Z"));
        index.add(PointOffset(1), &json!("2024-01-01 02:00:00+01:00"));
        index.add(PointOffset(2), &json!("2024-03-01"));
        index.add(PointOffset(3), &json!("not a date"));
        let at = |s: &str| datetime::parse(s).unwrap();
        let range = Predicate::Range(Range::Datetime(Bounds {
            gt: Some(at("2024-01-01T00:00:00Z")),
            lt: Some(at("2024-02-01")),
            ..Bounds::default()
        }));
        assert_eq!(index.candidates(&range), Some(vec![PointOffset(1)]));
        assert!(!DatetimeIndex::accepts(&json!("not a date")));
    }
}
