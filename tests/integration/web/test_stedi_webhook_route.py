"""`POST /v1/stedi/events` in this process (ASGI) on a real Redis server: a signed or token-bearing event that
announces a 277CA or 835 queues one delayed remittance pass, events close together share it, anything unsigned
queues nothing, and the route answers 404 until it is set up."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from dramatiq.message import Message
from fastapi.testclient import TestClient

from config.settings import SettingsError, load_settings
from pipeline.adapters import clearinghouse_stedi
from pipeline.domain.stedi_events import sign
from pipeline.entrypoints import runtime
from pipeline.entrypoints.web.app import build_web_app

SECRET = "whsec_" + base64.b64encode(b"the event destination's key").decode()
TOKEN = "stedi-webhook-token"
EVENT_835 = json.dumps({"type": "transaction.processed",
                        "relatedResources": [{"id": "tx1", "type": "transaction.x12.835"}]}).encode()
DELAYED = "superbill:remittances.DQ"


def web(redis_url: str, **env: str) -> Iterator[tuple[TestClient, redis.Redis]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDIS_URL", redis_url)
        mp.setenv("SUPERBILL_WEBHOOK_SECRET", "webhook-secret")
        mp.delenv("SUPERBILL_STEDI_WEBHOOK_SECRET", raising=False)
        mp.delenv("SUPERBILL_STEDI_WEBHOOK_TOKEN", raising=False)
        for name, value in env.items():
            mp.setenv(name, value)
        runtime.reset()
        client = redis.Redis.from_url(redis_url)
        client.flushdb()
        yield TestClient(build_web_app(load_settings()), raise_server_exceptions=False), client
        runtime.reset()


@pytest.fixture
def set_up(redis_url: str) -> Iterator[tuple[TestClient, redis.Redis]]:
    yield from web(redis_url, SUPERBILL_STEDI_WEBHOOK_SECRET=SECRET, SUPERBILL_STEDI_WEBHOOK_TOKEN=TOKEN)


def signed(body: bytes, *, message_id: str = "msg_1", at: int | None = None, secret: str = SECRET) -> dict[str, str]:
    stamp = int(time.time()) if at is None else at
    return {"webhook-id": message_id, "webhook-timestamp": str(stamp),
            "webhook-signature": sign(secret, message_id, stamp, body), "Content-Type": "application/json"}


def delayed_passes(client: redis.Redis) -> list[tuple[str, float]]:
    """The remittance passes waiting in the delay queue: (actor, when due, unix seconds)."""
    out = []
    for raw in client.hvals(DELAYED + ".msgs"):
        message = Message.decode(raw)
        out.append((message.actor_name, message.options["eta"] / 1000))
    return out


def test_a_signed_835_event_queues_one_pass_for_when_the_poll_lists_it(set_up: tuple[TestClient, Any]) -> None:
    web_client, client = set_up
    before = time.time()
    answer = web_client.post("/v1/stedi/events", content=EVENT_835, headers=signed(EVENT_835))
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"status": "accepted", "fetch": "queued"}
    [(actor, due)] = delayed_passes(client)
    delay = clearinghouse_stedi.LISTED_AFTER_S + clearinghouse_stedi.EVENT_COALESCE_S + 5.0
    assert actor == "fetch_remittances"
    assert before + delay - 1 <= due <= time.time() + delay + 1
    assert client.llen("superbill:remittances") == 0  # nothing due now: the poll would not list it yet


def test_events_close_together_share_one_pass_and_a_later_one_queues_another(
        set_up: tuple[TestClient, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    web_client, client = set_up
    for n in range(3):
        answer = web_client.post("/v1/stedi/events", content=EVENT_835, headers=signed(EVENT_835, message_id=f"m{n}"))
        assert answer.status_code == 202
        assert answer.json()["fetch"] == ("queued" if n == 0 else "already_queued")
    assert len(delayed_passes(client)) == 1
    client.delete("sb:stedi:event-fetch")  # the coalescing window is over
    answer = web_client.post("/v1/stedi/events", content=EVENT_835, headers=signed(EVENT_835, message_id="m9"))
    assert answer.json()["fetch"] == "queued"
    assert len(delayed_passes(client)) == 2


def test_the_webhook_token_is_the_other_way_in(set_up: tuple[TestClient, Any]) -> None:
    web_client, client = set_up
    body = json.dumps({"detail-type": "transaction.processed.v2", "detail": {"x12": {"metadata": {
        "transaction": {"transactionSetIdentifier": "277"}}}}}).encode()
    answer = web_client.post("/v1/stedi/events", content=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 202, answer.text
    assert len(delayed_passes(client)) == 1


@pytest.mark.parametrize(("headers", "message"), [
    ({}, "missing webhook-id, webhook-timestamp or webhook-signature header; missing Authorization: Bearer token"),
    ({"Authorization": "Bearer not-the-token"}, "the Authorization token is not the one set up"),
    (signed(EVENT_835, secret="whsec_" + base64.b64encode(b"somebody else's signing key").decode()),
     "webhook-signature does not match the body"),
    (signed(EVENT_835, at=int(time.time()) - 3600), "webhook-timestamp is more than 5 minutes off"),
    (signed(b"{}"), "webhook-signature does not match the body"),  # signed for another body
])
def test_an_unsigned_or_replayed_event_is_refused_and_queues_nothing(
        set_up: tuple[TestClient, Any], headers: dict[str, str], message: str) -> None:
    web_client, client = set_up
    answer = web_client.post("/v1/stedi/events", content=EVENT_835, headers=headers)
    assert answer.status_code == 401
    assert message in answer.json()["errors"][0]["message"]
    assert delayed_passes(client) == [] and client.get("sb:stedi:event-fetch") is None


@pytest.mark.parametrize(("body", "status", "state"), [
    (json.dumps({"detail-type": "transaction.processed.v2", "detail": {"x12": {"metadata": {
        "transaction": {"transactionSetIdentifier": "999"}}}}}).encode(), 200, "ignored"),
    (json.dumps({"type": "enrollment.updated"}).encode(), 200, "ignored"),
    (b"not json", 400, "refused"),
    (b"[1, 2]", 400, "refused"),
    (b"{" + b" " * (256 * 1024) + b"}", 413, "refused"),
])
def test_other_events_and_bad_bodies_queue_nothing(set_up: tuple[TestClient, Any], body: bytes, status: int,
                                                   state: str) -> None:
    web_client, client = set_up
    answer = web_client.post("/v1/stedi/events", content=body, headers=signed(body))
    assert (answer.status_code, answer.json()["status"]) == (status, state)
    assert delayed_passes(client) == []


def test_the_route_answers_404_until_a_secret_or_token_is_set(redis_url: str) -> None:
    for web_client, client in web(redis_url):
        answer = web_client.post("/v1/stedi/events", content=EVENT_835, headers=signed(EVENT_835))
        assert answer.status_code == 404
        assert "SUPERBILL_STEDI_WEBHOOK_SECRET" in answer.json()["errors"][0]["message"]
        assert delayed_passes(client) == []


def test_a_signing_secret_that_is_not_one_stops_the_process_at_start() -> None:
    with pytest.raises(SettingsError, match="SUPERBILL_STEDI_WEBHOOK_SECRET"):
        load_settings({"SUPERBILL_STEDI_WEBHOOK_SECRET": "my-password"})
