//! Visited sets for graph searches, reset in O(1).
//!
//! A search marks every node it scores. Clearing an `n`-bit set per search
//! would cost more than a small search itself, so each slot holds the
//! generation that last marked it: starting a search bumps the generation,
//! which unmarks everything at once. Only when the 16-bit generation wraps
//! (every 65,535 searches) is the array zeroed. `u16` rather than `u32`
//! halves the cache footprint of the random probes, which dominate.

/// Invariant: `generation != 0` after [`VisitedSet::reset`], so the zeroed
/// slots of a fresh or wrapped array read as unvisited.
#[derive(Debug, Default)]
pub(crate) struct VisitedSet {
    marks: Vec<u16>,
    generation: u16,
}

impl VisitedSet {
    /// Unmarks everything and makes room for nodes `0..len`.
    pub(crate) fn reset(&mut self, len: usize) {
        if self.marks.len() < len {
            self.marks.resize(len, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.marks.fill(0);
            self.generation = 1;
        }
    }

    /// Marks `node`; true if it was not marked yet.
    #[inline]
    pub(crate) fn insert(&mut self, node: u32) -> bool {
        let mark = &mut self.marks[node as usize];
        let fresh = *mark != self.generation;
        *mark = self.generation;
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_unmarks_across_wraparound() {
        let mut visited = VisitedSet::default();
        for round in 0..70_000u32 {
            visited.reset(8);
            let node = round % 8;
            assert!(visited.insert(node), "round {round}");
            assert!(!visited.insert(node), "round {round}");
        }
    }

    #[test]
    fn grows_on_demand() {
        let mut visited = VisitedSet::default();
        visited.reset(2);
        assert!(visited.insert(1));
        visited.reset(100);
        assert!(visited.insert(1));
        assert!(visited.insert(99));
    }
}
