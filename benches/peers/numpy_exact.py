"""Peer for benches/exact_search.rs: numpy brute-force exact search.

Prints one line, `numpy_ms_per_query=<float> recall_at_10=<float>`, measured
on the same vectors and queries the Rust bench uses (cosine, top 10, one
query at a time, so that both sides report single-query latency).
"""
import sys
import time

import numpy as np


def main() -> None:
    base_path, query_path, gt_path, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    base = np.load(base_path).astype(np.float32)
    queries = np.load(query_path).astype(np.float32)
    gt = np.load(gt_path)
    base /= np.linalg.norm(base, axis=1, keepdims=True).clip(min=1e-12)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True).clip(min=1e-12)
    k = 10
    hits = 0
    # Warm up BLAS and caches.
    for q in queries[:20]:
        np.argpartition(-(base @ q), k)[:k]
    started = time.perf_counter()
    for _ in range(repeats):
        for i, q in enumerate(queries):
            scores = base @ q
            top = np.argpartition(-scores, k)[:k]
            top = top[np.argsort(-scores[top])]
            if _ == 0:
                hits += len(set(top.tolist()) & set(gt[i, :k].tolist()))
    elapsed = time.perf_counter() - started
    per_query_ms = elapsed * 1000.0 / (repeats * len(queries))
    print(f"numpy_ms_per_query={per_query_ms:.4f} recall_at_10={hits / (k * len(queries)):.4f}")


if __name__ == "__main__":
    main()
