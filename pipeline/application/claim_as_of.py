"""A claim's money and status as they stood at the end of a past day, read back from its timeline.

The timeline (oldest first) keeps every status change with the time it was written, and every remittance
posting (`remittance.payment`, `remittance.denial`, `remittance.reversal`) with its amounts. Each entry counts
from a day:

- a posting from the day the payer paid (BPR16 of its 835: `paid_on` on the entry; an entry written before
  postings kept it is the claim's own `paid_on` when it is the latest posting), else the day it was posted;
  a reversal counts only once a payment does (the payer's dates can disagree, and old postings' days are
  guessed: a payment is never taken back before it was made);
- any other entry from the day it was written, in the practice's time zone.

A provider-level recovery (`remittance.recovery`) counts from the day of the payment it was taken off: it
adds to what recoveries took back; one that took back everything leaves nothing paid (the claim is denied).

The claim as of day D replays, in timeline order, the entries that count from D or earlier: a payment or a
denial is the payer's decision (its amounts replace the earlier ones), a reversal takes its amounts back off,
a resubmission starts a new submission (a replacement or a void names its frequency), and each superbill
assembled (`assembled`, with its `total_charge`) is the charge from then on: an amendment after D is undone.
A claim not yet assembled on D is owed the charge it was first assembled with. A payment the client made
after the visit (`payment.recorded`) counts from the day it was received (`received_on`): the ones received
after D are taken back off the superbill's amount paid, so its balance due is the one of D. What the timeline does not
keep is the claim as it is now: its payer and its date of service (and the charge of a claim assembled
before the timeline kept it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from pipeline.domain.claim_frequency import ORIGINAL
from schemas.claim import STATUSES, Claim

POSTINGS = ("remittance.payment", "remittance.denial", "remittance.reversal")
RECOVERY = "remittance.recovery"  # a provider-level recovery (PLB) taken off the claim, or added back
CLIENT_PAYMENT = "payment.recorded"  # a payment the client made after the visit (`client_payments`)


def client_payment_day(entry: dict[str, Any], zone: tzinfo) -> date:
    """The day a client's payment counts from: the day it was received, else the day it was recorded."""
    received = entry.get("received_on")
    return date.fromisoformat(str(received)) if received else day_of(float(entry["at"]), zone)


def day_of(at: float, zone: tzinfo) -> date:
    """The day a timeline entry was written, where the practice is."""
    return datetime.fromtimestamp(at, zone).date()


def _posting_days(claim: Claim, timeline: list[dict[str, Any]], zone: tzinfo) -> dict[int, date]:
    """The day each posting (by its place in the timeline) counts from: the day the payer paid, else the
    day it was posted."""
    places = [n for n, entry in enumerate(timeline) if entry.get("kind") in POSTINGS]
    days: dict[int, date] = {}
    for n in places:
        paid_on = timeline[n].get("paid_on") or (claim.paid_on if n == places[-1] else None)
        days[n] = date.fromisoformat(paid_on) if paid_on else day_of(float(timeline[n]["at"]), zone)
    return days


def _amount(entry: dict[str, Any], name: str) -> Decimal:
    return Decimal(str(entry.get(name) or "0"))


def claim_as_of(claim: Claim, timeline: Iterable[dict[str, Any]], day: date, zone: tzinfo) -> Claim | None:
    """The claim at the end of `day`: its status, what the payer paid, adjusted and left to the patient, its
    denial codes and submission frequency then; None when its date of service is after `day`. A claim the
    pipeline had not taken in by then is `received`: the session was given, its bill was owed."""
    if not claim.date_of_service or date.fromisoformat(claim.date_of_service) > day:
        return None
    entries = list(timeline)
    posting_days = _posting_days(claim, entries, zone)
    status = "received"
    paid: Decimal | None = None
    adjusted: Decimal | None = None
    patient: Decimal | None = None
    denial: list[dict[str, str]] = []
    frequency = ORIGINAL
    paid_on: str | None = None
    recovered: Decimal | None = None
    texts = {r.get("code", ""): r.get("text", "") for r in claim.denial_reasons}
    charges = [e["total_charge"] for e in entries if e.get("kind") == "assembled" and e.get("total_charge")]
    charge = charges[0] if charges else None  # not assembled yet on the day: the charge it was first given
    for n, entry in enumerate(entries):
        kind = entry.get("kind")
        counts_from = posting_days.get(n) or (date.fromisoformat(entry["paid_on"]) if kind == RECOVERY
                                              and entry.get("paid_on") else day_of(float(entry["at"]), zone))
        if counts_from > day:
            continue
        if kind == RECOVERY:
            recovered = (recovered or Decimal(0)) + _amount(entry, "amount")
            if entry.get("fully_recovered"):  # all the payer paid taken back: nothing paid, denied
                paid, adjusted, patient, recovered = Decimal(0), Decimal(0), Decimal(0), Decimal(0)
                denial = [{"code": f"PLB-{entry.get('code', '')}", "text": str(entry.get("reason") or "")}]
        if kind == "assembled" and entry.get("total_charge"):
            charge = entry["total_charge"]
        if kind == "remittance.reversal" and paid is None:  # nothing paid yet on this day to take back
            continue
        if kind in POSTINGS:
            if kind == "remittance.reversal" or entry.get("split"):  # the rest of a split claim adds too
                paid = (paid or Decimal(0)) + _amount(entry, "paid")
                adjusted = (adjusted or Decimal(0)) + _amount(entry, "adjusted")
                patient = (patient or Decimal(0)) + _amount(entry, "patient_responsibility")
            else:
                paid, adjusted = _amount(entry, "paid"), _amount(entry, "adjusted")
                patient = _amount(entry, "patient_responsibility")
            denial = [{"code": str(code), "text": texts.get(str(code), "")} for code in entry.get("reasons") or []] \
                if kind == "remittance.denial" and entry.get("to") != "paid" else []  # not a split claim's denied part
            paid_on = counts_from.isoformat()
        elif kind == "resubmitted" and "previous_submission_no" in entry:  # a new submission, not a resumed one
            frequency = str(entry.get("frequency_code") or ORIGINAL)
            denial = []
        if entry.get("to") in STATUSES:
            status = str(entry["to"])
    superbill = {**claim.superbill, "total_charge": str(charge)} if claim.superbill and charge else claim.superbill
    later = sum((_amount(e, "amount") for e in entries if e.get("kind") == CLIENT_PAYMENT
                 and client_payment_day(e, zone) > day), Decimal(0))
    if superbill and later:  # the client's payments received after the day are undone
        paid_then = Decimal(str(superbill.get("amount_paid") or "0")) - later
        total = Decimal(str(superbill.get("total_charge") or "0"))
        superbill = {**superbill, "amount_paid": f"{paid_then:.2f}",
                     "balance_due": f"{max(Decimal(0), total - paid_then):.2f}"}
    return claim.model_copy(update={
        "superbill": superbill, "status": status, "paid_amount": paid, "adjusted_amount": adjusted,
        "patient_responsibility": patient, "denial_reasons": denial, "frequency_code": frequency, "paid_on": paid_on,
        "recovered_amount": recovered})
