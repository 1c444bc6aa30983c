"""A payer that splits a claim pays one part and denies the other: the claim is paid for its part and shows
the part denied with its reasons, whatever the order of the two (a real Redis, the posting path the workers
run)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from pipeline.application import remittances
from pipeline.application.alerts import alert_notice
from pipeline.application.exports import claim_row
from pipeline.application.ops import show_claim
from pipeline.application.receivables import receivables
from pipeline.entrypoints.cli.text import payment_lines
from pipeline.entrypoints.web.ops_page.money import payment_block
from tests.integration.application.test_remittance_order_and_reuse import FIRST_PART, two_checks, x835
from tests.integration.application.test_remittance_posting import CLAIM, claim, store, world

__all__ = ["world"]

# the second line denied: 20.00 written off (CO-45), 100.00 left to the patient (PR-204: not covered)
DENIED_SECOND_PART = ("CLP*ses_va_direct*4*120*0*100*VA*PCN2*11*1~NM1*QC*1*DOE*JOHN****MI*123456789~"
                      "SVC*HC:97124:GP*120*0**2~DTM*472*20261120~CAS*CO*45*20~CAS*PR*204*100~"
                      "REF*6R*ses_va_direct-2~LQ*HE*N130~")
PAID = x835(1, "112", "CHK1", [FIRST_PART])
DENIED = x835(2, "0", "NOPAY2", [DENIED_SECOND_PART], paid_on="20261206")
ORDERS = {
    "paid, then denied": [PAID, DENIED],
    "denied, then paid": [DENIED, PAID],
    "one file, paid first": [x835(3, "112", "CHK1", [FIRST_PART, DENIED_SECOND_PART])],
    "one file, denied first": [x835(3, "112", "CHK1", [DENIED_SECOND_PART, FIRST_PART])],
    "one file, two checks": [two_checks(x835(4, "0", "NOPAY2", [DENIED_SECOND_PART], paid_on="20261206"),
                                        x835(4, "112", "CHK1", [FIRST_PART]), 4)],
}


@pytest.mark.parametrize("files", list(ORDERS.values()), ids=list(ORDERS))
def test_a_split_claim_paid_for_one_part_and_denied_the_other_shows_both_once(world: Any, files: list[str]) -> None:
    deps, peer, _ = world
    for n, x12 in enumerate(files):
        peer.deliver(x12)
        if n == 0:
            remittances.fetch_and_post(deps)  # two files: the first is posted before the second comes
    remittances.fetch_and_post(deps)
    after = claim(deps)
    assert (after.status, after.paid_amount, after.adjusted_amount, after.patient_responsibility) == (
        "paid", Decimal("112.00"), Decimal("48.00"), Decimal("100.00"))
    assert after.denial_reasons == []
    [part] = after.denied_parts
    assert (part["charge"], part["lines"], part["adjusted"], part["patient_responsibility"]) == (
        "120.00", [2], "20.00", "100.00")
    assert [r["code"] for r in part["reasons"]] == ["CO-45", "PR-204", "N130"]
    assert "not covered" in part["reasons"][1]["text"]
    assert [c["outcome"] for r in store(deps).all() for c in r.claims] == ["posted", "posted"]
    # the patient's share of the denied part is what is owed; the write-off is not
    owed = receivables(deps.ledger, today=date(2026, 12, 20), warning_days=150)
    assert (owed["totals"]["paid"], owed["totals"]["adjusted"], owed["totals"]["outstanding"]) == (
        "112.00", "48.00", "100.00")
    assert claim_row(after)["denied_part_codes"] == "CO-45|PR-204|N130"
    shown = show_claim(deps.ledger, CLAIM)
    assert shown is not None and shown["denied_parts"] == after.denied_parts
    page = payment_block(shown)
    assert "Part denied" in page and "120.00 denied (line 2" in page and "patient owes 100.00" in page
    notice = alert_notice(after)  # a VA claim: the share left to the veteran is what a person must look at
    assert (notice["type"], notice["denied_part_codes"]) == ("claim.patient_responsibility",
                                                             ["CO-45", "PR-204", "N130"])
    written_off = alert_notice(after.model_copy(update={"patient_responsibility": Decimal(0)}))
    assert written_off["type"] == "claim.part_denied"
    assert "DOE" not in str(notice) and "123456789" not in str(notice)
    assert "part denied: 120.00 (lines 2), written off 20.00, patient owes 100.00" in "\n".join(
        payment_lines(shown))
    # every file again under new control numbers: nothing changes
    for x12 in files:
        peer.deliver(x12.replace("CLEARINGHOUSE  ", "CLEARINGHOUS2  "))
    assert remittances.fetch_and_post(deps)["claims_posted"] == 0
    assert claim(deps) == after.model_copy(update={"updated_at": claim(deps).updated_at})


def test_a_split_claim_denied_in_both_parts_keeps_both_denials(world: Any) -> None:
    deps, peer, _ = world
    denied_first = ("CLP*ses_va_direct*4*140*0*0*VA*PCN1*11*1~NM1*QC*1*DOE*JOHN****MI*123456789~"
                    "SVC*HC:97140:GP:XS*140*0**2~DTM*472*20261120~CAS*CO*197*140~REF*6R*ses_va_direct-1~")
    peer.deliver(x835(1, "0", "NOPAY1", [denied_first]))
    peer.deliver(DENIED)
    remittances.fetch_and_post(deps)
    after = claim(deps)
    assert (after.status, after.adjusted_amount, after.patient_responsibility) == (
        "denied", Decimal("160.00"), Decimal("100.00"))
    assert [r["code"] for r in after.denial_reasons] == ["CO-197", "CO-45", "PR-204", "N130"]
