"""What is owed: the accounts receivable of `direct_billing` claims, by payer and age, and timely filing.

A claim's outstanding amount is what was billed less what the payer paid (net of what its provider-level
recoveries took back: `paid` is what the practice has from the payer, `recovered` what recoveries took); a
paid claim's contractual adjustments are also written off (what is left is patient responsibility), and so
are those of a paid claim whose corrected claim is on its way (the payment stands until the payer reverses
it); a denied claim's are not: it may be fixed and sent again. A voided claim owes nothing: it is left out,
listed by id under `voided`. Ages count from the date of service. A claim not yet paid past the
timely-filing warning (default 150 of the 180 days the VA allows) is listed with the days left.

As of a past day D (`receivables(..., as_of=D)`): the receivables as they stood at the end of D. Only the
claims whose date of service is D or earlier, each as its timeline says it stood then (`claim_as_of`: the
payer's payments count from the day the payer paid them), with ages counted to D. A day after today is
refused (`FutureDay`): what is owed then is not known yet.

What clients owe the practice is its own part (`clients`): the balance of each statement a client gets
(`statement_only`) and of each session not billed yet that needs attention (not a VA session: a veteran owes
nothing), its charge less what the client paid at the visit and after it (`payment.recorded`); as of a past
day, less only the payments received by then.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, date, tzinfo
from decimal import Decimal
from typing import Any

from pipeline.application.claim_as_of import claim_as_of
from pipeline.application.ports import AlertPort, ClaimLedger
from pipeline.domain.claim_frequency import VOID
from pipeline.domain.recoveries import received as received_from_payer
from schemas.claim import Claim

BUCKETS = ("0-30", "31-60", "61-90", "90+")
TIMELY_FILING_LIMIT_DAYS = 180
ZERO = Decimal(0)


def bucket(age_days: int) -> str:
    if age_days <= 30:
        return "0-30"
    if age_days <= 60:
        return "31-60"
    if age_days <= 90:
        return "61-90"
    return "90+"


def _charge(claim: Claim) -> Decimal:
    superbill = claim.superbill or {}
    return Decimal(str(superbill.get("total_charge") or "0"))


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def received(claim: Claim) -> Decimal:
    """What the practice has from the payer for the claim: its payments less the payer's provider-level
    recoveries from it (PLB), plus what a recovery gave back."""
    return received_from_payer(claim.paid_amount, claim.recovered_amount)


def settled_by_payment(claim: Claim) -> bool:
    """The payer's standing decision on the claim is a payment: it is `paid`, or a corrected claim of a paid
    one is on its way (the payment stands until the payer reverses it). Its contractual adjustments are then
    written off; a denial's are not (it may be fixed and sent again)."""
    return claim.status == "paid" or received(claim) > 0


def outstanding(claim: Claim) -> Decimal:
    if settled_by_payment(claim):  # what is left is the patient's share (never a veteran's: alerted)
        return max(ZERO, _charge(claim) - received(claim) - (claim.adjusted_amount or ZERO))
    return max(ZERO, _charge(claim) - received(claim))


def is_voided(claim: Claim) -> bool:
    """A void the payer took owes nothing: `voided`, or (claims voided before that status existed) a claim
    whose last submission is a void (frequency 8) that the payer took."""
    return claim.status == "voided" or (claim.frequency_code == VOID and claim.status in ("accepted", "paid",
                                                                                           "denied"))


def unbilled_va(claim: Claim) -> bool:
    """A VA session that could not be billed yet (its claim needs attention): not owed by the VA, but its
    180 days to be filed run all the same."""
    return claim.route == "needs_attention" and claim.coverage_kind == "va_ccn" and bool(claim.date_of_service) \
        and claim.status == "needs_attention"


def claim_ids_to_watch(ledger: ClaimLedger) -> list[str]:
    """The claims what is owed and timely filing look at: direct billing, and those that need attention (of
    which only VA sessions count, for timely filing)."""
    return ledger.claim_ids(route="direct_billing") + ledger.claim_ids(route="needs_attention")


def owed_by_client(claim: Claim) -> Decimal:
    """What the client still owes the practice on a claim: its superbill's charge less what the client paid
    (at the visit and after it), never below zero."""
    superbill = claim.superbill or {}
    paid = Decimal(str(superbill.get("amount_paid") or "0"))
    return max(ZERO, _charge(claim) - paid)


def client_owes(claim: Claim) -> bool:
    """A claim whose balance the client pays the practice: a statement the client gets (`statement_only`), or a
    session not billed yet that needs attention (never a VA session: a veteran owes nothing)."""
    if not claim.date_of_service or claim.superbill is None or claim.coverage_kind == "va_ccn":
        return False
    return claim.route == "statement_only" or (claim.route == "needs_attention" and claim.status == "needs_attention")


def client_claim_ids(ledger: ClaimLedger) -> list[str]:
    """The claims whose balance a client may owe (`client_owes` picks among them)."""
    return ledger.claim_ids(route="statement_only") + ledger.claim_ids(route="needs_attention")


def clients_receivable(claims: Iterable[Claim], *, today: date) -> dict[str, Any]:
    """What clients owe the practice (statements and sessions not billed yet), by age of the session: the
    claims with a balance, the total and the total by age bucket. Money as decimal strings."""
    rows: list[dict[str, Any]] = []
    buckets = dict.fromkeys(BUCKETS, ZERO)
    billed = paid = ZERO
    counted = 0
    for claim in claims:  # each one `client_owes` (now: as of a past day its status may have been another)
        if claim.date_of_service is None or claim.superbill is None:
            continue
        counted += 1
        owed = owed_by_client(claim)
        got = Decimal(str(claim.superbill.get("amount_paid") or "0"))
        billed += _charge(claim)
        paid += got
        if owed <= 0:
            continue
        age = (today - date.fromisoformat(claim.date_of_service)).days
        buckets[bucket(age)] += owed
        rows.append({"claim_id": claim.claim_id, "route": claim.route, "status": claim.status,
                     "payer": claim.payer or "", "date_of_service": claim.date_of_service, "age_days": age,
                     "bucket": bucket(age), "billed": _money(_charge(claim)), "paid": _money(got),
                     "outstanding": _money(owed), "document_number": claim.document_number})
    return {"claims": counted, "billed": _money(billed), "paid": _money(paid),
            "outstanding": _money(sum(buckets.values(), ZERO)),
            "by_bucket": {b: _money(v) for b, v in buckets.items()},
            "balances": sorted(rows, key=lambda r: (-int(r["age_days"]), r["claim_id"]))}


def accounts_receivable(claims: Iterable[Claim], *, today: date, warning_days: int = 150,
                        limit_days: int = TIMELY_FILING_LIMIT_DAYS) -> dict[str, Any]:
    """Totals billed / paid / adjusted / outstanding, outstanding claims by payer and age bucket, and the
    claims past the timely-filing warning that are not yet paid, VA sessions not yet billed (needs attention)
    included. Money as decimal strings."""
    claims = list(claims)
    direct = [c for c in claims if c.route == "direct_billing" and c.date_of_service]
    voided = [c for c in direct if is_voided(c)]
    direct = [c for c in direct if not is_voided(c)]
    totals = dict.fromkeys(("billed", "paid", "adjusted", "patient_responsibility", "outstanding", "recovered"), ZERO)
    by_payer: dict[str, dict[str, Decimal]] = {}
    rows: list[dict[str, Any]] = []
    late: list[dict[str, Any]] = []
    for claim in direct:
        assert claim.date_of_service is not None
        age = (today - date.fromisoformat(claim.date_of_service)).days
        owed = outstanding(claim)
        totals["billed"] += _charge(claim)
        totals["paid"] += received(claim)
        totals["recovered"] += claim.recovered_amount or ZERO
        if settled_by_payment(claim):
            totals["adjusted"] += claim.adjusted_amount or ZERO
            totals["patient_responsibility"] += claim.patient_responsibility or ZERO
        totals["outstanding"] += owed
        if owed > 0:
            payer = claim.payer or "(unknown payer)"
            per = by_payer.setdefault(payer, dict.fromkeys(BUCKETS, ZERO))
            per[bucket(age)] += owed
            rows.append({"claim_id": claim.claim_id, "payer": payer, "status": claim.status,
                         "date_of_service": claim.date_of_service, "age_days": age, "bucket": bucket(age),
                         "billed": _money(_charge(claim)), "paid": _money(received(claim)),
                         "outstanding": _money(owed),
                         "denial_codes": [r.get("code") for r in claim.denial_reasons]})
        if claim.status != "paid" and age >= warning_days:
            late.append({"claim_id": claim.claim_id, "status": claim.status, "date_of_service": claim.date_of_service,
                         "age_days": age, "days_left": limit_days - age})
    for claim in (c for c in claims if unbilled_va(c)):
        assert claim.date_of_service is not None
        age = (today - date.fromisoformat(claim.date_of_service)).days
        if age >= warning_days:
            late.append({"claim_id": claim.claim_id, "status": claim.status,
                         "date_of_service": claim.date_of_service, "age_days": age, "days_left": limit_days - age})
    return {
        "as_of": today.isoformat(),
        "totals": {k: _money(v) for k, v in totals.items()},
        "claims": len(direct),
        "voided": sorted(c.claim_id for c in voided),
        "by_payer": {payer: {**{b: _money(v) for b, v in per.items()}, "total": _money(sum(per.values(), ZERO))}
                     for payer, per in sorted(by_payer.items())},
        "by_bucket": {b: _money(sum((per[b] for per in by_payer.values()), ZERO)) for b in BUCKETS},
        "outstanding": sorted(rows, key=lambda r: -int(r["age_days"])),
        "timely_filing": {"warning_days": warning_days, "limit_days": limit_days,
                          "claims": sorted(late, key=lambda r: -int(r["age_days"]))},
    }


class FutureDay(ValueError):
    """An as-of day after today."""


def receivables(ledger: ClaimLedger, *, today: date, as_of: date | None = None, warning_days: int,
                zone: tzinfo = UTC) -> dict[str, Any]:
    """What is owed, as `superbill ar`, `GET /v1/ops/ar` and the ops page show it: now, with ages counted to
    `today`; or, with `as_of`, as it stood at the end of that day (the practice's day: `zone`). An `as_of`
    after `today` raises `FutureDay`."""
    claims = ledger.get_many(claim_ids_to_watch(ledger))
    clients = [c for c in ledger.get_many(client_claim_ids(ledger)) if client_owes(c)]
    if as_of is None:
        return {**accounts_receivable(claims, today=today, warning_days=warning_days),
                "clients": clients_receivable(clients, today=today)}
    if as_of > today:
        raise FutureDay(f"{as_of.isoformat()} is after today ({today.isoformat()})")
    served = [c for c in claims if (c.route == "direct_billing" or unbilled_va(c)) and c.date_of_service
              and date.fromisoformat(c.date_of_service) <= as_of]
    seen = [c for c in clients if date.fromisoformat(c.date_of_service or "9999-12-31") <= as_of]
    ids = list(dict.fromkeys(c.claim_id for c in [*served, *seen]))
    timelines = ledger.timelines_since(ids, 0.0) if ids else {}
    then = [claim_as_of(c, timelines.get(c.claim_id, []), as_of, zone) for c in served]
    clients_then = [claim_as_of(c, timelines.get(c.claim_id, []), as_of, zone) for c in seen]
    return {**accounts_receivable([c for c in then if c is not None], today=as_of, warning_days=warning_days),
            "clients": clients_receivable([c for c in clients_then if c is not None], today=as_of)}


def alert_timely_filing(ledger: ClaimLedger, alerts: AlertPort | None, *, today: date, warning_days: int,
                        now: float | None = None) -> list[str]:
    """Tell ops, once per claim, about each `direct_billing` claim not yet paid past the timely-filing
    warning (codes and counts only: no patient data). Returns the claims announced now."""
    if alerts is None:
        return []
    claims = {c.claim_id: c for c in ledger.get_many(claim_ids_to_watch(ledger))}
    report = accounts_receivable(claims.values(), today=today, warning_days=warning_days)
    announced = []
    for row in report["timely_filing"]["claims"]:
        claim = claims[row["claim_id"]]
        if claim.timely_filing_alerted_at:
            continue
        alerts.notify({"type": "claim.timely_filing_risk", "claim_id": claim.claim_id, "route": claim.route,
                       "status": claim.status, "age_days": row["age_days"], "days_left": row["days_left"],
                       "denial_codes": [r.get("code") for r in claim.denial_reasons]})
        ledger.transition(claim.claim_id, "*", None, kind="alert.timely_filing",
                          fields={"timely_filing_alerted_at": time.time() if now is None else now},
                          age_days=row["age_days"], days_left=row["days_left"])
        announced.append(claim.claim_id)
    return announced
