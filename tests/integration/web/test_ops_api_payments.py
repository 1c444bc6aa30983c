"""`POST /v1/ops/claims/{claim_id}/payments` on a real Redis: a payment recorded by name with its replacement
statement queued, 422 field by field, 409 for a claim that takes none or changed since it was read, 404, and
what clients owe (`GET /v1/ops/ar`) after it. The claims were made by the pipeline's own steps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pipeline.adapters.redis_server import embedded_redis
from pipeline.adapters.redis_staff import RedisStaffStore
from tests.examples import example
from tests.integration.application.harness import InlinePipeline
from tests.web_app import web_app_on

TOKEN = "ops-token-for-payments"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, InlinePipeline, str, str]]:
    with embedded_redis(Path(tmp_path_factory.mktemp("redis"))) as url:
        pipeline = InlinePipeline(url)
        doc = json.loads(json.dumps(example("commercial_statement")))
        doc["payment"] = {"amount_collected": "60.00", "method": "card"}
        statement = pipeline.post(doc)
        va = pipeline.park("ses_pay_va")
        with web_app_on(url, ops_token=TOKEN, webhook_secret="secret-for-payments") as web:
            yield TestClient(web), pipeline, statement, va


def _paths(answer: Any) -> list[str]:
    return [e["path"] for e in answer.json()["errors"]]


@pytest.mark.parametrize("body, paths", [
    ({}, ["amount", "method", "by"]),
    ([], ["(body)"]),
    ({"amount": 40, "method": "card", "by": "Dana"}, ["amount"]),
    ({"amount": "40.00", "method": "bitcoin", "by": "Dana"}, ["method"]),
    ({"amount": "40.00", "method": "card", "by": "Dana", "received_on": "yesterday"}, ["received_on"]),
    ({"amount": "40.00", "method": "card", "by": "Dana", "note": "x"}, ["note"]),
    ({"amount": "40.00", "method": "card", "by": " "}, ["by"]),
    ({"amount": "0.00", "method": "card", "by": "Dana"}, ["amount"]),
    ({"amount": "40.001", "method": "card", "by": "Dana"}, ["amount"]),
    ({"amount": "-1", "method": "card", "by": "Dana"}, ["amount"]),
    ({"amount": "500.00", "method": "card", "by": "Dana"}, ["amount"]),
    ({"amount": "1" + "0" * 30, "method": "card", "by": "Dana"}, ["amount"]),
    ({"amount": "40.00", "method": "card", "by": "Dana", "received_on": "2026-11-01"}, ["received_on"]),
])
def test_a_payment_it_cannot_take_is_refused_field_by_field_and_nothing_is_written(
        app: tuple[TestClient, InlinePipeline, str, str], body: Any, paths: list[str]) -> None:
    client, pipeline, claim_id, _ = app
    before = pipeline.ledger.timeline(claim_id)
    answer = client.post(f"/v1/ops/claims/{claim_id}/payments", json=body, headers=AUTH)
    assert answer.status_code == 422, answer.text
    assert _paths(answer) == paths
    assert pipeline.ledger.timeline(claim_id) == before


@pytest.mark.parametrize("route", ["payments", "correct"])
def test_a_body_nested_too_deep_to_read_is_400_and_nothing_is_written(
        app: tuple[TestClient, InlinePipeline, str, str], route: str) -> None:
    client, pipeline, claim_id, _ = app
    before = pipeline.ledger.timeline(claim_id)
    answer = client.post(f"/v1/ops/claims/{claim_id}/{route}", content=b"[" * 100_000, headers=AUTH)
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"] == [{"path": "(body)", "message": "is not JSON"}]
    assert pipeline.ledger.timeline(claim_id) == before


def test_more_than_the_balance_says_the_balance(app: tuple[TestClient, InlinePipeline, str, str]) -> None:
    client, _, claim_id, _ = app
    answer = client.post(f"/v1/ops/claims/{claim_id}/payments", headers=AUTH,
                         json={"amount": "500.00", "method": "card", "by": "Dana"})
    assert "balance due (200.00)" in answer.json()["errors"][0]["message"]


def test_a_payment_is_recorded_by_name_then_one_from_the_older_version_is_refused(
        app: tuple[TestClient, InlinePipeline, str, str]) -> None:
    client, pipeline, claim_id, _ = app
    seen = client.get(f"/v1/ops/claims/{claim_id}", headers=AUTH).json()
    first = pipeline.claim(claim_id).document_number
    answer = client.post(f"/v1/ops/claims/{claim_id}/payments?based_on={seen['event_version']}", headers=AUTH,
                         json={"amount": "40.00", "method": "cash", "by": "Dana Front"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["ok"], body["amount_paid"], body["balance_due"], body["replaces"]) == (True, "100.00", "160.00",
                                                                                         first)
    assert body["statement"] == "queued" and body["document_number"] != first
    entry = [e for e in pipeline.ledger.timeline(claim_id) if e["kind"] == "payment.recorded"][-1]
    assert entry["by"] == "Dana Front (via the shared ops token)" and entry["amount"] == "40.00"
    [audited] = [e for e in RedisStaffStore(pipeline.ledger.r).audit_log(20)
                 if e["action"] == "claim.payment_recorded"]
    assert (audited["via"], audited["taken_by"], audited["amount"]) == ("api", "Dana Front", "40.00")
    assert pipeline.claim(claim_id).statement_delivery == "queued"

    again = client.post(f"/v1/ops/claims/{claim_id}/payments?based_on={seen['event_version']}", headers=AUTH,
                        json={"amount": "40.00", "method": "cash", "by": "Lee Desk"})
    assert again.status_code == 409 and _paths(again) == ["based_on"]
    assert pipeline.claim(claim_id).superbill["amount_paid"] == "100.00"  # type: ignore[index]

    owed = client.get("/v1/ops/ar", headers=AUTH).json()["clients"]
    assert owed["outstanding"] == "160.00" and [r["claim_id"] for r in owed["balances"]] == [claim_id]


def test_a_claim_that_takes_no_payment_is_409_and_an_unknown_one_404(
        app: tuple[TestClient, InlinePipeline, str, str]) -> None:
    client, _, _, va = app
    body = {"amount": "10.00", "method": "cash", "by": "Dana"}
    answer = client.post(f"/v1/ops/claims/{va}/payments", json=body, headers=AUTH)
    assert answer.status_code == 409 and _paths(answer) == ["claim_id"]
    assert "veteran owes nothing" in answer.json()["message"]
    missing = client.post("/v1/ops/claims/nope/payments", json=body, headers=AUTH)
    assert missing.status_code == 404 and _paths(missing) == ["claim_id"]
    assert client.post("/v1/ops/claims/nope/payments", json=body).status_code == 401
