"""Deterministic points for the end-to-end tests.

Everything derives from one `numpy.random.RandomState` seed, so a failure
reproduces exactly. Ids are mixed: mostly unsigned integers (including the
top of the u64 range), about 1 % UUIDs sent in four textual forms
(lowercase, uppercase, 32 hex digits without hyphens, `urn:uuid:`), which
the server must echo back in canonical form (hyphenated lowercase).

Payload fields, each chosen so that every filter kind has something to bite:

| field     | content                                                     |
|-----------|-------------------------------------------------------------|
| `idx`     | row number (int, unique)                                    |
| `city`    | keyword, one of CITIES                                      |
| `count`   | int 0..99                                                   |
| `price`   | float with two decimals, 0..1000                            |
| `flag`    | bool                                                        |
| `tags`    | array of 1..4 distinct keywords from TAGS                   |
| `desc`    | 3..8 words from WORDS (no word is a substring of another)   |
| `created` | RFC 3339 datetime in 2024, with `Z`, `+02:00`, `-05:00` or  |
|           | milliseconds                                                |
| `meta`    | object `{"color": keyword, "size": int}`                    |
| `items`   | array of 0..3 objects `{"sku": keyword, "qty": int}`        |
| `maybe`   | by row % 5: null, absent, [], int, [int, int]               |
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

CITIES = ["berlin", "london", "paris", "tokyo", "lima"]
TAGS = ["new", "sale", "eco", "gift", "bulk", "rare"]
COLORS = ["red", "green", "blue", "black"]
SKUS = ["s0", "s1", "s2", "s3", "s4", "s5"]
WORDS = ["amber", "basil", "cedar", "dune", "ember", "fjord", "grove", "heath", "inlet", "kelp"]

U64_MAX = 2**64 - 1
EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def canonical_uuid(text: str) -> str:
    return str(uuid.UUID(text))


@dataclass
class PointSet:
    """Points as sent (`sent_ids`) and as the server must report them (`ids`)."""

    ids: list  # canonical ids: int or hyphenated lowercase UUID string
    sent_ids: list  # the spelling used on upsert
    payloads: list[dict]
    vectors: dict[str, np.ndarray]  # name ("" for the unnamed vector) -> (n, dim) float32
    present: dict[str, np.ndarray] = field(default_factory=dict)  # name -> bool mask
    row_of: dict = field(default_factory=dict)  # canonical id -> row

    def __post_init__(self):
        self.row_of = {pid: row for row, pid in enumerate(self.ids)}
        for name, vecs in self.vectors.items():
            self.present.setdefault(name, np.ones(len(vecs), dtype=bool))

    def __len__(self) -> int:
        return len(self.ids)


def sort_key(pid) -> tuple:
    """Qdrant's point id order: all integers by value, then UUIDs by 128-bit value."""
    if isinstance(pid, int):
        return (0, pid, 0)
    return (1, 0, uuid.UUID(pid).int)


def make_ids(rng: np.random.RandomState, n: int) -> tuple[list, list]:
    ids, sent = [], []
    for row in range(n):
        if row % 97 == 13:
            u = uuid.UUID(bytes=rng.bytes(16), version=4)
            form = (row // 97) % 4
            sent.append([str(u), str(u).upper(), u.hex, u.urn][form])
            ids.append(str(u))
        elif row == n - 1:
            ids.append(U64_MAX)
            sent.append(U64_MAX)
        elif row == n - 2:
            ids.append(2**63 + 11)
            sent.append(2**63 + 11)
        else:
            ids.append(row * 7 + 3)
            sent.append(row * 7 + 3)
    return ids, sent


def format_datetime(instant: datetime, style: int) -> str:
    if style == 0:
        return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == 1:
        return instant.astimezone(timezone(timedelta(hours=2))).isoformat()
    if style == 2:
        return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"
    return instant.astimezone(timezone(timedelta(hours=-5))).isoformat()


def make_payload(rng: np.random.RandomState, row: int) -> dict:
    instant = EPOCH + timedelta(seconds=int(rng.randint(0, 366 * 86400)))
    style = row % 4
    if style == 2:
        instant += timedelta(milliseconds=int(rng.randint(1, 1000)))
    payload = {
        "idx": row,
        "city": CITIES[rng.randint(len(CITIES))],
        "count": int(rng.randint(0, 100)),
        "price": round(float(rng.uniform(0, 1000)), 2),
        "flag": bool(rng.rand() < 0.3),
        "tags": [TAGS[t] for t in rng.choice(len(TAGS), size=rng.randint(1, 5), replace=False)],
        "desc": " ".join(WORDS[w] for w in rng.randint(0, len(WORDS), size=rng.randint(3, 9))),
        "created": format_datetime(instant, style),
        "meta": {"color": COLORS[rng.randint(len(COLORS))], "size": int(rng.randint(0, 10))},
        "items": [
            {"sku": SKUS[rng.randint(len(SKUS))], "qty": int(rng.randint(0, 10))}
            for _ in range(rng.randint(0, 4))
        ],
    }
    kind = row % 5
    if kind == 0:
        payload["maybe"] = None
    elif kind == 2:
        payload["maybe"] = []
    elif kind == 3:
        payload["maybe"] = int(rng.randint(0, 100))
    elif kind == 4:
        payload["maybe"] = [int(rng.randint(0, 100)), int(rng.randint(0, 100))]
    return payload


def make_point_set(seed: int, n: int, dim, names: list[str], missing: dict | None = None):
    """`names`: vector names ("" = the single unnamed vector); `dim`: one size for
    all, or name -> size. `missing`: name -> row predicate for rows that get no
    vector of that name."""
    rng = np.random.RandomState(seed)
    ids, sent = make_ids(rng, n)
    payloads = [make_payload(rng, row) for row in range(n)]
    vectors = {}
    present = {}
    for name in names:
        size = dim[name] if isinstance(dim, dict) else dim
        vecs = rng.standard_normal((n, size)).astype(np.float32)
        # A few exact duplicates, so that ties in the ranking really occur.
        for row in range(500, n, 1000):
            vecs[row] = vecs[row - 1]
        vectors[name] = vecs
        skip = (missing or {}).get(name)
        present[name] = np.array([not (skip and skip(row)) for row in range(n)])
    return PointSet(ids=ids, sent_ids=sent, payloads=payloads, vectors=vectors, present=present)


def parse_datetime(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
