"""The claim page's "Record a payment" form, in this process on a real Redis server: Mary, signed in with her
own account, records a client's payment after the visit; a wrong field is said beside it with what was typed
kept; a payment from a page opened before another one was recorded is refused; a VA claim has no form. The
claims were made by the pipeline's own steps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline.adapters.redis_server import embedded_redis
from tests.examples import example
from tests.integration.application.harness import InlinePipeline
from tests.integration.web.test_ops_page_selection import hidden_fields, mary_signed_in


@pytest.fixture
def page(tmp_path: Path) -> Iterator[tuple[TestClient, InlinePipeline, str]]:
    with embedded_redis(tmp_path / "redis") as url, pytest.MonkeyPatch.context() as mp:
        pipeline = InlinePipeline(url)
        doc = json.loads(json.dumps(example("commercial_statement")))
        doc["payment"] = {"amount_collected": "60.00", "method": "card"}
        claim_id = pipeline.post(doc)
        pipeline.park("ses_pay_va")
        with mary_signed_in(url, mp) as client:
            yield client, pipeline, claim_id


def _form_fields(html: str) -> dict[str, str]:
    return hidden_fields(html, 'id="payment-form"')


def test_mary_records_a_payment_and_the_page_lists_it_by_her_name(
        page: tuple[TestClient, InlinePipeline, str]) -> None:
    client, pipeline, claim_id = page
    html = client.get(f"/ops/claims/{claim_id}").text
    assert "Record a payment" in html and "balance due <b>200.00</b>" in html
    hidden = _form_fields(html)
    done = client.post(f"/ops/claims/{claim_id}/payments", follow_redirects=True,
                       data={**hidden, "amount": "50.00", "method": "cash", "received_on": ""})
    assert done.status_code == 200 and "Payment recorded: 150.00 still due" in done.text
    assert 'id="client-payments"' in done.text and "Mary Front (mary)" in done.text
    assert pipeline.claim(claim_id).superbill["balance_due"] == "150.00"  # type: ignore[index]
    assert "balance due <b>150.00</b>" in done.text
    owed = client.get("/ops/ar").text
    table = owed[owed.index('id="client-balances"'):]
    assert "What clients owe" in owed and claim_id in table and "150.00" in table

    stale = client.post(f"/ops/claims/{claim_id}/payments",
                        data={**hidden, "amount": "50.00", "method": "cash", "received_on": ""})
    assert stale.status_code == 409 and "changed after you opened it" in stale.text
    assert pipeline.claim(claim_id).superbill["balance_due"] == "150.00"  # type: ignore[index]


def test_a_wrong_field_is_said_beside_it_and_what_was_typed_is_kept(
        page: tuple[TestClient, InlinePipeline, str]) -> None:
    client, pipeline, claim_id = page
    hidden = _form_fields(client.get(f"/ops/claims/{claim_id}").text)
    answer = client.post(f"/ops/claims/{claim_id}/payments",
                         data={**hidden, "amount": "999.00", "method": "", "received_on": "2026-11-01"})
    assert answer.status_code == 422
    text = answer.text
    assert 'id="payment-amount-error"' in text and "balance due (200.00)" in text and 'value="999.00"' in text
    assert 'id="payment-method-error"' in text and 'id="payment-received_on-error"' in text
    bad_day = client.post(f"/ops/claims/{claim_id}/payments",
                          data={**hidden, "amount": "10.00", "method": "cash", "received_on": "11/20/2026"})
    assert bad_day.status_code == 422 and "must be a date" in bad_day.text
    assert not [e for e in pipeline.ledger.timeline(claim_id) if e["kind"] == "payment.recorded"]


def test_an_amount_longer_than_the_field_is_refused_never_recorded_as_its_first_characters(
        page: tuple[TestClient, InlinePipeline, str]) -> None:
    client, pipeline, claim_id = page
    hidden = _form_fields(client.get(f"/ops/claims/{claim_id}").text)
    typed = "0" * 38 + "40.009"  # its first 40 characters read 40
    answer = client.post(f"/ops/claims/{claim_id}/payments",
                         data={**hidden, "amount": typed, "method": "cash", "received_on": ""})
    assert answer.status_code == 422 and 'id="payment-amount-error"' in answer.text
    assert not [e for e in pipeline.ledger.timeline(claim_id) if e["kind"] == "payment.recorded"]
    assert pipeline.claim(claim_id).superbill["balance_due"] == "200.00"  # type: ignore[index]


def test_without_the_csrf_token_nothing_is_recorded_and_a_va_claim_has_no_form(
        page: tuple[TestClient, InlinePipeline, str]) -> None:
    client, pipeline, claim_id = page
    hidden = _form_fields(client.get(f"/ops/claims/{claim_id}").text)
    refused = client.post(f"/ops/claims/{claim_id}/payments",
                          data={"based_on": hidden["based_on"], "amount": "10.00", "method": "cash"})
    assert refused.status_code == 403
    assert not [e for e in pipeline.ledger.timeline(claim_id) if e["kind"] == "payment.recorded"]
    assert 'id="payment-form"' not in client.get("/ops/claims/ses_pay_va").text
