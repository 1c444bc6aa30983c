"""The error answers of both webhooks, byte for byte as docs/CONTRACT.md documents them: `status`, the route's
own keys, then `errors` with the one item at fault."""

from __future__ import annotations

import json
import time

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pipeline.adapters.redis_ledger import Ledger
from pipeline.domain.signature import sign
from pipeline.entrypoints.web import webhook
from pipeline.entrypoints.web.stedi_events import MAX_EVENT_BYTES, RETRY_AFTER_S, build_stedi_events_router
from pipeline.entrypoints.web.webhook import create_app

TOKEN = "stedi-webhook-token"
ANNOUNCED = json.dumps({"type": "transaction.processed",
                        "relatedResources": [{"id": "tx1", "type": "transaction.x12.835"}]}).encode()


def stedi(*, token: str | None = TOKEN, fetch_fails: bool = False) -> TestClient:
    def fetch() -> bool:
        if fetch_fails:
            raise redis.ConnectionError("down")
        return True

    app = FastAPI()
    app.include_router(build_stedi_events_router(secret=None, token=token, fetch=fetch))
    return TestClient(app, raise_server_exceptions=False)


def exactly(body: dict[str, object]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def refusal(status: str, path: str, message: str) -> bytes:
    return exactly({"status": status, "errors": [{"path": path, "message": message}]})


BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(("client", "body", "headers", "code", "expected"), [
    (lambda: stedi(token=None), ANNOUNCED, BEARER, 404, refusal(
        "not_found", "(path)",
        "Stedi's webhook is not set up (SUPERBILL_STEDI_WEBHOOK_SECRET or SUPERBILL_STEDI_WEBHOOK_TOKEN)")),
    (stedi, b"{" + b" " * MAX_EVENT_BYTES + b"}", BEARER, 413,
     refusal("refused", "(body)", f"body over {MAX_EVENT_BYTES} bytes")),
    (stedi, ANNOUNCED, {"Authorization": "Bearer another"}, 401,
     refusal("unauthorized", "(headers)", "the Authorization token is not the one set up for Stedi's webhook")),
    (stedi, b"not json", BEARER, 400, refusal("refused", "(body)", "not JSON")),
    (stedi, b"[1]", BEARER, 400, refusal("refused", "(body)", "not a JSON object")),
    (lambda: stedi(fetch_fails=True), ANNOUNCED, BEARER, 503, refusal(
        "unavailable", "(service)", "the claim store cannot be reached (ConnectionError); send the event again")),
    (stedi, json.dumps({"type": "enrollment.updated"}).encode(), BEARER, 200, exactly({"status": "ignored"})),
    (stedi, ANNOUNCED, BEARER, 202, exactly({"status": "accepted", "fetch": "queued"})),
])
def test_the_stedi_webhook_answers_as_documented(client: object, body: bytes, headers: dict[str, str], code: int,
                                                 expected: bytes) -> None:
    answer = client().post("/v1/stedi/events", content=body, headers=headers)  # type: ignore[operator]
    assert (answer.status_code, answer.content) == (code, expected)
    assert ("retry-after" in answer.headers) == (code == 503)
    if code == 503:
        assert answer.headers["retry-after"] == str(RETRY_AFTER_S)


def test_the_event_webhook_refusals_keep_their_bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    dead = Ledger(redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1))
    client = TestClient(create_app(ledger=dead, send=lambda *a, **k: None, webhook_secret="s"),
                        raise_server_exceptions=False)
    answer = client.post("/v1/events", content=b"{}", headers={"X-Signature": "t=1,v1=00"})
    problem = answer.json()["error"]
    assert (answer.status_code, answer.content) == (401, exactly(
        {"status": "unauthorized", "error": problem, "errors": [{"path": "X-Signature", "message": problem}]}))
    answer = client.post("/v1/events", content=b"{}", headers={"X-Signature": sign("s", b"{}", int(time.time()))})
    assert (answer.status_code, answer.content) == (503, refusal(
        "unavailable", "(service)",
        "the claim store cannot be reached (ConnectionError); the event was not taken, send it again"))
    monkeypatch.setattr(webhook, "READ_AT_MOST_BYTES", 1024)
    big = b"x" * 4096
    answer = client.post("/v1/events", content=big, headers={"X-Signature": sign("s", big, int(time.time()))})
    assert (answer.status_code, answer.content) == (413, refusal(
        "refused", "(body)", "body over 1024 bytes: not read to its end, not kept"))
