"""The webhook against hostile and odd input, in this process (ASGI) on a real Redis server: never a 5xx,
every refused body kept once, oversized bodies kept in part when signed, nothing read without a signature."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.adapters.redis_ledger import Ledger
from pipeline.adapters.redis_server import embedded_redis
from pipeline.application.ingest import KEEP_AT_MOST_BYTES
from pipeline.domain.signature import sign
from tests.web_app import web_app_on

SECRET = "hostile-input-secret"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Ledger]]:
    with embedded_redis(Path(tmp_path_factory.mktemp("redis"))) as url, \
            web_app_on(url, ops_token="t", webhook_secret=SECRET) as app:
        yield TestClient(app, raise_server_exceptions=False), Ledger(redis.Redis.from_url(url))


def post(client: TestClient, body: bytes, signature: str | None = None) -> Any:
    header = signature if signature is not None else sign(SECRET, body, int(time.time()))
    return client.post("/v1/events", content=body, headers={"X-Signature": header,
                                                            "Content-Type": "application/json"})


@pytest.mark.parametrize(("name", "body", "status", "message"), [
    ("nested 1,200 deep", b"[" * 1200 + b"]" * 1200, 400, "nested more than 32 levels"),
    ("a 4,400-digit integer", b'{"event_id": ' + b"9" * 4400 + b"}", 400, "more than 100 digits"),
    ("not UTF-8", b'{"event_id": "\xff\xfe"}', 400, "not UTF-8"),
])
def test_hostile_bodies_are_refused_and_kept_never_a_500(env: tuple[TestClient, Ledger], name: str, body: bytes,
                                                         status: int, message: str) -> None:
    client, ledger = env
    answer = post(client, body)
    assert answer.status_code == status, name
    assert message in answer.json()["errors"][0]["message"]
    kept = ledger.get_refused(answer.json()["refused_id"])
    assert kept is not None and kept.body == body


def test_a_timestamp_of_309_digits_is_a_401_not_a_500(env: tuple[TestClient, Ledger]) -> None:
    answer = post(env[0], b"{}", "t=" + "9" * 320 + ",v1=00")
    assert answer.status_code == 401
    assert answer.json()["errors"] == [{"path": "X-Signature", "message": "X-Signature has no valid t= timestamp"}]


def test_the_same_refused_body_sent_five_times_is_kept_once_and_counted(env: tuple[TestClient, Ledger]) -> None:
    client, ledger = env
    body = b'{"event_id": "evt_same_refused_body"}'
    ids = {post(client, body).json()["refused_id"] for _ in range(5)}
    assert len(ids) == 1
    kept = ledger.get_refused(ids.pop())
    assert kept is not None and kept.times == 5


def test_a_signed_body_over_4_mib_is_kept_in_part_with_its_real_size(env: tuple[TestClient, Ledger]) -> None:
    client, ledger = env
    body = b'{"event_id": "' + b"x" * (KEEP_AT_MOST_BYTES + 1000) + b'"}'
    answer = post(client, body)
    assert answer.status_code == 413
    kept = ledger.get_refused(answer.json()["refused_id"])
    assert kept is not None and kept.body == body[:KEEP_AT_MOST_BYTES]
    assert f"body is {len(body)} bytes" in kept.errors[0]["message"]


def test_an_unsigned_body_is_refused_before_it_is_read_and_not_kept(env: tuple[TestClient, Ledger]) -> None:
    client, ledger = env
    before = ledger.count_refused()
    answer = client.post("/v1/events", content=b"x" * (KEEP_AT_MOST_BYTES + 10))
    assert answer.status_code == 401 and ledger.count_refused() == before


_ASCII = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)  # what HTTP carries
_HEADERS = st.one_of(st.none(), _ASCII, st.builds(lambda t, v: f"t={t},v1={v}", st.integers(-(10**20), 10**20), _ASCII))
_BODIES = st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode),
                    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                                 lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                                              inner, max_size=4),
                                 max_leaves=30).map(lambda v: __import__("json").dumps(v).encode()))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=_BODIES, header=_HEADERS, signed=st.booleans())
def test_fuzzed_bodies_and_headers_never_get_a_5xx_and_each_refused_body_is_kept_once(
        env: tuple[TestClient, Ledger], body: bytes, header: str | None, signed: bool) -> None:
    client, ledger = env
    answer = post(client, body) if signed else client.post(
        "/v1/events", content=body, headers={} if header is None else {"X-Signature": header})
    assert answer.status_code < 500
    document = answer.json()
    assert isinstance(document.get("errors", []), list)
    if answer.status_code in (400, 413, 422):
        again = post(client, body)
        assert again.json()["refused_id"] == document["refused_id"]  # kept once, however often it comes
        kept = ledger.get_refused(document["refused_id"])
        assert kept is not None and kept.body == body
