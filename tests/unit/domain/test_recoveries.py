"""Provider-level recoveries (PLB) that move a claim's money: which codes, what names the claim, how much."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from pipeline.domain.recoveries import (
    RECOVERY_WAITS,
    fully_recovered,
    moves_claim_money,
    received,
    recovery_problem,
    reference_candidates,
    why_no_payment_will_come,
)
from schemas.remittance import ProviderAdjustment


@pytest.mark.parametrize(("code", "moves"), [("WO", True), ("FB", True), ("J1", True), ("L6", False),
                                             ("72", False), ("CS", False)])
def test_only_recoveries_move_a_claims_money(code: str, moves: bool) -> None:
    assert moves_claim_money(ProviderAdjustment(reason=code, amount=Decimal("1"))) is moves


def test_a_reference_is_tried_whole_then_by_its_parts() -> None:
    assert reference_candidates("ses_1 PCN9") == ["ses_1 PCN9", "ses_1", "PCN9"]
    assert reference_candidates("ses_1,PCN9;T1/x|y") == ["ses_1,PCN9;T1/x|y", "ses_1", "PCN9", "T1", "x", "y"]
    assert reference_candidates(" PCN9 ") == ["PCN9"]
    assert reference_candidates("") == [] and reference_candidates(None) == []


def test_a_recovery_never_takes_more_than_the_claim_received() -> None:
    assert received(Decimal("260"), Decimal("60")) == Decimal("200")
    assert received(None, None) == Decimal(0)
    assert recovery_problem(Decimal("200"), Decimal("260"), Decimal("60")) is None
    problem = recovery_problem(Decimal("200.01"), Decimal("260"), Decimal("60"))
    assert problem == "the payer recovers 200.01 but the claim has 200.00 received from the payer"
    # money added back (a delayed recovery) has no limit; a claim holding it may give it back
    assert recovery_problem(Decimal("-260"), Decimal("0"), None) is None
    assert recovery_problem(Decimal("260"), Decimal("0"), Decimal("-260")) is None


def test_fully_recovered_only_when_nothing_is_left() -> None:
    assert fully_recovered(Decimal("260"), Decimal("260"), None)
    assert not fully_recovered(Decimal("259.99"), Decimal("260"), None)
    assert not fully_recovered(Decimal("-10"), Decimal("0"), Decimal("10"))


@pytest.mark.parametrize(("status", "waited", "stops"), [
    ("accepted", timedelta(0), None), ("submitted", timedelta(days=29), None), ("rejected", timedelta(1), None),
    ("voided", timedelta(0), "voided"), ("accepted", RECOVERY_WAITS, "within 30 days"),
    ("received", RECOVERY_WAITS + timedelta(days=1), "within 30 days")])
def test_a_recovery_waits_for_its_claims_payment_while_one_can_come_and_not_forever(
        status: str, waited: timedelta, stops: str | None) -> None:
    why = why_no_payment_will_come(status, waited)
    assert why is None if stops is None else (why is not None and stops in why)
