"""Crash test: every acknowledged write survives SIGKILL.

20 rounds on one storage directory. In each round a writer thread streams
small `wait=true` upserts (1 to 20 points of 64-d vectors, payload with the id
and a string) and records a batch only once the server has acknowledged it;
after a random 0.3 to 1.5 s the main thread SIGKILLs the server, restarts it
on the same storage and checks that every point acknowledged in any round so
far is there with its exact payload and vector. Dot distance keeps vectors as
given. Ids are never reused, so a batch cut off before its acknowledgement
(which may or may not have been applied) cannot mask a lost one.

Each restart gets fresh ports: the test is about durability, not about
rebinding a port that the killed process left in TIME_WAIT.
"""

from __future__ import annotations

import itertools
import random
import threading
import time

import numpy as np
import requests

from target import requires_server

pytestmark = requires_server

ROUNDS = 20
DIM = 64
SEED = 20261125
COLLECTION = "crash"
MAX_BATCHES_PER_ROUND = 1000  # bounds the verification work on a very fast server
VERIFY_CHUNK = 2000


class Writer(threading.Thread):
    def __init__(self, url: str, round_no: int, ids: itertools.count, rng: np.random.RandomState):
        super().__init__(daemon=True, name=f"crash-writer-{round_no}")
        self.url = url
        self.round_no = round_no
        self.ids = ids
        self.rng = rng
        self.acked: dict[int, tuple[np.ndarray, dict]] = {}
        self.batches = 0
        self.http_errors: list[str] = []
        self.ended_by = "cap"

    def run(self) -> None:
        session = requests.Session()
        endpoint = f"{self.url}/collections/{COLLECTION}/points?wait=true"
        while self.batches < MAX_BATCHES_PER_ROUND:
            n = int(self.rng.randint(1, 21))
            ids = [next(self.ids) for _ in range(n)]
            vectors = self.rng.standard_normal((n, DIM)).astype(np.float32)
            payloads = [
                {"id": pid, "s": f"round {self.round_no} point {pid} " + "#" * (pid % 23)} for pid in ids
            ]
            body = {
                "points": [
                    {"id": pid, "vector": vec.tolist(), "payload": payload}
                    for pid, vec, payload in zip(ids, vectors, payloads)
                ]
            }
            try:
                response = session.put(endpoint, json=body, timeout=30)
                doc = response.json() if response.status_code == 200 else None
            except (requests.RequestException, ValueError):
                self.ended_by = "connection"
                return  # the server was killed mid-request: not acknowledged
            if doc is None or doc.get("result", {}).get("status") != "completed":
                self.http_errors.append(f"{response.status_code}: {response.text[:300]}")
                self.ended_by = "error"
                return
            for pid, vec, payload in zip(ids, vectors, payloads):
                self.acked[pid] = (vec, payload)
            self.batches += 1


def verify(url: str, acked: dict[int, tuple[np.ndarray, dict]]) -> dict:
    """Retrieve every acknowledged point; return the problems found."""
    lost, wrong_payload, wrong_vector = [], [], []
    ids = sorted(acked)
    for start in range(0, len(ids), VERIFY_CHUNK):
        chunk = ids[start : start + VERIFY_CHUNK]
        response = requests.post(
            f"{url}/collections/{COLLECTION}/points",
            json={"ids": chunk, "with_payload": True, "with_vector": True},
            timeout=60,
        )
        assert response.status_code == 200, response.text[:500]
        found = {rec["id"]: rec for rec in response.json()["result"]}
        for pid in chunk:
            rec = found.get(pid)
            if rec is None:
                lost.append(pid)
                continue
            vec, payload = acked[pid]
            if rec.get("payload") != payload:
                wrong_payload.append((pid, rec.get("payload"), payload))
            got = np.asarray(rec.get("vector") or [], dtype=np.float64)
            if got.shape != vec.shape or not np.allclose(got, vec, rtol=0, atol=1e-6):
                wrong_vector.append(pid)
    response = requests.post(
        f"{url}/collections/{COLLECTION}/points/count", json={"exact": True}, timeout=60
    )
    assert response.status_code == 200, response.text[:500]
    return {
        "lost": lost,
        "wrong_payload": wrong_payload,
        "wrong_vector": wrong_vector,
        "count": response.json()["result"]["count"],
    }


def test_acknowledged_writes_survive_sigkill(server_factory):
    rnd = random.Random(SEED)
    ids = itertools.count(1)
    acked: dict[int, tuple[np.ndarray, dict]] = {}
    srv = server_factory()
    workdir = srv.workdir
    r = requests.put(
        f"{srv.url}/collections/{COLLECTION}",
        json={"vectors": {"size": DIM, "distance": "Dot"}},
        timeout=60,
    )
    assert r.status_code == 200, r.text

    started = time.monotonic()
    rounds = []
    for round_no in range(ROUNDS):
        writer = Writer(srv.url, round_no, ids, np.random.RandomState(SEED + round_no))
        writer.start()
        delay = rnd.uniform(0.3, 1.5)
        time.sleep(delay)
        srv.kill()
        writer.join(timeout=60)
        assert not writer.is_alive(), "writer thread did not stop after the kill"
        assert not writer.http_errors, f"round {round_no}: server rejected a write: {writer.http_errors}"
        acked.update(writer.acked)

        srv = server_factory(workdir=workdir)  # same storage, fresh ports
        result = verify(srv.url, acked)
        sent = next(ids) - 1  # every id handed out so far (consumes one unused id)
        rounds.append((round_no, delay, writer.batches, len(writer.acked), writer.ended_by, result["count"]))
        assert not result["lost"], (
            f"round {round_no}: {len(result['lost'])} acknowledged points lost, "
            f"e.g. {result['lost'][:10]} (of {len(acked)} acknowledged)"
        )
        assert not result["wrong_payload"], f"round {round_no}: payload differs: {result['wrong_payload'][:3]}"
        assert not result["wrong_vector"], f"round {round_no}: vector differs: {result['wrong_vector'][:10]}"
        assert len(acked) <= result["count"] <= sent, (
            f"round {round_no}: count {result['count']} outside [{len(acked)}, {sent}]"
        )

    elapsed = time.monotonic() - started
    print(f"\ncrash test: {ROUNDS} SIGKILLs in {elapsed:.1f} s, {len(acked)} acknowledged points, 0 lost")
    print("round  delay_s  batches  points  writer_ended_by  count_after_restart")
    for round_no, delay, batches, points, ended_by, count in rounds:
        print(f"{round_no:5d}  {delay:7.2f}  {batches:7d}  {points:6d}  {ended_by:>15}  {count:19d}")
    killed_mid_write = sum(1 for r in rounds if r[4] == "connection")
    print(f"rounds killed with a write in flight: {killed_mid_write}/{ROUNDS}")
    assert acked, "no write was ever acknowledged"
