//! An ordered map from an index key to the offsets holding it, shared by
//! every index kind.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeBounds;

use crate::segment::point_id::PointOffset;

#[derive(Debug, Clone)]
pub struct Postings<K> {
    map: BTreeMap<K, BTreeSet<PointOffset>>,
}

/// `offsets` ascending and without repeats: as they come when they already
/// are (one key's postings), else sorted (several keys, a range).
pub fn sorted_unique(offsets: impl IntoIterator<Item = PointOffset>) -> Vec<PointOffset> {
    let mut list: Vec<PointOffset> = offsets.into_iter().collect();
    if !list.windows(2).all(|w| w[0] < w[1]) {
        list.sort_unstable();
        list.dedup();
    }
    list
}

impl<K> Default for Postings<K> {
    fn default() -> Self {
        Postings {
            map: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone> Postings<K> {
    pub fn insert(&mut self, key: K, offset: PointOffset) {
        self.map.entry(key).or_default().insert(offset);
    }

    /// Removes one posting; an emptied key goes away so that ranges never
    /// walk dead keys.
    pub fn remove(&mut self, key: &K, offset: PointOffset) {
        if let Some(set) = self.map.get_mut(key) {
            set.remove(&offset);
            if set.is_empty() {
                self.map.remove(key);
            }
        }
    }

    pub fn get(&self, key: &K) -> impl Iterator<Item = PointOffset> + '_ {
        self.map.get(key).into_iter().flatten().copied()
    }

    /// The offsets of every key held by at least `min` of them, one
    /// ascending list per key.
    pub fn groups(&self, min: usize) -> impl Iterator<Item = Vec<PointOffset>> + '_ {
        self.map
            .values()
            .filter(move |set| set.len() >= min)
            .map(|set| set.iter().copied().collect())
    }

    pub fn range<'a>(
        &'a self,
        range: impl RangeBounds<K> + 'a,
    ) -> impl Iterator<Item = (&'a K, PointOffset)> + 'a {
        self.map
            .range(range)
            .flat_map(|(k, set)| set.iter().map(move |o| (k, *o)))
    }
}
