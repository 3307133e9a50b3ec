"""Background HNSW indexing, seen from outside: status, recall, restart, crashes.

The optimizer works behind the API: its bugs show up as searches failing while
a segment is swapped, a status that never settles, graphs rebuilt at every
start, optimizations a crash leaves half done. Each test is bounded by
deadlines (about 4 minutes in all on a 2-core machine):

* the module fixture `live` loads 100,000 points while one thread searches
  and another samples collection info every 0.2 s, then waits until the
  optimizer is done; the first test checks what was seen (no failed search,
  yellow, then green and indexed) and HNSW recall against exact search;
* the second SIGKILLs that server and restarts it on the same storage: graphs
  are loaded, not rebuilt, and the same queries give the same answers;
* the third SIGKILLs a server mid-build, then mid-merge, and checks after each
  restart that every acknowledged point is intact and the optimizer finishes.

Vectors: 64-d, Cosine, around 50 centres, each cluster spread over its own
8-d subspace (the low intrinsic dimension of real embeddings; uniform random
64-d data is a needlessly hard case for HNSW), rounded to 5 decimals to keep
the JSON small. Sizes are in KB of vector data as in Qdrant (a 64-d float32
vector is 0.25 KB), and as in Qdrant the appendable segment gets a graph only
once it passes the indexing threshold: "indexed" allows for that remainder.
"""

from __future__ import annotations

import collections
import json
import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pytest
import requests
from qdrant_client import QdrantClient, models

from server_process import VecforgeServer
from target import requires_server

pytestmark = requires_server

DIM = 64
CLUSTERS = 50
LATENT = 8
TAGS = ["alpha", "beta", "gamma", "delta", "epsilon"]
SEED = 20261201
BATCH = 1000
GREEN_DEADLINE_S = 180.0  # from the last write to green and indexed
SETTLED_S = 15.0  # green with too much unindexed this long: nothing will index it
CATCH_DEADLINE_S = 60.0  # to see a given optimization running
HNSW_EF = models.SearchParams(hnsw_ef=128, exact=False)
EXACT = models.SearchParams(exact=True)
ANSI = re.compile(r"\x1b\[[0-9;]*m")

LIVE = "idx_live"
LIVE_N = 100_000
LIVE_THRESHOLD = 15_000  # points that make the appendable segment worth indexing
CRASH = "idx_crash"
CRASH_FIRST_N = 48_000  # indexed when the server is killed
CRASH_SECOND_N = 12_000  # one more indexed segment, so that there is something to merge


def kb(points: int) -> int:
    """KB of float32 vector data in `points` vectors of DIM."""
    return points * DIM * 4 // 1024


# ---------------------------------------------------------------- data


class Space:
    """CLUSTERS centres, each with its own LATENT-d subspace of spread."""

    def __init__(self, seed: int):
        rng = np.random.RandomState(seed)
        self.centers = rng.standard_normal((CLUSTERS, DIM))
        self.bases = rng.standard_normal((CLUSTERS, LATENT, DIM)) * 0.3

    def sample(self, rng: np.random.RandomState, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, DIM) float64 vectors, rounded to 5 decimals, and their clusters."""
        clusters = rng.randint(CLUSTERS, size=n)
        out = self.centers[clusters] + rng.standard_normal((n, DIM)) * 0.05
        latent = rng.standard_normal((n, LATENT))
        for c in range(CLUSTERS):
            rows = clusters == c
            out[rows] += latent[rows] @ self.bases[c]
        return np.round(out, 5), clusters


def normalized(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def payload_of(pid: int, cluster) -> dict:
    return {"cluster": int(cluster), "tag": TAGS[pid % len(TAGS)], "note": f"point {pid}"}


def recall(got: list[list], want: list[list]) -> float:
    return sum(len(set(g) & set(w)) for g, w in zip(got, want)) / (10 * len(want))


# ---------------------------------------------------------------- REST and log helpers


def summary(info: dict) -> dict:
    keys = ("status", "optimizer_status", "points_count", "indexed_vectors_count", "segments_count")
    return {k: info.get(k) for k in keys}


def call(session, method: str, url: str, path: str, body: dict | None = None):
    """One REST call that must succeed; its `result`."""
    r = session.request(method, f"{url}{path}", json=body, timeout=60)
    assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text[:500]}"
    return r.json()["result"]


def collection_info(session: requests.Session, url: str, name: str) -> dict:
    return call(session, "GET", url, f"/collections/{name}")


def create(url: str, name: str, optimizers: dict, hnsw: dict) -> None:
    body = {"vectors": {"size": DIM, "distance": "Cosine"}, "optimizers_config": optimizers, "hnsw_config": hnsw}
    call(requests, "PUT", url, f"/collections/{name}", body)


def upsert(session, url: str, name: str, vectors: np.ndarray, clusters, first: int, last: int, wait: bool):
    """Points `first + 1 ..= last` (row r is point r + 1), `BATCH` per request."""
    for start in range(first, last, BATCH):
        rows = range(start, min(start + BATCH, last))
        points = [{"id": r + 1, "vector": vectors[r].tolist(), "payload": payload_of(r + 1, clusters[r])} for r in rows]
        final = wait or rows[-1] == last - 1  # with wait=false, the last batch still waits
        r = session.put(f"{url}/collections/{name}/points?wait={str(final).lower()}", json={"points": points}, timeout=120)
        status = r.json().get("result", {}).get("status") if r.status_code == 200 else None
        assert status in (("completed",) if final else ("acknowledged", "completed")), (
            f"upsert of ids {rows[0] + 1}..{rows[-1] + 1}: {r.status_code} {r.text[:300]}"
        )


def wait_fully_indexed(url: str, name: str, expected: int, tail: int = 0) -> dict:
    """Poll until green with `expected` points, at most `tail` of them without
    a graph, and return the info. The appendable segment is indexed only once
    it passes the indexing threshold (as in Qdrant), so the caller states how
    many points it may hold. AssertionError at once on red or an optimizer
    error, after SETTLED_S of green with more unindexed, or after GREEN_DEADLINE_S."""
    session, history = requests.Session(), collections.deque(maxlen=6)
    started, settled_since = time.monotonic(), None
    while True:
        info = collection_info(session, url, name)
        history.append(summary(info))
        points, indexed = info.get("points_count"), info.get("indexed_vectors_count")
        assert info.get("status") != "red" and info.get("optimizer_status") == "ok", (
            f"{name}: optimizer failed: {list(history)}"
        )
        if info.get("status") == "green" and points == expected:
            if indexed is not None and 0 <= points - indexed <= tail:
                return info
            settled_since = settled_since or time.monotonic()
            assert time.monotonic() - settled_since < SETTLED_S, (
                f"{name}: green for {SETTLED_S:.0f} s with {indexed} of {points} vectors indexed "
                f"(at most {tail} may wait in the appendable segment): {list(history)}"
            )
        else:
            settled_since = None
        assert time.monotonic() - started < GREEN_DEADLINE_S, (
            f"{name}: not green with {expected} points, at most {tail} unindexed, "
            f"after {GREEN_DEADLINE_S:.0f} s: {list(history)}"
        )
        time.sleep(0.2)


def log_lines(srv: VecforgeServer, needle: str, offset: int = 0) -> list[str]:
    """Lines of the server log from byte `offset` on that contain `needle`."""
    with open(srv.log_path, "rb") as log:
        log.seek(offset)
        text = ANSI.sub("", log.read().decode(errors="replace"))
    return [line for line in text.splitlines() if needle in line]


# ---------------------------------------------------------------- ingest while searching


@dataclass
class Live:
    """What the module fixture saw; `servers[-1]` is the one running."""

    servers: list
    vectors_n: np.ndarray  # normalised; row r is point r + 1
    clusters: np.ndarray
    samples: list = field(default_factory=list)  # collection info summaries, every ~0.2 s
    poll_errors: list = field(default_factory=list)
    search_errors: list = field(default_factory=list)
    searches: int = 0
    ingest_s: float = 0.0
    settle_s: float = 0.0
    final: dict | None = None
    settle_error: str | None = None


def searcher(url: str, space: Space, live: Live, stop: threading.Event) -> None:
    """Random queries until `stop`, every fourth filtered on `cluster`; records
    every exception and every malformed answer."""
    client = QdrantClient(url=url, prefer_grpc=False, timeout=30)
    rng = np.random.RandomState(SEED + 1)
    while not stop.is_set():
        query, clusters = space.sample(rng, 1)
        cluster = int(clusters[0])
        match = models.FieldCondition(key="cluster", match=models.MatchValue(value=cluster))
        flt = models.Filter(must=[match]) if live.searches % 4 == 3 else None
        try:
            hits = client.query_points(
                LIVE, query=query[0].tolist(), query_filter=flt, limit=10, search_params=models.SearchParams(hnsw_ef=64)
            ).points
            scores = [h.score for h in hits]
            problem = (
                "more than 10 hits" if len(hits) > 10
                else "duplicate ids" if len({h.id for h in hits}) != len(hits)
                else "scores not descending" if scores != sorted(scores, reverse=True)
                else "hit outside the filter" if flt and any(h.payload["cluster"] != cluster for h in hits)
                else None
            )
            if problem:
                live.search_errors.append(f"search {live.searches}: {problem}: {[(h.id, h.score) for h in hits]}")
        except Exception as exc:  # noqa: BLE001 - any failure is what the test looks for
            live.search_errors.append(f"search {live.searches}: {type(exc).__name__}: {str(exc)[:300]}")
        live.searches += 1
        time.sleep(0.01)  # leave the cores mostly to ingestion and indexing
    client.close()


def poller(url: str, live: Live, stop: threading.Event) -> None:
    session, started = requests.Session(), time.monotonic()
    while not stop.is_set():
        try:
            info = collection_info(session, url, LIVE)
            live.samples.append({"t": round(time.monotonic() - started, 1), **summary(info)})
        except (AssertionError, requests.RequestException, ValueError) as exc:
            live.poll_errors.append(f"{type(exc).__name__}: {str(exc)[:300]}")
        stop.wait(0.2)


@pytest.fixture(scope="module")
def live():
    """100,000 points loaded with wait=false while searching and sampling
    status, then settled; shared by the first two tests (the second one
    restarts the server)."""
    space = Space(SEED)
    vectors, clusters = space.sample(np.random.RandomState(SEED), LIVE_N)
    state = Live(servers=[VecforgeServer()], vectors_n=normalized(vectors), clusters=clusters)
    stop = threading.Event()
    try:
        srv = state.servers[0].start()
        # A merge may grow a segment to the whole set.
        create(
            srv.url, LIVE,
            optimizers={
                "indexing_threshold": kb(LIVE_THRESHOLD), "default_segment_number": 4, "max_segment_size": kb(200_000)
            },
            hnsw={"m": 16, "ef_construct": 100, "full_scan_threshold": kb(400)},
        )
        threads = [
            threading.Thread(target=searcher, args=(srv.url, space, state, stop), daemon=True),
            threading.Thread(target=poller, args=(srv.url, state, stop), daemon=True),
        ]
        for t in threads:
            t.start()
        started = time.monotonic()
        upsert(requests.Session(), srv.url, LIVE, vectors, clusters, 0, LIVE_N, wait=False)
        state.ingest_s = time.monotonic() - started
        try:
            state.final = wait_fully_indexed(srv.url, LIVE, LIVE_N, tail=LIVE_THRESHOLD - 1)
        except AssertionError as exc:
            state.settle_error = str(exc)
        state.settle_s = time.monotonic() - started - state.ingest_s
        stop.set()
        for t in threads:
            t.join(timeout=60)
        yield state
    finally:
        stop.set()
        for s in state.servers:
            s.kill()


def test_ingest_while_searching_goes_yellow_then_green(live):
    """~100 s (mostly the fixture): searches never fail while segments are
    indexed and swapped; status goes yellow, then green with every vector
    indexed but those left in the appendable segment (fewer than the indexing
    threshold); recall@10 at hnsw_ef=128 >= 0.98; filtered hits obey the filter."""
    statuses = collections.Counter(s["status"] for s in live.samples)
    print(f"\ningest {live.ingest_s:.1f} s, settled {live.settle_s:.1f} s later; {live.searches} searches; "
          f"statuses sampled: {dict(statuses)}; final: {summary(live.final or {})}")
    errors = live.search_errors
    assert not errors, f"{len(errors)} of {live.searches} searches failed while indexing: {errors[:5]}"
    assert live.searches >= 20, f"only {live.searches} searches ran alongside ingestion"
    assert not live.poll_errors, f"collection info failed while indexing: {live.poll_errors[:5]}"
    bad = [s for s in live.samples if s["status"] == "red" or s["optimizer_status"] != "ok"]
    assert not bad, f"optimizer reported a failure while indexing: {bad[:5]}"
    assert statuses["yellow"] > 0, f"status never yellow while indexing; last samples: {live.samples[-10:]}"
    # wait_fully_indexed returns only when green, optimizer ok, every vector indexed
    # but fewer than LIVE_THRESHOLD in the appendable segment.
    assert live.settle_error is None, live.settle_error

    queries, _ = Space(SEED).sample(np.random.RandomState(SEED + 2), 200)
    sims = normalized(queries) @ live.vectors_n.T
    truth = [[int(r) + 1 for r in row] for row in np.argsort(-sims, axis=1)[:, :10]]
    client = QdrantClient(url=live.servers[-1].url, prefer_grpc=False, timeout=60)
    try:
        hnsw, exact = [], []
        for q in queries.tolist():
            hnsw.append([p.id for p in client.query_points(LIVE, query=q, search_params=HNSW_EF).points])
            exact.append([p.id for p in client.query_points(LIVE, query=q, search_params=EXACT).points])
        r_hnsw, r_exact = recall(hnsw, exact), recall(exact, truth)
        print(f"recall@10: hnsw_ef=128 vs exact {r_hnsw:.4f}; exact vs numpy {r_exact:.4f}")
        # Exact search must really be exact, or the comparison with it means nothing.
        assert r_exact >= 0.999, f"exact search differs from numpy brute force: recall {r_exact:.4f}"
        assert r_hnsw >= 0.98, f"HNSW recall@10 {r_hnsw:.4f} < 0.98 (m=16, ef_construct=100, hnsw_ef=128)"

        # Filtered HNSW search: a full page (a cluster has ~2,000 points, ~400 per tag), all inside the filter.
        for i, q in enumerate(queries[:10].tolist()):
            cluster, tag = i * 5 % CLUSTERS, TAGS[i % len(TAGS)]
            must = [models.FieldCondition(key="cluster", match=models.MatchValue(value=cluster))]
            if i % 2:
                must.append(models.FieldCondition(key="tag", match=models.MatchValue(value=tag)))
            hits = client.query_points(LIVE, query=q, query_filter=models.Filter(must=must), search_params=HNSW_EF).points
            assert len(hits) == 10, f"filtered search {i} (cluster {cluster}): {len(hits)} hits"
            wrong = [h for h in hits if h.payload["cluster"] != cluster or (i % 2 and h.payload["tag"] != tag)]
            assert not wrong, f"filtered search {i}: hits outside the filter: {wrong[:3]}"
    finally:
        client.close()


def test_restart_serves_same_results_without_rebuilding(live):
    """~15 s: SIGKILL once settled, restart on the same storage: green with as
    many vectors indexed within 10 s of ready, graphs loaded and none rebuilt,
    same answers."""
    if live.final is None:
        pytest.fail(f"precondition: the live collection never settled: {live.settle_error}")
    indexed = live.final["indexed_vectors_count"]
    old = live.servers[-1]
    queries, _ = Space(SEED).sample(np.random.RandomState(SEED + 3), 50)

    def answers(url: str) -> list[list[tuple]]:
        client = QdrantClient(url=url, prefer_grpc=False, timeout=60)
        try:
            return [
                [(p.id, round(p.score, 5)) for p in client.query_points(LIVE, query=q, search_params=HNSW_EF).points]
                for q in queries.tolist()
            ]
        finally:
            client.close()

    before = answers(old.url)
    built_before = len(log_lines(old, "HNSW graph built"))
    offset = old.log_path.stat().st_size
    old.kill()
    started = time.monotonic()
    srv = VecforgeServer(workdir=old.workdir)  # same storage and log, fresh ports
    live.servers.append(srv)
    srv.start()
    ready_s = time.monotonic() - started

    session, infos = requests.Session(), []
    while True:
        info = summary(collection_info(session, srv.url, LIVE))
        infos.append(info)
        if info["status"] == "green" and info["points_count"] == LIVE_N and info["indexed_vectors_count"] == indexed:
            break
        assert time.monotonic() - started - ready_s < 10, (
            f"not green with {indexed} vectors indexed 10 s after ready (before the kill: "
            f"{summary(live.final)}): {infos[-5:]}"
        )
        time.sleep(0.1)
    green_s = time.monotonic() - started
    after = answers(srv.url)
    loaded, rebuilt = log_lines(srv, "HNSW graph loaded", offset), log_lines(srv, "HNSW graph built", offset)
    print(
        f"\nrestart: ready after {ready_s:.2f} s, green after {green_s:.2f} s; "
        f"graphs built before: {built_before}, loaded at start: {len(loaded)}"
    )
    assert built_before > 0, "no 'HNSW graph built' line in the log before the restart"
    assert not rebuilt, "graphs rebuilt after the restart:\n" + "\n".join(log_lines(srv, "optimization", offset)[:20])
    assert loaded, "no 'HNSW graph loaded' line in the log after the restart"
    diff = [(i, b, a) for i, (b, a) in enumerate(zip(before, after)) if b != a]
    assert not diff, f"{len(diff)} of {len(queries)} queries answer differently after restart, e.g. {diff[:2]}"


# ---------------------------------------------------------------- crash mid-optimization


def catch_running(url: str, name: str, optimizer: str, finished) -> dict:
    """Poll GET /optimizations every ~20 ms until an `optimizer` job is
    building its HNSW graph and return it; fail if `finished(collection info)` says it is already over,
    or after CATCH_DEADLINE_S."""
    session = requests.Session()
    history, infos = collections.deque(maxlen=4), collections.deque(maxlen=4)
    started = next_info = time.monotonic()
    while time.monotonic() - started < CATCH_DEADLINE_S:
        history.append(call(session, "GET", url, f"/collections/{name}/optimizations"))
        for job in history[-1].get("running") or []:
            stages = job.get("progress", {}).get("children") or [{}]
            # Past copying the points: the kill lands in the graph build.
            if job.get("optimizer") == optimizer and stages[0].get("name", "").startswith("build"):
                return job
        if time.monotonic() >= next_info:
            info = collection_info(session, url, name)
            infos.append(summary(info))
            assert not finished(info), (
                f"the {optimizer} optimization finished before it was seen running: make it slower "
                f"(more points, higher ef_construct). Infos: {list(infos)}; optimizations: "
                + json.dumps(list(history))[:2000]
            )
            next_info = time.monotonic() + 0.5
        time.sleep(0.02)
    pytest.fail(
        f"no {optimizer} optimization seen running within {CATCH_DEADLINE_S:.0f} s. Infos: {list(infos)}; "
        "optimizations: " + json.dumps(list(history))[:2000]
    )


def patch(url: str, optimizers: dict) -> None:
    call(requests, "PATCH", url, f"/collections/{CRASH}", {"optimizers_config": optimizers})


def check_recovered(url: str, vectors: np.ndarray, clusters: np.ndarray, rng) -> dict:
    """After a restart: search answers at once; the optimizer finishes with
    every vector indexed (the test leaves none in the appendable segment);
    every acknowledged point (ids 1 ..= len(vectors)) counts, and a sample of
    1,000 has exactly the payload and the (normalised) vector written."""
    n, session, path = len(vectors), requests.Session(), f"/collections/{CRASH}/points"
    hits = call(session, "POST", url, f"{path}/query", {"query": vectors[7].tolist()})["points"]
    assert len(hits) == 10, f"search right after restart: {hits}"
    info = wait_fully_indexed(url, CRASH, n)
    count = call(session, "POST", url, f"{path}/count", {"exact": True})["count"]
    assert count == n, f"{count} points after restart, {n} acknowledged"
    ids = sorted(int(i) + 1 for i in rng.choice(n, size=1000, replace=False))
    records = call(session, "POST", url, path, {"ids": ids, "with_payload": True, "with_vector": True})
    found = {rec["id"]: rec for rec in records}
    missing = [pid for pid in ids if pid not in found]
    assert not missing, f"{len(missing)} of 1000 sampled acknowledged points missing, e.g. {missing[:10]}"
    wrong = [(pid, found[pid]["payload"]) for pid in ids if found[pid]["payload"] != payload_of(pid, clusters[pid - 1])]
    assert not wrong, f"payload differs for {len(wrong)} points, e.g. (id, payload) {wrong[:3]}"
    got = np.array([found[pid]["vector"] for pid in ids], dtype=np.float64)
    ok = np.isclose(got, normalized(vectors[np.array(ids) - 1]), rtol=0, atol=1e-5).all(axis=1)
    bad = [pid for pid, good in zip(ids, ok) if not good]
    assert not bad, f"vector differs (normalised) for {len(bad)} points, e.g. {bad[:10]}"
    return info


def test_crash_during_index_build_and_merge_recovers(server_factory):
    """~120 s: SIGKILL mid-build, restart, recover; then SIGKILL mid-merge,
    restart, recover. Every point is acknowledged (wait=true) before a kill."""
    rng = np.random.RandomState(SEED + 4)
    vectors, clusters = Space(SEED + 5).sample(rng, CRASH_FIRST_N + CRASH_SECOND_N)
    srv = server_factory()
    workdir = srv.workdir
    # No indexing until every point is acknowledged (a threshold no segment
    # reaches); one build thread and ef_construct 200 make a build slow enough to catch.
    create(
        srv.url, CRASH,
        optimizers={"indexing_threshold": 1_000_000, "default_segment_number": 4, "max_segment_size": kb(400_000)},
        hnsw={"m": 16, "ef_construct": 200, "max_indexing_threads": 1, "full_scan_threshold": kb(400)},
    )
    session = requests.Session()
    upsert(session, srv.url, CRASH, vectors, clusters, 0, CRASH_FIRST_N, wait=True)
    info = summary(collection_info(session, srv.url, CRASH))
    assert info["points_count"] == CRASH_FIRST_N and info["indexed_vectors_count"] == 0, (
        f"below the indexing threshold nothing should be indexed: {info}"
    )

    # 1. Kill during an index build.
    patch(srv.url, {"indexing_threshold": kb(4_000)})
    job = catch_running(
        srv.url, CRASH, "indexing",
        finished=lambda i: i["status"] == "green" and i["indexed_vectors_count"] == i["points_count"],
    )
    srv.kill()
    print(f"\nkilled during indexing: {json.dumps(job)[:400]}")
    started = time.monotonic()
    srv = server_factory(workdir=workdir)  # same storage, fresh ports
    info = check_recovered(srv.url, vectors[:CRASH_FIRST_N], clusters[:CRASH_FIRST_N], rng)
    print(f"recovered from the killed build in {time.monotonic() - started:.1f} s: {summary(info)}")

    # 2. Kill during a merge: a second indexed segment (loaded with indexing off
    # again, so that all of it is sealed at once and no unindexed rest stays
    # in the appendable segment), then ask for a single segment.
    patch(srv.url, {"indexing_threshold": 1_000_000})
    upsert(requests.Session(), srv.url, CRASH, vectors, clusters, CRASH_FIRST_N, len(vectors), wait=True)
    patch(srv.url, {"indexing_threshold": kb(4_000)})
    info = wait_fully_indexed(srv.url, CRASH, len(vectors))
    segments = info.get("segments_count") or 0
    assert segments >= 2, f"setup: need at least 2 segments to merge, have {summary(info)}"
    patch(srv.url, {"default_segment_number": 1})
    job = catch_running(
        srv.url, CRASH, "merge",
        finished=lambda i: i["status"] == "green" and (i.get("segments_count") or 0) < segments,
    )
    srv.kill()
    print(f"killed during the merge of {segments} segments: {json.dumps(job)[:400]}")
    started = time.monotonic()
    srv = server_factory(workdir=workdir)
    info = check_recovered(srv.url, vectors, clusters, rng)
    print(f"recovered from the killed merge in {time.monotonic() - started:.1f} s: {summary(info)}")
