"""Acceptance: the release binary driven by the official qdrant-client 1.20, over
REST and again over gRPC (`prefer_grpc=True`).

Every test runs once per transport (the module-scoped `client` fixture is
parametrized), with the same expectations; `test_grpc_answers_equal_rest`
also compares the two transports' answers to the same reads directly. Where
the wire formats differ the tests say so: gRPC has no "no payload", so a
record read without payload carries `{}` instead of `None`, and errors are
`grpc.RpcError` with a status code instead of an HTTP status.

Two 10,000-point collections, loaded once per module in batches of 500 with
`wait=True`:

* `wf_plain`: one unnamed 64-d Cosine vector, upserted in the column-wise
  `batch` form;
* `wf_named`: four named 64-d vectors, one per distance (`cos`, `dot`, `euc`,
  `man`), upserted as a list of points; every tenth point has no `man`.

Search results are checked against a numpy brute force (reference.py), every
filter against a plain Python predicate over the generated payloads
(dataset.py). Mutating operations run on small collections of their own and
are checked against a dict model of the expected payloads.

qdrant-client 1.20 no longer has `search` / `search_batch`, so the legacy
endpoints `POST /collections/{c}/points/search[/batch]` are called with
`requests`, and the RPCs `qdrant.Points/Search[Batch]` through the client's
raw gRPC stub (in local mode the same request bodies are answered through
`query_points`, which validates the expectations).
"""

from __future__ import annotations

import copy
import re
import time
from datetime import datetime, timedelta, timezone

import grpc
import numpy as np
import pytest
import requests
from qdrant_client import QdrantClient, models
from qdrant_client import grpc as qgrpc
from qdrant_client.conversions.conversion import GrpcToRest, RestToGrpc
from qdrant_client.http.exceptions import UnexpectedResponse

import reference
from dataset import PointSet, make_point_set, parse_datetime, sort_key
from target import IS_LOCAL, requires_server

N = 10_000
DIM = 64
BATCH = 500
PLAIN = "wf_plain"
NAMED = "wf_named"
NAMED_DISTANCES = {"cos": "Cosine", "dot": "Dot", "euc": "Euclid", "man": "Manhattan"}
EXACT = models.SearchParams(exact=True)
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
UTC = timezone.utc
# rows of the generated sets whose ids are UUIDs, one per spelling:
# lowercase, UPPERCASE, 32 hex digits, urn:uuid:
UUID_ROWS = [13, 110, 207, 304]


TRANSPORTS = ["rest"] if IS_LOCAL else ["rest", "grpc"]


# ---------------------------------------------------------------- clients


@pytest.fixture(scope="module", params=TRANSPORTS)
def transport(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def client(request, transport):
    """A qdrant-client on the session's server, over `transport`."""
    if IS_LOCAL:
        qdrant = QdrantClient(":memory:")
    else:
        srv = request.getfixturevalue("server")
        qdrant = QdrantClient(
            url=srv.url, grpc_port=srv.grpc_port, prefer_grpc=transport == "grpc", timeout=60
        )
    yield qdrant
    qdrant.close()


def no_payload(payload, transport: str) -> bool:
    """A record read without payload: `None` over REST, `{}` over gRPC,
    whose map field cannot be absent."""
    return payload is None if transport == "rest" else payload in (None, {})


# ---------------------------------------------------------------- helpers


def recreate(client, name: str, **kwargs) -> None:
    if client.collection_exists(name):
        client.delete_collection(name)
    assert client.create_collection(name, **kwargs)


def upsert_point_set(client, name: str, ps: PointSet, batch: int, columnar: bool) -> None:
    """Upsert every point, in a shuffled order, `batch` points per request."""
    order = np.random.RandomState(len(ps)).permutation(len(ps))
    for start in range(0, len(ps), batch):
        rows = order[start : start + batch]
        if columnar:
            (vector_name,) = ps.vectors
            assert vector_name == ""
            points = models.Batch(
                ids=[ps.sent_ids[r] for r in rows],
                vectors=[ps.vectors[""][r].tolist() for r in rows],
                payloads=[ps.payloads[r] for r in rows],
            )
        else:
            points = [
                models.PointStruct(id=ps.sent_ids[r], vector=vectors_of(ps, r), payload=ps.payloads[r])
                for r in rows
            ]
        result = client.upsert(name, points=points, wait=True)
        assert result.status == models.UpdateStatus.COMPLETED


def vectors_of(ps: PointSet, row: int):
    if list(ps.vectors) == [""]:
        return ps.vectors[""][row].tolist()
    return {name: v[row].tolist() for name, v in ps.vectors.items() if ps.present[name][row]}


def wait_green(client, name: str, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while True:
        info = client.get_collection(name)
        if info.status == models.CollectionStatus.GREEN or time.monotonic() > deadline:
            return info
        time.sleep(0.2)


def hits(points) -> list[tuple]:
    return [(p.id, p.score) for p in points]


def queries(seed: int, count: int, dim: int = DIM) -> np.ndarray:
    return np.random.RandomState(seed).standard_normal((count, dim)).astype(np.float32)


def scroll_all(client, name: str, scroll_filter=None, limit: int = 1000, **kwargs) -> list:
    """Every record, page by page through next_page_offset."""
    records, offset, pages = [], None, 0
    while True:
        page, offset = client.scroll(
            name, scroll_filter=scroll_filter, limit=limit, offset=offset, **kwargs
        )
        records.extend(page)
        pages += 1
        if offset is None:
            return records
        assert page, f"empty page {pages} with next_page_offset {offset!r}"
        assert sort_key(offset) > sort_key(page[-1].id), "next_page_offset not after the page"
        assert pages <= 10 * N // limit + 10, "scroll does not terminate"


def row_mask(ps: PointSet, predicate) -> np.ndarray:
    return np.array([bool(predicate(pid, p)) for pid, p in zip(ps.ids, ps.payloads)])


def expect_missing_collection(call) -> None:
    """`call` must fail because its collection (or alias) does not exist:
    HTTP 404 over REST, NOT_FOUND over gRPC."""
    with pytest.raises((UnexpectedResponse, ValueError, grpc.RpcError)) as info:
        call()
    if IS_LOCAL:
        return
    if isinstance(info.value, grpc.RpcError):
        assert info.value.code() == grpc.StatusCode.NOT_FOUND, info.value
        assert "doesn't exist" in info.value.details(), info.value
    else:
        assert isinstance(info.value, UnexpectedResponse), repr(info.value)
        assert info.value.status_code == 404, info.value


def threshold_cut(expected: list[tuple]) -> tuple[int, float]:
    """A score threshold halfway between two well-separated neighbours among the
    first ten, and how many results lie on the better side of it."""
    for k in range(3, 9):
        a, b = expected[k][1], expected[k + 1][1]
        if abs(a - b) > 10 * reference.tol(a):
            return k + 1, (a + b) / 2
    raise AssertionError(f"no well-separated neighbours in {expected[:10]}")


def normalized(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def dump_filter(f: models.Filter) -> dict:
    return f.model_dump(mode="json", exclude_none=True, by_alias=True)


def grpc_search_points(collection: str, body: dict) -> qgrpc.SearchPoints:
    """A REST search body as the gRPC `SearchPoints` message."""
    vector, name = body["vector"], None
    if isinstance(vector, dict):
        name, vector = vector["name"], vector["vector"]
    return qgrpc.SearchPoints(
        collection_name=collection,
        vector=vector,
        vector_name=name,
        filter=RestToGrpc.convert_filter(models.Filter.model_validate(body["filter"]))
        if "filter" in body
        else None,
        limit=body.get("limit", 10),
        offset=body.get("offset"),
        score_threshold=body.get("score_threshold"),
        params=qgrpc.SearchParams(**body.get("params", {})),
        with_payload=qgrpc.WithPayloadSelector(enable=bool(body.get("with_payload", False))),
    )


def grpc_hits(points) -> list[dict]:
    return [
        {"id": p.id, "score": p.score, "payload": p.payload, "version": p.version}
        for p in map(GrpcToRest.convert_scored_point, points)
    ]


def legacy_search(client, server_url, collection: str, body: dict) -> list[dict]:
    """`POST /collections/{c}/points/search` or `qdrant.Points/Search`, by the
    client's transport; answered through query_points in local mode."""
    if not IS_LOCAL and client._client._prefer_grpc:
        response = client.grpc_points.Search(grpc_search_points(collection, body), timeout=60)
        return grpc_hits(response.result)
    if not IS_LOCAL:
        response = requests.post(
            f"{server_url}/collections/{collection}/points/search", json=body, timeout=60
        )
        assert response.status_code == 200, response.text
        doc = response.json()
        assert doc["status"] == "ok", doc
        return doc["result"]
    vector, using = body["vector"], None
    if isinstance(vector, dict):
        using, vector = vector["name"], vector["vector"]
    points = client.query_points(
        collection,
        query=vector,
        using=using,
        query_filter=models.Filter.model_validate(body["filter"]) if "filter" in body else None,
        limit=body.get("limit", 10),
        offset=body.get("offset"),
        score_threshold=body.get("score_threshold"),
        search_params=models.SearchParams(**body.get("params", {})),
        with_payload=body.get("with_payload", False),
        with_vectors=body.get("with_vector", False),
    ).points
    return [{"id": p.id, "score": p.score, "payload": p.payload, "version": p.version} for p in points]


def legacy_search_batch(client, server_url, collection: str, searches: list[dict]) -> list:
    if not IS_LOCAL and client._client._prefer_grpc:
        request = qgrpc.SearchBatchPoints(
            collection_name=collection,
            search_points=[grpc_search_points(collection, body) for body in searches],
        )
        response = client.grpc_points.SearchBatch(request, timeout=60)
        return [grpc_hits(batch.result) for batch in response.result]
    if not IS_LOCAL:
        response = requests.post(
            f"{server_url}/collections/{collection}/points/search/batch",
            json={"searches": searches},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        doc = response.json()
        assert doc["status"] == "ok", doc
        return doc["result"]
    return [legacy_search(client, server_url, collection, body) for body in searches]


# ---------------------------------------------------------------- data


@pytest.fixture(scope="module")
def plain(client):
    ps = make_point_set(seed=1, n=N, dim=DIM, names=[""])
    recreate(
        client, PLAIN, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE)
    )
    upsert_point_set(client, PLAIN, ps, batch=BATCH, columnar=True)
    yield ps
    client.delete_collection(PLAIN)


@pytest.fixture(scope="module")
def named(client):
    ps = make_point_set(
        seed=2, n=N, dim=DIM, names=list(NAMED_DISTANCES), missing={"man": lambda r: r % 10 == 0}
    )
    recreate(
        client,
        NAMED,
        vectors_config={
            name: models.VectorParams(size=DIM, distance=models.Distance(distance))
            for name, distance in NAMED_DISTANCES.items()
        },
    )
    upsert_point_set(client, NAMED, ps, batch=BATCH, columnar=False)
    yield ps
    client.delete_collection(NAMED)


# ---------------------------------------------------------------- filters

F = models.Filter
FC = models.FieldCondition
MV = models.MatchValue


def has_word(text: str, word: str) -> bool:
    # The test words are chosen so that substring and whole-word matching agree.
    return word in text


CREATED_FROM = datetime(2024, 3, 1, tzinfo=UTC)
CREATED_UNTIL = datetime(2024, 6, 1, tzinfo=timezone(timedelta(hours=2)))
HAS_ID_ROWS = [0, 1, 2, 13, 110, 207, 304, 4242, N - 1, N - 2]

FILTER_CASES = {
    "match_keyword": (
        F(must=[FC(key="city", match=MV(value="paris"))]),
        lambda pid, p: p["city"] == "paris",
    ),
    "match_int": (
        F(must=[FC(key="count", match=MV(value=42))]),
        lambda pid, p: p["count"] == 42,
    ),
    "match_bool": (
        F(must=[FC(key="flag", match=MV(value=True))]),
        lambda pid, p: p["flag"] is True,
    ),
    "match_keyword_in_array": (
        F(must=[FC(key="tags", match=MV(value="sale"))]),
        lambda pid, p: "sale" in p["tags"],
    ),
    "match_any_keyword": (
        F(must=[FC(key="city", match=models.MatchAny(any=["paris", "lima"]))]),
        lambda pid, p: p["city"] in ("paris", "lima"),
    ),
    "match_any_int": (
        F(must=[FC(key="count", match=models.MatchAny(any=[1, 2, 3, 50]))]),
        lambda pid, p: p["count"] in (1, 2, 3, 50),
    ),
    "match_any_array": (
        F(must=[FC(key="tags", match=models.MatchAny(any=["eco", "rare"]))]),
        lambda pid, p: bool({"eco", "rare"} & set(p["tags"])),
    ),
    "match_except_keyword": (
        F(must=[FC(key="city", match=models.MatchExcept(**{"except": ["paris", "lima"]}))]),
        lambda pid, p: p["city"] not in ("paris", "lima"),
    ),
    "match_except_int": (
        F(must=[FC(key="count", match=models.MatchExcept(**{"except": list(range(50))}))]),
        lambda pid, p: p["count"] >= 50,
    ),
    "match_text": (
        F(must=[FC(key="desc", match=models.MatchText(text="fjord"))]),
        lambda pid, p: has_word(p["desc"], "fjord"),
    ),
    "range_int": (
        F(must=[FC(key="count", range=models.Range(gte=10, lt=20))]),
        lambda pid, p: 10 <= p["count"] < 20,
    ),
    "range_float": (
        F(must=[FC(key="price", range=models.Range(gt=100.5, lte=250.0))]),
        lambda pid, p: 100.5 < p["price"] <= 250.0,
    ),
    "range_float_on_int_field": (
        F(must=[FC(key="count", range=models.Range(gt=89.5))]),
        lambda pid, p: p["count"] > 89.5,
    ),
    "range_datetime": (
        F(must=[FC(key="created", range=models.DatetimeRange(gte=CREATED_FROM, lt=CREATED_UNTIL))]),
        lambda pid, p: CREATED_FROM <= parse_datetime(p["created"]) < CREATED_UNTIL,
    ),
    "range_datetime_string": (
        F(must=[FC(key="created", range=models.DatetimeRange(gt="2024-10-01T12:00:00-05:00"))]),
        lambda pid, p: parse_datetime(p["created"])
        > datetime(2024, 10, 1, 17, 0, tzinfo=UTC),
    ),
    "range_datetime_one_day": (
        # narrow, so that many points lie within hours of the bounds, where
        # comparing the text instead of the instant goes wrong
        F(must=[FC(key="created", range=models.DatetimeRange(gte="2024-07-04T00:00:00Z", lte="2024-07-05T00:00:00Z"))]),
        lambda pid, p: datetime(2024, 7, 4, tzinfo=UTC)
        <= parse_datetime(p["created"])
        <= datetime(2024, 7, 5, tzinfo=UTC),
    ),
    "values_count_gte": (
        F(must=[FC(key="tags", values_count=models.ValuesCount(gte=3))]),
        lambda pid, p: len(p["tags"]) >= 3,
    ),
    "values_count_lte": (
        F(must=[FC(key="tags", values_count=models.ValuesCount(lte=1))]),
        lambda pid, p: len(p["tags"]) <= 1,
    ),
    "values_count_nested_array": (
        F(must=[FC(key="items", values_count=models.ValuesCount(gt=1, lt=3))]),
        lambda pid, p: len(p["items"]) == 2,
    ),
    "is_empty": (
        F(must=[models.IsEmptyCondition(is_empty=models.PayloadField(key="maybe"))]),
        lambda pid, p: p.get("maybe") in (None, []),
    ),
    "not_is_empty": (
        F(must_not=[models.IsEmptyCondition(is_empty=models.PayloadField(key="maybe"))]),
        lambda pid, p: p.get("maybe") not in (None, []),
    ),
    "is_null": (
        F(must=[models.IsNullCondition(is_null=models.PayloadField(key="maybe"))]),
        lambda pid, p: "maybe" in p and p["maybe"] is None,
    ),
    "has_id": (
        None,  # filter_case() builds it from the point set's id spellings
        lambda pid, p: p["idx"] in HAS_ID_ROWS,
    ),
    "nested": (
        F(
            must=[
                models.NestedCondition(
                    nested=models.Nested(
                        key="items",
                        filter=F(
                            must=[
                                FC(key="sku", match=MV(value="s3")),
                                FC(key="qty", range=models.Range(gte=5)),
                            ]
                        ),
                    )
                )
            ]
        ),
        lambda pid, p: any(i["sku"] == "s3" and i["qty"] >= 5 for i in p["items"]),
    ),
    "nested_must_not": (
        F(
            must=[
                models.NestedCondition(
                    nested=models.Nested(
                        key="items",
                        filter=F(
                            must=[FC(key="sku", match=MV(value="s1"))],
                            must_not=[FC(key="qty", range=models.Range(gt=2))],
                        ),
                    )
                )
            ]
        ),
        lambda pid, p: any(i["sku"] == "s1" and not i["qty"] > 2 for i in p["items"]),
    ),
    "array_key_paths": (
        # unlike `nested`, the two conditions may hold for different elements
        F(
            must=[
                FC(key="items[].sku", match=MV(value="s3")),
                FC(key="items[].qty", range=models.Range(gte=5)),
            ]
        ),
        lambda pid, p: any(i["sku"] == "s3" for i in p["items"])
        and any(i["qty"] >= 5 for i in p["items"]),
    ),
    "object_key_path": (
        F(must=[FC(key="meta.color", match=MV(value="red"))]),
        lambda pid, p: p["meta"]["color"] == "red",
    ),
    "object_key_path_range": (
        F(must=[FC(key="meta.size", range=models.Range(lte=3))]),
        lambda pid, p: p["meta"]["size"] <= 3,
    ),
    "should": (
        F(
            should=[
                FC(key="city", match=MV(value="tokyo")),
                FC(key="count", range=models.Range(lt=5)),
            ]
        ),
        lambda pid, p: p["city"] == "tokyo" or p["count"] < 5,
    ),
    "must_not": (
        F(must_not=[FC(key="city", match=MV(value="berlin")), FC(key="flag", match=MV(value=True))]),
        lambda pid, p: p["city"] != "berlin" and not p["flag"],
    ),
    "min_should": (
        F(
            min_should=models.MinShould(
                conditions=[
                    FC(key="city", match=MV(value="paris")),
                    FC(key="flag", match=MV(value=True)),
                    FC(key="count", range=models.Range(gte=50)),
                    FC(key="meta.color", match=MV(value="red")),
                ],
                min_count=2,
            )
        ),
        lambda pid, p: sum(
            [p["city"] == "paris", p["flag"], p["count"] >= 50, p["meta"]["color"] == "red"]
        )
        >= 2,
    ),
    "combined": (
        F(
            must=[FC(key="price", range=models.Range(gte=200.0))],
            should=[
                FC(key="city", match=MV(value="london")),
                FC(key="tags", match=models.MatchAny(any=["gift"])),
            ],
            must_not=[
                F(must=[FC(key="flag", match=MV(value=True)), FC(key="count", range=models.Range(lt=30))])
            ],
        ),
        lambda pid, p: p["price"] >= 200.0
        and (p["city"] == "london" or "gift" in p["tags"])
        and not (p["flag"] and p["count"] < 30),
    ),
}


def filter_case(name: str, ps: PointSet):
    """The filter and its row mask over `ps`; `has_id` names real ids in all spellings."""
    filt, predicate = FILTER_CASES[name]
    if name == "has_id":
        wanted = [ps.sent_ids[r] for r in HAS_ID_ROWS] + [123_456_789_012, "6f9619ff-8b86-4011-b42d-00c04fc964ff"]
        filt = F(must=[models.HasIdCondition(has_id=wanted)])
    return filt, row_mask(ps, predicate)


# ---------------------------------------------------------------- collections


def test_collections_exist_with_info(client, plain, named):
    listed = {c.name for c in client.get_collections().collections}
    assert {PLAIN, NAMED} <= listed
    for name in (PLAIN, NAMED):
        assert client.collection_exists(name)
        info = wait_green(client, name)
        assert info.status == models.CollectionStatus.GREEN, info.status
        assert info.points_count == N
    params = client.get_collection(PLAIN).config.params.vectors
    assert params.size == DIM and params.distance == models.Distance.COSINE
    params = client.get_collection(NAMED).config.params.vectors
    assert set(params) == set(NAMED_DISTANCES)
    for name, distance in NAMED_DISTANCES.items():
        assert params[name].size == DIM and params[name].distance == models.Distance(distance)
    assert not client.collection_exists("wf_never_created")


@requires_server
def test_collection_config_echo(client):
    name = "wf_config"
    recreate(
        client,
        name,
        vectors_config=models.VectorParams(size=16, distance=models.Distance.EUCLID),
        hnsw_config=models.HnswConfigDiff(m=24, ef_construct=123, full_scan_threshold=4321),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=12345, default_segment_number=3),
    )
    try:
        config = client.get_collection(name).config
        assert config.params.vectors.size == 16
        assert config.params.vectors.distance == models.Distance.EUCLID
        assert (config.hnsw_config.m, config.hnsw_config.ef_construct) == (24, 123)
        assert config.hnsw_config.full_scan_threshold == 4321
        assert config.optimizer_config.indexing_threshold == 12345
        assert config.optimizer_config.default_segment_number == 3
    finally:
        client.delete_collection(name)


@requires_server
def test_quantization_config_is_kept_and_changed(client):
    name = "wf_quantization"
    recreate(
        client,
        name,
        vectors_config=models.VectorParams(size=8, distance=models.Distance.DOT),
        quantization_config=models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=0.95, always_ram=True)
        ),
    )
    try:
        q = client.get_collection(name).config.quantization_config
        assert isinstance(q, models.ScalarQuantization), q
        assert q.scalar.quantile == pytest.approx(0.95) and q.scalar.always_ram is True
        client.update_collection(
            name,
            quantization_config=models.ProductQuantization(
                product=models.ProductQuantizationConfig(compression=models.CompressionRatio.X16)
            ),
        )
        q = client.get_collection(name).config.quantization_config
        assert isinstance(q, models.ProductQuantization), q
        assert q.product.compression == models.CompressionRatio.X16
        client.update_collection(name, quantization_config=models.Disabled.DISABLED)
        assert client.get_collection(name).config.quantization_config is None
    finally:
        client.delete_collection(name)


def test_count_exact(client, plain, named):
    assert client.count(PLAIN, exact=True).count == N
    assert client.count(NAMED, exact=True).count == N


# ---------------------------------------------------------------- scroll


@pytest.mark.parametrize("fixture", ["plain", "named"])
def test_scroll_covers_every_id_once_in_order(client, request, fixture, transport):
    ps = request.getfixturevalue(fixture)
    name = PLAIN if fixture == "plain" else NAMED
    records = scroll_all(client, name, limit=777, with_payload=False, with_vectors=False)
    got = [r.id for r in records]
    assert len(got) == len(set(got)) == N
    assert got == sorted(ps.ids, key=sort_key)
    uuids = [pid for pid in got if isinstance(pid, str)]
    assert len(uuids) == sum(isinstance(pid, str) for pid in ps.ids) > 50
    assert all(CANONICAL_UUID.fullmatch(pid) for pid in uuids), uuids[:5]
    assert all(no_payload(r.payload, transport) and r.vector is None for r in records[:50])


def test_scroll_returns_payloads_and_vectors(client, plain):
    page, offset = client.scroll(PLAIN, limit=300, offset=plain.ids[5], with_payload=True, with_vectors=True)
    expected_ids = sorted(plain.ids, key=sort_key)
    start = expected_ids.index(plain.ids[5])
    assert [r.id for r in page] == expected_ids[start : start + 300]
    assert offset == expected_ids[start + 300]
    for rec in page:
        row = plain.row_of[rec.id]
        assert rec.payload == plain.payloads[row]
        np.testing.assert_allclose(rec.vector, normalized(plain.vectors[""][row]), atol=1e-6)


# ---------------------------------------------------------------- search


def test_exact_search_unnamed_cosine(client, plain):
    for i, q in enumerate(queries(100, 10)):
        got = client.query_points(PLAIN, query=q.tolist(), limit=10, search_params=EXACT).points
        expected = reference.ranking("Cosine", plain.ids, plain.vectors[""], q)
        reference.assert_ranking(hits(got), expected, 10, what=f"query {i}")
        for p in got:  # query_points asks for payloads, not vectors, by default
            assert p.payload == plain.payloads[plain.row_of[p.id]] and p.vector is None


@pytest.mark.parametrize("vector_name", list(NAMED_DISTANCES))
def test_exact_search_named(client, named, vector_name):
    distance = NAMED_DISTANCES[vector_name]
    for i, q in enumerate(queries(200 + len(vector_name), 8)):
        got = client.query_points(
            NAMED, query=q.tolist(), using=vector_name, limit=10, search_params=EXACT
        ).points
        expected = reference.ranking(
            distance, named.ids, named.vectors[vector_name], q, named.present[vector_name]
        )
        reference.assert_ranking(hits(got), expected, 10, what=f"{vector_name} query {i}")


def test_search_skips_points_without_the_vector(client, named):
    # `man` is missing on every tenth row: a query at such a row's other
    # vectors must never return it through `man`.
    q = named.vectors["man"][1]
    got = client.query_points(NAMED, query=q.tolist(), using="man", limit=N, search_params=EXACT).points
    assert len(got) == int(named.present["man"].sum())
    absent = {named.ids[r] for r in range(0, N, 10)}
    assert not absent & {p.id for p in got}


@pytest.mark.parametrize("case", sorted(FILTER_CASES))
def test_filter_count_scroll_and_search(client, plain, case):
    filt, mask = filter_case(case, plain)
    expected_ids = sorted((pid for pid, m in zip(plain.ids, mask) if m), key=sort_key)
    assert 0 < len(expected_ids) < N, f"filter {case} is not selective on the test data"

    assert client.count(PLAIN, count_filter=filt, exact=True).count == len(expected_ids)

    got_ids = [r.id for r in scroll_all(client, PLAIN, filt, limit=1000)]
    missing = set(expected_ids) - set(got_ids)
    extra = set(got_ids) - set(expected_ids)
    assert not missing and not extra, (
        f"{case}: {len(missing)} missing e.g. "
        f"{[(pid, plain.payloads[plain.row_of[pid]]) for pid in list(missing)[:2]]}, "
        f"{len(extra)} extra e.g. {[(pid, plain.payloads[plain.row_of[pid]]) for pid in list(extra)[:2]]}"
    )
    assert got_ids == expected_ids, f"{case}: scroll not in ascending id order"

    q = queries(300, 1)[0]
    got = client.query_points(PLAIN, query=q.tolist(), query_filter=filt, limit=10, search_params=EXACT)
    expected = reference.ranking("Cosine", plain.ids, plain.vectors[""], q, mask)
    reference.assert_ranking(hits(got.points), expected, 10, what=case)


@pytest.mark.parametrize("vector_name", list(NAMED_DISTANCES))
def test_filtered_search_named(client, named, vector_name):
    distance = NAMED_DISTANCES[vector_name]
    for j, case in enumerate(["nested", "range_datetime", "min_should", "has_id"]):
        filt, mask = filter_case(case, named)
        q = queries(400 + j, 1)[0]
        got = client.query_points(
            NAMED, query=q.tolist(), using=vector_name, query_filter=filt, limit=7, search_params=EXACT
        ).points
        expected = reference.ranking(
            distance, named.ids, named.vectors[vector_name], q, mask & named.present[vector_name]
        )
        reference.assert_ranking(hits(got), expected, 7, what=f"{vector_name} {case}")


def test_query_by_point_id(client, plain, named):
    # The point's own vector is the query; the point itself is left out.
    for row in [5, 110, 207, N - 1]:
        got = client.query_points(PLAIN, query=plain.sent_ids[row], limit=10, search_params=EXACT).points
        mask = np.ones(N, dtype=bool)
        mask[row] = False
        expected = reference.ranking("Cosine", plain.ids, plain.vectors[""], plain.vectors[""][row], mask)
        reference.assert_ranking(hits(got), expected, 10, what=f"plain by id row {row}")
    for row in [6, 304]:
        for vector_name in ("euc", "dot"):
            got = client.query_points(
                NAMED, query=named.sent_ids[row], using=vector_name, limit=5, search_params=EXACT
            ).points
            mask = named.present[vector_name].copy()
            mask[row] = False
            expected = reference.ranking(
                NAMED_DISTANCES[vector_name], named.ids, named.vectors[vector_name],
                named.vectors[vector_name][row], mask,
            )
            reference.assert_ranking(hits(got), expected, 5, what=f"{vector_name} by id row {row}")


def test_query_offset(client, named):
    for vector_name, distance in NAMED_DISTANCES.items():
        q = queries(500, 1)[0]
        expected = reference.ranking(
            distance, named.ids, named.vectors[vector_name], q, named.present[vector_name]
        )
        got = client.query_points(
            NAMED, query=q.tolist(), using=vector_name, limit=5, offset=5, search_params=EXACT
        ).points
        reference.assert_ranking(hits(got), expected, 5, offset=5, what=f"{vector_name} offset 5")
        got = client.query_points(
            NAMED, query=q.tolist(), using=vector_name, limit=10, offset=N - 3, search_params=EXACT
        ).points
        reference.assert_ranking(hits(got), expected, 10, offset=N - 3, what=f"{vector_name} offset at end")


def test_query_score_threshold(client, named):
    # Threshold halfway between two well-separated neighbours: the results are
    # exactly those better than it (larger scores, or smaller distances).
    for vector_name, distance in NAMED_DISTANCES.items():
        q = queries(600, 1)[0]
        expected = reference.ranking(
            distance, named.ids, named.vectors[vector_name], q, named.present[vector_name]
        )
        count, threshold = threshold_cut(expected)
        got = client.query_points(
            NAMED, query=q.tolist(), using=vector_name, limit=20, score_threshold=threshold,
            search_params=EXACT,
        ).points
        reference.assert_ranking(hits(got), expected, count, what=f"{vector_name} threshold {threshold}")


def test_query_payload_and_vector_selectors(client, plain, named):
    q = queries(700, 1)[0].tolist()

    def rows_of(points):
        return [plain.row_of[p.id] for p in points]

    res = client.query_points(
        PLAIN, query=q, limit=5, search_params=EXACT,
        with_payload=models.PayloadSelectorInclude(include=["city", "meta.color"]),
    ).points
    assert len(res) == 5
    for p, row in zip(res, rows_of(res)):
        full = plain.payloads[row]
        assert p.payload == {"city": full["city"], "meta": {"color": full["meta"]["color"]}}
        assert p.vector is None

    res = client.query_points(
        PLAIN, query=q, limit=5, search_params=EXACT,
        with_payload=models.PayloadSelectorExclude(exclude=["desc", "items", "meta.size"]),
    ).points
    for p, row in zip(res, rows_of(res)):
        expected = copy.deepcopy(plain.payloads[row])
        del expected["desc"], expected["items"], expected["meta"]["size"]
        assert p.payload == expected

    res = client.query_points(PLAIN, query=q, limit=5, search_params=EXACT, with_payload=["count", "flag"]).points
    for p, row in zip(res, rows_of(res)):
        assert p.payload == {k: plain.payloads[row][k] for k in ("count", "flag")}

    res = client.query_points(PLAIN, query=q, limit=5, search_params=EXACT, with_payload=True, with_vectors=True).points
    for p, row in zip(res, rows_of(res)):
        assert p.payload == plain.payloads[row]
        np.testing.assert_allclose(p.vector, normalized(plain.vectors[""][row]), atol=1e-6)

    # Named: all vectors the point has, or only the selected ones.
    res = client.query_points(
        NAMED, query=named.vectors["euc"][10].tolist(), using="euc", limit=3,
        search_params=EXACT, with_vectors=True,
    ).points
    assert res[0].id == named.ids[10] and abs(res[0].score) < 1e-4
    assert set(res[0].vector) == {"cos", "dot", "euc"}  # row 10 has no `man`
    for p in res:
        row = named.row_of[p.id]
        assert set(p.vector) == {n for n in NAMED_DISTANCES if named.present[n][row]}
        np.testing.assert_allclose(p.vector["cos"], normalized(named.vectors["cos"][row]), atol=1e-6)
        for n in ("dot", "euc"):
            np.testing.assert_allclose(p.vector[n], named.vectors[n][row], atol=1e-6)
    res = client.query_points(
        NAMED, query=q, using="dot", limit=3, search_params=EXACT, with_vectors=["dot", "man"],
    ).points
    for p in res:
        row = named.row_of[p.id]
        assert set(p.vector) == {n for n in ("dot", "man") if named.present[n][row]}
        np.testing.assert_allclose(p.vector["dot"], named.vectors["dot"][row], atol=1e-6)


def test_query_batch_points(client, named):
    qs = queries(800, 3)
    paris, paris_mask = filter_case("match_keyword", named)
    batch = [
        models.QueryRequest(query=qs[0].tolist(), using="cos", limit=5, params=EXACT),
        models.QueryRequest(
            query=qs[1].tolist(), using="euc", limit=7, filter=paris, params=EXACT, with_payload=True
        ),
        models.QueryRequest(query=qs[2].tolist(), using="man", limit=3, offset=2, params=EXACT),
        models.QueryRequest(query=named.sent_ids[207], using="dot", limit=4, params=EXACT),
    ]
    responses = client.query_batch_points(NAMED, requests=batch)
    assert len(responses) == 4
    exp = [
        (reference.ranking("Cosine", named.ids, named.vectors["cos"], qs[0]), 5, 0),
        (reference.ranking("Euclid", named.ids, named.vectors["euc"], qs[1], paris_mask), 7, 0),
        (reference.ranking("Manhattan", named.ids, named.vectors["man"], qs[2], named.present["man"]), 3, 2),
    ]
    not_207 = np.ones(N, dtype=bool)
    not_207[207] = False
    exp.append((reference.ranking("Dot", named.ids, named.vectors["dot"], named.vectors["dot"][207], not_207), 4, 0))
    for i, (response, (expected, limit, offset)) in enumerate(zip(responses, exp)):
        reference.assert_ranking(hits(response.points), expected, limit, offset, what=f"batch {i}")
    for p in responses[1].points:
        assert p.payload == named.payloads[named.row_of[p.id]]
        assert p.payload["city"] == "paris"


def test_legacy_search_endpoints(client, server_url, plain, named):
    qs = queries(900, 3)
    results = legacy_search(
        client, server_url, PLAIN,
        {"vector": qs[0].tolist(), "limit": 10, "params": {"exact": True}, "with_payload": True},
    )
    expected = reference.ranking("Cosine", plain.ids, plain.vectors[""], qs[0])
    reference.assert_ranking([(r["id"], r["score"]) for r in results], expected, 10, what="search")
    for r in results:
        assert r["payload"] == plain.payloads[plain.row_of[r["id"]]]

    filt, mask = filter_case("nested", named)
    body = {
        "vector": {"name": "euc", "vector": qs[1].tolist()},
        "filter": dump_filter(filt),
        "limit": 6,
        "offset": 2,
        "params": {"exact": True},
    }
    results = legacy_search(client, server_url, NAMED, body)
    expected = reference.ranking("Euclid", named.ids, named.vectors["euc"], qs[1], mask)
    reference.assert_ranking([(r["id"], r["score"]) for r in results], expected, 6, 2, what="named search")

    dot_expected = reference.ranking("Dot", named.ids, named.vectors["dot"], qs[2])
    dot_count, threshold = threshold_cut(dot_expected)
    batch = [
        body,
        {"vector": {"name": "dot", "vector": qs[2].tolist()}, "limit": 10, "score_threshold": threshold,
         "params": {"exact": True}},
    ]
    results = legacy_search_batch(client, server_url, NAMED, batch)
    assert len(results) == 2
    reference.assert_ranking([(r["id"], r["score"]) for r in results[0]], expected, 6, 2, what="batch 0")
    reference.assert_ranking([(r["id"], r["score"]) for r in results[1]], dot_expected, dot_count, what="batch 1")


# ---------------------------------------------------------------- transports


def comparable(obj):
    """A model's dump with every float rounded to float32 (REST's JSON carries
    the shortest decimal of an f32 score or vector, gRPC its bits) and
    empty payloads as None (gRPC cannot send an absent map)."""
    if hasattr(obj, "model_dump"):
        obj = obj.model_dump(mode="json")
    if isinstance(obj, float):
        return float(np.float32(obj))
    if isinstance(obj, list):
        return [comparable(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(comparable(v) for v in obj)
    if isinstance(obj, dict):
        return {
            k: None if k == "payload" and v == {} else comparable(v) for k, v in obj.items()
        }
    return obj


def first_difference(a, b, at="") -> str:
    """Where two dumps first differ, for the failure message."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return first_difference(a.get(k), b.get(k), f"{at}.{k}")
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, f"{at}[{i}]")
    return f"at {at or 'top'}: gRPC {str(a)[:300]} != REST {str(b)[:300]}"


@requires_server
def test_grpc_answers_equal_rest(client, server, transport, plain, named):
    """The same reads through both transports give the same answers."""
    if transport != "grpc":
        pytest.skip("compares the gRPC client with a REST one")
    rest = QdrantClient(url=server.url, prefer_grpc=False, timeout=60)
    checked = 0

    def same(what, call):
        nonlocal checked
        over_grpc, over_rest = comparable(call(client)), comparable(call(rest))
        if isinstance(over_rest, dict) and "config" in over_rest:
            # VecForge has no `wal_retain_closed` and sends none; the REST
            # model fills in its default (1), the gRPC conversion leaves None.
            over_rest["config"]["wal_config"]["wal_retain_closed"] = None
        assert over_grpc == over_rest, f"{what}: {first_difference(over_grpc, over_rest)}"
        checked += 1

    try:
        for name in (PLAIN, NAMED):
            same(f"{name} info", lambda c: c.get_collection(name))
        same("collections", lambda c: sorted(x.name for x in c.get_collections().collections))
        q = queries(1200, 3)
        for case in ("match_keyword", "range_datetime", "nested", "min_should", "has_id", "is_empty"):
            filt, _ = filter_case(case, plain)
            same(f"count {case}", lambda c: c.count(PLAIN, count_filter=filt, exact=True))
            same(
                f"scroll {case}",
                lambda c: c.scroll(PLAIN, scroll_filter=filt, limit=50, with_payload=True, with_vectors=True),
            )
            for exact in (True, False):
                same(
                    f"query {case} exact={exact}",
                    lambda c: c.query_points(
                        PLAIN, query=q[0].tolist(), query_filter=filt, limit=10,
                        search_params=models.SearchParams(exact=exact), with_payload=True,
                    ),
                )
        same(
            "scroll from a UUID offset",
            lambda c: c.scroll(NAMED, offset=named.ids[UUID_ROWS[0]], limit=200, with_vectors=["euc"]),
        )
        same(
            "retrieve",
            lambda c: sorted(
                c.retrieve(NAMED, ids=[named.sent_ids[r] for r in [0, 10, *UUID_ROWS]], with_vectors=True),
                key=lambda r: sort_key(r.id),
            ),
        )
        same(
            "query batch",
            lambda c: c.query_batch_points(
                NAMED,
                requests=[
                    models.QueryRequest(query=q[1].tolist(), using="man", limit=5, with_payload=["city"]),
                    models.QueryRequest(query=named.sent_ids[207], using="dot", limit=4, offset=1),
                ],
            ),
        )
        same("aliases", lambda c: c.get_aliases())
    finally:
        rest.close()
    assert checked == 4 + 6 * 4 + 3


# ---------------------------------------------------------------- retrieve


def test_retrieve(client, plain, named, transport):
    rows = [0, 1, 2, *UUID_ROWS, N - 2, N - 1]
    absent = [999_999_999_999, "00000000-0000-4000-8000-000000000000"]
    records = client.retrieve(PLAIN, ids=[plain.sent_ids[r] for r in rows] + absent, with_payload=True, with_vectors=True)
    by_id = {rec.id: rec for rec in records}
    assert set(by_id) == {plain.ids[r] for r in rows}, "retrieve must return exactly the existing ids"
    for row in rows:
        rec = by_id[plain.ids[row]]
        assert rec.payload == plain.payloads[row]
        np.testing.assert_allclose(rec.vector, normalized(plain.vectors[""][row]), atol=1e-6)
    for row in UUID_ROWS:
        assert CANONICAL_UUID.fullmatch(plain.ids[row]) and plain.ids[row] in by_id
    assert plain.sent_ids[UUID_ROWS[1]] != plain.ids[UUID_ROWS[1]]  # sent uppercase

    records = client.retrieve(PLAIN, ids=[plain.sent_ids[r] for r in rows], with_payload=False, with_vectors=False)
    assert len(records) == len(rows)
    assert all(no_payload(rec.payload, transport) and rec.vector is None for rec in records)

    named_rows = [0, 1, 10, 207]
    records = client.retrieve(NAMED, ids=[named.sent_ids[r] for r in named_rows], with_vectors=["man", "euc"])
    assert {rec.id for rec in records} == {named.ids[r] for r in named_rows}
    for rec in records:
        row = named.row_of[rec.id]
        assert rec.payload == named.payloads[row]  # with_payload defaults to true
        assert set(rec.vector) == {n for n in ("man", "euc") if named.present[n][row]}
        for n, v in rec.vector.items():
            np.testing.assert_allclose(v, named.vectors[n][row], atol=1e-6)


def test_retrieve_payload_selectors_with_array_paths(client, plain):
    # `items[].sku` selects that key inside every element of the array.
    ids = [plain.sent_ids[r] for r in [0, 1, 2, *UUID_ROWS, N - 2, N - 1]]
    problems = []
    records = client.retrieve(
        PLAIN, ids=ids, with_payload=models.PayloadSelectorInclude(include=["items[].sku", "idx"])
    )
    assert len(records) == len(ids)
    for rec in records:
        full = plain.payloads[plain.row_of[rec.id]]
        expected = {"idx": full["idx"], "items": [{"sku": i["sku"]} for i in full["items"]]}
        if rec.payload != expected:
            problems.append(f"include items[].sku: id {rec.id}: got {rec.payload}, expected {expected}")

    records = client.retrieve(
        PLAIN, ids=ids,
        with_payload=models.PayloadSelectorExclude(exclude=["items[].qty", "meta", "created"]),
    )
    assert len(records) == len(ids)
    for rec in records:
        expected = copy.deepcopy(plain.payloads[plain.row_of[rec.id]])
        del expected["meta"], expected["created"]
        for item in expected["items"]:
            del item["qty"]
        if rec.payload != expected:
            problems.append(f"exclude items[].qty: id {rec.id}: got {rec.payload}, expected {expected}")
    assert not problems, "\n".join(problems[:4])


# ---------------------------------------------------------------- aliases


def test_aliases(client, plain):
    def alias_pairs():
        return {(a.alias_name, a.collection_name) for a in client.get_aliases().aliases}

    q = queries(1000, 1)[0].tolist()
    direct = hits(client.query_points(PLAIN, query=q, limit=5, search_params=EXACT).points)

    client.update_collection_aliases(
        change_aliases_operations=[
            models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=PLAIN, alias_name="wf_alias"))
        ]
    )
    try:
        assert ("wf_alias", PLAIN) in alias_pairs()
        assert [a.alias_name for a in client.get_collection_aliases(PLAIN).aliases] == ["wf_alias"]
        via = hits(client.query_points("wf_alias", query=q, limit=5, search_params=EXACT).points)
        assert [pid for pid, _ in via] == [pid for pid, _ in direct]
        assert client.count("wf_alias", exact=True).count == N
        assert [r.id for r in client.retrieve("wf_alias", ids=[plain.sent_ids[13]])] == [plain.ids[13]]

        client.update_collection_aliases(
            change_aliases_operations=[
                models.RenameAliasOperation(
                    rename_alias=models.RenameAlias(old_alias_name="wf_alias", new_alias_name="wf_alias2")
                )
            ]
        )
        pairs = alias_pairs()
        assert ("wf_alias2", PLAIN) in pairs and not any(a == "wf_alias" for a, _ in pairs)
        assert client.count("wf_alias2", exact=True).count == N
        expect_missing_collection(lambda: client.count("wf_alias", exact=True))
    finally:
        for alias in ("wf_alias", "wf_alias2"):
            if any(a == alias for a, _ in alias_pairs()):
                client.update_collection_aliases(
                    change_aliases_operations=[
                        models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))
                    ]
                )
    assert not any(a in ("wf_alias", "wf_alias2") for a, _ in alias_pairs())
    assert client.get_collection_aliases(PLAIN).aliases == []
    expect_missing_collection(lambda: client.count("wf_alias2", exact=True))
    assert client.count(PLAIN, exact=True).count == N


# ---------------------------------------------------------------- mutations

SMALL = "wf_small"
SMALL_N = 300


@pytest.fixture
def small(client):
    """300 points, 8-d Dot, mixed ids; recreated for every test."""
    ps = make_point_set(seed=3, n=SMALL_N, dim=8, names=[""])
    recreate(client, SMALL, vectors_config=models.VectorParams(size=8, distance=models.Distance.DOT))
    upsert_point_set(client, SMALL, ps, batch=100, columnar=False)
    yield ps
    client.delete_collection(SMALL)


def payload_model(ps: PointSet) -> dict:
    return {pid: copy.deepcopy(p) for pid, p in zip(ps.ids, ps.payloads)}


def assert_payloads(client, name: str, model: dict) -> None:
    got = {rec.id: rec.payload for rec in scroll_all(client, name, limit=128, with_payload=True)}
    assert set(got) == set(model), (
        f"ids differ: missing {sorted(set(model) - set(got), key=sort_key)[:5]}, "
        f"extra {sorted(set(got) - set(model), key=sort_key)[:5]}"
    )
    wrong = [pid for pid in model if (got[pid] or {}) != model[pid]]
    assert not wrong, f"{len(wrong)} payloads differ, e.g. {wrong[0]!r}: got {got[wrong[0]]}, expected {model[wrong[0]]}"


def matching_ids(model: dict, predicate) -> list:
    return [pid for pid, p in model.items() if predicate(p)]


def test_set_payload_by_ids_and_filter(client, small):
    model = payload_model(small)
    targets = [small.sent_ids[1], small.sent_ids[110]]  # an int and an UPPERCASE UUID
    client.set_payload(SMALL, payload={"city": "oslo", "extra": {"k": [1, 2]}}, points=targets, wait=True)
    for row in (1, 110):
        model[small.ids[row]].update({"city": "oslo", "extra": {"k": [1, 2]}})
    assert_payloads(client, SMALL, model)

    red = F(must=[FC(key="meta.color", match=MV(value="red"))])
    reds = matching_ids(model, lambda p: p["meta"]["color"] == "red")
    assert 0 < len(reds) < SMALL_N
    client.set_payload(SMALL, payload={"red": True, "count": -1}, points=red, wait=True)
    for pid in reds:
        model[pid].update({"red": True, "count": -1})
    assert_payloads(client, SMALL, model)
    assert client.count(SMALL, count_filter=F(must=[FC(key="red", match=MV(value=True))]), exact=True).count == len(reds)


def test_set_payload_nested_key(client, small):
    model = payload_model(small)
    client.set_payload(
        SMALL, payload={"size": 99, "shape": "round"}, points=[small.sent_ids[2], small.sent_ids[207]],
        key="meta", wait=True,
    )
    for row in (2, 207):
        model[small.ids[row]]["meta"].update({"size": 99, "shape": "round"})
    assert_payloads(client, SMALL, model)

    flt = F(must=[FC(key="city", match=MV(value="lima"))])
    client.set_payload(SMALL, payload={"color": "white"}, points=flt, key="meta", wait=True)
    for pid in matching_ids(model, lambda p: p["city"] == "lima"):
        model[pid]["meta"]["color"] = "white"
    assert_payloads(client, SMALL, model)
    assert client.count(
        SMALL, count_filter=F(must=[FC(key="meta.color", match=MV(value="white"))]), exact=True
    ).count == len(matching_ids(model, lambda p: p["city"] == "lima"))


def test_overwrite_payload_by_ids_and_filter(client, small):
    model = payload_model(small)
    client.overwrite_payload(SMALL, payload={"only": "this"}, points=[small.sent_ids[3], small.sent_ids[13]], wait=True)
    for row in (3, 13):
        model[small.ids[row]] = {"only": "this"}
    assert_payloads(client, SMALL, model)

    tokyo = F(must=[FC(key="city", match=MV(value="tokyo"))])
    ids = matching_ids(model, lambda p: p.get("city") == "tokyo")
    client.overwrite_payload(SMALL, payload={"was": "tokyo", "n": 1}, points=tokyo, wait=True)
    for pid in ids:
        model[pid] = {"was": "tokyo", "n": 1}
    assert_payloads(client, SMALL, model)


def test_delete_payload_keys_and_paths(client, small):
    model = payload_model(small)
    client.delete_payload(SMALL, keys=["city", "meta.color"], points=[small.sent_ids[4], small.sent_ids[207]], wait=True)
    for row in (4, 207):
        del model[small.ids[row]]["city"]
        del model[small.ids[row]]["meta"]["color"]
    assert_payloads(client, SMALL, model)

    flagged = F(must=[FC(key="flag", match=MV(value=True))])
    ids = matching_ids(model, lambda p: p["flag"] is True)
    client.delete_payload(SMALL, keys=["items[].qty", "desc"], points=flagged, wait=True)
    for pid in ids:
        del model[pid]["desc"]
        for item in model[pid]["items"]:
            del item["qty"]
    assert_payloads(client, SMALL, model)
    gone = F(must=[models.IsEmptyCondition(is_empty=models.PayloadField(key="city"))])
    assert client.count(SMALL, count_filter=gone, exact=True).count == 2


def test_clear_payload_by_ids_and_filter(client, small):
    model = payload_model(small)
    client.clear_payload(SMALL, points_selector=[small.sent_ids[5], small.sent_ids[207]], wait=True)
    for row in (5, 207):
        model[small.ids[row]] = {}
    assert_payloads(client, SMALL, model)

    low = F(must=[FC(key="count", range=models.Range(lt=20))])
    ids = matching_ids(model, lambda p: p.get("count", 100) < 20)
    client.clear_payload(SMALL, points_selector=models.FilterSelector(filter=low), wait=True)
    for pid in ids:
        model[pid] = {}
    assert_payloads(client, SMALL, model)
    assert client.count(SMALL, exact=True).count == SMALL_N  # points stay, only payloads go


def test_delete_points_by_id_and_filter(client, small):
    alive = dict(zip(small.ids, range(SMALL_N)))
    victims = [6, 110, 207, SMALL_N - 1]  # ints, UPPERCASE UUID, hex UUID, u64::MAX
    client.delete(SMALL, points_selector=models.PointIdsList(points=[small.sent_ids[r] for r in victims]), wait=True)
    for row in victims:
        del alive[small.ids[row]]
    paris = F(must=[FC(key="city", match=MV(value="paris"))])
    for pid, row in list(alive.items()):
        if small.payloads[row]["city"] == "paris":
            del alive[pid]
    client.delete(SMALL, points_selector=models.FilterSelector(filter=paris), wait=True)

    assert client.count(SMALL, exact=True).count == len(alive)
    assert client.count(SMALL, count_filter=paris, exact=True).count == 0
    assert [r.id for r in scroll_all(client, SMALL, limit=64)] == sorted(alive, key=sort_key)
    assert client.retrieve(SMALL, ids=[small.sent_ids[r] for r in victims]) == []

    mask = np.array([pid in alive for pid in small.ids])
    for row in victims:
        q = small.vectors[""][row]
        got = client.query_points(SMALL, query=q.tolist(), limit=SMALL_N, search_params=EXACT).points
        expected = reference.ranking("Dot", small.ids, small.vectors[""], q, mask)
        reference.assert_ranking(hits(got), expected, SMALL_N, what=f"after delete, query row {row}")

    # A deleted id can be used again.
    client.upsert(SMALL, points=[models.PointStruct(id=small.sent_ids[6], vector=[1.0] * 8, payload={"back": 1})], wait=True)
    (rec,) = client.retrieve(SMALL, ids=[small.ids[6]], with_vectors=True)
    assert rec.payload == {"back": 1} and rec.vector == [1.0] * 8
    assert client.count(SMALL, exact=True).count == len(alive) + 1


SMALL_NAMED = "wf_small_named"


def test_update_and_delete_vectors(client):
    dims = {"a": 8, "b": 4}
    ps = make_point_set(seed=4, n=SMALL_N, dim=dims, names=["a", "b"])
    recreate(
        client, SMALL_NAMED,
        vectors_config={
            "a": models.VectorParams(size=8, distance=models.Distance.DOT),
            "b": models.VectorParams(size=4, distance=models.Distance.EUCLID),
        },
    )
    try:
        upsert_point_set(client, SMALL_NAMED, ps, batch=150, columnar=False)
        rng = np.random.RandomState(44)
        rows = [7, 13, 110, 299]
        new_a = rng.standard_normal((len(rows), 8)).astype(np.float32)
        client.update_vectors(
            SMALL_NAMED,
            points=[models.PointVectors(id=ps.sent_ids[r], vector={"a": new_a[i].tolist()}) for i, r in enumerate(rows)],
            wait=True,
        )
        for i, r in enumerate(rows):
            ps.vectors["a"][r] = new_a[i]
        records = client.retrieve(SMALL_NAMED, ids=[ps.sent_ids[r] for r in rows], with_vectors=True)
        for rec in records:
            row = ps.row_of[rec.id]
            np.testing.assert_allclose(rec.vector["a"], ps.vectors["a"][row], atol=1e-6)
            np.testing.assert_allclose(rec.vector["b"], ps.vectors["b"][row], atol=1e-6)  # untouched
            assert rec.payload == ps.payloads[row]  # untouched
        q = queries(1100, 1, dim=8)[0]
        got = client.query_points(SMALL_NAMED, query=q.tolist(), using="a", limit=20, search_params=EXACT).points
        reference.assert_ranking(hits(got), reference.ranking("Dot", ps.ids, ps.vectors["a"], q), 20, what="after update")

        gone = [8, 13, 207]
        client.delete_vectors(SMALL_NAMED, vectors=["b"], points=[ps.sent_ids[r] for r in gone], wait=True)
        for r in gone:
            ps.present["b"][r] = False
        for rec in client.retrieve(SMALL_NAMED, ids=[ps.sent_ids[r] for r in gone], with_vectors=True):
            assert set(rec.vector) == {"a"}
        assert client.count(SMALL_NAMED, exact=True).count == SMALL_N
        qb = ps.vectors["b"][8]
        got = client.query_points(SMALL_NAMED, query=qb.tolist(), using="b", limit=SMALL_N, search_params=EXACT).points
        reference.assert_ranking(
            hits(got), reference.ranking("Euclid", ps.ids, ps.vectors["b"], qb, ps.present["b"]),
            SMALL_N - len(gone), what="after delete_vectors",
        )
        got = client.query_points(SMALL_NAMED, query=ps.vectors["a"][8].tolist(), using="a", limit=SMALL_N, search_params=EXACT).points
        assert len(got) == SMALL_N  # the other vector still finds every point

        # update_vectors brings a deleted vector back
        client.update_vectors(SMALL_NAMED, points=[models.PointVectors(id=ps.sent_ids[8], vector={"b": [0.5, 0.5, 0.5, 0.5]})], wait=True)
        (rec,) = client.retrieve(SMALL_NAMED, ids=[ps.ids[8]], with_vectors=True)
        assert set(rec.vector) == {"a", "b"} and rec.vector["b"] == [0.5, 0.5, 0.5, 0.5]
        got = client.query_points(SMALL_NAMED, query=[0.5, 0.5, 0.5, 0.5], using="b", limit=1, search_params=EXACT).points
        assert got[0].id == ps.ids[8] and abs(got[0].score) < 1e-6
    finally:
        client.delete_collection(SMALL_NAMED)


# ---------------------------------------------------------------- delete collection


def test_delete_collection(client):
    name = "wf_doomed"
    recreate(client, name, vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT))
    client.upsert(name, points=[models.PointStruct(id=i, vector=[float(i)] * 4) for i in range(1, 11)], wait=True)
    assert client.collection_exists(name)
    assert client.delete_collection(name) is True
    assert not client.collection_exists(name)
    assert name not in {c.name for c in client.get_collections().collections}
    expect_missing_collection(lambda: client.get_collection(name))
    expect_missing_collection(lambda: client.count(name, exact=True))
    # A collection created again under the same name starts empty.
    recreate(client, name, vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT))
    try:
        assert client.count(name, exact=True).count == 0
        assert client.retrieve(name, ids=[1, 2]) == []
    finally:
        client.delete_collection(name)
    assert not client.collection_exists(name)


# ---------------------------------------------------------------- payload indexes


@requires_server  # qdrant-client's local mode keeps no payload indexes
def test_payload_index_create_use_and_delete(client):
    name = "wf_index"
    recreate(client, name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    colors = ["red", "green", "blue"]
    points = [
        models.PointStruct(
            id=i,
            vector=[float(i), 1.0],
            payload={"color": colors[i % 3], "n": i, "body": f"Item {i} is a quick FOX" if i % 2 else f"item {i}"},
        )
        for i in range(1, 31)
    ]
    client.upsert(name, points=points, wait=True)
    try:
        result = client.create_payload_index(name, "color", field_schema=models.PayloadSchemaType.KEYWORD, wait=True)
        assert result.status == models.UpdateStatus.COMPLETED
        client.create_payload_index(
            name, "n", field_schema=models.IntegerIndexParams(type=models.IntegerIndexType.INTEGER, lookup=True, range=True)
        )
        client.create_payload_index(
            name,
            "body",
            field_schema=models.TextIndexParams(
                type=models.TextIndexType.TEXT, tokenizer=models.TokenizerType.WORD, lowercase=True
            ),
            wait=True,
        )
        schema = client.get_collection(name).payload_schema
        assert set(schema) == {"color", "n", "body"}
        assert schema["color"].data_type == models.PayloadSchemaType.KEYWORD and schema["color"].points == 30
        assert schema["n"].data_type == models.PayloadSchemaType.INTEGER and schema["n"].points == 30
        assert schema["n"].params.lookup is True and schema["n"].params.range is True
        assert schema["body"].data_type == models.PayloadSchemaType.TEXT and schema["body"].points == 30

        red_small = models.Filter(
            must=[
                models.FieldCondition(key="color", match=models.MatchValue(value="red")),
                models.FieldCondition(key="n", range=models.Range(lt=16)),
            ]
        )
        want = sorted(i for i in range(1, 31) if i % 3 == 0 and i < 16)
        assert client.count(name, count_filter=red_small, exact=True).count == len(want)
        got, _ = client.scroll(name, scroll_filter=red_small, limit=100)
        assert [r.id for r in got] == want
        hits_ = client.query_points(name, query=[1.0, 0.0], query_filter=red_small, limit=3, search_params=EXACT).points
        assert [h.id for h in hits_] == sorted(want, reverse=True)[:3]
        # Token semantics on the text index: every query token, any case.
        fox = models.Filter(must=[models.FieldCondition(key="body", match=models.MatchText(text="fox QUICK"))])
        assert client.count(name, count_filter=fox, exact=True).count == 15

        client.delete_payload_index(name, "body", wait=True)
        client.delete_payload_index(name, "n", wait=True)
        assert set(client.get_collection(name).payload_schema) == {"color"}
        # Without the text index `match.text` is a substring test again.
        assert client.count(name, count_filter=fox, exact=True).count == 0
    finally:
        client.delete_collection(name)
