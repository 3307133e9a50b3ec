"""Brute-force reference answers and the comparisons against them.

Scores follow Qdrant: Cosine is the dot product of the L2-normalised vectors,
Dot the raw dot product (both larger-is-better); Euclid is the L2 distance and
Manhattan the L1 distance (both smaller-is-better, reported as distances).
References are computed in float64 from the float32 values that were sent.

Ranks are compared score by score with a relative tolerance of 1e-4; an id may
differ from the reference only where its score ties (within tolerance) with
the score at the edge of the requested window.
"""

from __future__ import annotations

import numpy as np

REL_TOL = 1e-4
LARGER_IS_BETTER = {"Cosine": True, "Dot": True, "Euclid": False, "Manhattan": False}


def tol(score: float) -> float:
    return REL_TOL * max(1.0, abs(score))


def close(a: float, b: float) -> bool:
    return abs(a - b) <= tol(b)


def scores(distance: str, vectors: np.ndarray, query) -> np.ndarray:
    v = vectors.astype(np.float64)
    q = np.asarray(query, dtype=np.float32).astype(np.float64)
    if distance == "Cosine":
        v = v / np.linalg.norm(v, axis=1, keepdims=True)
        return v @ (q / np.linalg.norm(q))
    if distance == "Dot":
        return v @ q
    if distance == "Euclid":
        return np.sqrt(((v - q) ** 2).sum(axis=1))
    if distance == "Manhattan":
        return np.abs(v - q).sum(axis=1)
    raise ValueError(distance)


def ranking(distance: str, ids: list, vectors: np.ndarray, query, mask=None) -> list[tuple]:
    """All candidate (id, score) pairs, best first; `mask` selects the candidates."""
    s = scores(distance, vectors, query)
    rows = np.arange(len(ids)) if mask is None else np.flatnonzero(mask)
    order = rows[np.argsort(-s[rows] if LARGER_IS_BETTER[distance] else s[rows], kind="stable")]
    return [(ids[r], float(s[r])) for r in order]


def assert_ranking(got: list[tuple], expected: list[tuple], limit: int, offset: int = 0, what=""):
    """`got`: (id, score) pairs returned for `limit` / `offset`; `expected`: the full
    reference ranking of the candidates."""
    window = expected[offset : offset + limit]
    true_score = dict(expected)
    assert len(got) == len(window), f"{what}: got {len(got)} results, expected {len(window)}"
    got_ids = [pid for pid, _ in got]
    assert len(set(got_ids)) == len(got_ids), f"{what}: duplicate ids in {got_ids}"
    for rank, ((pid, score), (exp_id, exp_score)) in enumerate(zip(got, window)):
        assert close(score, exp_score), (
            f"{what}: rank {offset + rank}: got id {pid!r} score {score}, "
            f"expected id {exp_id!r} score {exp_score}"
        )
        assert pid in true_score, f"{what}: rank {offset + rank}: id {pid!r} is not a candidate"
        assert close(score, true_score[pid]), (
            f"{what}: rank {offset + rank}: id {pid!r} reported score {score}, "
            f"its true score is {true_score[pid]}"
        )
    if window:
        edges = (window[0][1], window[-1][1])
        for exp_id, exp_score in window:
            if exp_id not in got_ids:
                assert any(close(exp_score, e) for e in edges), (
                    f"{what}: id {exp_id!r} (score {exp_score}) missing from "
                    f"{got_ids} and not tied with the window edges {edges}"
                )
