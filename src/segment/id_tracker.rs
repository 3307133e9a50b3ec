//! Maps external point ids to dense internal offsets and back.
//!
//! Offsets are handed out in order and never reused: a deleted point leaves
//! a tombstone (`None`) in the offset → id table until the segment is
//! vacuumed by the optimizer. The id → offset side is ordered so that scroll
//! can page through ids in ascending order.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::point_id::{PointId, PointOffset};

#[derive(Debug, Default)]
pub struct IdTracker {
    by_id: BTreeMap<PointId, PointOffset>,
    by_offset: Vec<Option<PointId>>,
}

impl IdTracker {
    pub fn offset(&self, id: PointId) -> Option<PointOffset> {
        self.by_id.get(&id).copied()
    }

    pub fn id(&self, offset: PointOffset) -> Option<PointId> {
        self.by_offset.get(offset.index()).copied().flatten()
    }

    /// The offset the next inserted point will get.
    pub fn next_offset(&self) -> PointOffset {
        PointOffset(self.by_offset.len() as u32)
    }

    /// Records `id` at `offset`, which must be [`IdTracker::next_offset`].
    pub fn insert(&mut self, id: PointId, offset: PointOffset) {
        debug_assert_eq!(offset, self.next_offset());
        if let Some(old) = self.by_id.insert(id, offset) {
            self.by_offset[old.index()] = None;
        }
        self.by_offset.push(Some(id));
    }

    /// Tombstones the point at `offset`; returns its id if it was live.
    pub fn remove_offset(&mut self, offset: PointOffset) -> Option<PointId> {
        let id = self.by_offset.get_mut(offset.index())?.take()?;
        self.by_id.remove(&id);
        Some(id)
    }

    /// Live points.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Offsets ever handed out, tombstones included.
    pub fn total_offsets(&self) -> usize {
        self.by_offset.len()
    }

    /// Live points in ascending id order, starting at `from` (inclusive).
    pub fn iter_from(
        &self,
        from: Option<PointId>,
    ) -> impl Iterator<Item = (PointId, PointOffset)> + '_ {
        let start = match from {
            Some(id) => Bound::Included(id),
            None => Bound::Unbounded,
        };
        self.by_id
            .range((start, Bound::Unbounded))
            .map(|(id, off)| (*id, *off))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reinsert_tombstones_the_old_offset() {
        let mut t = IdTracker::default();
        t.insert(PointId::Num(5), PointOffset(0));
        t.insert(PointId::Num(3), PointOffset(1));
        t.insert(PointId::Num(5), PointOffset(2));
        assert_eq!(t.id(PointOffset(0)), None);
        assert_eq!(t.offset(PointId::Num(5)), Some(PointOffset(2)));
        assert_eq!(t.len(), 2);
        let ids: Vec<_> = t
            .iter_from(Some(PointId::Num(4)))
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids, vec![PointId::Num(5)]);
        assert_eq!(t.remove_offset(PointOffset(1)), Some(PointId::Num(3)));
        assert_eq!(t.remove_offset(PointOffset(1)), None);
        assert_eq!(t.len(), 1);
    }
}
