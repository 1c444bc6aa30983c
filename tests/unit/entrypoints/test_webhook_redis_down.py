"""While the claim store cannot be reached, the webhook answers 503 with Retry-After: never a 202 for an
event it did not store, never a bare 500."""

from __future__ import annotations

import json
import time

import redis
from fastapi.testclient import TestClient

from pipeline.adapters.redis_ledger import Ledger
from pipeline.domain.signature import sign
from pipeline.entrypoints.web.webhook import RETRY_AFTER_S, create_app
from tests.examples import example_path

EVENT = example_path("va_direct").read_bytes()


def test_an_event_that_cannot_be_stored_is_answered_503_with_retry_after() -> None:
    sent: list[str] = []
    dead = Ledger(redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1))
    app = create_app(ledger=dead, send=lambda step, claim_id, delay_ms=None: sent.append(claim_id),
                     webhook_secret="s")
    client = TestClient(app, raise_server_exceptions=False)
    answer = client.post("/v1/events", content=EVENT, headers={"X-Signature": sign("s", EVENT, int(time.time()))})
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == str(RETRY_AFTER_S)
    body = answer.json()
    assert body["status"] == "unavailable" and [e["path"] for e in body["errors"]] == ["(service)"]
    assert "Doe" not in json.dumps(body)  # no patient data in what the sender is told
    assert sent == []  # nothing queued for an event that was not stored
    assert client.get("/healthz").status_code == 503
