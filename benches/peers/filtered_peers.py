"""Peer of benches/filtered_search.rs: Qdrant's engine (qdrant-edge-py) with a
keyword payload index, searched with a filter at three selectivities, on the
same data, labels, HNSW parameters and cores as the Rust bench.

Usage: filtered_peers.py BASE.npy QUERY.npy --m 16 --ef-construct 100
       --threads 2 --ef 128 --k 10 --repeats 3

Each point i carries {"sel": [...]} with "p1" when bucket(i) < 1, "p10" when
bucket(i) < 10 and "p50" when bucket(i) < 50, bucket(i) = (i * 2654435761
mod 2^32) mod 100: the same formula as the Rust side, unrelated to where the
vector lies. Recall is against numpy's exact filtered top-k.

Prints one fact per line:
  peer=qdrant phase=build seconds=S
  peer=qdrant sel=p1 matching=N recall=R ms_per_query=T
  peer=numpy sel=p1 ms_per_query=T
  peer=NAME phase=error message=...
Searches run on one CPU (sched_setaffinity, max_search_threads=1), one query
per call, the best of --repeats passes.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

SELECTIVITIES = [("p1", 1), ("p10", 10), ("p50", 50)]


def labels(n):
    buckets = (np.arange(n, dtype=np.uint64) * np.uint64(2654435761)) % np.uint64(2**32) % np.uint64(100)
    return {name: buckets < pct for name, pct in SELECTIVITIES}


def exact_filtered(base, queries, mask, k):
    rows = np.flatnonzero(mask)
    scores = queries @ base[rows].T
    top = np.argsort(-scores, axis=1)[:, :k]
    return rows[top]


def best_pass(run, repeats):
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def run_numpy(base, queries, masks, args):
    for name, _ in SELECTIVITIES:
        mask = masks[name]
        seconds, _ = best_pass(lambda: [exact_filtered(base, q[None, :], mask, args.k) for q in queries], args.repeats)
        print(f"peer=numpy sel={name} ms_per_query={seconds * 1000 / len(queries):.4f}", flush=True)


def run_qdrant(base, queries, masks, truth, args):
    from qdrant_edge import (
        Distance,
        EdgeConfig,
        EdgeOptimizersConfig,
        EdgeShard,
        EdgeVectorParams,
        FieldCondition,
        Filter,
        HnswIndexConfig,
        MatchValue,
        PayloadSchemaType,
        Point,
        Query,
        QueryRequest,
        SearchParams,
        UpdateOperation,
    )

    n, dim = base.shape
    workdir = tempfile.mkdtemp(prefix="filtered-peer-qdrant-")
    try:
        config = EdgeConfig(
            vectors={"": EdgeVectorParams(size=dim, distance=Distance.Cosine)},
            hnsw_config=HnswIndexConfig(
                m=args.m,
                ef_construct=args.ef_construct,
                full_scan_threshold=10000,  # Qdrant's default, as ours
                max_indexing_threads=args.threads,
            ),
            optimizers=EdgeOptimizersConfig(indexing_threshold=1, default_segment_number=1),
            max_search_threads=1,
        )
        shard = EdgeShard.create(os.path.join(workdir, "shard"), config)
        shard.update(UpdateOperation.create_field_index("sel", PayloadSchemaType.Keyword))
        rows = base.tolist()
        for start in range(0, n, 1000):
            points = [
                Point(id=i, vector=rows[i], payload={"sel": [s for s, _ in SELECTIVITIES if masks[s][i]]})
                for i in range(start, min(start + 1000, n))
            ]
            shard.update(UpdateOperation.upsert_points(points))
        started = time.perf_counter()
        shard.optimize()
        print(f"peer=qdrant phase=build seconds={time.perf_counter() - started:.4f}", flush=True)

        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[0]})
        try:
            query_rows = queries.tolist()
            for name, _ in SELECTIVITIES:
                flt = Filter(must=[FieldCondition(key="sel", match=MatchValue(value=name))])
                requests = [
                    QueryRequest(limit=args.k, query=Query.Nearest(q), filter=flt, params=SearchParams(hnsw_ef=args.ef))
                    for q in query_rows
                ]
                seconds, results = best_pass(lambda: [shard.query(r) for r in requests], args.repeats)
                hits = sum(len({p.id for p in got} & set(int(x) for x in want)) for got, want in zip(results, truth[name]))
                recall = hits / (args.k * len(queries))
                print(
                    f"peer=qdrant sel={name} matching={int(masks[name].sum())} recall={recall:.4f} "
                    f"ms_per_query={seconds * 1000 / len(queries):.4f}",
                    flush=True,
                )
        finally:
            os.sched_setaffinity(0, set(cpus))
        shard.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("query")
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construct", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ef", type=int, default=128)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    base = np.load(args.base).astype(np.float32)
    queries = np.load(args.query).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True).clip(min=1e-12)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True).clip(min=1e-12)
    masks = labels(len(base))
    truth = {name: exact_filtered(base, queries, masks[name], args.k) for name, _ in SELECTIVITIES}

    for name, run in [("numpy", lambda: run_numpy(base, queries, masks, args)),
                      ("qdrant", lambda: run_qdrant(base, queries, masks, truth, args))]:
        try:
            run()
        except Exception as e:  # report and go on with the other peer
            print(f"peer={name} phase=error message={str(e).replace(chr(10), ' ')}", flush=True)
            print(f"{name} failed: {e!r}", file=sys.stderr)


if __name__ == "__main__":
    main()
