"""Remittances in: fetch the clearinghouse's 835 files since the stored cursor, keep each once, validate it
against the 005010X221A1 map, and post each claim's payment, denial or reversal exactly once.

Exactly once, whatever is killed or delivered twice:
- a file is kept once by its content (`RemittanceStore.keep`): the same 835 fetched again changes nothing;
- the cursor moves only after the files before it are kept: a fetch cut short fetches them again;
- each claim's decision is applied with its posting key (trace number, claim, CLP02, CLP07, amount) in the
  same atomic step as the status change (`ClaimLedger.post_once`): the same decision arriving in another
  file is recognised as posted;
- the whole pass runs under one lease, and a file not fully posted stays in the unposted set for the next.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog

from pipeline.application.stages import Deps
from pipeline.application.steps import ALERT
from pipeline.documents.x12_835 import RemittanceFormatError, parse_835
from pipeline.documents.x12_validation import validate_835
from pipeline.domain.adjustment_codes import describe_provider_adjustment
from pipeline.domain.recoveries import (
    RECOVERY_WAITS,
    fully_recovered,
    moves_claim_money,
    recovery_problem,
    reference_candidates,
    why_no_payment_will_come,
)
from pipeline.domain.remittance import post_claim_payment, status_after, statuses_before
from schemas.claim import Claim
from schemas.decision import Superbill
from schemas.remittance import ClaimPayment, ClaimPosting, ProviderAdjustment, Remittance

log = structlog.get_logger(__name__)

LEASE = "remittances"
MAX_PAGES = 20


def fetch_and_post(deps: Deps) -> dict[str, int]:
    """One pass: fetch new files, keep them, post everything not yet posted. Counts for the log."""
    store = deps.remittances
    if store is None or deps.clearinghouse is None:
        return {}
    with deps.ledger.lease(LEASE, deps.lease_s) as got:
        if not got:
            log.info("remittances.busy")
            return {}
        fetched = new = 0
        cursor = store.cursor()
        for _ in range(MAX_PAGES):
            batch = deps.clearinghouse.remittances(cursor)
            for f in batch.files:
                _rid, is_new = store.keep(x12=f.x12, source_id=f.source_id)
                fetched += 1
                new += int(is_new)
            if batch.cursor and batch.cursor != cursor:
                store.set_cursor(batch.cursor)
                cursor = batch.cursor
            if not batch.has_more:
                break
        posted = 0
        for rid in store.unposted():
            posted += post_remittance(deps, rid)
    counts = {"fetched": fetched, "new": new, "claims_posted": posted}
    if fetched or posted:
        log.info("remittances.pass", **counts)
    return counts


def posting_key(remittance: Remittance, payment: ClaimPayment) -> str:
    """The same decision in any file: check or EFT trace and its date, claim, CLP02, payer claim number,
    amounts. The date tells a payer's reused check number apart from the same 835 sent again: after a
    reversal, a new check that reuses an old number and repays the same amount is a payment, not a copy."""
    paid_on = remittance.payment_date.isoformat() if remittance.payment_date else ""
    return ":".join([_legacy_key(remittance, payment), paid_on])


def _legacy_key(remittance: Remittance, payment: ClaimPayment) -> str:
    """The posting key as recorded before it carried the payment date (still honoured: never posted twice)."""
    return ":".join([remittance.trace_number, payment.claim_id, payment.status_code,
                     payment.payer_claim_number or "", f"{payment.charge:.2f}", f"{payment.paid:.2f}"])


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _summary(remittances: list[Remittance], adjustments: list[dict[str, Any]]) -> dict[str, Any]:
    """The payment, and the provider-level adjustments (PLB) that make it differ from the claims' payments, each
    with what became of it (`adjustments`)."""
    first = remittances[0]
    return {"trace_number": first.trace_number, "payment_amount": _money(sum(
        (r.payment_amount for r in remittances), Decimal(0))), "payment_method": first.payment_method,
            "payment_date": first.payment_date.isoformat() if first.payment_date else None,
            "payer": first.payer_name,
            "provider_adjustments": adjustments,
            # a file may carry several payments (one ST...SE each): every check or EFT on its own
            "checks": [{"trace_number": r.trace_number, "payment_amount": _money(r.payment_amount),
                        "payment_method": r.payment_method,
                        "payment_date": r.payment_date.isoformat() if r.payment_date else None,
                        "payer": r.payer_name, "claims": len(r.claims)} for r in remittances]}


def post_remittance(deps: Deps, remittance_id: str) -> int:
    """Validate and post one kept file; returns how many claims it posted now."""
    store = deps.remittances
    assert store is not None
    stored = store.get(remittance_id)
    if stored is None:
        return 0
    report = validate_835(stored.x12)
    if not report.ok:  # pyx12's messages may quote the file's values: kept for ops, never logged
        store.record(remittance_id, status="invalid", errors=report.errors[:50], claims=[], summary={})
        log.warning("remittance.invalid", remittance_id=remittance_id, errors=len(report.errors))
        return 0
    try:
        remittances = parse_835(stored.x12)
    except RemittanceFormatError as exc:
        store.record(remittance_id, status="invalid", errors=[str(exc)], claims=[], summary={})
        log.warning("remittance.unreadable", remittance_id=remittance_id)
        return 0
    errors = [f"BPR02 {r.payment_amount} is not the claims' payments less the provider adjustments"
              for r in remittances if r.payment_amount != sum((c.paid for c in r.claims), Decimal(0))
              - sum((a.amount for a in r.provider_adjustments), Decimal(0))]
    # The 835 does not order a reversal before the corrected payment that replaces it, within one check or
    # across the checks (ST...SE) of a file: reversals are posted first, and a decision a claim could not take
    # yet is tried again once the rest of the file is posted, until nothing changes. Entries keep the file's order.
    rows = [(remittance, payment) for remittance in remittances for payment in remittance.claims]
    done: list[tuple[dict[str, Any], bool]] = [({}, False)] * len(rows)
    here: list[dict[str, Any]] = []  # this file's postings so far, in the order they were posted
    for n in sorted(range(len(rows)), key=lambda i: rows[i][1].status_code != "22"):
        done[n] = _post_claim(deps, remittance_id, *rows[n], here)
        here.append(done[n][0])
    posted = sum(now for _, now in done)
    progress = True
    while progress:
        progress = False
        for n, (entry, _) in enumerate(done):
            if _blocked_by_status(entry):
                again, now = _post_claim(deps, remittance_id, *rows[n], here)
                if now:
                    here.append(again)
                    done[n], progress = (again, now), True
                    posted += 1
    entries = [entry for entry, _ in done]
    # a claim posted by an earlier pass over this file (one that waited for another claim) keeps what its
    # posting was: the earlier record, in the same place of the file
    earlier = stored.claims if len(stored.claims) == len(entries) else []
    entries = [earlier[n] if "posting" not in entry and entry["outcome"] == "posted" and n < len(earlier)
               and earlier[n].get("outcome") == "posted" and earlier[n].get("claim_id") == entry["claim_id"]
               else entry for n, entry in enumerate(entries)]
    waited = deps.now() - datetime.fromtimestamp(stored.received_at, UTC)
    adjustments, recovered = _post_provider_adjustments(deps, remittance_id, remittances, entries, waited)
    waiting = any(e["outcome"] == "waiting" for e in [*entries, *adjustments])
    store.record(remittance_id, status="partly_posted" if waiting else "posted", errors=errors, claims=entries,
                 summary=_summary(remittances, adjustments))
    return posted + recovered


def _posted_under_the_legacy_key(deps: Deps, remittance: Remittance, payment: ClaimPayment) -> str | None:
    """The remittance that posted this decision under the key without the payment date (before keys carried it):
    the same decision only when the payer paid it on the same day, or that day is not known. A reused check
    number that repays on another day (after a reversal) is a new payment, not a copy."""
    earlier = deps.ledger.posted_by(_legacy_key(remittance, payment))
    if earlier is None or remittance.payment_date is None:
        return earlier
    days = {entry.get("paid_on") for entry in deps.ledger.timeline(payment.claim_id)
            if entry.get("remittance_id") == earlier and str(entry.get("kind", "")).startswith("remittance.")}
    return earlier if not days or None in days or remittance.payment_date.isoformat() in days else None


def _blocked_by_status(entry: dict[str, Any]) -> bool:
    """Not posted only because of the claim's status (it balances): another posting may change that."""
    return entry["outcome"] == "not_postable" and "posting" in entry and not entry["posting"]["problems"]


def _current_parts(deps: Deps, claim: Claim, here: list[dict[str, Any]],
                   remittance_id: str) -> list[dict[str, Any]] | None:
    """The postings that make the payer's standing decision on the claim, from the postings kept (and those of
    the file being posted), each with the remittance it came from: since its last reversal, the last payment or
    denial of the whole claim and each part of a split claim after it. None when a posting is not known."""
    assert deps.remittances is not None
    entries: list[dict[str, Any]] = []
    for rid in claim.remittance_ids:
        stored = deps.remittances.get(rid)
        kept = stored.claims if stored is not None else []
        # in the order they were posted: a file's reversals before the rest of it
        entries += [{**e, "remittance_id": rid}
                    for e in sorted(kept, key=lambda e: (e.get("posting") or {}).get("kind") != "reversal")]
    parts: list[dict[str, Any]] = []
    # this file's postings so far; one posted by an earlier pass over it is in the kept record already
    for entry in [*entries, *({**e, "remittance_id": remittance_id} for e in here if "posting" in e)]:
        if entry.get("claim_id") != claim.claim_id or entry.get("outcome") != "posted":
            continue
        posting = entry.get("posting")
        if posting is None:
            return None
        if posting["kind"] == "reversal":
            parts = []
        elif entry.get("split") or (posting["kind"] == "payment" and parts and all(
                p["posting"]["kind"] == "payment" for p in parts)):
            parts.append(entry)  # a part (a split claim's payments were kept without the mark before it existed)
        else:
            parts = [entry]
    return parts


def _lines(posting: dict[str, Any]) -> set[int]:
    return {line["line_number"] for line in posting["lines"] if line["line_number"]}


def _paid_in_parts(deps: Deps, claim: Claim) -> bool:
    """Whether the payer paid the claim in parts (a split claim): a reversal or a new payment of one part cannot
    be told from one of the whole by its amounts alone."""
    return any(entry.get("split") for entry in deps.ledger.timeline(claim.claim_id))


def _answers_the_rest(deps: Deps, claim: Claim, posting: ClaimPosting, here: list[dict[str, Any]],
                      remittance_id: str) -> list[dict[str, Any]] | None:
    """A payer that splits a claim answers its lines in two (or more) claim payments, each with its own charge:
    one may pay a part and another deny the rest. A payment or a denial for a `paid` or `denied` claim is the
    rest of it when it answers only lines no earlier part answered and the charges adjudicated stay within the
    claim's. Returns the earlier parts (None: not the rest of a split claim)."""
    if posting.kind == "reversal" or claim.status not in ("paid", "denied") or not claim.superbill \
            or not posting.lines:
        return None
    numbers = [line.line_number for line in posting.lines]
    if any(n is None for n in numbers) or len(set(numbers)) != len(numbers):
        return None
    parts = _current_parts(deps, claim, here, remittance_id)
    if not parts:
        return None
    answered = set().union(*(_lines(p["posting"]) for p in parts))
    if not answered or answered & {n for n in numbers if n is not None}:
        return None
    charges = sum((Decimal(str(p["posting"]["charge"])) for p in parts), Decimal(0))
    return parts if charges + posting.charge <= Decimal(str(claim.superbill.get("total_charge") or "0")) else None


def denied_part(posting: dict[str, Any], remittance_id: str) -> dict[str, Any]:
    """A split claim's part the payer denied, as the claim shows it."""
    return {"remittance_id": remittance_id, "payer_claim_number": posting.get("payer_claim_number"),
            "charge": posting["charge"], "adjusted": posting["adjusted"],
            "patient_responsibility": posting["patient_responsibility"], "lines": sorted(_lines(posting)),
            "reasons": posting.get("reasons") or []}


def _post_claim(deps: Deps, remittance_id: str, remittance: Remittance,
                payment: ClaimPayment, here: list[dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """What became of one CLP loop (`outcome`: posted, duplicate, unmatched, not_postable, waiting), and
    whether it was posted just now."""
    entry: dict[str, Any] = {"claim_id": payment.claim_id, "status_code": payment.status_code,
                             "payer_claim_number": payment.payer_claim_number, "charge": _money(payment.charge),
                             "paid": _money(payment.paid)}
    key = posting_key(remittance, payment)
    earlier = deps.ledger.posted_by(key) or _posted_under_the_legacy_key(deps, remittance, payment)
    if earlier is not None:
        return {**entry, "outcome": "posted" if earlier == remittance_id else "duplicate",
                "detail": None if earlier == remittance_id else f"already posted from {earlier}"}, False
    claim: Claim | None = deps.ledger.get(payment.claim_id)
    if claim is None or claim.route != "direct_billing":
        detail = "no claim with this id" if claim is None else "not a claim we sent to the clearinghouse"
        log.warning("remittance.unmatched_claim", remittance_id=remittance_id)
        return {**entry, "outcome": "unmatched", "detail": detail}, False
    superbill = Superbill.model_validate(claim.superbill) if claim.superbill else None
    posting = post_claim_payment(payment, superbill, trace_number=remittance.trace_number,
                                 payment_date=remittance.payment_date)
    entry["posting"] = posting.model_dump(mode="json")
    if posting.problems:
        log.warning("remittance.not_postable", remittance_id=remittance_id, claim_id=claim.claim_id,
                    reason="does not balance")
        return {**entry, "outcome": "not_postable", "detail": "; ".join(posting.problems)}, False
    if posting.kind == "reversal" and (claim.paid_amount or Decimal(0)) + posting.paid < 0:
        return {**entry, "outcome": "not_postable",
                "detail": f"the reversal takes back {_money(-posting.paid)} but the claim has "
                          f"{_money(claim.paid_amount or Decimal(0))} paid"}, False
    parts = _answers_the_rest(deps, claim, posting, here, remittance_id)
    split = parts is not None
    if not split and posting.kind != "denial" and claim.remittance_ids and _paid_in_parts(deps, claim):
        return {**entry, "outcome": "not_postable",
                "detail": f"the payer paid this claim in parts; a {posting.kind} after that is left for a person: "
                          "compare the payer's parts with the claim's payment"}, False
    expected = (claim.status,) if split else statuses_before(posting.kind,
                                                             remitted_before=bool(claim.remittance_ids))
    if claim.status not in expected:
        # a claim still on its way (the 835 overtook our record of its submission) is tried again later
        outcome = "not_postable" if claim.is_final else "waiting"
        return {**entry, "outcome": outcome,
                "detail": f"the claim is {claim.status}; a {posting.kind} applies to {', '.join(expected)}"}, False
    # the rest of a split claim: paid once any part is paid, denied while every part is denied
    to = status_after(posting.kind, frequency_code=claim.frequency_code) if not split or posting.kind == "payment" \
        else claim.status
    fields = _claim_fields(claim, posting, remittance_id, remittance.payment_date, adds=split)
    if parts is not None:
        fields.update(_split_fields(claim, posting, remittance_id, parts, to))
    ok, seen = deps.ledger.post_once(
        claim.claim_id, key, remittance_id, expected, to, kind=f"remittance.{posting.kind}", fields=fields,
        paid=_money(posting.paid), adjusted=_money(posting.adjusted),
        patient_responsibility=_money(posting.patient_responsibility), reasons=posting.reason_codes,
        trace_number=remittance.trace_number, payer_claim_number=posting.payer_claim_number,
        paid_on=remittance.payment_date.isoformat() if remittance.payment_date else None,
        warnings=posting.warnings or None, split=split or None)
    if not ok:
        if seen.startswith("posted:"):
            earlier = seen.removeprefix("posted:")
            return {**entry, "outcome": "posted" if earlier == remittance_id else "duplicate",
                    "detail": None if earlier == remittance_id else f"already posted from {earlier}"}, False
        return {**entry, "outcome": "waiting", "detail": f"the claim changed meanwhile (now {seen or 'gone'})"}, False
    log.info("remittance.posted", remittance_id=remittance_id, claim_id=claim.claim_id, kind=posting.kind,
             status=to)
    _notify(deps, claim, posting)
    return {**entry, "outcome": "posted", "kind": posting.kind, "status": to, **({"split": True} if split else {})}, \
        True


def _claim_fields(claim: Claim, posting: ClaimPosting, remittance_id: str, paid_on: date | None, *,
                  adds: bool = False) -> dict[str, Any]:
    """The claim's money fields after the posting: a payment or a denial is the payer's current decision; a
    reversal takes its amounts back off; the rest of a split claim (`adds`) adds its amounts."""
    first_part = claim.payer_claim_number if adds else None
    adds = adds or posting.kind == "reversal"

    def amount(current: Decimal | None, new: Decimal) -> str:
        return _money((current or Decimal(0)) + new if adds else new)
    fields: dict[str, Any] = {
        "paid_amount": amount(claim.paid_amount, posting.paid),
        "adjusted_amount": amount(claim.adjusted_amount, posting.adjusted),
        "patient_responsibility": amount(claim.patient_responsibility, posting.patient_responsibility),
        "payment_trace": posting.trace_number,
        "paid_on": paid_on.isoformat() if paid_on else None,
        "remittance_ids": list(dict.fromkeys([*claim.remittance_ids, remittance_id])),
        "remitted_submission_no": claim.submission_no,
        "denial_reasons": [r.model_dump() for r in posting.reasons] if posting.kind == "denial" else [],
        "denied_parts": [] if not first_part else claim.denied_parts,
    }
    if posting.payer_claim_number and posting.kind != "reversal" and not first_part:
        fields["payer_claim_number"] = posting.payer_claim_number  # a split claim keeps its first part's
    return fields


def _split_fields(claim: Claim, posting: ClaimPosting, remittance_id: str, parts: list[dict[str, Any]],
                  to: str) -> dict[str, Any]:
    """A split claim's denial: on a claim paid for a part, each part denied (`denied_parts`, its reasons in
    plain words); on a claim every part of which is denied, the reasons of them all."""
    denied = [denied_part(p["posting"], p["remittance_id"]) for p in parts if p["posting"]["kind"] == "denial"]
    if posting.kind == "denial":
        denied.append(denied_part(posting.model_dump(mode="json"), remittance_id))
    if to == "paid":
        kept = {"payment_trace": claim.payment_trace, "paid_on": claim.paid_on} if posting.kind == "denial" else {}
        return {"denied_parts": denied, "denial_reasons": [], **kept}  # a denied part is not the claim's payment
    reasons = {r["code"]: r for part in denied for r in part["reasons"]}
    return {"denied_parts": [], "denial_reasons": list(reasons.values())}


def _notify(deps: Deps, claim: Claim, posting: ClaimPosting) -> None:
    """A denial is announced; so is any patient responsibility on a VA claim (veterans are never charged)."""
    if posting.kind == "denial" or (posting.patient_responsibility > 0 and claim.coverage_kind == "va_ccn"):
        deps.send(ALERT, claim.claim_id)


# provider-level adjustments (PLB) ----------------------------------------------------------------------------
def recovery_key(remittance: Remittance, adjustment: ProviderAdjustment, occurrence: int) -> str:
    """The same PLB adjustment in any file: the check or EFT and its date, the code, the reference, the amount,
    and which of the identical adjustments of that payment it is (a payer may recover twice for one claim)."""
    paid_on = remittance.payment_date.isoformat() if remittance.payment_date else ""
    return ":".join(["plb", remittance.trace_number, paid_on, adjustment.reason, adjustment.reference or "",
                     _money(adjustment.amount), str(occurrence)])


def _post_provider_adjustments(deps: Deps, remittance_id: str, remittances: list[Remittance],
                               entries: list[dict[str, Any]], waited: timedelta) -> tuple[list[dict[str, Any]], int]:
    """Every PLB adjustment of the file with what became of it (`outcome`: posted, duplicate, not_postable,
    waiting, or `provider_level` for one about the whole payment), and how many were posted now."""
    numbers: dict[str, set[str]] | None = None
    shown: list[dict[str, Any]] = []
    posted = 0
    for remittance in remittances:
        seen: dict[tuple[str, str, str], int] = {}
        for adjustment in remittance.provider_adjustments:
            row: dict[str, Any] = {"code": adjustment.reason, "amount": _money(adjustment.amount),
                                   "text": describe_provider_adjustment(adjustment.reason),
                                   "reference": adjustment.reference, "trace_number": remittance.trace_number}
            if not moves_claim_money(adjustment):
                shown.append({**row, "outcome": "provider_level", "claim_id": None,
                              "detail": "about the whole payment, not a claim's money"})
                continue
            ident = (adjustment.reason, adjustment.reference or "", _money(adjustment.amount))
            seen[ident] = seen.get(ident, 0) + 1
            if numbers is None:
                numbers = _payer_claim_numbers(deps, entries)
            outcome, now = _post_recovery(deps, remittance_id, remittance, adjustment,
                                          recovery_key(remittance, adjustment, seen[ident]), numbers, entries,
                                          waited)
            shown.append({**row, **outcome})
            posted += int(now)
    return shown, posted


def _payer_claim_numbers(deps: Deps, entries: list[dict[str, Any]]) -> dict[str, set[str]]:
    """The claims each payer claim number (CLP07) was posted to, by every remittance kept and this file."""
    assert deps.remittances is not None
    found: dict[str, set[str]] = {}
    kept = [e for stored in deps.remittances.all() for e in stored.claims]
    for entry in [*kept, *entries]:
        if entry.get("payer_claim_number") and entry.get("outcome") in ("posted", "duplicate"):
            found.setdefault(str(entry["payer_claim_number"]), set()).add(str(entry["claim_id"]))
    return found


def _claim_named(deps: Deps, reference: str | None, numbers: dict[str, set[str]]) -> tuple[Claim | None, str]:
    """The claim of ours a PLB reference names (by payer claim number or claim id), or why there is none."""
    candidates = reference_candidates(reference)
    if not candidates:
        return None, "the adjustment names no claim (PLB03-2 is empty)"
    ids: set[str] = set()
    for token in candidates:
        ids |= numbers.get(token, set())
        if token not in ids and deps.ledger.get(token) is not None:
            ids.add(token)
    claims = [c for c in deps.ledger.get_many(sorted(ids)) if c.route == "direct_billing"]
    if not claims:
        return None, "the reference matches no claim we sent to the clearinghouse (neither its claim id nor a " \
                     "payer claim number of ours)"
    if len(claims) > 1:
        return None, f"the reference names several claims ({', '.join(c.claim_id for c in claims)})"
    return claims[0], ""


def _post_recovery(deps: Deps, remittance_id: str, remittance: Remittance, adjustment: ProviderAdjustment,
                   key: str, numbers: dict[str, set[str]],
                   entries: list[dict[str, Any]], waited: timedelta) -> tuple[dict[str, Any], bool]:
    """A recovery (or an addition) posted against the claim its reference names, at most once per `key`. One
    whose claim has no payment of the payer posted yet waits for it (`waited`: since its file was received)."""
    claim, why = _claim_named(deps, adjustment.reference, numbers)
    cid = claim.claim_id if claim is not None else None
    earlier = deps.ledger.posted_by(key)
    if earlier is not None:
        return {"claim_id": cid, "outcome": "posted" if earlier == remittance_id else "duplicate",
                "detail": None if earlier == remittance_id else f"already posted from {earlier}"}, False
    if claim is None:
        log.warning("remittance.recovery_not_postable", remittance_id=remittance_id, code=adjustment.reason,
                    reason="no claim")
        return {"claim_id": None, "outcome": "not_postable", "detail": why}, False
    if any(e.get("claim_id") == claim.claim_id and e.get("outcome") == "waiting" for e in entries):
        return {"claim_id": cid, "outcome": "waiting",
                "detail": "the claim's own posting in this file waits: tried again with it"}, False
    if not claim.remittance_ids:
        never = why_no_payment_will_come(claim.status, waited)
        if never is not None:
            log.warning("remittance.recovery_not_postable", remittance_id=remittance_id, claim_id=claim.claim_id,
                        code=adjustment.reason, reason="no payment")
            return {"claim_id": cid, "outcome": "not_postable", "detail": never}, False
        # the claim's own payment is later: in a file not received or posted yet, or the claim is on its way
        return {"claim_id": cid, "outcome": "waiting",
                "detail": f"no payment of the payer is posted to this claim yet (it is {claim.status}): tried "
                          f"again with this file until its payment is posted, for at most {RECOVERY_WAITS.days} "
                          "days"}, False
    problem = recovery_problem(adjustment.amount, claim.paid_amount, claim.recovered_amount)
    if problem:
        log.warning("remittance.recovery_not_postable", remittance_id=remittance_id, claim_id=claim.claim_id,
                    code=adjustment.reason, reason="more than received")
        return {"claim_id": cid, "outcome": "not_postable", "detail": problem}, False
    text = describe_provider_adjustment(adjustment.reason)
    paid_on = remittance.payment_date.isoformat() if remittance.payment_date else None
    recovered = (claim.recovered_amount or Decimal(0)) + adjustment.amount
    fields: dict[str, Any] = {"recovered_amount": _money(recovered),
                              "remittance_ids": list(dict.fromkeys([*claim.remittance_ids, remittance_id]))}
    everything = claim.status == "paid" and fully_recovered(adjustment.amount, claim.paid_amount,
                                                              claim.recovered_amount)
    to = "denied" if everything else claim.status
    if everything:  # the payer took back all it paid: nothing paid, the whole charge owed again
        fields.update(paid_amount="0.00", adjusted_amount="0.00", patient_responsibility="0.00",
                      recovered_amount="0.00", denied_parts=[], denial_reasons=[{
                          "code": f"PLB-{adjustment.reason}",
                          "text": f"{text}: {_money(adjustment.amount)} of {_money(claim.paid_amount or Decimal(0))} "
                                  f"paid taken back on check/EFT {remittance.trace_number}"}])
    ok, seen = deps.ledger.post_once(
        claim.claim_id, key, remittance_id, (claim.status,), to, kind="remittance.recovery", fields=fields,
        amount=_money(adjustment.amount), code=adjustment.reason, reason=text, reference=adjustment.reference,
        trace_number=remittance.trace_number, paid_on=paid_on, fully_recovered=everything or None)
    if not ok:
        if seen.startswith("posted:"):
            earlier = seen.removeprefix("posted:")
            return {"claim_id": cid, "outcome": "posted" if earlier == remittance_id else "duplicate",
                    "detail": None if earlier == remittance_id else f"already posted from {earlier}"}, False
        return {"claim_id": cid, "outcome": "waiting",
                "detail": f"the claim changed meanwhile (now {seen or 'gone'})"}, False
    log.info("remittance.recovery_posted", remittance_id=remittance_id, claim_id=claim.claim_id,
             code=adjustment.reason, status=to)
    if everything:
        deps.send(ALERT, claim.claim_id)
    return {"claim_id": cid, "outcome": "posted", "status": to, "detail": None}, True


# for ops --------------------------------------------------------------------------------------------------
def list_remittances(deps: Deps) -> list[dict[str, Any]]:
    """Every remittance file received, oldest first: its payment, and how many claims it posted or not."""
    return [] if deps.remittances is None else [r.overview() for r in deps.remittances.all()]


def show_remittance(deps: Deps, remittance_id: str, *, with_x12: bool = True) -> dict[str, Any] | None:
    """One file: its payment, each claim with what was posted (or why not), and the X12 text."""
    stored = deps.remittances.get(remittance_id) if deps.remittances is not None else None
    if stored is None:
        return None
    shown = {**stored.overview(), "claims": stored.claims}
    if with_x12:
        shown["x12"] = stored.x12
    return shown
