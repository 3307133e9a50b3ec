"""Bad input over raw HTTP: a 4xx with a JSON error that names the problem, and
no change to the data.

Every rejected request must answer with a 4xx status (never 5xx) and Qdrant's
error body `{"status": {"error": "..."}, "time": <seconds>}` whose message
mentions the offending field or value; afterwards both test collections hold
exactly what they held before (exact count plus a retrieve of sample points
with payloads and vectors). A batch with one bad point applies none of it.

Also: the request size limit (`QDRANT__SERVICE__MAX_REQUEST_SIZE_MB`) and API
keys (`QDRANT__SERVICE__API_KEY`, `QDRANT__SERVICE__READ_ONLY_API_KEY`).
Collection-name rules follow Qdrant: 1 to 255 characters, none of
`< > : " / \\ | ? *` or NUL.
"""

from __future__ import annotations

import json
import warnings

import pytest
import requests
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from target import requires_server

pytestmark = requires_server

PLAIN = "bad_plain"  # unnamed 4-d Dot
NAMED = "bad_named"  # "a": 4-d Dot, "b": 2-d Euclid
SAMPLE_IDS = [1, 2, 3, 19, "8c3e6f6a-3f0e-4b6f-9d3c-2a1b0c9d8e7f"]
JSON = {"Content-Type": "application/json"}


def seed_points(named: bool) -> list[dict]:
    points = []
    for i, pid in enumerate(list(range(1, 21)) + [SAMPLE_IDS[-1]]):
        vec = [float(i), 0.5, -1.25, 2.0 + i / 8]
        points.append(
            {
                "id": pid,
                "vector": {"a": vec, "b": [float(i), 1.0]} if named else vec,
                "payload": {"n": i, "s": f"point {i}", "tags": ["x", "y"][: i % 3]},
            }
        )
    return points


@pytest.fixture(scope="module")
def base(server) -> str:
    url = server.url
    for name, vectors in (
        (PLAIN, {"size": 4, "distance": "Dot"}),
        (NAMED, {"a": {"size": 4, "distance": "Dot"}, "b": {"size": 2, "distance": "Euclid"}}),
    ):
        requests.delete(f"{url}/collections/{name}", timeout=30)
        r = requests.put(f"{url}/collections/{name}", json={"vectors": vectors}, timeout=30)
        assert r.status_code == 200, r.text
        r = requests.put(
            f"{url}/collections/{name}/points?wait=true",
            json={"points": seed_points(name == NAMED)},
            timeout=30,
        )
        assert r.status_code == 200, r.text
    return url


def snapshot(url: str) -> dict:
    state = {}
    for name in (PLAIN, NAMED):
        r = requests.post(f"{url}/collections/{name}/points/count", json={"exact": True}, timeout=30)
        assert r.status_code == 200, r.text
        count = r.json()["result"]["count"]
        r = requests.post(
            f"{url}/collections/{name}/points",
            json={"ids": SAMPLE_IDS + [101, 102], "with_payload": True, "with_vector": True},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        records = sorted(r.json()["result"], key=lambda rec: str(rec["id"]))
        state[name] = {"count": count, "records": records}
    assert state[PLAIN]["count"] == state[NAMED]["count"] == 21
    return state


def assert_error(response: requests.Response, names, status=None) -> str:
    """A 4xx (one of `status`, if given) with Qdrant's JSON error body naming one of `names`."""
    where = f"{response.request.method} {response.request.url}"
    assert 400 <= response.status_code < 500, (
        f"{where}: expected 4xx, got {response.status_code}: {response.text[:500]}"
    )
    if status is not None:
        assert response.status_code in status, (
            f"{where}: expected {status}, got {response.status_code}: {response.text[:500]}"
        )
    try:
        body = response.json()
    except ValueError:
        pytest.fail(f"{where}: error body is not JSON: {response.text[:500]!r}")
    assert isinstance(body, dict) and isinstance(body.get("status"), dict), f"{where}: {body}"
    message = body["status"].get("error")
    assert isinstance(message, str) and message, f"{where}: no status.error in {body}"
    assert isinstance(body.get("time"), (int, float)), f"{where}: no numeric time in {body}"
    assert any(n.lower() in message.lower() for n in names), (
        f"{where}: error message {message!r} mentions none of {list(names)}"
    )
    return message


def points_body(*points) -> dict:
    return {"points": list(points)}


V4 = [1.0, 2.0, 3.0, 4.0]
JSON_SYNTAX = ("json", "expected", "line", "column", "parse")
# Qdrant answers 400 to a body it cannot parse and 422 to one that fails validation.
BAD = (400, 422)

# id -> (method, path, body: dict = JSON, str = raw text, names in the message, allowed statuses)
CASES = {
    "dimension_mismatch_in_batch": (
        "PUT", f"/collections/{PLAIN}/points?wait=true",
        points_body({"id": 101, "vector": V4}, {"id": 102, "vector": [1.0, 2.0, 3.0]}),
        ("dim", "vector"), BAD,
    ),
    "dimension_mismatch_in_columnar_batch": (
        "PUT", f"/collections/{PLAIN}/points?wait=true",
        {"batch": {"ids": [101, 102], "vectors": [V4, V4 + [5.0]]}},
        ("dim", "vector"), BAD,
    ),
    "dimension_mismatch_named": (
        "PUT", f"/collections/{NAMED}/points?wait=true",
        points_body({"id": 101, "vector": {"a": V4, "b": [1.0, 2.0]}}, {"id": 102, "vector": {"a": V4, "b": [1.0, 2.0, 3.0]}}),
        ("dim", "vector", '"b"', "b:"), BAD,
    ),
    "dimension_mismatch_query": (
        "POST", f"/collections/{PLAIN}/points/query", {"query": [1.0, 2.0]}, ("dim", "vector"), BAD,
    ),
    "dimension_mismatch_update_vectors": (
        "PUT", f"/collections/{NAMED}/points/vectors?wait=true",
        {"points": [{"id": 1, "vector": {"a": V4}}, {"id": 2, "vector": {"a": [1.0]}}]},
        ("dim", "vector"), BAD,
    ),
    "unknown_vector_name_upsert": (
        "PUT", f"/collections/{NAMED}/points?wait=true",
        points_body({"id": 101, "vector": {"a": V4}}, {"id": 102, "vector": {"a": V4, "nope": [1.0, 2.0]}}),
        ("nope",), BAD,
    ),
    "unknown_vector_name_query": (
        "POST", f"/collections/{NAMED}/points/query", {"query": V4, "using": "nope"}, ("nope",), BAD,
    ),
    "unnamed_vector_in_named_collection": (
        "PUT", f"/collections/{NAMED}/points?wait=true", points_body({"id": 101, "vector": V4}),
        ("vector", "name"), BAD,
    ),
    "nan_literal": (
        "PUT", f"/collections/{PLAIN}/points?wait=true",
        '{"points": [{"id": 101, "vector": [1.0, 2.0, 3.0, 4.0]}, {"id": 102, "vector": [NaN, 1.0, 2.0, 3.0]}]}',
        JSON_SYNTAX + ("vector", "nan"), BAD,
    ),
    "infinity_literal": (
        "PUT", f"/collections/{PLAIN}/points?wait=true",
        '{"points": [{"id": 101, "vector": [Infinity, 1.0, 2.0, 3.0]}]}',
        JSON_SYNTAX + ("vector", "inf"), BAD,
    ),
    "f32_overflow": (
        "PUT", f"/collections/{PLAIN}/points?wait=true",
        '{"points": [{"id": 101, "vector": [1.0, 2.0, 3.0, 4.0]}, {"id": 102, "vector": [1e39, 1.0, 2.0, 3.0]}]}',
        ("vector", "finite", "inf", "overflow", "range"), BAD,
    ),
    "f32_negative_overflow_named": (
        "PUT", f"/collections/{NAMED}/points?wait=true",
        '{"points": [{"id": 101, "vector": {"a": [1.0, 2.0, 3.0, 4.0], "b": [-1e39, 0.0]}}]}',
        ("vector", "finite", "inf", "overflow", "range"), BAD,
    ),
    "f32_overflow_in_query": (
        "POST", f"/collections/{PLAIN}/points/query", '{"query": [1e39, 0.0, 0.0, 0.0]}',
        ("vector", "query", "finite", "inf", "overflow", "range"), BAD,
    ),
    "malformed_json": (
        "PUT", f"/collections/{PLAIN}/points?wait=true", '{"points": [{"id": 101, "vector": [1.0, 2.0', JSON_SYNTAX + ("eof",), BAD,
    ),
    "not_an_object": (
        "PUT", f"/collections/{PLAIN}/points?wait=true", "[1, 2, 3]", JSON_SYNTAX + ("points", "batch"), BAD,
    ),
    "negative_id": (
        "PUT", f"/collections/{PLAIN}/points?wait=true",
        points_body({"id": 101, "vector": V4}, {"id": -5, "vector": V4}), ("id",), BAD,
    ),
    "float_id": (
        "PUT", f"/collections/{PLAIN}/points?wait=true",
        points_body({"id": 101, "vector": V4}, {"id": 1.5, "vector": V4}), ("id",), BAD,
    ),
    "non_uuid_string_id": (
        "PUT", f"/collections/{PLAIN}/points?wait=true",
        points_body({"id": 101, "vector": V4}, {"id": "abc", "vector": V4}), ("id", "uuid"), BAD,
    ),
    "id_beyond_u64": (
        "PUT", f"/collections/{PLAIN}/points?wait=true",
        '{"points": [{"id": 101, "vector": [1, 2, 3, 4]}, {"id": 18446744073709551616, "vector": [1, 2, 3, 4]}]}',
        ("id",), BAD,
    ),
    "bad_id_in_retrieve": (
        "POST", f"/collections/{PLAIN}/points", {"ids": [1, "not-a-uuid"]}, ("id", "uuid"), BAD,
    ),
    "bad_id_in_delete": (
        "POST", f"/collections/{PLAIN}/points/delete?wait=true", {"points": [1, -1]}, ("id",), BAD,
    ),
    "unknown_distance_on_create": (
        "PUT", "/collections/bad_new", {"vectors": {"size": 4, "distance": "Hamming"}},
        # serde's untagged-enum error names only `vectors`, as in Qdrant itself
        ("distance", "hamming", "vectors"), BAD,
    ),
    "zero_size_on_create": (
        "PUT", "/collections/bad_new", {"vectors": {"size": 0, "distance": "Dot"}}, ("size",), BAD,
    ),
    "collection_name_with_slash": (
        "PUT", "/collections/bad%2Fnew", {"vectors": {"size": 4, "distance": "Dot"}}, ("name", "/"), BAD,
    ),
    "collection_name_with_colon": (
        "PUT", "/collections/bad:new", {"vectors": {"size": 4, "distance": "Dot"}}, ("name", ":"), BAD,
    ),
    "collection_name_with_star": (
        "PUT", "/collections/bad*new", {"vectors": {"size": 4, "distance": "Dot"}}, ("name", "*"), BAD,
    ),
    "collection_name_too_long": (
        "PUT", "/collections/" + "n" * 256, {"vectors": {"size": 4, "distance": "Dot"}}, ("name", "255", "long", "length"), BAD,
    ),
    "missing_collection_info": ("GET", "/collections/bad_missing", None, ("bad_missing",), (404,)),
    "missing_collection_upsert": (
        "PUT", "/collections/bad_missing/points?wait=true", points_body({"id": 1, "vector": V4}), ("bad_missing",), (404,),
    ),
    "missing_collection_query": (
        "POST", "/collections/bad_missing/points/query", {"query": V4}, ("bad_missing",), (404,),
    ),
    "missing_point": ("GET", f"/collections/{PLAIN}/points/12345", None, ("12345",), (404,)),
    "create_existing_collection": (
        "PUT", f"/collections/{PLAIN}", {"vectors": {"size": 4, "distance": "Dot"}}, (PLAIN, "exist"), (409,),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_request_is_rejected_without_effect(base, case):
    method, path, body, names, status = CASES[case]
    before = snapshot(base)
    if isinstance(body, str):
        response = requests.request(method, base + path, data=body.encode(), headers=JSON, timeout=30)
    else:
        response = requests.request(method, base + path, json=body, timeout=30)
    assert_error(response, names, status)
    assert snapshot(base) == before, f"{case} changed the data"
    listed = requests.get(f"{base}/collections", timeout=30).json()["result"]["collections"]
    assert sorted(c["name"] for c in listed) == sorted([PLAIN, NAMED]), listed


def test_empty_collection_name(base):
    r = requests.put(f"{base}/collections/", json={"vectors": {"size": 4, "distance": "Dot"}}, timeout=30)
    assert 400 <= r.status_code < 500, f"got {r.status_code}: {r.text[:300]}"
    r = requests.get(f"{base}/collections/%20", timeout=30)
    assert 400 <= r.status_code < 500, f"got {r.status_code}: {r.text[:300]}"


def test_longest_collection_name_is_accepted(base):
    name = "n" * 255
    r = requests.put(f"{base}/collections/{name}", json={"vectors": {"size": 4, "distance": "Dot"}}, timeout=30)
    assert r.status_code == 200, r.text
    try:
        assert requests.get(f"{base}/collections/{name}", timeout=30).status_code == 200
    finally:
        assert requests.delete(f"{base}/collections/{name}", timeout=30).status_code == 200


def test_unknown_route_is_4xx(base):
    r = requests.post(f"{base}/collections/{PLAIN}/points/no_such_thing", json={}, timeout=30)
    assert 400 <= r.status_code < 500, r.status_code


def test_request_size_limit(server_factory):
    srv = server_factory(extra_env={"QDRANT__SERVICE__MAX_REQUEST_SIZE_MB": "1"})
    url = srv.url
    assert requests.put(f"{url}/collections/small", json={"vectors": {"size": 4, "distance": "Dot"}}, timeout=30).status_code == 200
    under = {"points": [{"id": 1, "vector": V4, "payload": {"blob": "u" * 600_000}}]}
    r = requests.put(f"{url}/collections/small/points?wait=true", json=under, timeout=30)
    assert r.status_code == 200, f"a 0.6 MB body must pass a 1 MB limit: {r.status_code} {r.text[:300]}"
    over = {"points": [{"id": 2, "vector": V4, "payload": {"blob": "o" * 1_500_000}}]}
    r = requests.put(f"{url}/collections/small/points?wait=true", json=over, timeout=30)
    assert_error(r, ("size", "large", "limit", "length", "bytes"))
    r = requests.post(f"{url}/collections/small/points/count", json={"exact": True}, timeout=30)
    assert r.json()["result"]["count"] == 1
    r = requests.post(f"{url}/collections/small/points", json={"ids": [1, 2], "with_payload": True}, timeout=30)
    assert [rec["id"] for rec in r.json()["result"]] == [1]
    assert r.json()["result"][0]["payload"]["blob"] == "u" * 600_000


def test_api_keys(server_factory):
    srv = server_factory(
        extra_env={"QDRANT__SERVICE__API_KEY": "secret", "QDRANT__SERVICE__READ_ONLY_API_KEY": "ro"}
    )
    url = srv.url
    full = {"api-key": "secret"}
    bearer = {"Authorization": "Bearer secret"}
    ro = {"api-key": "ro"}
    ro_bearer = {"Authorization": "Bearer ro"}
    create = {"vectors": {"size": 4, "distance": "Dot"}}
    upsert = points_body({"id": 1, "vector": V4, "payload": {"k": 1}})

    def call(method, path, headers=None, body=None):
        return requests.request(method, url + path, json=body, headers=headers or {}, timeout=30)

    # No key: service endpoints are open, everything else is 401.
    for path in ("/", "/healthz", "/livez", "/readyz"):
        r = call("GET", path)
        assert r.status_code == 200, f"GET {path} without key: {r.status_code}"
    for method, path, body in (
        ("GET", "/collections", None),
        ("PUT", "/collections/keyed", create),
        ("GET", "/collections/keyed", None),
        ("POST", "/collections/keyed/points/count", {"exact": True}),
    ):
        r = call(method, path, body=body)
        assert r.status_code == 401, f"{method} {path} without key: {r.status_code} {r.text[:200]}"
    for bad in ({"api-key": "wrong"}, {"Authorization": "Bearer wrong"}, {"Authorization": "secret"}):
        r = call("GET", "/collections", bad)
        assert r.status_code == 401, f"GET /collections with {bad}: {r.status_code}"

    # Full key, either header.
    assert call("PUT", "/collections/keyed", full, create).status_code == 200
    assert call("PUT", "/collections/keyed/points?wait=true", bearer, upsert).status_code == 200
    assert call("GET", "/collections", bearer).status_code == 200

    # Read-only key: every read (GET or POST) works, every write is 403.
    for headers in (ro, ro_bearer):
        for method, path, body in (
            ("GET", "/collections", None),
            ("GET", "/collections/keyed", None),
            ("GET", "/collections/keyed/exists", None),
            ("GET", "/collections/keyed/points/1", None),
            ("POST", "/collections/keyed/points", {"ids": [1]}),
            ("POST", "/collections/keyed/points/count", {"exact": True}),
            ("POST", "/collections/keyed/points/scroll", {"limit": 10}),
            ("POST", "/collections/keyed/points/query", {"query": V4}),
            ("POST", "/collections/keyed/points/search", {"vector": V4, "limit": 3}),
            ("POST", "/collections/keyed/points/query/batch", {"searches": [{"query": V4}]}),
            ("GET", "/aliases", None),
        ):
            r = call(method, path, headers, body)
            assert r.status_code == 200, f"{method} {path} with {headers}: {r.status_code} {r.text[:200]}"
        for method, path, body in (
            ("PUT", "/collections/other", create),
            ("DELETE", "/collections/keyed", None),
            ("PUT", "/collections/keyed/points?wait=true", points_body({"id": 2, "vector": V4})),
            ("POST", "/collections/keyed/points/delete?wait=true", {"points": [1]}),
            ("POST", "/collections/keyed/points/payload?wait=true", {"payload": {"x": 1}, "points": [1]}),
            ("POST", "/collections/aliases", {"actions": [{"create_alias": {"collection_name": "keyed", "alias_name": "k2"}}]}),
        ):
            r = call(method, path, headers, body)
            assert r.status_code == 403, f"{method} {path} with {headers}: {r.status_code} {r.text[:200]}"

    r = call("POST", "/collections/keyed/points", full, {"ids": [1, 2], "with_payload": True})
    assert r.status_code == 200 and [rec["id"] for rec in r.json()["result"]] == [1]
    assert r.json()["result"][0]["payload"] == {"k": 1}
    assert call("GET", "/collections/other", full).status_code == 404

    # The official client with each key.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Api key is used with an insecure connection"
        writer = QdrantClient(url=url, api_key="secret", prefer_grpc=False, timeout=30, check_compatibility=False)
        reader = QdrantClient(url=url, api_key="ro", prefer_grpc=False, timeout=30, check_compatibility=False)
    try:
        writer.upsert("keyed", points=[models.PointStruct(id=3, vector=[2.0, 4.0, 6.0, 8.0])], wait=True)
        assert reader.count("keyed", exact=True).count == 2
        assert [p.id for p in reader.query_points("keyed", query=V4, limit=5).points] == [3, 1]
        with pytest.raises(UnexpectedResponse) as info:
            reader.upsert("keyed", points=[models.PointStruct(id=4, vector=V4)], wait=True)
        assert info.value.status_code == 403
    finally:
        writer.close()
        reader.close()
