"""`POST /v1/ops/claims/{id}/apply-update` on a real Redis server: the claim shows the booking system's update
waiting (`pending_event`); a dry run stores nothing; an update applied from an older version of the claim's event
is 409 naming `based_on`; applied once it is no longer waiting, and a second apply is 409 with nothing written."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline.adapters.redis_server import embedded_redis
from pipeline.application.ingest import receive
from tests.examples import example
from tests.integration.application.harness import InlinePipeline
from tests.web_app import web_app_on

TOKEN = "ops-token-for-updates"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[TestClient, InlinePipeline, str]]:
    with embedded_redis(tmp_path / "redis") as url:
        pipeline = InlinePipeline(url)
        first = example("va_missing_referral")
        claim_id = pipeline.post(first)
        again = copy.deepcopy(first)
        again["event_id"] = "evt_referral_added"
        again["va_referral"] = example("va_direct")["va_referral"]
        receive(pipeline.ledger, json.dumps(again).encode(), lambda *_: None, source="test")
        with web_app_on(url, ops_token=TOKEN, webhook_secret="secret-for-updates") as web:
            yield TestClient(web), pipeline, claim_id


def test_the_update_is_shown_previewed_refused_on_an_old_version_then_applied_once(
        app: tuple[TestClient, InlinePipeline, str]) -> None:
    client, pipeline, claim_id = app
    shown = client.get(f"/v1/ops/claims/{claim_id}", headers=AUTH).json()
    waiting = shown["pending_event"]
    assert waiting["event_id"] == "evt_referral_added" and waiting["applicable"] == ["va_referral"]
    assert waiting["sections"][0]["update"] == example("va_direct")["va_referral"]

    ahead = client.post(f"/v1/ops/claims/{claim_id}/apply-update?dry_run=true", headers=AUTH)
    assert ahead.status_code == 200 and ahead.json()["preview"]["route"] == "direct_billing", ahead.text
    assert "va_referral" not in pipeline.ledger.event_document(claim_id)

    pipeline.amend(claim_id, {"client": {"phone": "312-555-0188"}})  # someone else, after the page was read
    stale = client.post(f"/v1/ops/claims/{claim_id}/apply-update?based_on={shown['event_version']}", headers=AUTH)
    assert stale.status_code == 409 and [e["path"] for e in stale.json()["errors"]] == ["based_on"]
    assert "va_referral" not in pipeline.ledger.event_document(claim_id)

    now = client.get(f"/v1/ops/claims/{claim_id}", headers=AUTH).json()["event_version"]
    done = client.post(f"/v1/ops/claims/{claim_id}/apply-update?based_on={now}&resubmit=true", headers=AUTH)
    assert done.status_code == 200, done.text
    assert done.json()["applied"] == ["va_referral"] and done.json()["resubmitted"] is True
    assert done.json()["not_applicable"] == ["client"]  # the phone amended since: never undone by the update
    assert pipeline.ledger.event_document(claim_id)["va_referral"] == example("va_direct")["va_referral"]
    assert pipeline.ledger.event_document(claim_id)["client"]["phone"] == "312-555-0188"
    assert pipeline.claim(claim_id).status == "received"
    assert client.get(f"/v1/ops/claims/{claim_id}", headers=AUTH).json()["pending_event"] is None
    [applied] = [e for e in pipeline.ledger.timeline(claim_id) if e.get("applied_event")]
    assert applied["by"] == "shared ops token (ops-token)" and applied["source"] == "api"

    twice = client.post(f"/v1/ops/claims/{claim_id}/apply-update", headers=AUTH)
    assert twice.status_code == 409 and "no update from the booking system" in twice.json()["message"]
    kinds = [e["kind"] for e in pipeline.ledger.timeline(claim_id)]
    assert kinds.count("amended") == 2 and kinds.count("resubmitted") == 1
    missing = client.post("/v1/ops/claims/no_such_claim/apply-update", headers=AUTH)
    assert missing.status_code == 404
