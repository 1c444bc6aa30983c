"""The sandbox clearinghouse: takes an 837P, answers with a 999 and a 277CA.

A file the 999 rejects is received but not taken: it counts for nothing and its
idempotency key stays free. A file the 999 accepts is taken once per idempotency key; its
277CA is accepted, rejected (``reject_rate``) or pending until a later status poll.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Protocol

import structlog

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

UNKNOWN_KEY = {"error": "unknown key"}


class ValidationOutcome(Protocol):
    """What an 837P validator returns: whether the 999 accepts, and why not."""

    @property
    def ok(self) -> bool: ...

    @property
    def errors(self) -> list[str]: ...


Validator = Callable[[str], ValidationOutcome]


class Clearinghouse:
    """The clearinghouse peer's behaviour, free of HTTP."""

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
