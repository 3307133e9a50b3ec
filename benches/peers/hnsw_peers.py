"""Peers for benches/hnsw.rs: hnswlib and Qdrant's engine (qdrant-edge-py)
building and searching an HNSW index on the same data, parameters and cores
as the Rust bench.

Usage: hnsw_peers.py BASE.npy QUERY.npy GT.npy --m 16 --ef-construct 100
       --threads 2 --efs 16,32,64 --k 10 --repeats 3 [--peers hnswlib,qdrant]

Prints machine-readable lines, one fact each:
  peer=NAME phase=build seconds=S threads=T
  peer=NAME phase=search ef=E recall=R qps=Q
  peer=NAME phase=error message=...
Builds use --threads threads. Searches run one query stream on one core:
the process is pinned to a single CPU (sched_setaffinity) and each engine is
also told to use one thread; queries go in one batch call per pass so that
Python's per-call overhead is not counted against the engine, and the best
of --repeats passes is reported.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np


def recall_at(found, gt, k):
    hits = 0
    for row, truth in zip(found, gt):
        hits += len(set(int(x) for x in row[:k]) & set(int(x) for x in truth[:k]))
    return hits / (k * len(gt))


def pin_to_one_cpu():
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[0]})
    return cpus


def unpin(cpus):
    os.sched_setaffinity(0, set(cpus))


def best_pass(run, repeats):
    best = float("inf")
    result = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def run_hnswlib(base, queries, gt, args):
    import hnswlib

    n, dim = base.shape
    index = hnswlib.Index(space="cosine", dim=dim)
    started = time.perf_counter()
    index.init_index(max_elements=n, ef_construction=args.ef_construct, M=args.m, random_seed=100)
    index.add_items(base, np.arange(n), num_threads=args.threads)
    print(f"peer=hnswlib phase=build seconds={time.perf_counter() - started:.4f} threads={args.threads}", flush=True)

    cpus = pin_to_one_cpu()
    try:
        for ef in args.efs:
            index.set_ef(ef)
            seconds, (labels, _) = best_pass(
                lambda: index.knn_query(queries, k=args.k, num_threads=1), args.repeats
            )
            recall = recall_at(labels, gt, args.k)
            print(f"peer=hnswlib phase=search ef={ef} recall={recall:.4f} qps={len(queries) / seconds:.1f}", flush=True)
    finally:
        unpin(cpus)


def run_qdrant(base, queries, gt, args):
    from qdrant_edge import (
        Distance,
        EdgeConfig,
        EdgeOptimizersConfig,
        EdgeShard,
        EdgeVectorParams,
        HnswIndexConfig,
        Point,
        Query,
        QueryBatchRequest,
        QueryRequest,
        SearchParams,
        UpdateOperation,
    )

    n, dim = base.shape
    workdir = tempfile.mkdtemp(prefix="hnsw-peer-qdrant-")
    try:
        config = EdgeConfig(
            vectors={"": EdgeVectorParams(size=dim, distance=Distance.Cosine)},
            hnsw_config=HnswIndexConfig(
                m=args.m,
                ef_construct=args.ef_construct,
                # Always search the graph, never a full scan.
                full_scan_threshold=1,
                max_indexing_threads=args.threads,
            ),
            optimizers=EdgeOptimizersConfig(indexing_threshold=1, default_segment_number=1),
            max_search_threads=1,
        )
        shard = EdgeShard.create(os.path.join(workdir, "shard"), config)
        rows = base.tolist()
        for start in range(0, n, 1000):
            points = [Point(id=i, vector=rows[i]) for i in range(start, min(start + 1000, n))]
            shard.update(UpdateOperation.upsert_points(points))
        # Only the index build is timed: upserts are the WAL's work.
        started = time.perf_counter()
        shard.optimize()
        print(f"peer=qdrant phase=build seconds={time.perf_counter() - started:.4f} threads={args.threads}", flush=True)

        query_rows = queries.tolist()
        cpus = pin_to_one_cpu()
        try:
            for ef in args.efs:
                batch = QueryBatchRequest(
                    [
                        QueryRequest(limit=args.k, query=Query.Nearest(q), params=SearchParams(hnsw_ef=ef))
                        for q in query_rows
                    ]
                )
                seconds, results = best_pass(lambda: shard.query_batch(batch), args.repeats)
                labels = [[p.id for p in hits] for hits in results]
                recall = recall_at(labels, gt, args.k)
                print(f"peer=qdrant phase=search ef={ef} recall={recall:.4f} qps={len(queries) / seconds:.1f}", flush=True)
        finally:
            unpin(cpus)
        shard.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("query")
    parser.add_argument("gt")
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construct", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--efs", type=lambda s: [int(x) for x in s.split(",")], default=[16, 32, 64, 128, 256, 512])
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peers", default="hnswlib,qdrant")
    args = parser.parse_args()

    base = np.load(args.base).astype(np.float32)
    queries = np.load(args.query).astype(np.float32)
    gt = np.load(args.gt)
    # Same stored form as the Rust side: unit norm (float16 rounding leaves
    # the rows a hair off it).
    base /= np.linalg.norm(base, axis=1, keepdims=True).clip(min=1e-12)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True).clip(min=1e-12)

    runners = {"hnswlib": run_hnswlib, "qdrant": run_qdrant}
    for name in args.peers.split(","):
        try:
            runners[name](base, queries, gt, args)
        except Exception as e:  # report and go on with the other peer
            message = str(e).replace("\n", " ")
            print(f"peer={name} phase=error message={message}", flush=True)
            print(f"{name} failed: {e!r}", file=sys.stderr)


if __name__ == "__main__":
    main()
