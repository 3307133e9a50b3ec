"""Scaling bench: the workload users bring (hundreds of thousands to a million
384-d embeddings), end to end through the release server's REST API.

For each size N it starts a fresh `target/release/vecforge`, creates a Cosine
collection (m 16, ef_construct 100, every core for builds), uploads N
clustered synthetic 384-d vectors (1,000 centres, each spread over its own
16-d subspace, like real sentence embeddings) in batches of 1,000 with
indexing off, then turns indexing on (`PATCH indexing_threshold_kb` back to
10,000) and waits for green. It reports:

  ingest rate     points/s of the upload, acknowledged with wait=false, the
                  last batch with wait=true
  build seconds   from the PATCH to green (all graphs built and swapped in)
  peak RSS        the server's VmHWM
  on-disk size    the storage directory after the build
  peak PSS        the server's proportional set size, sampled every 0.2 s:
                  its real memory. RSS counts a page of a file mapped twice
                  twice, and an index build reads the vectors through a
                  second, read-only mapping of the same file (the first
                  stays in use by searches), so peak RSS overstates it by
                  up to the vector bytes; PSS counts every page once
  memory bound    peak PSS / (vector bytes + graph bytes), goal <= 1.3
                  (peak RSS / the same also printed)
  recall@10       at hnsw_ef 64 on 200 held-out queries, against numpy's
                  exact top 10

and, from the same run on the same vectors, parameters and cores, hnswlib's
build time and recall at ef 64, with the ratio ours / hnswlib.

Run (after `cargo build --release`, with the peers installed in .venv):
    .venv/bin/python benches/scaling.py --sizes 100000,300000,1000000
Peak memory of this script is about 3 GB at 1M points.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import orjson
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from server_process import VecforgeServer  # noqa: E402

DIM = 384
CENTRES = 1000
LATENT = 16
SEED = 20261201
BATCH = 1000
EF = 64
K = 10
QUERIES = 200


def generate(n: int, seed: int) -> np.ndarray:
    """n unit vectors around CENTRES centres; deterministic per (n, seed)."""
    rng = np.random.RandomState(SEED)
    centres = rng.standard_normal((CENTRES, DIM)).astype(np.float32)
    bases = (rng.standard_normal((CENTRES, LATENT, DIM)) * 0.25).astype(np.float32)
    rng = np.random.RandomState(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 50_000):
        m = min(50_000, n - start)
        c = rng.randint(CENTRES, size=m)
        latent = rng.standard_normal((m, LATENT)).astype(np.float32)
        block = centres[c] + np.einsum("ml,mld->md", latent, bases[c])
        block += rng.standard_normal((m, DIM)).astype(np.float32) * 0.05
        out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def exact_top(base: np.ndarray, queries: np.ndarray) -> np.ndarray:
    scores = queries @ base.T
    return np.argsort(-scores, axis=1)[:, :K]


def recall(found, truth) -> float:
    return sum(len(set(f) & set(t.tolist())) for f, t in zip(found, truth)) / (K * len(truth))


def vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def rss_split_mb(pid: int) -> tuple[float, float]:
    """Resident anonymous (heap) and file-backed (mapped storage) memory
    now, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        if rest.strip().endswith("kB"):
            fields[key] = int(rest.split()[0])
    return fields.get("Anonymous", 0) / 1024, (fields.get("Rss", 0) - fields.get("Anonymous", 0)) / 1024


class PeakPss:
    """Samples a process's PSS in a background thread; `peak_mb` is the
    largest seen."""

    def __init__(self, pid: int, every: float = 0.2):
        self.pid, self.every, self.peak_kb = pid, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        path = Path(f"/proc/{self.pid}/smaps_rollup")
        while not self._stop.is_set():
            try:
                for line in path.read_text().splitlines():
                    if line.startswith("Pss:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                        break
            except OSError:
                return
            self._stop.wait(self.every)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024


def du_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run_ours(base: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> dict:
    n = len(base)
    workdir = Path(tempfile.mkdtemp(prefix="vecforge-scaling-"))
    srv = VecforgeServer(workdir=workdir).start()
    pss = PeakPss(srv.proc.pid)
    s = requests.Session()
    url = f"{srv.url}/collections/scale"
    try:
        r = s.put(url, json={
            "vectors": {"size": DIM, "distance": "Cosine"},
            "hnsw_config": {"m": 16, "ef_construct": 100, "max_indexing_threads": 0},
            "optimizers_config": {"indexing_threshold": 0},
        })
        r.raise_for_status()
        started = time.perf_counter()
        for start in range(0, n, BATCH):
            rows = base[start:start + BATCH]
            last = start + BATCH >= n
            # orjson writes numpy rows directly, so the client keeps up with
            # the server (the standard json module would be the bottleneck).
            body = orjson.dumps(
                {"batch": {"ids": list(range(start, start + len(rows))), "vectors": rows}},
                option=orjson.OPT_SERIALIZE_NUMPY,
            )
            r = s.put(
                f"{url}/points?wait={'true' if last else 'false'}",
                data=body,
                headers={"content-type": "application/json"},
                timeout=600,
            )
            r.raise_for_status()
        ingest_s = time.perf_counter() - started
        ingest_peak = vm_hwm_kb(srv.proc.pid) * 1024

        started = time.perf_counter()
        s.patch(url, json={"optimizers_config": {"indexing_threshold": 10000}}).raise_for_status()
        time.sleep(0.5)
        while True:
            info = s.get(url).json()["result"]
            if info["status"] == "green":
                break
            if info["status"] == "red":
                raise RuntimeError(f"optimizer failed: {info['optimizer_status']}")
            time.sleep(0.5)
        build_s = time.perf_counter() - started - 0.5

        found = []
        started = time.perf_counter()
        for q in queries:
            r = s.post(f"{url}/points/query", json={"query": q.tolist(), "limit": K, "params": {"hnsw_ef": EF}})
            r.raise_for_status()
            found.append([p["id"] for p in r.json()["result"]["points"]])
        query_ms = (time.perf_counter() - started) * 1000 / len(queries)

        storage = workdir / "storage"
        graph_bytes = sum(f.stat().st_size for f in storage.rglob("*.hnsw"))
        vector_bytes = n * DIM * 4
        rss = vm_hwm_kb(srv.proc.pid) * 1024
        anon_mb, file_mb = rss_split_mb(srv.proc.pid)
        pss_mb = pss.stop()
        return {
            "ingest_pps": n / ingest_s,
            "build_s": build_s,
            "rss_mb": rss / 2**20,
            "ingest_rss_mb": ingest_peak / 2**20,
            "anon_mb": anon_mb,
            "file_mb": file_mb,
            "disk_mb": du_bytes(storage) / 2**20,
            "pss_mb": pss_mb,
            "memory_ratio": pss_mb * 2**20 / (vector_bytes + graph_bytes),
            "rss_ratio": rss / (vector_bytes + graph_bytes),
            "recall": recall(found, truth),
            "query_ms": query_ms,
            "segments": info["segments_count"],
            "indexed": info["indexed_vectors_count"],
        }
    finally:
        srv.kill()
        # Keep the server log (build progress, optimizations) for a look.
        shutil.copy(srv.log_path, Path(tempfile.gettempdir()) / f"vecforge-scaling-{n}.log")
        shutil.rmtree(workdir, ignore_errors=True)


def run_hnswlib(base: np.ndarray, queries: np.ndarray, truth: np.ndarray, threads: int) -> dict:
    import hnswlib

    index = hnswlib.Index(space="cosine", dim=DIM)
    started = time.perf_counter()
    index.init_index(max_elements=len(base), ef_construction=100, M=16, random_seed=100)
    index.add_items(base, np.arange(len(base)), num_threads=threads)
    build_s = time.perf_counter() - started
    index.set_ef(EF)
    labels, _ = index.knn_query(queries, k=K, num_threads=1)
    return {"build_s": build_s, "recall": recall(labels.tolist(), truth)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--peer", default="hnswlib", help="hnswlib or none")
    args = parser.parse_args()
    threads = len(os.sched_getaffinity(0))
    sizes = [int(x) for x in args.sizes.split(",")]
    queries = generate(QUERIES, SEED + 1)
    rows = []
    for n in sizes:
        base = generate(n, SEED + 2)
        truth = exact_top(base, queries)
        ours = run_ours(base, queries, truth)
        peer = run_hnswlib(base, queries, truth, threads) if args.peer == "hnswlib" else None
        rows.append((n, ours, peer))
        ratio = f"{ours['build_s'] / peer['build_s']:.2f}" if peer else "n/a"
        print(
            f"scaling n={n} ingest_pps={ours['ingest_pps']:.0f} build_s={ours['build_s']:.1f} "
            f"rss_mb={ours['rss_mb']:.0f} ingest_rss_mb={ours['ingest_rss_mb']:.0f} anon_mb_after={ours['anon_mb']:.0f} file_mb_after={ours['file_mb']:.0f} disk_mb={ours['disk_mb']:.0f} pss_mb={ours['pss_mb']:.0f} memory_ratio_pss={ours['memory_ratio']:.2f} rss_ratio={ours['rss_ratio']:.2f} "
            f"recall@10_ef{EF}={ours['recall']:.4f} query_ms={ours['query_ms']:.2f} segments={ours['segments']} "
            f"indexed={ours['indexed']} hnswlib_build_s={peer['build_s'] if peer else float('nan'):.1f} "
            f"hnswlib_recall={peer['recall'] if peer else float('nan'):.4f} build_ratio_ours_hnswlib={ratio}",
            flush=True,
        )
        del base
    print(f"\n| points | ingest (points/s) | build (s) | build / (N log2 N), ns | peak RSS (MB) | peak PSS (MB) | PSS / (vectors + graph) | on disk (MB) | recall@10, ef {EF} | hnswlib build (s) | ratio ours / hnswlib |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n, ours, peer in rows:
        per = ours["build_s"] * 1e9 / (n * np.log2(n))
        print(
            f"| {n:,} | {ours['ingest_pps']:,.0f} | {ours['build_s']:.1f} | {per:.0f} | {ours['rss_mb']:,.0f} | {ours['pss_mb']:,.0f} | "
            f"{ours['memory_ratio']:.2f} | {ours['disk_mb']:,.0f} | {ours['recall']:.3f} | "
            f"{peer['build_s'] if peer else float('nan'):.1f} | "
            f"{ours['build_s'] / peer['build_s'] if peer else float('nan'):.2f} |"
        )


if __name__ == "__main__":
    main()
