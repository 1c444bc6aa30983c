"""`POST /v1/ops/claims/{claim_id}/payments` with an `Idempotency-Key`, on a real Redis: a client that retries
records its payment once (the same request again answers what the first one did, `Idempotent-Replayed`), the
key used for another payment is 422 naming the header, a key that is not valid is 422, and tries of the same
request at the same moment record it exactly once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pipeline.adapters.redis_server import embedded_redis
from pipeline.application import client_payments
from tests.examples import example
from tests.integration.application.harness import InlinePipeline
from tests.web_app import web_app_on

TOKEN = "ops-token-for-payment-retries"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BODY = {"amount": "20.00", "method": "cash", "by": "Dana Front"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, InlinePipeline]]:
    with embedded_redis(Path(tmp_path_factory.mktemp("redis"))) as url:
        pipeline = InlinePipeline(url)
        with web_app_on(url, ops_token=TOKEN, webhook_secret="secret-for-payment-retries") as web:
            yield TestClient(web), pipeline


@pytest.fixture
def claim_id(app: tuple[TestClient, InlinePipeline]) -> str:
    _, pipeline = app
    doc = json.loads(json.dumps(example("commercial_statement")))
    doc["event_id"], doc["session"]["session_id"] = f"evt_{uuid.uuid4().hex[:12]}", f"ses_{uuid.uuid4().hex[:12]}"
    doc["payment"] = {"amount_collected": "60.00", "method": "card"}
    return pipeline.post(doc)


def _pay(client: TestClient, claim_id: str, body: dict[str, Any], key: str) -> Any:
    return client.post(f"/v1/ops/claims/{claim_id}/payments", json=body, headers=AUTH | {"Idempotency-Key": key})


def _payments(pipeline: InlinePipeline, claim_id: str) -> list[dict[str, Any]]:
    return [e for e in pipeline.ledger.timeline(claim_id) if e["kind"] == "payment.recorded"]


def test_a_retried_payment_is_recorded_once_and_answers_the_same(
        app: tuple[TestClient, InlinePipeline], claim_id: str) -> None:
    client, pipeline = app
    sends = pipeline.claim(claim_id).statement_sends
    first = _pay(client, claim_id, BODY, "retry-1")
    assert first.status_code == 200, first.text
    assert first.json()["replayed"] is False and "Idempotent-Replayed" not in first.headers
    again = _pay(client, claim_id, BODY, "retry-1")
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() | {"replayed": True}
    assert len(_payments(pipeline, claim_id)) == 1
    claim = pipeline.claim(claim_id)
    assert claim.statement_sends == sends + 1  # one statement e-mail queued, not two
    assert claim.superbill["balance_due"] == first.json()["balance_due"]  # type: ignore[index]

    other = _pay(client, claim_id, BODY, "retry-2")  # a new key is a new payment
    assert other.status_code == 200 and other.json()["replayed"] is False
    assert len(_payments(pipeline, claim_id)) == 2


@pytest.mark.parametrize("change", [{"amount": "25.00"}, {"method": "card"}, {"by": "Lee Desk"},
                                    {"received_on": "2026-11-20"}])
def test_the_same_key_with_another_payment_is_422_naming_the_header(
        app: tuple[TestClient, InlinePipeline], claim_id: str, change: dict[str, str]) -> None:
    client, pipeline = app
    assert _pay(client, claim_id, BODY, "reused").status_code == 200
    before = pipeline.ledger.timeline(claim_id)
    answer = _pay(client, claim_id, BODY | change, "reused")
    assert answer.status_code == 422, answer.text
    assert [e["path"] for e in answer.json()["errors"]] == ["Idempotency-Key"]
    assert answer.json()["key_reused"] is True
    assert pipeline.ledger.timeline(claim_id) == before


@pytest.mark.parametrize("key", ["", "x" * 129, "has space", "na\xefve", "a/b"])
def test_a_key_that_is_not_valid_is_422_and_nothing_is_written(
        app: tuple[TestClient, InlinePipeline], claim_id: str, key: str) -> None:
    client, pipeline = app
    before = pipeline.ledger.timeline(claim_id)
    answer = client.post(f"/v1/ops/claims/{claim_id}/payments", json=BODY,
                         headers=AUTH | {"Idempotency-Key": key.encode("latin-1")})
    assert answer.status_code == 422, answer.text
    assert [e["path"] for e in answer.json()["errors"]] == ["Idempotency-Key"]
    assert pipeline.ledger.timeline(claim_id) == before


def test_a_key_belongs_to_its_claim(app: tuple[TestClient, InlinePipeline], claim_id: str) -> None:
    client, pipeline = app
    assert _pay(client, claim_id, BODY, "per-claim").status_code == 200
    doc = json.loads(json.dumps(example("commercial_statement")))
    doc["event_id"], doc["session"]["session_id"] = f"evt_{uuid.uuid4().hex[:12]}", f"ses_{uuid.uuid4().hex[:12]}"
    doc["payment"] = {"amount_collected": "60.00", "method": "card"}
    second = pipeline.post(doc)
    answer = _pay(client, second, BODY, "per-claim")
    assert answer.status_code == 200 and answer.json()["replayed"] is False
    assert len(_payments(pipeline, second)) == 1


def test_tries_at_the_same_moment_record_the_payment_exactly_once(
        app: tuple[TestClient, InlinePipeline], claim_id: str) -> None:
    client, pipeline = app
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: _pay(client, claim_id, BODY, "at-once"), range(6)))
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    assert sorted(a.json()["replayed"] for a in answers) == [False] + [True] * 5
    assert len({a.json()["document_number"] for a in answers}) == 1
    assert len(_payments(pipeline, claim_id)) == 1
    assert pipeline.claim(claim_id).superbill["amount_paid"] == answers[0].json()["amount_paid"]  # type: ignore[index]


def test_a_try_that_found_no_kept_answer_yet_is_stopped_by_the_atomic_write(
        app: tuple[TestClient, InlinePipeline], claim_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two tries at once: the second read no kept answer before the first wrote; the write itself refuses it."""
    _, pipeline = app
    first = client_payments.record_payment(pipeline.deps, claim_id, amount="20.00", method="cash", by="Dana",
                                           source="test", idempotency_key="race")
    assert first.ok and not first.replayed
    looked: list[str] = []
    real = pipeline.ledger.kept_payment

    def not_yet_then_real(cid: str, key: str) -> Any:
        looked.append(key)
        return None if len(looked) == 1 else real(cid, key)

    monkeypatch.setattr(pipeline.ledger, "kept_payment", not_yet_then_real)
    second = client_payments.record_payment(pipeline.deps, claim_id, amount="20.00", method="cash", by="Dana",
                                            source="test", idempotency_key="race")
    assert looked == ["race", "race"]
    assert second.replayed and second.as_dict() == first.as_dict() | {"replayed": True}
    assert len(_payments(pipeline, claim_id)) == 1


def test_threads_recording_the_same_request_record_it_once(
        app: tuple[TestClient, InlinePipeline], claim_id: str) -> None:
    _, pipeline = app
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: client_payments.record_payment(
            pipeline.deps, claim_id, amount="20.00", method="cash", by="Dana", source="test",
            idempotency_key="threads"), range(8)))
    assert all(r.ok for r in results), [r.message for r in results]
    assert sorted(r.replayed for r in results) == [False] + [True] * 7
    assert len(_payments(pipeline, claim_id)) == 1
