//! What to optimize next: a pure function from segment statistics and the
//! collection's thresholds to a list of plans, most urgent first.
//!
//! Kinds, in the order they are planned (each segment in at most one plan):
//! 1. `config_mismatch`: a graph built with other parameters than the
//!    collection now asks for (after `PATCH … hnsw_config`) is rebuilt.
//! 2. `indexing`: a segment whose vectors of some space pass
//!    `indexing_threshold_kb` and have no graph gets one; the appendable
//!    segment is also sealed once it passes `max_segment_size_kb`, even
//!    with indexing off.
//! 3. `vacuum`: a segment of at least `vacuum_min_vector_number` points
//!    (live and deleted) whose deleted fraction passes `deleted_threshold`
//!    is rewritten without them.
//! 4. `merge`: while there are more sealed segments than
//!    `default_segment_number`, the smallest are merged, as many as needed
//!    and as fit in `max_segment_size_kb`.
//!
//! Every plan is stable: its output segment is not planned again under the
//! same thresholds, so the optimizer always comes to rest.

#![deny(unsafe_code)]

use std::collections::BTreeMap;

use serde::Serialize;

use crate::segment::meta::GraphParams;

/// A segment's directory name (see `collection::manifest`).
pub type SegmentId = u64;

/// What the planner needs to know of one segment.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentStats {
    pub id: SegmentId,
    /// The segment new points go to.
    pub appendable: bool,
    /// Live points.
    pub points: usize,
    /// Deleted points still taking space.
    pub deleted: usize,
    /// Per vector space: KB of live vectors, and the graph if there is one.
    pub vectors: BTreeMap<String, VectorStats>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorStats {
    pub kb: usize,
    pub graph: Option<GraphParams>,
}

impl SegmentStats {
    /// Size in KB of vector data, all spaces together.
    pub fn kb(&self) -> usize {
        self.vectors.values().map(|v| v.kb).sum()
    }
}

/// The collection's optimizer settings, resolved (no "auto" left).
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// 0 turns indexing off.
    pub indexing_threshold_kb: usize,
    pub max_segment_size_kb: usize,
    /// Sealed segments to aim for (the appendable one is not counted).
    pub segment_number: usize,
    pub deleted_threshold: f64,
    pub vacuum_min_vector_number: usize,
    /// The graph wanted for each vector space; `None` for no graph (`m` 0).
    pub graphs: BTreeMap<String, Option<GraphParams>>,
}

impl Thresholds {
    /// The graphs a segment of these sizes should have, by vector space.
    pub fn wanted_graphs(&self, kb: &BTreeMap<String, usize>) -> BTreeMap<String, GraphParams> {
        if self.indexing_threshold_kb == 0 {
            return BTreeMap::new();
        }
        kb.iter()
            .filter(|(_, kb)| **kb >= self.indexing_threshold_kb)
            .filter_map(|(name, _)| {
                let params = self.graphs.get(name).copied().flatten()?;
                Some((name.clone(), params))
            })
            .collect()
    }

    fn wants(&self, name: &str) -> Option<GraphParams> {
        self.graphs.get(name).copied().flatten()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    ConfigMismatch,
    Indexing,
    Vacuum,
    Merge,
}

impl OptimizerKind {
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::ConfigMismatch => "config_mismatch",
            OptimizerKind::Indexing => "indexing",
            OptimizerKind::Vacuum => "vacuum",
            OptimizerKind::Merge => "merge",
        }
    }
}

/// Rebuild `segments` into one new segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub kind: OptimizerKind,
    pub segments: Vec<SegmentId>,
}

/// Everything worth doing now, most urgent first; no segment is in two
/// plans. Empty when the collection is optimal.
pub fn plan(stats: &[SegmentStats], t: &Thresholds) -> Vec<Plan> {
    let mut plans: Vec<Plan> = Vec::new();
    let taken = |plans: &[Plan], id: SegmentId| plans.iter().any(|p| p.segments.contains(&id));
    let add = |plans: &mut Vec<Plan>, kind, segments: Vec<SegmentId>| {
        plans.push(Plan { kind, segments });
    };

    let mismatched = |s: &SegmentStats| {
        s.vectors.iter().any(|(name, v)| match v.graph {
            Some(built) => t.wants(name) != Some(built),
            None => false,
        })
    };
    for s in stats.iter().filter(|s| mismatched(s)) {
        add(&mut plans, OptimizerKind::ConfigMismatch, vec![s.id]);
    }

    let kb = |s: &SegmentStats| -> BTreeMap<String, usize> {
        s.vectors.iter().map(|(n, v)| (n.clone(), v.kb)).collect()
    };
    let mut unindexed: Vec<&SegmentStats> = stats
        .iter()
        .filter(|s| !taken(&plans, s.id))
        .filter(|s| {
            let wanted = t.wanted_graphs(&kb(s));
            let missing = wanted.keys().any(|name| s.vectors[name].graph.is_none());
            let oversized = s.appendable && s.points > 0 && s.kb() > t.max_segment_size_kb;
            missing || oversized
        })
        .collect();
    unindexed.sort_by_key(|s| std::cmp::Reverse(s.kb()));
    for s in unindexed {
        add(&mut plans, OptimizerKind::Indexing, vec![s.id]);
    }

    for s in stats {
        if taken(&plans, s.id) {
            continue;
        }
        let total = s.points + s.deleted;
        if total > 0
            && total >= t.vacuum_min_vector_number
            && s.deleted as f64 / total as f64 > t.deleted_threshold
        {
            add(&mut plans, OptimizerKind::Vacuum, vec![s.id]);
        }
    }

    let sealed = stats.iter().filter(|s| !s.appendable).count();
    if sealed > t.segment_number.max(1) {
        let mut free: Vec<&SegmentStats> = stats
            .iter()
            .filter(|s| !s.appendable && !taken(&plans, s.id))
            .collect();
        free.sort_by_key(|s| (s.kb(), s.id));
        let wanted = sealed - t.segment_number.max(1) + 1;
        let mut merge = Vec::new();
        let mut size = 0;
        for s in free {
            if merge.len() == wanted || size + s.kb() > t.max_segment_size_kb {
                break;
            }
            size += s.kb();
            merge.push(s.id);
        }
        if merge.len() >= 2 {
            add(&mut plans, OptimizerKind::Merge, merge);
        }
    }
    plans
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: GraphParams = GraphParams {
        m: 16,
        ef_construct: 100,
        payload_m: None,
    };

    fn thresholds() -> Thresholds {
        Thresholds {
            indexing_threshold_kb: 1000,
            max_segment_size_kb: 10_000,
            segment_number: 2,
            deleted_threshold: 0.2,
            vacuum_min_vector_number: 100,
            graphs: BTreeMap::from([(String::new(), Some(PARAMS))]),
        }
    }

    fn seg(id: SegmentId, appendable: bool, kb: usize, graph: Option<GraphParams>) -> SegmentStats {
        SegmentStats {
            id,
            appendable,
            points: kb,
            deleted: 0,
            vectors: BTreeMap::from([(String::new(), VectorStats { kb, graph })]),
        }
    }

    fn kinds(plans: &[Plan]) -> Vec<(OptimizerKind, Vec<SegmentId>)> {
        plans.iter().map(|p| (p.kind, p.segments.clone())).collect()
    }

    #[test]
    fn a_small_appendable_segment_is_left_alone() {
        let stats = [seg(0, true, 999, None)];
        assert_eq!(plan(&stats, &thresholds()), vec![]);
    }

    #[test]
    fn an_appendable_segment_past_the_threshold_is_indexed() {
        let stats = [seg(0, true, 1000, None), seg(1, false, 5000, Some(PARAMS))];
        assert_eq!(
            kinds(&plan(&stats, &thresholds())),
            vec![(OptimizerKind::Indexing, vec![0])]
        );
    }

    #[test]
    fn indexing_off_still_seals_an_oversized_appendable_segment() {
        let mut t = thresholds();
        t.indexing_threshold_kb = 0;
        assert_eq!(plan(&[seg(0, true, 9000, None)], &t), vec![]);
        assert_eq!(
            kinds(&plan(&[seg(0, true, 10_001, None)], &t)),
            vec![(OptimizerKind::Indexing, vec![0])]
        );
    }

    #[test]
    fn changed_graph_parameters_rebuild_only_the_mismatched_segments() {
        let old = GraphParams { m: 8, ..PARAMS };
        let stats = [
            seg(0, true, 10, None),
            seg(1, false, 2000, Some(old)),
            seg(2, false, 2000, Some(PARAMS)),
        ];
        assert_eq!(
            kinds(&plan(&stats, &thresholds())),
            vec![(OptimizerKind::ConfigMismatch, vec![1])]
        );
    }

    #[test]
    fn vacuum_needs_both_the_fraction_and_the_minimum_size() {
        let mut s = seg(1, false, 2000, Some(PARAMS));
        s.points = 79;
        s.deleted = 21;
        assert_eq!(
            kinds(&plan(&[seg(0, true, 0, None), s.clone()], &thresholds())),
            vec![(OptimizerKind::Vacuum, vec![1])]
        );
        s.points = 70;
        s.deleted = 20;
        assert_eq!(plan(&[seg(0, true, 0, None), s], &thresholds()), vec![]);
    }

    #[test]
    fn merges_the_smallest_sealed_segments_down_to_the_target() {
        let stats = [
            seg(0, true, 10, None),
            seg(1, false, 4000, Some(PARAMS)),
            seg(2, false, 1500, Some(PARAMS)),
            seg(3, false, 1200, Some(PARAMS)),
            seg(4, false, 1100, Some(PARAMS)),
        ];
        // Four sealed, target two: the three smallest become one.
        assert_eq!(
            kinds(&plan(&stats, &thresholds())),
            vec![(OptimizerKind::Merge, vec![4, 3, 2])]
        );
    }

    #[test]
    fn merges_never_pass_the_maximum_segment_size() {
        let stats = [
            seg(0, true, 10, None),
            seg(1, false, 6000, Some(PARAMS)),
            seg(2, false, 5500, Some(PARAMS)),
            seg(3, false, 4600, Some(PARAMS)),
        ];
        assert_eq!(plan(&stats, &thresholds()), vec![]);
    }

    #[test]
    fn every_plan_output_is_at_rest() {
        // Applying each kind's output to the stats leaves nothing to do.
        let t = thresholds();
        let out = |kb| {
            seg(
                9,
                false,
                kb,
                (kb >= t.indexing_threshold_kb).then_some(PARAMS),
            )
        };
        for kb in [10, 999, 1000, 5000, 10_000] {
            let stats = [seg(0, true, 0, None), out(kb)];
            assert_eq!(plan(&stats, &t), vec![], "output of {kb} KB");
        }
    }
}
