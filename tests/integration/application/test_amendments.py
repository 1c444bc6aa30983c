"""Amendments (CONTRACT.md 3.3): `prescription` and `va_referral` are replaced whole; `client`, `coverage`,
`payment` and `session` are merged one level deep; a section set to null is removed; the amendment takes
effect at the next resubmission, and the document sent then carries it."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.application import ops
from tests.integration.application.harness import InlinePipeline, example


@pytest.fixture
def pipeline(redis_url: str) -> InlinePipeline:
    return InlinePipeline(redis_url)


def va_with(**changes: Any) -> dict[str, Any]:
    doc = example("va_direct")
    for section, values in changes.items():
        doc[section].update(values)
    return doc


def codes(pipeline: InlinePipeline, claim_id: str) -> list[str]:
    return [p.code for p in pipeline.claim(claim_id).problems]


def test_a_va_referral_amendment_replaces_the_referral_and_the_837p_carries_it(pipeline: InlinePipeline) -> None:
    claim_id = pipeline.post(va_with(va_referral={"referral_number": "VA12"}))
    assert codes(pipeline, claim_id) == ["va_referral_number_invalid"]
    fixed = {"referral_number": "123-456789-01", "administrator": "optum", "approved_on": "2026-09-28",
             "valid_from": "2026-10-01", "valid_until": "2026-12-30", "visits_authorized": 3}
    pipeline.amend(claim_id, {"va_referral": fixed})
    assert pipeline.claim(claim_id).status == "needs_attention"  # not before the resubmission
    pipeline.resubmit(claim_id)
    assert (pipeline.claim(claim_id).route, pipeline.claim(claim_id).status) == ("direct_billing", "accepted")
    stored = pipeline.ledger.event_document(claim_id)["va_referral"]
    assert stored == fixed  # replaced whole: region, seoc and procedures are gone, not merged back
    assert "REF*9F*123-456789-01~" in pipeline.clearinghouse.taken[f"{claim_id}-2"]


def test_a_va_referral_amendment_that_leaves_the_procedures_out_removes_them(pipeline: InlinePipeline) -> None:
    claim_id = pipeline.post(va_with(va_referral={"procedures": ["97124"]}))
    assert codes(pipeline, claim_id) == ["va_procedure_not_authorized"]
    referral = {k: v for k, v in example("va_direct")["va_referral"].items() if k != "procedures"}
    pipeline.amend(claim_id, {"va_referral": referral})
    pipeline.resubmit(claim_id)
    assert pipeline.claim(claim_id).status == "accepted"


def test_a_client_amendment_is_merged_and_the_837p_carries_it(pipeline: InlinePipeline) -> None:
    address = {**example("va_direct")["client"]["address"], "state": "ZZ"}
    claim_id = pipeline.post(va_with(client={"address": address}))
    assert codes(pipeline, claim_id) == ["claim_data_invalid"]
    pipeline.amend(claim_id, {"client": {"address": {**address, "state": "MO", "postal_code": "63101"},
                                         "last_name": "Doe-Smith"}})
    pipeline.resubmit(claim_id)
    assert pipeline.claim(claim_id).status == "accepted"
    client = pipeline.ledger.event_document(claim_id)["client"]
    assert (client["first_name"], client["date_of_birth"], client["last_name"]) == ("John", "1970-01-01",
                                                                                    "Doe-Smith")
    x12 = pipeline.clearinghouse.taken[f"{claim_id}-2"]
    assert "NM1*IL*1*DOE-SMITH*JOHN****MI*123456789~N3*456 OAK AVE~N4*SPRINGFIELD*MO*63101~" in x12


def test_a_coverage_amendment_is_merged_and_the_837p_carries_it(pipeline: InlinePipeline) -> None:
    claim_id = pipeline.post(va_with(coverage={"member_id": "12*34"}))  # an X12 separator in the member id
    assert codes(pipeline, claim_id) == ["claim_data_invalid"]
    pipeline.amend(claim_id, {"coverage": {"member_id": "987654321"}})
    pipeline.resubmit(claim_id)
    assert pipeline.claim(claim_id).status == "accepted"
    coverage = pipeline.ledger.event_document(claim_id)["coverage"]
    assert (coverage["kind"], coverage["member_id"]) == ("va_ccn", "987654321")  # merged: kind kept
    assert "NM1*IL*1*DOE*JOHN****MI*987654321~" in pipeline.clearinghouse.taken[f"{claim_id}-2"]


def test_a_coverage_amendment_can_change_the_route(pipeline: InlinePipeline) -> None:
    claim_id = pipeline.post(example("commercial_courtesy") | {"prescription": None})
    assert codes(pipeline, claim_id) == ["prescription_missing"]  # a courtesy submission needs one
    pipeline.amend(claim_id, {"coverage": {"courtesy_submission": False}})
    pipeline.resubmit(claim_id)
    claim = pipeline.claim(claim_id)
    assert (claim.route, claim.status) == ("statement_only", "statement_ready")
    assert "courtesy_not_requested" in [w.code for w in claim.warnings]
    assert pipeline.billing_service.sent == 0


def test_a_prescription_amendment_replaces_the_prescription(pipeline: InlinePipeline) -> None:
    rx = example("va_direct")["prescription"]
    claim_id = pipeline.post(va_with(prescription={"signed": False}))
    assert codes(pipeline, claim_id) == ["prescription_unsigned"]
    pipeline.amend(claim_id, {"prescription": {k: v for k, v in rx.items() if k != "procedures"}})
    pipeline.resubmit(claim_id)
    assert pipeline.claim(claim_id).status == "accepted"
    assert "procedures" not in pipeline.ledger.event_document(claim_id)["prescription"]


def test_an_amendment_of_an_accepted_claim_is_refused_and_changes_nothing(pipeline: InlinePipeline) -> None:
    claim_id = pipeline.post(example("va_direct"))
    before = pipeline.ledger.event_document(claim_id)
    result = ops.amend(pipeline.ledger, claim_id, {"coverage": {"member_id": "987654321"}}, source="test")
    assert not result.ok and "accepted" in result.message
    assert pipeline.ledger.event_document(claim_id) == before
