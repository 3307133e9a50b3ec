//! Float index: every number, ordered as `f64`. Serves `range` on numbers.

use std::cmp::Ordering;
use std::ops::Bound;

use serde_json::Value;

use super::postings::{sorted_unique, Postings};
use crate::segment::filter::{Predicate, Range};
use crate::segment::point_id::PointOffset;

/// An `f64` with a total order. `-0.0` is stored as `0.0` so that the total
/// order agrees with `==` and `<` on every number JSON can hold (no NaN).
#[derive(Debug, Clone, Copy)]
pub struct OrderedF64(f64);

impl OrderedF64 {
    pub fn new(x: f64) -> OrderedF64 {
        OrderedF64(if x == 0.0 { 0.0 } else { x })
    }
}

impl PartialEq for OrderedF64 {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for OrderedF64 {}

impl PartialOrd for OrderedF64 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrderedF64 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[derive(Debug, Clone, Default)]
pub struct FloatIndex {
    postings: Postings<OrderedF64>,
}

impl FloatIndex {
    pub fn accepts(value: &Value) -> bool {
        value.as_f64().is_some()
    }

    pub fn add(&mut self, offset: PointOffset, value: &Value) {
        if let Some(x) = value.as_f64() {
            self.postings.insert(OrderedF64::new(x), offset);
        }
    }

    pub fn remove(&mut self, offset: PointOffset, value: &Value) {
        if let Some(x) = value.as_f64() {
            self.postings.remove(&OrderedF64::new(x), offset);
        }
    }

    pub fn candidates(&self, predicate: &Predicate) -> Option<Vec<PointOffset>> {
        let Predicate::Range(Range::Number(bounds)) = predicate else {
            return None;
        };
        let lo = bounds.gt.into_iter().chain(bounds.gte).reduce(f64::max);
        let hi = bounds.lt.into_iter().chain(bounds.lte).reduce(f64::min);
        if let (Some(lo), Some(hi)) = (lo, hi) {
            if lo > hi {
                return Some(Vec::new());
            }
        }
        let lo = lo.map_or(Bound::Unbounded, |x| Bound::Included(OrderedF64::new(x)));
        let hi = hi.map_or(Bound::Unbounded, |x| Bound::Included(OrderedF64::new(x)));
        Some(sorted_unique(
            self.postings
                .range((lo, hi))
                .filter(|(k, _)| bounds.contains(&k.0))
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
    fn ranges_over_all_numbers() {
        let mut index = FloatIndex::default();
        for (i, v) in [json!(-0.0), json!(0.5), json!(3), json!("x")]
            .iter()
            .enumerate()
        {
            index.add(PointOffset(i as u32), v);
        }
        let range = |gt, gte, lt, lte| Predicate::Range(Range::Number(Bounds { gt, gte, lt, lte }));
        assert_eq!(
            index.candidates(&range(None, Some(0.0), Some(1.0), None)),
            Some(vec![PointOffset(0), PointOffset(1)])
        );
        assert_eq!(
            index.candidates(&range(Some(0.0), None, None, None)),
            Some(vec![PointOffset(1), PointOffset(2)])
        );
        assert_eq!(
            index.candidates(&range(Some(5.0), None, Some(1.0), None)),
            Some(vec![])
        );
    }
}
