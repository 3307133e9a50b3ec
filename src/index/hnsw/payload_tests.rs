//! Tests of payload links ([`super::add_payload_links`]): the invariants of
//! `payload.rs` and `mod.rs`, persistence, determinism, cancellation, and
//! the filtered recall they exist for.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use proptest::prelude::*;

use super::tests::{build, clustered, params, random_rows, recall, ALL};
use super::*;
use crate::index::distance::Distance;
use crate::segment::point_id::PointOffset;

/// A hash of `i`, unrelated to where its vector lies: group memberships
/// drawn from it are spread over the whole graph.
fn scatter(i: u32) -> u64 {
    let mut z = u64::from(i).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Point `i` in group `scatter(i) % count`.
fn hashed_groups(n: usize, count: u64) -> Vec<Vec<PointOffset>> {
    let mut groups = vec![Vec::new(); count as usize];
    for i in 0..n as u32 {
        groups[(scatter(i) % count) as usize].push(PointOffset(i));
    }
    groups
}

fn add(
    graph: &HnswGraph,
    vectors: &DenseVectors<'_>,
    distance: Distance,
    groups: &[Vec<PointOffset>],
    payload_m: usize,
    threads: usize,
) -> HnswGraph {
    add_payload_links(
        graph,
        vectors,
        distance,
        groups,
        payload_m,
        32,
        threads,
        &AtomicBool::new(false),
    )
    .expect("add payload links")
}

/// Checks `with` against the graph it was made from and the groups given:
/// the invariants listed in `payload.rs`. Returns the links added.
fn check_payload_invariants(
    before: &HnswGraph,
    with: &HnswGraph,
    groups: &[Vec<PointOffset>],
    payload_m: usize,
) -> usize {
    let (old, new) = (before.tables(), with.tables());
    let n = before.len();
    assert_eq!(with.len(), n);
    assert_eq!(
        GraphMeta {
            payload_m: before.meta().payload_m,
            ..with.meta().clone()
        },
        *before.meta(),
        "metadata other than payload_m changed"
    );
    assert_eq!(old.layer0, new.layer0, "layer-0 records changed");
    assert_eq!(old.upper_offsets, new.upper_offsets, "upper layers changed");
    assert_eq!(old.upper, new.upper, "upper layers changed");

    let entry = before.meta().entry_point;
    let indexed = |i: u32| !old.links(i as usize, 0).is_empty() || entry == Some(PointOffset(i));
    // The groups each indexed point is in, duplicates in a group ignored.
    let mut member_of: HashMap<u32, HashSet<usize>> = HashMap::new();
    for (g, group) in groups.iter().enumerate() {
        for &o in group {
            if (o.0 as usize) < n && indexed(o.0) {
                member_of.entry(o.0).or_default().insert(g);
            }
        }
    }
    let mut added = 0;
    for i in 0..n as u32 {
        let payload: Vec<u32> = with.payload_links(PointOffset(i)).map(|o| o.0).collect();
        let had: Vec<u32> = before.payload_links(PointOffset(i)).map(|o| o.0).collect();
        assert!(payload.starts_with(&had), "{i} lost payload links");
        let all: Vec<u32> = with.links(PointOffset(i), 0).map(|o| o.0).collect();
        assert_eq!(all.len(), old.links(i as usize, 0).len() + payload.len());
        let unique: HashSet<u32> = all.iter().copied().collect();
        assert_eq!(unique.len(), all.len(), "duplicate layer-0 link at {i}");
        assert!(!unique.contains(&i), "self-link at {i}");
        let fresh = &payload[had.len()..];
        added += fresh.len();
        if fresh.is_empty() {
            continue;
        }
        let groups_of_i = member_of
            .get(&i)
            .expect("a payload link on a point in no group");
        assert!(
            fresh.len() <= 2 * payload_m * groups_of_i.len(),
            "{i} has {} payload links in {} groups",
            fresh.len(),
            groups_of_i.len()
        );
        for link in fresh {
            assert!(indexed(*link), "{i} links to unindexed {link}");
            let shared = member_of
                .get(link)
                .is_some_and(|g| !g.is_disjoint(groups_of_i));
            assert!(shared, "{i} and {link} share no group");
        }
    }
    added
}

#[test]
fn payload_links_keep_the_invariants_and_round_trip() {
    let (base, queries) = clustered(3000, 20, 16, Distance::Euclid, 11);
    let vectors = DenseVectors::new(&base, 16);
    let p = params(1);
    // Every seventh point deleted before the build.
    let indexed = |o: PointOffset| o.0 % 7 != 3;
    let graph = CpuBuilder
        .build(
            &vectors,
            Distance::Euclid,
            &p,
            &indexed,
            &AtomicBool::new(false),
            &|_| {},
        )
        .expect("build");
    let mut groups = hashed_groups(3000, 12);
    // Overlapping groups (a second field), a duplicate, offsets past the
    // graph, a group of one indexed point, an empty group.
    groups.push((0..3000).step_by(5).map(PointOffset).collect());
    let first = groups[0][0];
    groups[0].push(first);
    groups[1].extend([PointOffset(3000), PointOffset(u32::MAX)]);
    groups.push(vec![PointOffset(3), PointOffset(10)]);
    groups.push(Vec::new());

    let payload_m = 4;
    let with = add(&graph, &vectors, Distance::Euclid, &groups, payload_m, 2);
    let added = check_payload_invariants(&graph, &with, &groups, payload_m);
    assert!(added > 3000, "only {added} payload links");
    assert_eq!(with.meta().payload_m, payload_m as u32);

    // Adding again keeps what is there.
    let again = add(&with, &vectors, Distance::Euclid, &groups[..3], 2, 1);
    check_payload_invariants(&with, &again, &groups[..3], 2);
    assert_eq!(again.meta().payload_m, payload_m as u32);

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("graph.hnsw");
    with.save(&path).expect("save");
    let loaded = HnswGraph::open(&path).expect("open");
    assert!(loaded.is_mapped());
    assert!(loaded == with);
    assert!(loaded != graph);
    let accept = |o: PointOffset| indexed(o) && scatter(o.0) % 12 == 5;
    for query in queries.chunks_exact(16) {
        assert_eq!(
            loaded.search(query, &vectors, Distance::Euclid, 10, 16, &accept),
            with.search(query, &vectors, Distance::Euclid, 10, 16, &accept),
        );
    }
}

#[test]
fn payload_links_are_deterministic() {
    let (base, _) = clustered(2000, 0, 16, Distance::Cosine, 12);
    let vectors = DenseVectors::new(&base, 16);
    let graph = build(&vectors, Distance::Cosine, &params(1));
    let groups = hashed_groups(2000, 8);
    let first = add(&graph, &vectors, Distance::Cosine, &groups, 8, 1);
    let second = add(&graph, &vectors, Distance::Cosine, &groups, 8, 1);
    assert!(first == second, "two single-threaded runs differ");
    // Each group is built on one thread and merged in group order, so the
    // thread count does not matter either.
    let parallel = add(&graph, &vectors, Distance::Cosine, &groups, 8, 3);
    assert!(first == parallel, "the thread count changed the links");
    assert!(first != add(&graph, &vectors, Distance::Cosine, &groups, 4, 1));
}

/// Counts vector reads: a search reads each node it scores twice (once to
/// touch its cache lines, once to score it), so half the count is the
/// number of distances computed.
struct CountingVectors<'a> {
    inner: DenseVectors<'a>,
    reads: AtomicUsize,
}

impl VectorSource for CountingVectors<'_> {
    fn len(&self) -> usize {
        self.inner.len()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn vector(&self, offset: PointOffset) -> Cow<'_, [f32]> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.vector(offset)
    }
}

/// The case payload links exist for: a filter keeping ~2 % of the points,
/// chosen independently of the vectors, at a small `ef`. Prints recall and
/// distances per query with and without payload links; asserts recall only.
///
/// What it shows (figures in the commit that added it): because
/// `Walker::beam` walks through rejected points until it holds `ef`
/// accepted ones, recall without payload links is already high and the
/// links raise it most at `ef == k`; they also lengthen every node's
/// layer-0 list, so the beam scores more nodes per query. The large saving
/// needs a search that follows only accepted neighbours when the filter is
/// on a linked value, which these links make possible.
#[test]
fn payload_links_raise_selective_filter_recall() {
    const N: usize = 12_000;
    const DIM: usize = 32;
    const GROUPS: u64 = 50;
    const QUERIES: usize = 100;
    let distance = Distance::Cosine;
    let (base, queries) = clustered(N, QUERIES, DIM, distance, 13);
    let vectors = DenseVectors::new(&base, DIM);
    // One thread each: the figures are the same on every run.
    let graph = build(&vectors, distance, &params(1));
    let groups = hashed_groups(N, GROUPS);
    let with = add(&graph, &vectors, distance, &groups, 16, 1);

    let k = 10;
    let tried = [7u64, 23, 41];
    // Mean recall@k over the tried groups, and distances per query.
    let measure = |g: &HnswGraph, ef: usize| {
        let counting = CountingVectors {
            inner: vectors,
            reads: AtomicUsize::new(0),
        };
        let mut total = 0.0;
        for &group in &tried {
            let accept = move |o: PointOffset| scatter(o.0) % GROUPS == group;
            total += recall(g, &vectors, &queries, distance, k, ef, &accept);
            // The same searches again, counted (the counting source is not
            // dense, so it takes the generic path; the walk is the same).
            for query in queries.chunks_exact(DIM) {
                g.search(query, &counting, distance, k, ef, &accept);
            }
        }
        let searches = (tried.len() * QUERIES) as f64;
        let distances = counting.reads.load(Ordering::Relaxed) as f64 / 2.0 / searches;
        (total / tried.len() as f64, distances)
    };
    let mut at_k = (0.0, 0.0);
    for ef in [k, 32] {
        let (plain, plain_cost) = measure(&graph, ef);
        let (linked, linked_cost) = measure(&with, ef);
        println!(
            "filter keeping 1/{GROUPS} of {N} points, recall@{k} at ef {ef}: \
             {plain:.4} without payload links ({plain_cost:.0} distances per query), \
             {linked:.4} with ({linked_cost:.0})"
        );
        if ef == k {
            at_k = (plain, linked);
        }
    }
    let (plain, linked) = at_k;
    assert!(linked >= 0.99, "with payload links at ef {k}: {linked:.4}");
    assert!(
        linked > plain,
        "{linked:.4} with vs {plain:.4} without at ef {k}"
    );
}

#[test]
fn cancel_and_bad_arguments() {
    let (base, _) = clustered(500, 0, 8, Distance::Dot, 14);
    let vectors = DenseVectors::new(&base, 8);
    let graph = build(&vectors, Distance::Dot, &params(1));
    let groups = hashed_groups(500, 4);
    let call = |distance, payload_m, ef, threads, cancel: &AtomicBool| {
        add_payload_links(
            &graph, &vectors, distance, &groups, payload_m, ef, threads, cancel,
        )
    };
    let raised = AtomicBool::new(true);
    for threads in [1, 2] {
        let result = call(Distance::Dot, 8, 32, threads, &raised);
        assert!(matches!(result, Err(IndexError::Cancelled)), "{threads}");
    }

    let calm = AtomicBool::new(false);
    for (distance, payload_m, ef) in [
        (Distance::Euclid, 8, 32),
        (Distance::Dot, MAX_LINKS, 32),
        (Distance::Dot, 8, 0),
    ] {
        let err = call(distance, payload_m, ef, 1, &calm).expect_err("accepted");
        assert!(matches!(err, IndexError::InvalidParams(_)), "{err}");
    }
    let short = DenseVectors::new(&base[..8 * 100], 8);
    let err = add_payload_links(&graph, &short, Distance::Dot, &groups, 8, 32, 1, &calm)
        .expect_err("too few vectors accepted");
    assert!(matches!(err, IndexError::InvalidVectors(_)), "{err}");

    // `payload_m == 0` is "disabled": an equal copy.
    let copy = call(Distance::Dot, 0, 32, 1, &calm).expect("payload_m 0");
    assert!(copy == graph);
}

#[test]
fn damaged_payload_sections_fail_to_open() {
    let (base, _) = clustered(400, 0, 4, Distance::Euclid, 16);
    let vectors = DenseVectors::new(&base, 4);
    let graph = build(&vectors, Distance::Euclid, &params(1));
    let with = add(
        &graph,
        &vectors,
        Distance::Euclid,
        &hashed_groups(400, 3),
        4,
        1,
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("graph");
    with.save(&path).expect("save");
    let good = std::fs::read(&path).expect("read");
    let damaged = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = good.clone();
        edit(&mut bytes);
        std::fs::write(&path, &bytes).expect("write");
        HnswGraph::open(&path).expect_err("damaged file opened")
    };
    let last = good.len() - 1;
    assert!(matches!(
        damaged(&|b| b[last] ^= 1),
        IndexError::Corrupted { .. }
    ));
    assert!(matches!(
        damaged(&|b| b[116] ^= 1),
        IndexError::Corrupted { .. }
    ));
    assert!(matches!(
        damaged(&|b| b.truncate(last)),
        IndexError::Corrupted { .. }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn payload_links_keep_the_invariants(
        n in 0usize..200,
        dim in 1usize..5,
        payload_m in 1usize..5,
        group_count in 1u64..6,
        threads in 1usize..3,
        distance in prop::sample::select(ALL.to_vec()),
        seed in any::<u64>(),
        skip in 0u32..4,
        coarse in any::<bool>(),
    ) {
        let base = random_rows(n, dim, distance, seed, coarse);
        let vectors = DenseVectors::new(&base, dim);
        let p = HnswParams { seed, ..params(1) };
        let indexed = move |o: PointOffset| skip == 0 || o.0 % 4 != skip;
        let graph = CpuBuilder
            .build(&vectors, distance, &p, &indexed, &AtomicBool::new(false), &|_| {})
            .expect("build");
        let mut groups = hashed_groups(n, group_count);
        groups.push((0..n as u32).filter(|i| i % 3 == 0).map(PointOffset).collect());
        let with = add(&graph, &vectors, distance, &groups, payload_m, threads);
        check_payload_invariants(&graph, &with, &groups, payload_m);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("graph");
        with.save(&path).expect("save");
        prop_assert!(HnswGraph::open(&path).expect("open") == with);
    }
}
