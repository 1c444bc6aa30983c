"""The sandbox peers' memory: what each peer took, under which idempotency key, and the faults.

Everything lives in one process, guarded by one lock (uvicorn runs plain ``def`` endpoints
in a thread pool). This is a stand-in for outside systems, not pipeline state.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from pipeline.sandbox.era import ClaimOutcome
from pipeline.sandbox.faults import Dice, Faults

JSONDict = dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """An HTTP answer before it is put on the wire."""

    status_code: int
    body: JSONDict
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ClearinghouseRecord:
    """One 837P the clearinghouse took (999 accepted), and its 277CA as it stands."""

    idempotency_key: str
    claim_id: str
    submission_id: str
    fingerprint: str
    x12: str
    received_at: str
    first_answer: Answer
    ack277ca: JSONDict
    decided_ack277ca: JSONDict
    decide_after: float
    remitted: bool = False  # its remittance (835) was written

    def current_body(self) -> JSONDict:
        return {**self.first_answer.body, "ack277ca": dict(self.ack277ca)}


@dataclass
class BillingRecord:
    """One superbill the billing service took (accepted, or rejected at the claim level)."""

    idempotency_key: str
    claim_id: str
    reference: str
    fingerprint: str
    request: JSONDict
    received_at: str
    first_answer: Answer


KEY_REUSED = {"error": "idempotency key reused with a different body"}


def first_answer_for(records: Mapping[str, ClearinghouseRecord | BillingRecord], idempotency_key: str,
           fingerprint: str, peer: str) -> Answer | None:
    """The first answer under a key already taken (422 when the body differs); None for a new key.
    Hold the state lock."""
    record = records.get(idempotency_key)
    if record is None:
        return None
    if record.fingerprint != fingerprint:
        return Answer(422, dict(KEY_REUSED))
    structlog.get_logger("pipeline.sandbox").info(f"sandbox.{peer}.replayed", claim_id=record.claim_id,
                                                  idempotency_key=idempotency_key)
    return record.first_answer


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SandboxState:
    """Both peers' records, the counters, the faults in force and the random source."""

    def __init__(self, faults: Faults) -> None:
        self.lock = threading.Lock()
        self._initial_faults = faults
        self.faults = faults
        self.dice = Dice(faults.seed)
        self.clearinghouse: dict[str, ClearinghouseRecord] = {}
        self.billing: dict[str, BillingRecord] = {}
        self.refused: list[JSONDict] = []
        self._sequences: Counter[str] = Counter()
        self.generation = 0  # bumped by reset(), so peers with memory of their own forget it too
        self.remittances: list[JSONDict] = []  # the 835 feed: {"seq", "remittance_id", "x12", "created_at"}
        self.feed_id = secrets.token_hex(4)  # in the feed's cursors: one from an earlier feed is known as such
        self.payments: dict[str, ClaimOutcome] = {}  # claim id -> its last payment not taken back
        self.reversals: list[str] = []  # claim ids whose last payment the next 835 takes back

    def next_id(self, prefix: str) -> str:
        """``CH-000001``, ``BS-000001``...: one sequence per prefix. Hold the lock."""
        self._sequences[prefix] += 1
        return f"{prefix}-{self._sequences[prefix]:06d}"

    def set_faults(self, faults: Faults) -> None:
        """Change the faults at run time; a spec with a seed restarts the random source."""
        with self.lock:
            self.faults = faults
            if faults.seed is not None:
                self.dice.reseed(faults.seed)

    def reset(self) -> None:
        """Forget every submission and counter; back to the faults the peers started with."""
        with self.lock:
            self.faults = self._initial_faults
            self.dice = Dice(self._initial_faults.seed)
            self.clearinghouse.clear()
            self.billing.clear()
            self.refused.clear()
            self._sequences.clear()
            self.generation += 1
            self.remittances.clear()
            self.feed_id = secrets.token_hex(4)
            self.payments.clear()
            self.reversals.clear()

    def receipts(self) -> dict[str, int]:
        """Claim id -> number of distinct idempotency keys taken for it, across both peers."""
        with self.lock:
            counts: Counter[str] = Counter()
            for ch in self.clearinghouse.values():
                counts[ch.claim_id] += 1
            for bs in self.billing.values():
                counts[bs.claim_id] += 1
            return dict(sorted(counts.items()))

    def submissions(self) -> JSONDict:
        """Everything taken, in order, for tests; plus the files and requests refused."""
        with self.lock:
            return {
                "clearinghouse": [
                    {
                        "idempotency_key": r.idempotency_key,
                        "claim_id": r.claim_id,
                        "submission_id": r.submission_id,
                        "received_at": r.received_at,
                        "ack277ca": dict(r.ack277ca),
                        "x12": r.x12,
                    }
                    for r in self.clearinghouse.values()
                ],
                "billing_service": [
                    {
                        "idempotency_key": r.idempotency_key,
                        "claim_id": r.claim_id,
                        "reference": r.reference,
                        "received_at": r.received_at,
                        "status": r.first_answer.body["status"],
                        "document_number": r.request.get("document_number"),
                        "superbill": r.request.get("superbill"),
                        "provider": r.request.get("provider"),
                        "coverage": r.request.get("coverage"),
                    }
                    for r in self.billing.values()
                ],
                "refused": [dict(item) for item in self.refused],
            }
