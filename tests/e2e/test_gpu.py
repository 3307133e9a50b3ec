"""GPU indexing end to end, on whatever Vulkan device the machine has
(llvmpipe on a machine without a GPU, which `gpu.allow_emulated` admits).

* the release binary with `QDRANT__GPU__INDEXING=1 QDRANT__GPU__ALLOW_EMULATED=1`
  logs the device it found and created, indexes 20,000 real MiniLM
  embeddings (`../shared/data/pydocs-minilm`) on it — telemetry
  `builds_on_gpu` >= 1, `builds_fell_back` == 0 — and serves search at the
  recall the graph-quality test holds the GPU graph to;
* a GPU failure injected (`VECFORGE_TEST_GPU_FAULT`) at init, upload, mid-build
  and as DEVICE_LOST ends with that segment built on the CPU, the collection
  green with every point, the reason in telemetry, and the next build back on
  the GPU;
* with no usable device the server starts, logs why, and indexes on the CPU.

Without a Vulkan device the first two skip, visibly; under `CI` they fail.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from server_process import binary_path
from target import requires_server

pytestmark = requires_server

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pydocs-minilm"
GPU_ENV = {"QDRANT__GPU__INDEXING": "1", "QDRANT__GPU__ALLOW_EMULATED": "1"}
# The servers run with the Vulkan validation layer where it is installed
# (always in CI); every test checks that it reported nothing.
if os.environ.get("CI") or Path("/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json").exists():
    GPU_ENV["VECFORGE_GPU_VALIDATION"] = "1"
DEADLINE_S = 300.0
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def vulkan_device() -> str | None:
    """The device `gpu-info` selects with emulated devices allowed, or None."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QDRANT__")}
    env.update(GPU_ENV)
    out = subprocess.run([str(binary_path()), "gpu-info"], env=env, capture_output=True, text=True, timeout=60)
    for line in out.stdout.splitlines():
        if line.endswith("— selected"):
            return line
    return None


@pytest.fixture(scope="module")
def device():
    found = vulkan_device()
    if found is None:
        message = "no Vulkan device (install mesa-vulkan-drivers for llvmpipe)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so the GPU tests must run, but: {message}")
        pytest.skip(message)
    return found


def call(method: str, url: str, path: str, body: dict | None = None):
    r = requests.request(method, f"{url}{path}", json=body, timeout=120)
    assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text[:500]}"
    return r.json()["result"]


def telemetry(url: str) -> dict:
    return call("GET", url, "/telemetry")["gpu"]


def log_text(srv) -> str:
    return ANSI.sub("", srv.log_path.read_text(errors="replace"))


def assert_no_validation_messages(srv) -> None:
    bad = [line for line in log_text(srv).splitlines() if "Vulkan validation:" in line]
    assert not bad, "\n".join(bad[:20])


def load(url: str, name: str, vectors: np.ndarray, first_id: int = 1, batch: int = 1000) -> None:
    """Creates the collection with indexing off, uploads, then turns indexing
    on (threshold 100 KB), so that one build covers every point."""
    call(
        "PUT",
        url,
        f"/collections/{name}",
        {
            "vectors": {"size": vectors.shape[1], "distance": "Cosine"},
            "optimizers_config": {"indexing_threshold": 0, "default_segment_number": 1},
            "hnsw_config": {"m": 16, "ef_construct": 100},
        },
    )
    for start in range(0, len(vectors), batch):
        rows = vectors[start : start + batch]
        points = [{"id": first_id + start + i, "vector": row.tolist()} for i, row in enumerate(rows)]
        call("PUT", url, f"/collections/{name}/points?wait=true", {"points": points})
    call("PATCH", url, f"/collections/{name}", {"optimizers_config": {"indexing_threshold": 100}})


def wait_indexed(url: str, name: str, expected: int) -> dict:
    """Until green with `expected` points, all indexed."""
    started = time.monotonic()
    while True:
        info = call("GET", url, f"/collections/{name}")
        assert info["status"] != "red", f"{name}: optimizer failed: {info}"
        if info["status"] == "green" and info["points_count"] == expected and info["indexed_vectors_count"] == expected:
            return info
        assert time.monotonic() - started < DEADLINE_S, f"{name}: not indexed after {DEADLINE_S} s: {info}"
        time.sleep(0.5)


def random_unit(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.RandomState(seed).standard_normal((n, dim)).astype(np.float32)
    return np.round(v / np.linalg.norm(v, axis=1, keepdims=True), 5)


def test_indexes_real_embeddings_on_the_gpu(server_factory, device):
    base = np.load(DATA / "base.npy").astype(np.float32)
    queries = np.load(DATA / "query.npy").astype(np.float32)[:200]
    truth = np.load(DATA / "gt.npy")[:200, :10]
    srv = server_factory(extra_env=GPU_ENV)
    text = log_text(srv)
    assert re.search(r"Found GPU device: \S", text), text[-3000:]
    assert re.search(r"Create GPU device \S", text), text[-3000:]

    load(srv.url, "gpu_docs", base, first_id=0)
    wait_indexed(srv.url, "gpu_docs", len(base))
    gpu = telemetry(srv.url)
    assert gpu["builds_on_gpu"] >= 1 and gpu["builds_fell_back"] == 0, gpu
    assert gpu["devices"] and gpu["devices"][0]["name"], gpu

    hits = 0
    for query, want in zip(queries, truth):
        got = call(
            "POST",
            srv.url,
            "/collections/gpu_docs/points/query",
            {"query": query.tolist(), "limit": 10, "params": {"hnsw_ef": 128}},
        )["points"]
        hits += len({p["id"] for p in got} & set(int(i) for i in want))
    recall = hits / (10 * len(truth))
    # The CPU graph reaches about 0.996 here; the graph-quality test holds
    # the GPU graph to within 0.005 of it.
    assert recall >= 0.985, f"recall@10 at hnsw_ef 128: {recall}"
    assert "HNSW graph built on the GPU" in log_text(srv)
    assert_no_validation_messages(srv)


@pytest.mark.parametrize("point", ["init", "upload", "build", "lost"])
def test_gpu_failure_falls_back_to_the_cpu(server_factory, device, point):
    srv = server_factory(extra_env={**GPU_ENV, "VECFORGE_TEST_GPU_FAULT": point})
    # One build of more points than the CPU inserts before the GPU takes over.
    dim, n = 32, 3000
    load(srv.url, "first", random_unit(n, dim, 1))
    wait_indexed(srv.url, "first", n)
    gpu = telemetry(srv.url)
    assert gpu["builds_fell_back"] == 1 and gpu["builds_on_gpu"] == 0, gpu
    reason = gpu["last_fallback_reason"] or ""
    assert ("injected" in reason) or ("device lost" in reason), gpu
    assert "building on the CPU instead" in log_text(srv)
    assert call("POST", srv.url, "/collections/first/points/count", {"exact": True})["count"] == n

    load(srv.url, "second", random_unit(n, dim, 2))
    wait_indexed(srv.url, "second", n)
    gpu = telemetry(srv.url)
    assert gpu["builds_on_gpu"] == 1 and gpu["builds_fell_back"] == 1, gpu
    if point in ("init", "lost"):
        # The devices were dropped and opened again for the second build.
        assert log_text(srv).count("Create GPU device") >= 2, log_text(srv)[-3000:]
    assert_no_validation_messages(srv)


def test_without_a_usable_device_the_cpu_indexes(server_factory):
    # No driver manifests at all: the loader opens but finds no device.
    srv = server_factory(extra_env={**GPU_ENV, "VK_DRIVER_FILES": "/nonexistent.json", "VK_ICD_FILENAMES": "/nonexistent.json"})
    assert "no GPU can be used" in log_text(srv), log_text(srv)[-2000:]
    dim, n = 32, 3000
    load(srv.url, "cpu_only", random_unit(n, dim, 3))
    wait_indexed(srv.url, "cpu_only", n)
    gpu = telemetry(srv.url)
    assert gpu["builds_on_gpu"] == 0 and gpu["builds_fell_back"] >= 1 and gpu["devices"] == [], gpu
    assert gpu["last_fallback_reason"], gpu
