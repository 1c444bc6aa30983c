"""The pipeline's steps run in this process, one after the other as they are sent, on a real Redis server,
with scripted peers and an alert receiver that remember what they were given.

It drives the application layer the way the dramatiq actors do (one step per message, in the order the steps
queue each other), without worker processes: the rules about visits, amendments, alerts and filters are
then checked against the ledger itself.
"""

from __future__ import annotations

import contextlib
import json
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from config.practice import load_practice
from pipeline.adapters.redis_ledger import Ledger
from pipeline.application import ops, stages, statement_delivery, steps
from pipeline.application.errors import PeerRefused, PeerUnavailable
from pipeline.application.ingest import receive
from pipeline.application.ports import PeerAnswer
from schemas.claim import Claim
from tests.examples import example

__all__ = ["AlertReceiver", "InlinePipeline", "ScriptedPeer", "example"]


class ScriptedPeer:
    """A peer that remembers what it took by idempotency key, like a real one, and answers `outcome`:
    `accepted`, `pending`, `rejected` (a final no), `refused` (a 4xx), `unreachable` (every call fails), or
    `answer_lost` (it takes the submission as accepted, but its answer never arrives: a 503)."""

    def __init__(self, name: str, outcome: str = "accepted") -> None:
        self.name = name
        self.outcome = outcome
        self.taken: dict[str, Any] = {}
        self.answers: dict[str, PeerAnswer] = {}  # what it answered for each key it took, as it will again
        self.sent = 0

    def _answer(self) -> PeerAnswer:
        if self.outcome == "rejected":
            return PeerAnswer(outcome="rejected", reference="REF1", reasons=["277CA: A7:21 Missing information"])
        return PeerAnswer(outcome=self.outcome, reference="REF1")  # type: ignore[arg-type]

    def submit(self, document: Any, *, idempotency_key: str) -> PeerAnswer:
        self.sent += 1
        if self.outcome == "unreachable":
            raise PeerUnavailable(self.name, "answered 503")
        if self.outcome == "refused":
            raise PeerRefused(self.name, 403, ["not allowed"])
        if self.outcome == "answer_lost":
            self.taken.setdefault(idempotency_key, document)
            self.answers.setdefault(idempotency_key, PeerAnswer(outcome="accepted", reference="REF1"))
            raise PeerUnavailable(self.name, "answered 503")
        self.taken.setdefault(idempotency_key, document)
        return self.answers.setdefault(idempotency_key, self._answer())

    def lookup(self, idempotency_key: str) -> PeerAnswer | None:
        if self.outcome in ("unreachable", "answer_lost"):
            raise PeerUnavailable(self.name, "answered 503")
        return self.answers.get(idempotency_key)


class AlertReceiver:
    def __init__(self) -> None:
        self.notices: list[dict[str, Any]] = []

    def notify(self, notice: dict[str, Any]) -> None:
        self.notices.append(notice)


STEP_FUNCTIONS: dict[str, Callable[..., None]] = {
    steps.VALIDATE: stages.validate,
    steps.ASSEMBLE: stages.assemble,
    steps.ROUTE: stages.route,
    steps.STATEMENT: stages.make_statement,
    steps.SUBMIT_DIRECT: stages.submit_direct,
    steps.SUBMIT_COURTESY: stages.submit_courtesy,
    steps.ALERT: stages.send_alert,
    steps.SUBMISSION_FAILED: stages.mark_failed,
    steps.SEND_STATEMENT: statement_delivery.send_statement,
}


class InlinePipeline:
    def __init__(self, redis_url: str, *, now: datetime = datetime(2026, 11, 21, 12, tzinfo=UTC)) -> None:
        client = redis.Redis.from_url(redis_url)
        client.flushdb()
        self.clearinghouse = ScriptedPeer("clearinghouse")
        self.billing_service = ScriptedPeer("billing_service")
        self.alerts = AlertReceiver()
        self.queue: deque[tuple[str, str]] = deque()
        self.later: list[tuple[str, str, int]] = []  # steps sent with a delay: run by `run_later`
        self.ran: list[tuple[str, str]] = []
        self.now = now
        self.deps = stages.Deps(ledger=Ledger(client), practice=load_practice(), send=self._send,
                                clearinghouse=self.clearinghouse, billing_service=self.billing_service,
                                alerts=self.alerts, now=lambda: self.now)

    @property
    def ledger(self) -> Ledger:
        assert isinstance(self.deps.ledger, Ledger)
        return self.deps.ledger

    def _send(self, step: str, claim_id: str, delay_ms: int | None = None) -> None:
        if delay_ms:
            self.later.append((step, claim_id, delay_ms))
        else:
            self.queue.append((step, claim_id))

    def run_later(self, *, after: timedelta) -> list[int]:
        """Move the clock on and run the delayed steps; returns the delays they had been sent with."""
        delayed, self.later = self.later, []
        self.now += after
        self.queue.extend((step, claim_id) for step, claim_id, _ in delayed)
        self.run()
        return [delay for _, _, delay in delayed]

    def run(self, *, max_steps: int = 100) -> None:
        """Run queued steps until none is left. A step that raises (a peer unreachable) is dropped, as
        dramatiq would retry it later; the caller decides what happens next (`retries_run_out`)."""
        for _ in range(max_steps):
            if not self.queue:
                return
            step, claim_id = self.queue.popleft()
            self.ran.append((step, claim_id))
            with contextlib.suppress(PeerUnavailable):
                STEP_FUNCTIONS[step](self.deps, claim_id)
        raise AssertionError(f"the steps did not settle within {max_steps}: {list(self.queue)[:5]}")

    def post(self, doc: dict[str, Any]) -> str:
        claim_id = self.receive(doc)
        self.run()
        return claim_id

    def receive(self, doc: dict[str, Any]) -> str:
        """The event taken in and its first step queued, not run."""
        outcome = receive(self.ledger, json.dumps(doc).encode(), self._send, source="test")
        assert outcome.http_status == 202, outcome.body
        return str(outcome.body["claim_id"])

    def run_until(self, step: str) -> None:
        """Run queued steps until `step` is the next one."""
        while self.queue and self.queue[0][0] != step:
            queued, claim_id = self.queue.popleft()
            self.ran.append((queued, claim_id))
            STEP_FUNCTIONS[queued](self.deps, claim_id)
        assert self.queue, f"{step} was never queued"

    def park(self, session_id: str) -> str:
        """A VA claim without its referral, for the session `session_id`: needs attention, ready to resubmit."""
        doc = example("va_missing_referral")
        doc["event_id"], doc["session"]["session_id"] = f"evt_{session_id}", session_id
        return self.post(doc)

    def retries_run_out(self, claim_id: str) -> None:
        """What the broker does when a submission's retries are spent."""
        self._send(steps.SUBMISSION_FAILED, claim_id)
        self.run()

    def amend(self, claim_id: str, patch: dict[str, Any]) -> None:
        result = ops.amend(self.ledger, claim_id, patch, source="test")
        assert result.ok, (result.message, result.errors)

    def resubmit(self, claim_id: str) -> ops.ResubmitResult:
        result = ops.resubmit(self.ledger, [claim_id], self._send, source="test")
        assert result.resubmitted == [claim_id], result.as_dict()
        self.run()
        return result

    def kinds(self, claim_id: str) -> list[str]:
        return [e["kind"] for e in self.ledger.timeline(claim_id)]

    def claim(self, claim_id: str) -> Claim:
        claim = self.ledger.get(claim_id)
        assert claim is not None
        return claim

    def sessions_on(self, referral_number: str) -> set[str]:
        """The sessions that use a visit of this referral, read straight from Redis (CONTRACT: the ledger
        keeps, per referral number, the set of sessions that use one of its visits)."""
        return {m.decode() for m in self.ledger.r.smembers(f"sb:referral:{referral_number}")}
