"""What was owed at the end of a past day: only the claims served by then, each as its timeline says it
stood then (payments from the day the payer paid them), ages counted to that day, never a day to come."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pipeline.application.claim_as_of import claim_as_of
from pipeline.application.receivables import FutureDay, accounts_receivable, receivables
from schemas.claim import Claim

CHICAGO = ZoneInfo("America/Chicago")


def at(day: str, hour: int = 15) -> float:
    """A timeline time: `hour` o'clock UTC on `day` (9 or 10 in the morning in Chicago for 15)."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC).timestamp()


def sent(day: str) -> list[dict[str, Any]]:
    """A direct-billing claim taken in, sent and accepted on `day`."""
    return [{"at": at(day), "kind": "received", "to": "received"},
            {"at": at(day), "kind": "routed", "to": "routed", "route": "direct_billing"},
            {"at": at(day), "kind": "submission.started", "to": "submitting", "peer": "clearinghouse"},
            {"at": at(day), "kind": "submitted", "to": "submitted"},
            {"at": at(day, 16), "kind": "accepted", "to": "accepted", "peer": "clearinghouse"}]


def posted(kind: str, day: str, paid: str, adjusted: str, *, paid_on: str | None = None,
           reasons: tuple[str, ...] = (), to: str = "paid") -> dict[str, Any]:
    entry = {"at": at(day), "kind": f"remittance.{kind}", "to": to, "remittance_id": "rem_1", "paid": paid,
             "adjusted": adjusted, "patient_responsibility": "0.00", "reasons": list(reasons), "trace_number": "T"}
    return {**entry, "paid_on": paid_on} if paid_on else entry


def claim(cid: str, status: str, dos: str, **fields: Any) -> Claim:
    fields = {"superbill": {"total_charge": "260.00"}, **fields}
    return Claim(claim_id=cid, session_id=cid, event_id=f"e_{cid}", status=status, route="direct_billing",  # type: ignore[arg-type]
                 payer="VA CCN", date_of_service=dos, **fields)


class Ledger:
    """The ledger's reads the report makes: claims by route, and their timelines."""

    def __init__(self, *claims: tuple[Claim, list[dict[str, Any]]]) -> None:
        self.claims = {c.claim_id: c for c, _ in claims}
        self.timelines = {c.claim_id: t for c, t in claims}

    def claim_ids(self, *, status: str | None = None, route: str | None = None) -> list[str]:
        return [cid for cid, c in self.claims.items() if route in (None, c.route)]

    def get_many(self, claim_ids: list[str]) -> list[Claim]:
        return [self.claims[cid] for cid in claim_ids]

    def timelines_since(self, claim_ids: list[str], since: float) -> dict[str, list[dict[str, Any]]]:
        return {cid: [e for e in self.timelines[cid] if e["at"] >= since] for cid in claim_ids}


PAID = claim("paid", "paid", "2026-11-20", paid_amount=Decimal("208.00"), adjusted_amount=Decimal("52.00"),
             patient_responsibility=Decimal("0.00"), paid_on="2026-12-05", remittance_ids=["rem_1"])
PAID_TIMELINE = [*sent("2026-11-21"), posted("payment", "2026-12-06", "208.00", "52.00", paid_on="2026-12-05")]
LATER = claim("later", "accepted", "2026-11-25")
LATER_TIMELINE = sent("2026-11-26")


def report(day: date | None, *pairs: tuple[Claim, list[dict[str, Any]]], today: date = date(2026, 12, 31),
           warning_days: int = 150) -> dict[str, Any]:
    return receivables(Ledger(*pairs), today=today, as_of=day, warning_days=warning_days,  # type: ignore[arg-type]
                       zone=CHICAGO)


def test_a_day_before_every_date_of_service_owes_nothing() -> None:
    """As found in use: `ar --as-of 2026-01-01` listed a claim served 2026-11-20 at -323 days, in 0-30."""
    a = report(date(2026, 1, 1), (PAID, PAID_TIMELINE), (LATER, LATER_TIMELINE))
    assert (a["as_of"], a["claims"], a["outstanding"], a["by_payer"]) == ("2026-01-01", 0, [], {})
    assert set(a["totals"].values()) == {"0.00"} and set(a["by_bucket"].values()) == {"0.00"}
    assert a["timely_filing"]["claims"] == []


def test_a_claim_paid_after_the_day_is_owed_on_it_with_its_age_then() -> None:
    a = report(date(2026, 12, 4), (PAID, PAID_TIMELINE), (LATER, LATER_TIMELINE))
    assert [(r["claim_id"], r["status"], r["age_days"], r["bucket"], r["paid"], r["outstanding"])
            for r in a["outstanding"]] == [("paid", "accepted", 14, "0-30", "0.00", "260.00"),
                                           ("later", "accepted", 9, "0-30", "0.00", "260.00")]
    assert a["totals"] == {"billed": "520.00", "paid": "0.00", "adjusted": "0.00",
                           "patient_responsibility": "0.00", "outstanding": "520.00", "recovered": "0.00"}
    assert all(r["age_days"] >= 0 for r in a["outstanding"])


def test_a_payment_counts_from_the_day_the_payer_paid_not_the_day_it_was_posted() -> None:
    a = report(date(2026, 12, 5), (PAID, PAID_TIMELINE), (LATER, LATER_TIMELINE))  # posted on the 6th
    assert [r["claim_id"] for r in a["outstanding"]] == ["later"]
    assert (a["totals"]["paid"], a["totals"]["adjusted"], a["totals"]["outstanding"]) == ("208.00", "52.00",
                                                                                          "260.00")


def test_the_report_of_a_past_day_leaves_out_the_sessions_given_after_it() -> None:
    a = report(date(2026, 11, 22), (PAID, PAID_TIMELINE), (LATER, LATER_TIMELINE))
    assert a["claims"] == 1 and [(r["claim_id"], r["age_days"]) for r in a["outstanding"]] == [("paid", 2)]
    assert a["totals"]["billed"] == "260.00"


def test_a_claim_not_yet_taken_in_on_the_day_is_owed_as_received() -> None:
    a = report(date(2026, 11, 20), (PAID, PAID_TIMELINE))  # served on the 20th, sent on the 21st
    assert [(r["status"], r["age_days"], r["outstanding"]) for r in a["outstanding"]] == [("received", 0, "260.00")]


def test_the_day_ends_where_the_practice_is() -> None:
    """Accepted at 03:00 UTC on 2026-11-22: still the 21st in Chicago."""
    late = [*sent("2026-11-21")[:-1], {"at": at("2026-11-22", 3), "kind": "accepted", "to": "accepted"}]
    a = report(date(2026, 11, 21), (PAID, late))
    assert a["outstanding"][0]["status"] == "accepted"
    assert receivables(Ledger((PAID, late)), today=date(2026, 12, 31), as_of=date(2026, 11, 21),  # type: ignore[arg-type]
                       warning_days=150, zone=UTC)["outstanding"][0]["status"] == "submitted"


def test_a_posting_without_its_payment_day_counts_from_the_claims_or_from_when_it_was_posted() -> None:
    """Postings kept before their entry named the payment day: the latest one's is the claim's `paid_on`; an
    earlier one counts from the day it was posted (in the practice's time zone)."""
    old = [*sent("2026-11-21"), posted("payment", "2026-12-02", "260.00", "0.00"),
           posted("reversal", "2026-12-10", "-260.00", "0.00", to="accepted"),
           posted("payment", "2026-12-10", "208.00", "52.00")]
    paid = PAID.model_copy(update={"paid_on": "2026-12-08"})
    assert claim_as_of(paid, old, date(2026, 12, 1), CHICAGO).paid_amount is None  # type: ignore[union-attr]
    first = claim_as_of(paid, old, date(2026, 12, 2), CHICAGO)
    assert first is not None and (first.status, first.paid_amount, first.paid_on) == (
        "paid", Decimal("260.00"), "2026-12-02")
    # the reversal (posted the 10th) and the new payment (dated the 8th by the claim) in timeline order
    later = claim_as_of(paid, old, date(2026, 12, 8), CHICAGO)
    assert later is not None and (later.status, later.paid_amount) == ("paid", Decimal("208.00"))
    assert claim_as_of(paid, old, date(2026, 12, 10), CHICAGO) == paid


def test_a_reversal_after_the_day_is_not_yet_taken_back() -> None:
    timeline = [*sent("2026-11-21"), posted("payment", "2026-12-02", "260.00", "0.00", paid_on="2026-12-02"),
                posted("reversal", "2026-12-10", "-260.00", "0.00", paid_on="2026-12-10", to="accepted")]
    now = claim("c", "accepted", "2026-11-20", paid_amount=Decimal("0.00"), adjusted_amount=Decimal("0.00"),
                paid_on="2026-12-10")
    assert report(date(2026, 12, 9), (now, timeline))["totals"]["outstanding"] == "0.00"
    after = report(date(2026, 12, 10), (now, timeline))
    assert [(r["status"], r["paid"], r["outstanding"]) for r in after["outstanding"]] == [
        ("accepted", "0.00", "260.00")]


def test_a_denial_and_its_codes_as_they_stood() -> None:
    timeline = [*sent("2026-11-21"),
                posted("denial", "2026-12-03", "0.00", "260.00", paid_on="2026-12-03", reasons=("CO-197",),
                       to="denied"),
                {"at": at("2026-12-07"), "kind": "resubmitted", "to": "received", "previous_status": "denied",
                 "previous_submission_no": 1}, *sent("2026-12-07")[1:]]
    now = claim("c", "accepted", "2026-11-20", submission_no=2, paid_amount=Decimal("0.00"),
                adjusted_amount=Decimal("260.00"))
    assert report(date(2026, 12, 2), (now, timeline))["outstanding"][0]["denial_codes"] == []
    denied = report(date(2026, 12, 4), (now, timeline))["outstanding"][0]
    assert (denied["status"], denied["denial_codes"], denied["outstanding"]) == ("denied", ["CO-197"], "260.00")
    again = report(date(2026, 12, 7), (now, timeline))["outstanding"][0]
    assert (again["status"], again["denial_codes"]) == ("accepted", [])


def test_a_claim_voided_after_the_day_is_still_owed_on_it() -> None:
    timeline = [*sent("2026-11-21"),
                {"at": at("2026-12-07"), "kind": "resubmitted", "to": "received", "previous_status": "accepted",
                 "previous_submission_no": 1, "frequency_code": "8"}, *sent("2026-12-07")[1:-1],
                {"at": at("2026-12-07", 16), "kind": "voided", "to": "voided"}]
    now = claim("c", "voided", "2026-11-20", submission_no=2, frequency_code="8")
    before = report(date(2026, 12, 6), (now, timeline))
    assert (before["voided"], before["totals"]["outstanding"]) == ([], "260.00")
    after = report(date(2026, 12, 7), (now, timeline))
    assert (after["voided"], after["claims"], after["totals"]["outstanding"]) == (["c"], 0, "0.00")
    # a void the payer took before `voided` existed: accepted again, frequency 8
    legacy = [*timeline[:-1], {**timeline[-1], "kind": "accepted", "to": "accepted"}]
    assert report(date(2026, 12, 7), (now.model_copy(update={"status": "accepted"}), legacy))["voided"] == ["c"]


def test_timely_filing_as_of_the_day() -> None:
    old = claim("old", "paid", "2026-06-01", paid_amount=Decimal("260.00"), adjusted_amount=Decimal("0.00"),
                paid_on="2026-12-01")
    timeline = [*sent("2026-06-02"), posted("payment", "2026-12-01", "260.00", "0.00", paid_on="2026-12-01")]
    late = report(date(2026, 11, 30), (old, timeline))["timely_filing"]["claims"]
    assert [(r["claim_id"], r["status"], r["age_days"], r["days_left"]) for r in late] == [
        ("old", "accepted", 182, -2)]
    assert report(date(2026, 12, 1), (old, timeline))["timely_filing"]["claims"] == []


def test_a_day_after_today_is_refused() -> None:
    with pytest.raises(FutureDay, match=r"2027-01-01 is after today \(2026-12-31\)"):
        report(date(2027, 1, 1), (PAID, PAID_TIMELINE))
    assert report(date(2026, 12, 31), (PAID, PAID_TIMELINE))["as_of"] == "2026-12-31"


def test_without_a_day_the_report_is_the_claims_as_they_are() -> None:
    today = date(2026, 12, 31)
    now = report(None, (PAID, PAID_TIMELINE), (LATER, LATER_TIMELINE), today=today)
    assert now.pop("clients")["claims"] == 0  # what clients owe is a part of its own: none of these claims
    assert now == accounts_receivable([PAID, LATER], today=today)


def test_a_reversal_never_counts_before_the_payment_it_takes_back() -> None:
    """The payer's dates can disagree (an 835 paid on the 4th, its reversal dated the 3rd), or an old payment
    counts from when it was posted while the reversal has the claim's payment day: no day shows a payment
    taken back that was not yet made."""
    reversed_claim = claim("rev", "accepted", "2026-11-20", paid_on="2026-12-03")
    timeline = [*sent("2026-11-21"), posted("payment", "2026-12-02", "260.00", "0.00", paid_on="2026-12-04"),
                posted("reversal", "2026-12-05", "-260.00", "0.00", paid_on="2026-12-03", to="accepted")]
    for day in ("2026-12-02", "2026-12-03"):
        then = claim_as_of(reversed_claim, timeline, date.fromisoformat(day), CHICAGO)
        assert then is not None and then.status == "accepted" and then.paid_amount is None, day
    on_the_4th = claim_as_of(reversed_claim, timeline, date(2026, 12, 4), CHICAGO)
    assert on_the_4th is not None and on_the_4th.paid_amount == Decimal("0.00")  # paid, and taken back
    owed = report(date(2026, 12, 3), (reversed_claim, timeline))
    assert owed["totals"]["paid"] == "0.00" and owed["totals"]["outstanding"] == "260.00"


def test_an_old_reversal_dated_by_the_claim_does_not_take_back_a_payment_posted_later() -> None:
    reversed_claim = claim("rev2", "accepted", "2026-11-20", paid_on="2026-12-08")
    timeline = [*sent("2026-11-21"), posted("payment", "2026-12-10", "260.00", "0.00"),  # no payment day kept
                posted("reversal", "2026-12-11", "-260.00", "0.00", to="accepted")]  # the claim's paid_on: the 8th
    then = claim_as_of(reversed_claim, timeline, date(2026, 12, 9), CHICAGO)
    assert then is not None and (then.status, then.paid_amount) == ("accepted", None)


def assembled(day: str, charge: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"at": at(day), "kind": "assembled", "to": "assembled"}
    return {**entry, "total_charge": charge} if charge else entry


def test_a_charge_amended_after_the_day_is_owed_as_it_was_billed_then() -> None:
    """Billed 260.00 on the 21st, amended to 195.00 (three units to two) and sent again on the 28th."""
    now = claim("amended", "accepted", "2026-11-20", superbill={"total_charge": "195.00", "lines": []})
    timeline = [*sent("2026-11-21")[:1], assembled("2026-11-21", "260.00"), *sent("2026-11-21")[1:],
                {"at": at("2026-11-28"), "kind": "resubmitted", "to": "received", "previous_submission_no": 1,
                 "frequency_code": "7"},
                assembled("2026-11-28", "195.00"), *sent("2026-11-28")[1:]]
    before = report(date(2026, 11, 25), (now, timeline))
    assert (before["totals"]["billed"], before["outstanding"][0]["billed"]) == ("260.00", "260.00")
    assert before["outstanding"][0]["outstanding"] == "260.00"
    after = report(date(2026, 11, 28), (now, timeline))
    assert (after["totals"]["billed"], after["outstanding"][0]["outstanding"]) == ("195.00", "195.00")
    assert report(None, (now, timeline))["totals"]["billed"] == "195.00"


def test_a_claim_not_yet_assembled_on_the_day_is_owed_its_first_charge() -> None:
    now = claim("late", "accepted", "2026-11-20", superbill={"total_charge": "195.00"})
    timeline = [{"at": at("2026-11-22"), "kind": "received", "to": "received"}, assembled("2026-11-22", "260.00"),
                *sent("2026-11-22")[1:], assembled("2026-11-28", "195.00")]
    a = report(date(2026, 11, 21), (now, timeline))
    assert [(r["status"], r["billed"]) for r in a["outstanding"]] == [("received", "260.00")]


def test_a_claim_assembled_before_the_timeline_kept_its_charge_is_owed_its_charge_now() -> None:
    now = claim("old", "accepted", "2026-11-20", superbill={"total_charge": "195.00"})
    timeline = [*sent("2026-11-21")[:1], assembled("2026-11-21", None), *sent("2026-11-21")[1:]]
    assert report(date(2026, 11, 25), (now, timeline))["totals"]["billed"] == "195.00"


def recovery(day: str, amount: str, *, paid_on: str, full: bool = False) -> dict[str, Any]:
    entry = {"at": at(day), "kind": "remittance.recovery", "to": "denied" if full else "paid", "remittance_id": "rem_2",
             "amount": amount, "code": "WO", "reason": "overpayment recovery", "trace_number": "T2",
             "paid_on": paid_on}
    return {**entry, "fully_recovered": True} if full else entry


def test_a_recovery_counts_from_the_day_of_the_payment_it_was_taken_off() -> None:
    timeline = [*sent("2026-11-20"), posted("payment", "2026-12-02", "260.00", "0.00", paid_on="2026-12-01"),
                recovery("2026-12-11", "60.00", paid_on="2026-12-10")]
    now = claim("a", "paid", "2026-11-20", paid_amount=Decimal("260.00"), recovered_amount=Decimal("60.00"))
    before = claim_as_of(now, timeline, date(2026, 12, 9), UTC)
    after = claim_as_of(now, timeline, date(2026, 12, 10), UTC)
    assert before is not None and after is not None
    assert (before.paid_amount, before.recovered_amount) == (Decimal("260.00"), None)
    assert (after.status, after.paid_amount, after.recovered_amount) == ("paid", Decimal("260.00"), Decimal("60.00"))
    assert accounts_receivable([after], today=date(2026, 12, 10))["totals"]["outstanding"] == "60.00"


def test_a_full_recovery_leaves_nothing_paid_and_the_claim_denied_from_that_day() -> None:
    timeline = [*sent("2026-11-20"), posted("payment", "2026-12-02", "260.00", "0.00", paid_on="2026-12-01"),
                recovery("2026-12-11", "260.00", paid_on="2026-12-10", full=True)]
    now = claim("a", "denied", "2026-11-20", paid_amount=Decimal("0.00"), recovered_amount=Decimal("0.00"))
    then = claim_as_of(now, timeline, date(2026, 12, 10), UTC)
    assert then is not None
    assert (then.status, then.paid_amount, then.recovered_amount) == ("denied", Decimal(0), Decimal(0))
    assert [r["code"] for r in then.denial_reasons] == ["PLB-WO"]
    assert accounts_receivable([then], today=date(2026, 12, 10))["totals"]["outstanding"] == "260.00"
