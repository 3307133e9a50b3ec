//! Tests of the whole index: recall against exact search for every metric,
//! determinism, concurrency, persistence, filters, edge cases and the
//! structural invariants of `mod.rs`.
//!
//! Sizes are kept small enough for the dev profile (the whole module runs in
//! a few seconds); the real-data figures come from `benches/hnsw.rs`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use proptest::prelude::*;

use super::format::HEADER_LEN;
use super::level::level;
use super::*;
use crate::index::distance::{Distance, Element};
use crate::index::exact::exact_top_k;
use crate::index::top_k::ScoredOffset;
use crate::segment::point_id::PointOffset;

pub(super) const ALL: [Distance; 4] = [
    Distance::Cosine,
    Distance::Euclid,
    Distance::Dot,
    Distance::Manhattan,
];

/// Deterministic xorshift generator with Gaussian samples (Box–Muller).
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    pub(super) fn gaussian(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
    }
}

/// `n` points plus `queries` queries in `dim` dimensions, drawn around
/// `clusters` random centres, in stored form for `distance`.
pub(super) fn clustered(
    n: usize,
    queries: usize,
    dim: usize,
    distance: Distance,
    seed: u64,
) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let clusters = 40;
    let centres: Vec<f32> = (0..clusters * dim).map(|_| rng.gaussian()).collect();
    let mut sample = |count: usize| {
        let mut out = Vec::with_capacity(count * dim);
        for _ in 0..count {
            let c = (rng.next_u64() % clusters as u64) as usize;
            let mut v: Vec<f32> = (0..dim)
                .map(|d| centres[c * dim + d] + 0.8 * rng.gaussian())
                .collect();
            distance.preprocess(&mut v);
            out.extend_from_slice(&v);
        }
        out
    };
    let base = sample(n);
    let queries = sample(queries);
    (base, queries)
}

/// `n` random rows of `dim` in stored form for `distance`: Gaussian, or
/// `coarse` values in {-1, 0, 1} that make many exact ties and duplicate
/// vectors.
pub(super) fn random_rows(
    n: usize,
    dim: usize,
    distance: Distance,
    seed: u64,
    coarse: bool,
) -> Vec<f32> {
    let mut rng = Rng(seed | 1);
    let mut base: Vec<f32> = (0..n * dim)
        .map(|_| {
            if coarse {
                (rng.next_u64() % 3) as f32 - 1.0
            } else {
                rng.gaussian()
            }
        })
        .collect();
    for row in base.chunks_exact_mut(dim) {
        distance.preprocess(row);
    }
    base
}

pub(super) fn params(threads: usize) -> HnswParams {
    HnswParams {
        max_threads: threads,
        ..HnswParams::new(16, 64)
    }
}

pub(super) fn build<T: Element>(
    vectors: &DenseVectors<'_, T>,
    distance: Distance,
    params: &HnswParams,
) -> HnswGraph {
    CpuBuilder
        .build(
            vectors,
            distance,
            params,
            &|_| true,
            &AtomicBool::new(false),
            &|_| {},
        )
        .expect("build")
}

/// Mean recall@k of the graph against exact search, over all queries.
pub(super) fn recall<T: Element>(
    graph: &HnswGraph,
    vectors: &DenseVectors<'_, T>,
    queries: &[f32],
    distance: Distance,
    k: usize,
    ef: usize,
    accept: &(dyn Fn(PointOffset) -> bool + Sync),
) -> f64 {
    let dim = vectors.dim();
    let mut found = 0;
    let mut wanted = 0;
    for query in queries.chunks_exact(dim) {
        let exact = exact_top_k(vectors.as_slice(), dim, query, distance, k, accept);
        let got = graph.search(query, vectors, distance, k, ef, accept);
        assert!(
            got.iter().all(|r| accept(r.offset)),
            "a filtered point came back"
        );
        assert!(is_sorted_best_first(&got, distance), "results out of order");
        let truth: HashSet<u32> = exact.iter().map(|r| r.offset.0).collect();
        found += got.iter().filter(|r| truth.contains(&r.offset.0)).count();
        wanted += exact.len();
    }
    found as f64 / wanted.max(1) as f64
}

fn is_sorted_best_first(results: &[ScoredOffset], distance: Distance) -> bool {
    results
        .windows(2)
        .all(|w| !distance.is_better(w[1].score, w[0].score))
}

const N: usize = 5000;
const DIM: usize = 32;
const QUERIES: usize = 200;

/// The cosine data set and its single-threaded graph, shared by the tests
/// that only need some graph (building one costs about a second here).
struct Fixture {
    base: Vec<f32>,
    queries: Vec<f32>,
    graph: HnswGraph,
}

fn cosine_fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (base, queries) = clustered(N, QUERIES, DIM, Distance::Cosine, 1);
        let graph = build(&DenseVectors::new(&base, DIM), Distance::Cosine, &params(1));
        Fixture {
            base,
            queries,
            graph,
        }
    })
}

#[test]
fn recall_at_10_for_every_metric() {
    for distance in ALL {
        let (base, queries) = clustered(N, QUERIES, DIM, distance, 2);
        let vectors = DenseVectors::new(&base, DIM);
        let graph = build(&vectors, distance, &params(0));
        let r = recall(&graph, &vectors, &queries, distance, 10, 64, &|_| true);
        assert!(r >= 0.95, "{distance:?}: recall@10 {r:.4} at ef 64");
    }
}

#[test]
fn half_precision_graphs_match_the_recall_of_f32_graphs() {
    for distance in ALL {
        let (base, queries) = clustered(N, QUERIES, DIM, distance, 2);
        let mut halves = vec![half::f16::ZERO; base.len()];
        half::f16::narrow(&base, &mut halves);
        let full = DenseVectors::new(&base, DIM);
        let half = DenseVectors::new(&halves, DIM);
        let r32 = recall(
            &build(&full, distance, &params(0)),
            &full,
            &queries,
            distance,
            10,
            64,
            &|_| true,
        );
        // Against exact search over the same half-precision rows.
        let r16 = recall(
            &build(&half, distance, &params(0)),
            &half,
            &queries,
            distance,
            10,
            64,
            &|_| true,
        );
        assert!(
            r16 >= 0.95 && r16 >= r32 - 0.01,
            "{distance:?}: recall@10 {r16:.4} with f16 rows, {r32:.4} with f32"
        );
    }
}

#[test]
fn single_thread_builds_are_identical() {
    let (base, _) = clustered(2000, 0, 16, Distance::Euclid, 3);
    let vectors = DenseVectors::new(&base, 16);
    let first = build(&vectors, Distance::Euclid, &params(1));
    let second = build(&vectors, Distance::Euclid, &params(1));
    assert!(first == second, "two single-threaded builds differ");
    let other_seed = HnswParams {
        seed: 99,
        ..params(1)
    };
    assert!(first != build(&vectors, Distance::Euclid, &other_seed));
}

#[test]
fn parallel_build_recall_matches_single_thread() {
    let fixture = cosine_fixture();
    let vectors = DenseVectors::new(&fixture.base, DIM);
    // More threads than cores, to interleave inserts as much as possible.
    let parallel = build(&vectors, Distance::Cosine, &params(4));
    let q = &fixture.queries;
    let single = recall(
        &fixture.graph,
        &vectors,
        q,
        Distance::Cosine,
        10,
        64,
        &|_| true,
    );
    let multi = recall(&parallel, &vectors, q, Distance::Cosine, 10, 64, &|_| true);
    assert!(
        multi >= single - 0.01,
        "parallel {multi:.4} vs single {single:.4}"
    );
    check_invariants(&parallel, &vectors, &params(4), &|_| true);
}

#[test]
fn saved_graph_maps_back_identically() {
    let fixture = cosine_fixture();
    let vectors = DenseVectors::new(&fixture.base, DIM);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("graph.hnsw");
    fixture.graph.save(&path).expect("save");
    let loaded = HnswGraph::open(&path).expect("open");
    assert!(loaded.is_mapped());
    assert!(loaded == fixture.graph);
    assert_eq!(loaded.meta(), fixture.graph.meta());
    for query in fixture.queries.chunks_exact(DIM).take(50) {
        let accept = |o: PointOffset| !o.0.is_multiple_of(3);
        assert_eq!(
            loaded.search(query, &vectors, Distance::Cosine, 10, 32, &accept),
            fixture
                .graph
                .search(query, &vectors, Distance::Cosine, 10, 32, &accept),
        );
    }
    // Saving over an existing file replaces it and leaves no temp file.
    loaded.save(&path).expect("save over");
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
}

#[test]
fn filtered_search_recall() {
    let fixture = cosine_fixture();
    let vectors = DenseVectors::new(&fixture.base, DIM);
    let accept = |o: PointOffset| o.0 % 10 == 7;
    let r = recall(
        &fixture.graph,
        &vectors,
        &fixture.queries,
        Distance::Cosine,
        10,
        64,
        &accept,
    );
    assert!(r >= 0.9, "recall@10 with 10% of points accepted: {r:.4}");
}

#[test]
fn unindexed_points_are_left_out() {
    let (base, queries) = clustered(1500, 20, 8, Distance::Dot, 4);
    let vectors = DenseVectors::new(&base, 8);
    let indexed = |o: PointOffset| o.0 % 4 != 1;
    let p = params(2);
    let graph = CpuBuilder
        .build(
            &vectors,
            Distance::Dot,
            &p,
            &indexed,
            &AtomicBool::new(false),
            &|_| {},
        )
        .expect("build");
    assert_eq!(graph.len(), 1500);
    check_invariants(&graph, &vectors, &p, &indexed);
    let r = recall(&graph, &vectors, &queries, Distance::Dot, 10, 64, &indexed);
    assert!(r >= 0.95, "recall@10 over the indexed points: {r:.4}");
}

#[test]
fn empty_and_single_point_graphs() {
    for distance in ALL {
        let empty = build(&DenseVectors::<f32>::new(&[], 4), distance, &params(1));
        assert!(empty.is_empty());
        assert_eq!(empty.meta().entry_point, None);
        let vectors = DenseVectors::<f32>::new(&[], 4);
        assert!(empty
            .search(&[1.0; 4], &vectors, distance, 5, 16, &|_| true)
            .is_empty());

        let mut point = vec![0.5, -1.0, 2.0, 0.25];
        distance.preprocess(&mut point);
        let vectors = DenseVectors::new(&point, 4);
        let one = build(&vectors, distance, &params(1));
        assert_eq!(one.meta().entry_point, Some(PointOffset(0)));
        let results = one.search(&point, &vectors, distance, 5, 16, &|_| true);
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].offset, PointOffset(0));
        assert_eq!(results[0].score, distance.score(&point, &point));
        assert!(one
            .search(&point, &vectors, distance, 0, 16, &|_| true)
            .is_empty());
        assert!(one
            .search(&point, &vectors, distance, 5, 16, &|_| false)
            .is_empty());

        // Both round-trip through a file.
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, graph) in [("empty", &empty), ("one", &one)] {
            let path = dir.path().join(name);
            graph.save(&path).expect("save");
            assert!(HnswGraph::open(&path).expect("open") == *graph);
        }
    }
}

#[test]
fn cancel_flag_stops_the_build() {
    let (base, _) = clustered(3000, 0, 8, Distance::Euclid, 5);
    let vectors = DenseVectors::new(&base, 8);
    let raised = AtomicBool::new(true);
    let result = CpuBuilder.build(
        &vectors,
        Distance::Euclid,
        &params(2),
        &|_| true,
        &raised,
        &|_| {},
    );
    assert!(matches!(result, Err(IndexError::Cancelled)));

    // Raised from the progress callback after the first batch.
    let cancel = AtomicBool::new(false);
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let progress = |done: usize| {
        calls.fetch_add(1, Ordering::Relaxed);
        assert!(done <= builder::BATCH, "the build went on after cancel");
        cancel.store(true, Ordering::Relaxed);
    };
    let result = CpuBuilder.build(
        &vectors,
        Distance::Euclid,
        &params(2),
        &|_| true,
        &cancel,
        &progress,
    );
    assert!(matches!(result, Err(IndexError::Cancelled)));
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}

#[test]
fn invalid_parameters_are_the_users_fault() {
    let vectors = DenseVectors::new(&[1.0, 2.0], 2);
    for bad in [
        HnswParams::new(1, 10),
        HnswParams::new(16, 0),
        HnswParams {
            m0: 0,
            ..HnswParams::new(16, 10)
        },
        HnswParams::new(MAX_LINKS + 1, 10),
    ] {
        let err = CpuBuilder
            .build(
                &vectors,
                Distance::Dot,
                &bad,
                &|_| true,
                &AtomicBool::new(false),
                &|_| {},
            )
            .expect_err("invalid parameters accepted");
        assert!(matches!(err, IndexError::InvalidParams(_)), "{err}");
        assert!(err.is_user_fault());
    }
}

#[test]
fn damaged_files_fail_to_open() {
    let (base, _) = clustered(300, 0, 4, Distance::Euclid, 6);
    let graph = build(&DenseVectors::new(&base, 4), Distance::Euclid, &params(1));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("graph");
    graph.save(&path).expect("save");
    let good = std::fs::read(&path).expect("read");

    let damaged = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = good.clone();
        edit(&mut bytes);
        std::fs::write(&path, &bytes).expect("write");
        HnswGraph::open(&path).expect_err("damaged file opened")
    };
    let is_corrupted =
        |e: &IndexError| matches!(e, IndexError::Corrupted { .. }) && !e.is_user_fault();
    assert!(is_corrupted(&damaged(&|b| b[0] ^= 1)), "magic");
    assert!(is_corrupted(&damaged(&|b| b[20] ^= 1)), "header field");
    assert!(
        is_corrupted(&damaged(&|b| b[HEADER_LEN + 100] ^= 1)),
        "body byte"
    );
    assert!(
        is_corrupted(&damaged(&|b| b.truncate(b.len() - 4))),
        "truncated"
    );
    assert!(is_corrupted(&damaged(&|b| b.truncate(10))), "header cut");
    assert!(matches!(
        damaged(&|b| b[8] = 9),
        IndexError::UnsupportedVersion { found: 9, .. }
    ));
    let missing = HnswGraph::open(&dir.path().join("nothing")).expect_err("missing file opened");
    assert!(matches!(missing, IndexError::Io { .. }));
}

#[test]
fn version_1_files_still_open() {
    let (base, _) = clustered(300, 0, 4, Distance::Euclid, 15);
    let graph = build(&DenseVectors::new(&base, 4), Distance::Euclid, &params(1));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("graph");
    graph.save(&path).expect("save");
    let mut bytes = std::fs::read(&path).expect("read");
    assert_eq!(bytes[8..12], format::VERSION.to_le_bytes());

    // A version 1 writer produced these bytes with version 1, zeros where
    // version 2 puts the (empty) payload sections' offsets, and the header
    // checksum over that.
    bytes[100..116].fill(0);
    let as_version_1 = |bytes: &mut Vec<u8>| {
        bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
        let crc = crc32c::crc32c(&bytes[..HEADER_LEN - 4]);
        bytes[HEADER_LEN - 4..HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    };
    as_version_1(&mut bytes);
    std::fs::write(&path, &bytes).expect("write");
    let loaded = HnswGraph::open(&path).expect("open version 1");
    assert!(loaded == graph);

    // Version 1 reserved the payload fields as zero.
    bytes[116] = 1;
    as_version_1(&mut bytes);
    std::fs::write(&path, &bytes).expect("write");
    let err = HnswGraph::open(&path).expect_err("nonzero reserved bytes accepted");
    assert!(matches!(err, IndexError::Corrupted { .. }), "{err}");
}

/// The invariants listed in `mod.rs`, checked link by link.
pub(super) fn check_invariants(
    graph: &HnswGraph,
    vectors: &DenseVectors<'_>,
    params: &HnswParams,
    indexed: &dyn Fn(PointOffset) -> bool,
) {
    let n = vectors.len();
    assert_eq!(graph.len(), n);
    let mut any_indexed = false;
    for i in 0..n as u32 {
        let offset = PointOffset(i);
        let level = graph.level(offset);
        if indexed(offset) {
            any_indexed = true;
            assert_eq!(
                level,
                super::level::level(params.seed, offset, params.m),
                "level of {i}"
            );
        } else {
            assert_eq!(level, 0, "unindexed {i} has upper layers");
        }
        for l in 0..=level + 1 {
            let links: Vec<PointOffset> = graph.links(offset, l).collect();
            let capacity = if l == 0 { params.m0 } else { params.m };
            assert!(
                links.len() <= capacity,
                "{i} has {} links on {l}",
                links.len()
            );
            if l > level {
                assert!(links.is_empty(), "{i} has links above its level");
            }
            if !indexed(offset) {
                assert!(links.is_empty(), "unindexed {i} has links");
            }
            let unique: HashSet<u32> = links.iter().map(|o| o.0).collect();
            assert_eq!(unique.len(), links.len(), "duplicate link at {i} on {l}");
            for link in links {
                assert_ne!(link, offset, "self-link at {i}");
                assert!(indexed(link), "{i} links to unindexed {}", link.0);
                assert!(
                    graph.level(link) >= l,
                    "{i} links to {} below layer {l}",
                    link.0
                );
            }
        }
    }
    match graph.meta().entry_point {
        Some(entry) => {
            assert!(indexed(entry));
            assert_eq!(graph.level(entry), graph.meta().max_level as usize);
            let top = (0..n as u32)
                .filter(|&i| indexed(PointOffset(i)))
                .map(|i| level(params.seed, PointOffset(i), params.m))
                .max();
            assert_eq!(top, Some(graph.meta().max_level as usize));
        }
        None => assert!(!any_indexed),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn builds_keep_the_invariants(
        n in 0usize..300,
        dim in 1usize..6,
        m in 2usize..7,
        m0_extra in 0usize..6,
        ef in 1usize..40,
        threads in 1usize..4,
        distance in prop::sample::select(ALL.to_vec()),
        seed in any::<u64>(),
        skip in 0u32..4,
        coarse in any::<bool>(),
    ) {
        let base = random_rows(n, dim, distance, seed, coarse);
        let vectors = DenseVectors::new(&base, dim);
        let p = HnswParams { m, m0: m + m0_extra, ef_construct: ef, seed, max_threads: threads };
        let indexed = move |o: PointOffset| skip == 0 || o.0 % 4 != skip;
        let graph = CpuBuilder
            .build(&vectors, distance, &p, &indexed, &AtomicBool::new(false), &|_| {})
            .expect("build");
        check_invariants(&graph, &vectors, &p, &indexed);
        // Every indexed point is found by a search for itself with a wide beam.
        for i in (0..n as u32).filter(|&i| indexed(PointOffset(i))).take(20) {
            let query = vectors.vector(PointOffset(i));
            let results = graph.search(&query, &vectors, distance, 1, 400, &indexed);
            prop_assert_eq!(results.len(), 1);
        }
    }
}
