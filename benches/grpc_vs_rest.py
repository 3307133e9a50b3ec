"""gRPC vs REST: the same operations through the official Python
`qdrant-client`, once over each transport, against one release server on the
same data and cores, so that the ratio gRPC / REST is the transport's alone.

Data: the real MiniLM embeddings of `../shared/data/pydocs-minilm` (20,000 ×
384, float16 on disk, sent as float32), each point with a small payload
(row number, a tag, the first 40 characters of its paragraph). With
`--points` above 20,000 the rows repeat under new ids.

  ingest      points/s of `upsert(wait=True)` of N points in batches of 256
              and of 1,000, each run into a fresh collection with indexing
              off (so that no graph build competes with the upload); REST
              is `QdrantClient(url=..., prefer_grpc=False)`, gRPC is
              `QdrantClient(url=..., grpc_port=..., prefer_grpc=True)`. The
              `PointStruct`s are built once before timing; the client's own
              conversion to JSON or protobuf is inside the timing, as it is
              for a user. Each (batch, transport) runs `--repeat` times, the
              transport order alternating, and the best and median runs are
              reported, with the client's and the server's CPU seconds.
  latency     p50 / p99 / mean of single `query_points(limit=10)` calls with
              the 500 held-out queries, on one collection of the same N
              points, indexed by the optimizer (indexing_threshold_kb 1,000,
              so all but a small tail is in HNSW graphs; waits for green and
              prints how many vectors are indexed). Each query goes over both
              transports back to back, the first one alternating, after a
              warm-up; the two answers are compared id by id.

It prints a table with the ratios gRPC / REST (points/s above 1 and latency
below 1 mean gRPC is faster), the CPU count, and with `--json PATH` writes
the figures as JSON. The server's log is kept in
`$TMPDIR/vecforge-grpc-vs-rest.log`; its WARN / ERROR lines are printed.

Run (after `cargo build --release`; the venv needs qdrant-client and numpy):
    .venv/bin/python benches/grpc_vs_rest.py
    .venv/bin/python benches/grpc_vs_rest.py --points 20000 --repeat 3 --json /tmp/grpc_vs_rest.json
About 2 minutes on 2 cores with the defaults; the client holds about 13 KB
per point.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient, models

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from server_process import VecforgeServer, binary_path  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "pydocs-minilm"
DIM = 384
K = 10
BATCHES = (256, 1000)
TRANSPORTS = ("rest", "grpc")
WARMUP_QUERIES = 30


def load_data(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    for name in ("base.npy", "query.npy", "gt.npy", "texts.jsonl"):
        if not (DATA / name).is_file():
            sys.exit(f"missing {DATA / name}: the bench reads the shared pydocs-minilm data set")
    base = np.load(DATA / "base.npy").astype(np.float32)
    queries = np.load(DATA / "query.npy").astype(np.float32)
    gt = np.load(DATA / "gt.npy")
    with open(DATA / "texts.jsonl", encoding="utf-8") as f:
        texts = [json.loads(line) for line in f][: len(base)]
    return base, queries, gt, texts


def make_points(base: np.ndarray, texts: list[str], n: int) -> list[models.PointStruct]:
    rows = len(base)
    return [
        models.PointStruct(
            id=i,
            vector=base[i % rows].tolist(),
            payload={"row": i % rows, "tag": f"t{i % 16}", "title": texts[i % rows][:40]},
        )
        for i in range(n)
    ]


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def create(admin: QdrantClient, name: str, indexing_threshold: int) -> None:
    admin.create_collection(
        name,
        vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=indexing_threshold),
    )


def ingest_once(
    client: QdrantClient, admin: QdrantClient, pid: int, name: str, points: list, batch: int
) -> dict:
    create(admin, name, indexing_threshold=0)
    cpu_client, cpu_server = time.process_time(), proc_cpu_s(pid)
    started = time.perf_counter()
    for start in range(0, len(points), batch):
        client.upsert(name, points=points[start:start + batch], wait=True)
    wall = time.perf_counter() - started
    cpu_client, cpu_server = time.process_time() - cpu_client, proc_cpu_s(pid) - cpu_server
    count = admin.count(name, exact=True).count
    if count != len(points):
        raise RuntimeError(f"{name}: {count} points after upserting {len(points)}")
    admin.delete_collection(name)
    return {
        "seconds": wall,
        "points_per_s": len(points) / wall,
        "client_cpu_s": cpu_client,
        "server_cpu_s": cpu_server,
    }


def wait_green(admin: QdrantClient, name: str, timeout_s: float = 600) -> models.CollectionInfo:
    time.sleep(0.5)  # let the optimizer pick the new segments up
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = admin.get_collection(name)
        if info.status == models.CollectionStatus.GREEN:
            return info
        if info.status == models.CollectionStatus.RED:
            raise RuntimeError(f"{name}: optimizer failed: {info.optimizer_status}")
        time.sleep(0.5)
    raise RuntimeError(f"{name}: not green after {timeout_s:.0f} s")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def run(args: argparse.Namespace) -> dict:
    base, queries, gt, texts = load_data(args.points)
    queries = queries[: args.queries]
    points = make_points(base, texts, args.points)
    cpus = len(os.sched_getaffinity(0))
    load_before = os.getloadavg()[0]

    workdir = Path(tempfile.mkdtemp(prefix="vecforge-grpc-vs-rest-"))
    srv = VecforgeServer(workdir=workdir).start()
    pid = srv.proc.pid
    clients = {
        "rest": QdrantClient(url=srv.url, prefer_grpc=False, timeout=120, check_compatibility=False),
        "grpc": QdrantClient(
            url=srv.url, grpc_port=srv.grpc_port, prefer_grpc=True, timeout=120, check_compatibility=False
        ),
    }
    admin = QdrantClient(url=srv.url, prefer_grpc=False, timeout=120, check_compatibility=False)
    try:
        # Warm up both transports (connections, channels, first-call costs).
        create(admin, "warmup", indexing_threshold=0)
        for client in clients.values():
            client.upsert("warmup", points=points[:64], wait=True)
            client.query_points("warmup", query=queries[0].tolist(), limit=K)
        admin.delete_collection("warmup")

        ingest: dict[str, dict[str, list[dict]]] = {t: {str(b): [] for b in BATCHES} for t in TRANSPORTS}
        for r in range(args.repeat):
            for b_index, batch in enumerate(BATCHES):
                order = TRANSPORTS if (r + b_index) % 2 == 0 else TRANSPORTS[::-1]
                for transport in order:
                    res = ingest_once(
                        clients[transport], admin, pid, f"ingest_{transport}_{batch}_{r}", points, batch
                    )
                    ingest[transport][str(batch)].append(res)
                    print(
                        f"ingest run={r} batch={batch} transport={transport} "
                        f"points_per_s={res['points_per_s']:.0f} seconds={res['seconds']:.2f} "
                        f"client_cpu_s={res['client_cpu_s']:.2f} server_cpu_s={res['server_cpu_s']:.2f}",
                        flush=True,
                    )

        # One indexed collection for the queries, loaded over REST.
        create(admin, "search", indexing_threshold=1000)
        for start in range(0, len(points), 1000):
            admin.upsert("search", points=points[start:start + 1000], wait=True)
        started = time.perf_counter()
        info = wait_green(admin, "search")
        index_s = time.perf_counter() - started
        print(
            f"search collection: points={info.points_count} indexed={info.indexed_vectors_count} "
            f"segments={info.segments_count} green after {index_s:.1f} s",
            flush=True,
        )

        for q in queries[:WARMUP_QUERIES]:
            for client in clients.values():
                client.query_points("search", query=q.tolist(), limit=K)
        lat: dict[str, list[float]] = {t: [] for t in TRANSPORTS}
        found: dict[str, list[list[int]]] = {t: [] for t in TRANSPORTS}
        for i, q in enumerate(queries):
            vector = q.tolist()
            for transport in TRANSPORTS if i % 2 == 0 else TRANSPORTS[::-1]:
                started = time.perf_counter()
                res = clients[transport].query_points("search", query=vector, limit=K)
                lat[transport].append((time.perf_counter() - started) * 1000)
                found[transport].append([p.id for p in res.points])
        mismatches = sum(a != b for a, b in zip(found["rest"], found["grpc"]))
        recall = None
        if args.points >= len(base):
            hits = sum(len(set(f) & set(g[:K].tolist())) for f, g in zip(found["rest"], gt))
            recall = hits / (K * len(queries))
    finally:
        for client in (*clients.values(), admin):
            client.close()
        srv.kill()
        log_copy = Path(tempfile.gettempdir()) / "vecforge-grpc-vs-rest.log"
        shutil.copy(srv.log_path, log_copy)
        shutil.rmtree(workdir, ignore_errors=True)

    problems = [
        line for line in log_copy.read_text(errors="replace").splitlines() if " WARN " in line or " ERROR " in line
    ]

    def summary(runs: list[dict]) -> dict:
        pps = [x["points_per_s"] for x in runs]
        best = max(runs, key=lambda x: x["points_per_s"])
        return {
            "best_points_per_s": max(pps),
            "median_points_per_s": statistics.median(pps),
            "best_client_cpu_s": best["client_cpu_s"],
            "best_server_cpu_s": best["server_cpu_s"],
            "runs": runs,
        }

    ingest_summary = {t: {b: summary(runs) for b, runs in per.items()} for t, per in ingest.items()}
    latency = {
        t: {
            "p50_ms": percentile(v, 50),
            "p99_ms": percentile(v, 99),
            "mean_ms": statistics.fmean(v),
        }
        for t, v in lat.items()
    }
    return {
        "date": datetime.date.today().isoformat(),
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "cpus": cpus,
        "cpu_count": os.cpu_count(),
        "load_average_1min_before": load_before,
        "points": args.points,
        "repeat": args.repeat,
        "queries": len(queries),
        "limit": K,
        "ingest": ingest_summary,
        "search_collection": {
            "points": info.points_count,
            "indexed_vectors": info.indexed_vectors_count,
            "segments": info.segments_count,
            "indexing_threshold_kb": 1000,
            "index_wait_s": index_s,
        },
        "latency": latency,
        "answers_differing": mismatches,
        "recall_at_10": recall,
        "server_log": str(log_copy),
        "server_log_warn_error_lines": len(problems),
        "ratios_grpc_over_rest": {
            **{
                f"ingest_batch_{b}_best": ingest_summary["grpc"][str(b)]["best_points_per_s"]
                / ingest_summary["rest"][str(b)]["best_points_per_s"]
                for b in BATCHES
            },
            **{
                f"ingest_batch_{b}_median": ingest_summary["grpc"][str(b)]["median_points_per_s"]
                / ingest_summary["rest"][str(b)]["median_points_per_s"]
                for b in BATCHES
            },
            **{f"latency_{p}": latency["grpc"][f"{p}_ms"] / latency["rest"][f"{p}_ms"] for p in ("p50", "p99", "mean")},
        },
        "_problems": problems,
    }


def report(res: dict) -> None:
    ing, lat, ratio = res["ingest"], res["latency"], res["ratios_grpc_over_rest"]
    sc = res["search_collection"]
    print(
        f"\n{res['date']}, {res['cpus']} CPUs (os.cpu_count {res['cpu_count']}), "
        f"{res['points']:,} points × {DIM}-d, best / median of {res['repeat']}, "
        f"{res['queries']} queries limit {res['limit']}; load average before the run "
        f"{res['load_average_1min_before']:.2f}"
    )
    print("\n| figure | REST | gRPC | ratio gRPC / REST |")
    print("|---|---|---|---|")
    for b in BATCHES:
        r, g = ing["rest"][str(b)], ing["grpc"][str(b)]
        print(
            f"| ingest, batch {b:,} (points/s, best / median) | {r['best_points_per_s']:,.0f} / "
            f"{r['median_points_per_s']:,.0f} | {g['best_points_per_s']:,.0f} / {g['median_points_per_s']:,.0f} | "
            f"{ratio[f'ingest_batch_{b}_best']:.2f} / {ratio[f'ingest_batch_{b}_median']:.2f} |"
        )
        print(
            f"| … client / server CPU s (best run) | {r['best_client_cpu_s']:.2f} / {r['best_server_cpu_s']:.2f} | "
            f"{g['best_client_cpu_s']:.2f} / {g['best_server_cpu_s']:.2f} | |"
        )
    for p in ("p50", "p99", "mean"):
        print(
            f"| query latency {p} (ms) | {lat['rest'][f'{p}_ms']:.3f} | {lat['grpc'][f'{p}_ms']:.3f} | "
            f"{ratio[f'latency_{p}']:.2f} |"
        )
    recall = "n/a" if res["recall_at_10"] is None else f"{res['recall_at_10']:.3f}"
    print(
        f"\nsearch collection: {sc['indexed_vectors']:,} of {sc['points']:,} vectors in HNSW graphs "
        f"(indexing_threshold_kb {sc['indexing_threshold_kb']:,}), {sc['segments']} segments; "
        f"recall@10 {recall}; answers differing between transports: {res['answers_differing']}"
    )
    print(f"server log: {res['server_log']} ({res['server_log_warn_error_lines']} WARN/ERROR lines)")
    for line in res["_problems"][:20]:
        print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=20_000, help="points per ingest run and in the search collection")
    parser.add_argument("--repeat", type=int, default=3, help="ingest runs per (batch, transport)")
    parser.add_argument("--queries", type=int, default=500, help="latency queries, at most 500")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    if not binary_path().is_file():
        sys.exit(f"{binary_path()} not found: run `cargo build --release` first (or set VECFORGE_BIN)")
    res = run(args)
    report(res)
    if args.json:
        out = {k: v for k, v in res.items() if not k.startswith("_")}
        args.json.write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
