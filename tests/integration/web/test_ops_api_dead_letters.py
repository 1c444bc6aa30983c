"""`/v1/ops/dead`: the dead letters per queue, a queue's page by page, retry and clear, on a real Redis: a retry
queues the step again on the broker only where the claim still needs it, and both are in the audit log."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from pipeline.adapters.dramatiq_queue import NAMESPACE
from pipeline.adapters.queue_stats import claims_in_flight
from pipeline.adapters.redis_staff import RedisStaffStore
from tests.integration.application.harness import InlinePipeline, example
from tests.web_app import web_app_on

TOKEN = "ops-token-for-dead-letters"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def dead_letter(r: redis.Redis, queue: str, message_id: str, actor: str, claim_id: str, at_ms: float) -> None:
    """As dramatiq's RedisBroker's `nack` leaves it."""
    message = {"queue_name": queue, "actor_name": actor, "args": [claim_id], "kwargs": {},
               "options": {"retries": 5}, "message_id": message_id, "message_timestamp": int(at_ms) - 1000}
    r.zadd(f"{NAMESPACE}:{queue}.XQ", {message_id: at_ms})
    r.hset(f"{NAMESPACE}:{queue}.XQ.msgs", message_id, json.dumps(message))


@pytest.fixture
def setup(redis_url: str) -> Iterator[tuple[TestClient, redis.Redis, str, str]]:
    pipeline = InlinePipeline(redis_url)  # an empty database
    parked = pipeline.park("ses_parked")  # needs attention: needs no step
    received = pipeline.receive(example("va_missing_referral"))  # waits for validate (its message lost)
    with web_app_on(redis_url, ops_token=TOKEN, webhook_secret="secret-for-dead-letters") as app:
        yield TestClient(app), redis.Redis.from_url(redis_url), received, parked


def test_dead_letters_are_counted_paged_retried_where_needed_and_cleared(
        setup: tuple[TestClient, redis.Redis, str, str]) -> None:
    client, r, received, parked = setup
    now = time.time() * 1000
    for i, claim_id in enumerate((received, parked, "ses_gone")):
        dead_letter(r, "validate", f"m{i}", "validate", claim_id, now + i)
    counts = client.get("/v1/ops/dead", headers=AUTH)
    assert counts.status_code == 200 and counts.json()["total"] == 3
    assert {"queue": "validate", "dead": 3} in counts.json()["queues"]

    first = client.get("/v1/ops/dead/validate", params={"limit": 2}, headers=AUTH).json()
    assert [x["message_id"] for x in first["dead_letters"]] == ["m0", "m1"] and first["next_cursor"]
    assert first["dead_letters"][0]["claim_id"] == received and first["dead_letters"][0]["retries"] == 5
    rest = client.get("/v1/ops/dead/validate", params={"cursor": first["next_cursor"]}, headers=AUTH).json()
    assert [x["message_id"] for x in rest["dead_letters"]] == ["m2"] and rest["next_cursor"] is None

    retried = client.post("/v1/ops/dead/validate/retry", json={"all": True}, headers=AUTH)
    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert [x["message_id"] for x in body["retried"]] == ["m0"]
    assert {x["message_id"] for x in body["skipped"]} == {"m1", "m2"}
    assert received in claims_in_flight(r) and parked not in claims_in_flight(r)  # queued on the broker again
    assert r.zrange(f"{NAMESPACE}:validate.XQ", 0, -1) == [b"m1", b"m2"]

    cleared = client.post("/v1/ops/dead/validate/clear", json={"message_ids": ["m1", "nope"]}, headers=AUTH)
    assert cleared.status_code == 200 and (cleared.json()["cleared"], cleared.json()["not_found"]) == (1, ["nope"])
    audit = RedisStaffStore(r).audit_log(10)
    assert any(e["action"] == "dead_letters.retried" and e["message_ids"] == ["m0"] for e in audit)
    assert any(e["action"] == "dead_letters.cleared" and e["count"] == 1 for e in audit)


@pytest.mark.parametrize("body", [{}, {"all": False}, {"message_ids": []}, {"message_ids": ["m1"], "all": True},
                                  {"message_ids": "m1"}, {"all": True, "other": 1}])
def test_a_body_that_does_not_say_which_is_refused_with_field_errors(
        setup: tuple[TestClient, redis.Redis, str, str], body: dict[str, Any]) -> None:
    client, r, _, parked = setup
    dead_letter(r, "validate", "m9", "validate", parked, time.time() * 1000)
    for action in ("retry", "clear"):
        answer = client.post(f"/v1/ops/dead/validate/{action}", json=body, headers=AUTH)
        assert answer.status_code == 422, (action, body, answer.text)
        assert answer.json()["errors"], answer.text
    assert r.zcard(f"{NAMESPACE}:validate.XQ") == 1


def test_an_unknown_queue_is_404_and_a_bad_cursor_422(setup: tuple[TestClient, redis.Redis, str, str]) -> None:
    client, *_ = setup
    for answer in (client.get("/v1/ops/dead/nope", headers=AUTH),
                   client.post("/v1/ops/dead/nope/retry", json={"all": True}, headers=AUTH),
                   client.post("/v1/ops/dead/nope/clear", json={"all": True}, headers=AUTH)):
        assert answer.status_code == 404 and answer.json()["errors"][0]["path"] == "queue", answer.text
    bad = client.get("/v1/ops/dead/validate", params={"cursor": "nonsense"}, headers=AUTH)
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "cursor", bad.text
    assert client.get("/v1/ops/dead").status_code == 401
