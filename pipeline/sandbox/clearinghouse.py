"""The sandbox clearinghouse: takes an 837P, answers with a 999 and a 277CA, and later with an 835.

A file the 999 rejects is received but not taken: it counts for nothing and its
idempotency key stays free. A file the 999 accepts is taken once per idempotency key; its
277CA is accepted, rejected (``reject_rate``) or pending until a later status poll.

``remit_delay_ms`` after a claim is accepted, the payer's remittance (X12 835) for it can be
fetched from the remittance feed (``remittances(after=cursor)``): paid in full, underpaid
(``underpay_rate``, CO-45) or denied (``deny_rate``). A replacement claim (frequency 7) takes the
earlier payment back (CLP02 22) and is paid anew; a void (8) only takes it back; so does a
reversal asked for on the control route. Every claim that matured since the last fetch goes
into one 835 (one check).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

import structlog

from pipeline.sandbox.era import ClaimOutcome, denied, paid_in_full, read_submitted_claim, render_835, underpaid
from pipeline.sandbox.state import Answer, ClearinghouseRecord, JSONDict, SandboxState, first_answer_for, utc_now
from pipeline.sandbox.x12 import claim_ids, fingerprint_text

log = structlog.get_logger("pipeline.sandbox.clearinghouse")

REJECT_REASONS_277CA: tuple[str, ...] = (
    "A7:562 Entity's member id invalid",
    "A7:21 Missing or invalid information",
    "A3:33 Subscriber and subscriber id not found",
    "A8:116 Claim submitted to the incorrect payer",
    "A7:145 Entity's specialty/taxonomy code",
)

# Denials as a payer writes them: CAS group, CARC, and the RARC that customarily goes with it.
DENIALS: tuple[tuple[str, str, str | None], ...] = (
    ("CO", "50", "N115"),   # not medically necessary; decision based on a Local Coverage Determination
    ("CO", "197", "N54"),   # authorization absent; inconsistent with the authorized services
    ("CO", "96", "N130"),   # non-covered charge; see the plan's benefit documents
    ("CO", "16", "M51"),    # lacks information; missing/incomplete/invalid procedure code
    ("PR", "96", "N130"),   # non-covered, billed to the patient (never for a veteran: the pipeline alerts)
)

UNKNOWN_KEY = {"error": "unknown key"}


class ValidationOutcome(Protocol):
    """What an 837P validator returns: whether the 999 accepts, and why not."""

    @property
    def ok(self) -> bool: ...

    @property
    def errors(self) -> list[str]: ...


Validator = Callable[[str], ValidationOutcome]


class Clearinghouse:
    """The clearinghouse peer's behaviour, free of HTTP.

    Its default validator (`x12_validation.validate_837p`) keeps pyx12's verdicts by the file's content hash,
    so a file sent again (a retry under the same key, a resubmission of the same text) is not walked again.
    That is fair for a stand-in of a remote clearinghouse: its verdict on a file depends on the file alone.
    """

    def __init__(
        self,
        state: SandboxState,
        validate: Validator,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._state = state
        self._validate = validate
        self._clock = clock

    def submit(self, idempotency_key: str, body: bytes) -> Answer:
        """Receive one 837P under an idempotency key."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        canonical = fingerprint_text(text).encode() if text is not None else body
        fingerprint = hashlib.sha256(canonical).hexdigest()

        replay = self._replay(idempotency_key, fingerprint)
        if replay is not None:
            return replay

        errors = self._check(text)
        ids = claim_ids(text) if text is not None else []
        claim_id = ids[0] if ids else None

        with self._state.lock:
            replay = first_answer_for(self._state.clearinghouse, idempotency_key, fingerprint, "clearinghouse")
            if replay is not None:
                return replay
            submission_id = self._state.next_id("CH")
            if errors:
                return self._refuse(submission_id, idempotency_key, claim_id, errors)
            assert claim_id is not None
            record = self._take(submission_id, idempotency_key, claim_id, fingerprint, text or "")
        log.info(
            "sandbox.clearinghouse.taken",
            claim_id=claim_id,
            idempotency_key=idempotency_key,
            submission_id=submission_id,
            ack277ca=record.ack277ca["status"],
        )
        return record.first_answer

    def status(self, idempotency_key: str) -> Answer:
        """What happened to the file sent under this key; decides a 277CA that is due."""
        with self._state.lock:
            record = self._state.clearinghouse.get(idempotency_key)
            if record is None:
                return Answer(404, dict(UNKNOWN_KEY))
            if record.ack277ca["status"] == "pending" and self._clock() >= record.decide_after:
                record.ack277ca = dict(record.decided_ack277ca)
                log.info(
                    "sandbox.clearinghouse.ack277ca_decided",
                    claim_id=record.claim_id,
                    idempotency_key=idempotency_key,
                    ack277ca=record.ack277ca["status"],
                )
            return Answer(200, record.current_body())

    def _check(self, text: str | None) -> list[str]:
        if text is None:
            return ["the file is not UTF-8 text"]
        if not text.strip():
            return ["the file is empty"]
        outcome = self._validate(text)
        if not outcome.ok:
            return list(outcome.errors) or ["the 837P failed validation"]
        ids = claim_ids(text)
        if len(ids) != 1:
            return [f"one claim (CLM segment with CLM01) per file expected, found {len(ids)}"]
        return []

    def _replay(self, idempotency_key: str, fingerprint: str) -> Answer | None:
        with self._state.lock:
            return first_answer_for(self._state.clearinghouse, idempotency_key, fingerprint, "clearinghouse")

    def _refuse(
        self, submission_id: str, idempotency_key: str, claim_id: str | None, errors: list[str]
    ) -> Answer:
        self._state.refused.append(
            {
                "peer": "clearinghouse",
                "idempotency_key": idempotency_key,
                "claim_id": claim_id,
                "submission_id": submission_id,
                "received_at": utc_now(),
                "errors": list(errors),
            }
        )
        log.info(
            "sandbox.clearinghouse.rejected_999",
            claim_id=claim_id,
            idempotency_key=idempotency_key,
            submission_id=submission_id,
            error_count=len(errors),
        )
        return Answer(
            422,
            {
                "submission_id": submission_id,
                "claim_id": claim_id,
                "idempotency_key": idempotency_key,
                "ack999": {"status": "rejected", "errors": list(errors)},
            },
        )

    def _take(
        self, submission_id: str, idempotency_key: str, claim_id: str, fingerprint: str, text: str
    ) -> ClearinghouseRecord:
        """Record a taken file and roll its 277CA. Hold the state lock."""
        faults, dice = self._state.faults, self._state.dice
        decided: JSONDict
        if dice.roll(faults.reject_rate):
            decided = {
                "status": "rejected",
                "reasons": [dice.pick(REJECT_REASONS_277CA)],
                "payer_claim_number": None,
            }
        else:
            decided = {"status": "accepted", "reasons": [], "payer_claim_number": "PCN" + dice.digits(10)}
        mode = faults.effective_ack_mode
        pending = mode == "poll" or (mode == "mixed" and dice.roll(0.5))
        shown = {"status": "pending", "reasons": [], "payer_claim_number": None} if pending else decided
        body = {
            "submission_id": submission_id,
            "claim_id": claim_id,
            "idempotency_key": idempotency_key,
            "ack999": {"status": "accepted", "errors": []},
            "ack277ca": dict(shown),
        }
        record = ClearinghouseRecord(
            idempotency_key=idempotency_key,
            claim_id=claim_id,
            submission_id=submission_id,
            fingerprint=fingerprint,
            x12=text,
            received_at=utc_now(),
            first_answer=Answer(202, body),
            ack277ca=dict(shown),
            decided_ack277ca=decided,
            decide_after=self._clock() + faults.ack_delay_ms / 1000.0,
        )
        self._state.clearinghouse[idempotency_key] = record
        return record

    # remittances ------------------------------------------------------------------------------------------
    def remittances(self, after: str | None, limit: int = 100) -> Answer:
        """The 835 files written after the cursor `after` (none: from the start), oldest first.

        A cursor is `<feed id>:<position>`. The feed lives in memory: a sandbox started again, or reset, is a new
        feed with a new id, and a cursor an earlier feed gave reads the new one from its start (a ledger that
        kept it misses nothing). Claims whose remittance is due are adjudicated first, all into one new 835."""
        with self._state.lock:
            feed = self._state.feed_id
            start = _position(after, feed)
            if start is None:
                return Answer(400, {"error": "cursor must be one the feed gave"})
            self._mature()
            items = [r for r in self._state.remittances if r["seq"] > start][:max(1, limit)]
            last = items[-1]["seq"] if items else start
            more = any(r["seq"] > last for r in self._state.remittances)
            return Answer(200, {
                "remittances": [{"remittance_id": r["remittance_id"], "cursor": f"{feed}:{r['seq']}",
                                 "x12": r["x12"], "created_at": r["created_at"]} for r in items],
                "cursor": f"{feed}:{last}", "has_more": more})

    def reverse(self, claim_id: str) -> Answer:
        """Ask for the claim's last payment to be taken back (CLP02 22) in the next 835."""
        with self._state.lock:
            if claim_id not in self._state.payments:
                return Answer(404, {"error": "no payment to take back for this claim"})
            if claim_id not in self._state.reversals:
                self._state.reversals.append(claim_id)
            return Answer(202, {"claim_id": claim_id, "status": "reversal queued"})

    def redeliver(self, remittance_id: str) -> Answer:
        """Put an 835 already in the feed in it again, under a new cursor (a duplicate delivery)."""
        with self._state.lock:
            found = [r for r in self._state.remittances if r["remittance_id"] == remittance_id]
            if not found:
                return Answer(404, {"error": "no such remittance"})
            self._append(found[0]["remittance_id"], found[0]["x12"])
            return Answer(202, {"remittance_id": remittance_id, "status": "delivered again"})

    def _append(self, remittance_id: str, x12: str) -> None:
        seq = len(self._state.remittances) + 1
        self._state.remittances.append({"seq": seq, "remittance_id": remittance_id, "x12": x12,
                                        "created_at": utc_now()})

    def _mature(self) -> None:
        """Adjudicate every accepted claim whose remittance is due; one 835 for all of them. Hold the lock."""
        state, dice, faults = self._state, self._state.dice, self._state.faults
        now = self._clock()
        due = [r for r in state.clearinghouse.values() if not r.remitted
               and r.decided_ack277ca.get("status") == "accepted"
               and now >= r.decide_after + faults.remit_delay_ms / 1000.0]
        outcomes: list[ClaimOutcome] = []
        for claim_id in state.reversals:
            outcomes.append(state.payments.pop(claim_id).reversed())
        state.reversals.clear()
        for record in sorted(due, key=lambda r: r.submission_id):
            record.remitted = True
            claim = read_submitted_claim(record.x12)
            number = str(record.decided_ack277ca.get("payer_claim_number") or record.submission_id)
            earlier = state.payments.pop(claim.claim_id, None)
            if earlier is not None and claim.frequency_code in ("7", "8"):
                outcomes.append(earlier.reversed())
            if claim.frequency_code == "8":
                continue
            if dice.roll(faults.deny_rate):
                outcome = denied(claim, number, *self._denial())
            elif dice.roll(faults.underpay_rate):
                outcome = underpaid(claim, number)
            else:
                outcome = paid_in_full(claim, number)
            if outcome.paid > 0:
                state.payments[claim.claim_id] = outcome
            outcomes.append(outcome)
        if not outcomes:
            return
        remittance_id = state.next_id("ERA")
        created = datetime.now(UTC)
        first = outcomes[0].claim
        x12 = render_835(outcomes, control_number=int(remittance_id.rsplit("-", 1)[1]),
                         trace_number=f"{100000000 + int(remittance_id.rsplit('-', 1)[1])}", created_at=created,
                         sender_id="CLEARINGHOUSE", receiver_id="THERAPKNEADS", payee_name=first.provider_name,
                         payee_npi=first.provider_npi, payer_name=first.payer_name or "VA CCN OPTUM")
        self._append(remittance_id, x12)
        if dice.roll(faults.remit_duplicate_rate):
            self._append(remittance_id, x12)
        log.info("sandbox.clearinghouse.remittance", remittance_id=remittance_id, claims=len(outcomes))

    def _denial(self) -> tuple[str, str, str | None]:
        return DENIALS[int(self._state.dice.digits(3)) % len(DENIALS)]


def _position(cursor: str | None, feed: str) -> int | None:
    """The position a cursor names in the feed `feed`: 0 for none, or for one an earlier feed gave (its id
    differs, or it is a bare number, as cursors were before they carried the feed's id); None for one no feed
    gave."""
    if not cursor:
        return 0
    feed_of, _, position = cursor.rpartition(":")
    if not position.isdigit() or not position.isascii() or (feed_of and not feed_of.isalnum()):
        return None
    return int(position) if feed_of == feed else 0
