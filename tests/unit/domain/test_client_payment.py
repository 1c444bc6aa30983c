"""The rules of a payment the client makes after the visit: the amount as typed, the checks, the statuses that
take one, and what it changes on the event, the superbill and the warnings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipeline.domain.client_payment import (
    apply_payment,
    balance_of,
    check_payment,
    parse_amount,
    where_refused,
)
from schemas.decision import Finding

DOS = date(2026, 11, 20)
TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(("text", "amount"), [("40", "40.00"), ("40.5", "40.50"), (" 40.00 ", "40.00"),
                                              ("$12.34", "12.34"), ("0.01", "0.01")])
def test_an_amount_as_typed(text: str, amount: str) -> None:
    assert parse_amount(text) == (Decimal(amount), None)


@pytest.mark.parametrize(("text", "why"), [("", "is required"), ("0", "more than 0.00"), ("0.00", "more than 0.00"),
                                           ("-5", "more than 0.00"), ("1.005", "two decimals"),
                                           ("1e3", "such as 40.00"), ("ten", "such as 40.00"),
                                           ("1,000", "such as 40.00"), ("NaN", "such as 40.00"),
                                           ("\u0664\u0660", "such as 40.00"), ("\uff14\uff10", "such as 40.00")])
def test_an_amount_that_is_not_one(text: str, why: str) -> None:
    value, message = parse_amount(text)
    assert value is None and message is not None and why in message


@pytest.mark.parametrize("text", ["1" + "0" * 30, "9" * 5000, "12345678901.00"])
def test_an_amount_too_large_to_be_a_payment_is_refused_not_an_error(text: str) -> None:
    value, message = parse_amount(text)
    assert value is None and message == "is too large to be a payment (at most 9999999999.99)"


def check(amount: str = "40.00", method: str = "card", received_on: date = TODAY,
          balance: str = "200.00") -> list[tuple[str, str]]:
    return check_payment(amount=Decimal(amount), method=method, received_on=received_on,
                         balance_due=Decimal(balance), date_of_service=DOS, today=TODAY)


def test_a_payment_up_to_the_balance_on_any_day_from_the_session_to_today_is_taken() -> None:
    assert check() == [] and check("200.00") == [] and check(received_on=DOS) == []
    for method in ("card", "cash", "check", "hsa", "fsa"):
        assert check(method=method) == []


def test_more_than_the_balance_says_the_balance() -> None:
    assert check("200.01") == [("amount", "is more than the balance due (200.00): record at most 200.00")]
    assert check("1.00", balance="0.00") == [("amount", "nothing is due on this claim: its balance is 0.00")]


def test_each_field_wrong_is_named() -> None:
    assert [f for f, _ in check(amount="0", method="none", received_on=date(2026, 11, 25))] == [
        "amount", "method", "received_on"]
    assert check(amount="-1")[0] == ("amount", "must be more than 0.00")
    assert check(amount="1.001")[0] == ("amount", "must have at most two decimals")
    assert check(received_on=date(2026, 11, 19)) == [("received_on", "is before the session (2026-11-20)")]
    assert check(method="bitcoin") == [("method", "must be one of card, cash, check, hsa, fsa")]


@pytest.mark.parametrize(("status", "route", "kind", "taken"), [
    ("statement_ready", "statement_only", "self_pay", True),
    ("statement_ready", "statement_only", "commercial", True),
    ("needs_attention", "needs_attention", "commercial", True),
    ("needs_attention", "needs_attention", "va_ccn", False),  # a veteran owes nothing
    ("accepted", "direct_billing", "va_ccn", False),
    ("paid", "direct_billing", "va_ccn", False),
    ("accepted", "courtesy_submission", "commercial", False),  # its superbill went to the billing service
    ("routed", "statement_only", "self_pay", False),  # on its way: a statement in moments
    ("received", None, None, False),
    ("voided", "direct_billing", "commercial", False),
])
def test_the_claims_that_take_a_payment(status: str, route: str | None, kind: str | None, taken: bool) -> None:
    assert (where_refused(status=status, route=route, coverage_kind=kind) is None) is taken


def test_the_refusals_say_why() -> None:
    assert "veteran owes nothing" in (where_refused(status="needs_attention", route="needs_attention",
                                                    coverage_kind="va_ccn") or "")
    assert "billing service" in (where_refused(status="accepted", route="courtesy_submission",
                                               coverage_kind="commercial") or "")
    assert "try again" in (where_refused(status="routed", route="statement_only", coverage_kind="self_pay") or "")


BILL = {"total_charge": "260.00", "amount_paid": "60.00", "balance_due": "200.00", "lines": []}
DUE = Finding(code="balance_due", message="paid 60.00 of 260.00: 200.00 is due")
OTHER = Finding(code="goal_missing", message="no goal")


def test_a_part_payment_adds_to_what_was_collected_and_updates_the_balance_warning() -> None:
    applied = apply_payment(payment={"amount_collected": "60.00", "method": "card"}, superbill=BILL,
                            warnings=[DUE, OTHER], amount=Decimal("50.00"), method="cash")
    assert applied.payment == {"amount_collected": "110.00", "method": "card"}  # the visit's method stays
    assert applied.superbill is not None and applied.superbill["amount_paid"] == "110.00"
    assert applied.superbill["balance_due"] == "150.00" and applied.superbill["lines"] == []
    assert (applied.amount_paid, applied.balance_due) == (Decimal("110.00"), Decimal("150.00"))
    due = [w for w in applied.warnings if w.code == "balance_due"]
    assert [w.message for w in due] == ["paid 110.00 of 260.00: 150.00 is due"]
    assert {w.code for w in applied.warnings} == {"balance_due", "goal_missing"}


def test_paid_in_full_drops_the_balance_warning_and_a_visit_without_payment_takes_the_method() -> None:
    applied = apply_payment(payment={"amount_collected": "0.00", "method": "none"}, superbill=BILL,
                            warnings=[DUE], amount=Decimal("260.00"), method="hsa")
    assert applied.payment == {"amount_collected": "260.00", "method": "hsa"}
    assert applied.balance_due == Decimal("0.00") and applied.warnings == []
    assert applied.superbill is not None and applied.superbill["balance_due"] == "0.00"


def test_balance_of_a_claim() -> None:
    assert balance_of(BILL, {"amount_collected": "60.00"}) == Decimal("200.00")
    assert balance_of(BILL, {"amount_collected": "300.00"}) == Decimal("0.00")
    assert balance_of(None, {"amount_collected": "0.00"}) == Decimal("0.00")
