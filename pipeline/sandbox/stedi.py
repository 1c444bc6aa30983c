"""The sandbox clearinghouse in Stedi's shape: the raw X12 837P submission, Stedi's idempotency, its own 277CA in
the answer, and the payer's 277CA (and, where there is one, an 835) later through a paged transaction poll.

Served under ``/stedi`` (see ``pipeline.sandbox.app``): ``/stedi/healthcare/2024-04-01/...`` and
``/stedi/core/2023-08-01/...``, like Stedi's two hosts. What it does, as Stedi documents it:

- ``Authorization: <key>`` (or ``Key <key>``; a ``Bearer`` scheme is refused with 401). A key starting with
  ``test`` sends test claims only: an 837P whose ISA15 is not ``T`` is answered 403.
- ``Idempotency-Key``: the same key with the same 837P within 24 hours returns the first answer and takes
  nothing new; with a different 837P, 422; while the first is still being processed, 409 with ``Retry-After``.
  A claim that fails validation (400) is not kept: its key stays free, as for the sandbox's other shape.
- 200: ``status: SUCCESS``, ``claimReference`` and Stedi's accepting 277CA (A1:20) in ``x12``; the payer's
  277CA (A2:20 with a payer claim number, or a rejection at ``reject_rate``) is published ``ack_delay_ms``
  later; the sandbox payer's 835s (``pipeline.sandbox.era``: paid, underpaid, denied, reversed, as the faults
  say, ``remit_delay_ms`` after the payer accepted) are published as they are written.
- ``GET /polling/transactions``: oldest first, ``pageSize`` (default 100), always a ``nextPageToken``; a
  transaction processed less than the ``list_delay_ms`` fault ago is not listed yet (Stedi: 15 seconds).
- Webhook deliveries (``pipeline.sandbox.stedi_webhooks``), when set up: each transaction as it is processed.
- ``GET /transactions/{id}/input-url``: a download URL for the X12, served without a key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from pipeline.sandbox.clearinghouse import REJECT_REASONS_277CA, Validator
from pipeline.sandbox.state import Answer, ClearinghouseRecord, JSONDict, SandboxState, utc_now
from pipeline.sandbox.x12 import claim_ids, fingerprint_text, segments
from pipeline.sandbox.x12_277ca import render_277ca

log = structlog.get_logger("pipeline.sandbox.stedi")

REPLAY_WINDOW_S = 24 * 3600
MAX_PAGE_SIZE = 500

# The sandbox payer's remittance feed: the 835 files written after a place in it, as
# {"remittance_id", "cursor", "x12", "created_at"} (``Clearinghouse.remittances``: it adjudicates what is due
# first).
RemittanceFeed = Callable[[str | None], list[JSONDict]]  # after a cursor of the feed (None: its start)


@dataclass
class FeedItem:
    transaction_id: str
    kind: str  # "277" | "835"
    x12: str
    due: float  # clock time from which the poll shows it
    mode: str
    processed_at: str = ""
    published_at: float = 0.0


@dataclass
class _Taken:
    fingerprint: str
    answer: Answer
    at: float


class StediPeer:
    """The Stedi-shaped clearinghouse, free of HTTP. Taken claims are also the sandbox's clearinghouse records,
    so ``/_sandbox/receipts`` counts them."""

    def __init__(self, state: SandboxState, validate: Validator, *, clock: Callable[[], float] = time.monotonic,
                 remittances: RemittanceFeed | None = None) -> None:
        self._state = state
        self._validate = validate
        self._clock = clock
        self._remittances = remittances
        self._era_cursor: str | None = None  # the place in the payer's remittance feed already published
        self._lock = threading.Lock()
        self._era_lock = threading.Lock()
        self._taken: dict[str, _Taken] = {}
        self._in_flight: set[str] = set()
        self._scheduled: list[FeedItem] = []
        self._published: list[FeedItem] = []
        self._documents: dict[str, str] = {}
        self._generation = state.generation

    # submission ------------------------------------------------------------------------------------------
    def submit(self, api_key: str, idempotency_key: str | None, body: bytes) -> Answer:
        self._forget_if_reset()
        try:
            document = json.loads(body)
            x12 = document["x12"]
            if not isinstance(x12, str) or not x12.strip():
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return Answer(400, {"code": "ValidationException", "message": 'the body must be {"x12": "<837P>"}'})
        fingerprint = hashlib.sha256(fingerprint_text(x12).encode()).hexdigest()
        if idempotency_key:
            with self._lock:
                replay = self._replay(idempotency_key, fingerprint)
                if replay is not None:
                    return replay
                if idempotency_key in self._in_flight:
                    return Answer(409, {"message": "a request with this idempotency key is in progress"},
                                  {"Retry-After": "1"})
                self._in_flight.add(idempotency_key)
        try:
            answer = self._process(api_key, idempotency_key, x12, fingerprint)
            if idempotency_key and answer.status_code == 200:
                with self._lock:
                    self._taken[idempotency_key] = _Taken(fingerprint, answer, self._clock())
            return answer
        finally:
            if idempotency_key:
                with self._lock:
                    self._in_flight.discard(idempotency_key)

    def _replay(self, key: str, fingerprint: str) -> Answer | None:
        taken = self._taken.get(key)
        if taken is None or self._clock() - taken.at >= REPLAY_WINDOW_S:
            return None
        if taken.fingerprint != fingerprint:
            return Answer(422, {"code": "RequestChanged",
                                "message": "the idempotency key was used with a different request"})
        log.info("sandbox.stedi.replayed", idempotency_key=key)
        return taken.answer

    def _process(self, api_key: str, key: str | None, x12: str, fingerprint: str) -> Answer:
        usage = _isa15(x12)
        if api_key.lower().startswith("test") and usage != "T":
            return Answer(403, {"code": "AccessDeniedException",
                                "message": "a test API key can only send test claims (ISA15 T)"})
        outcome = self._validate(x12)
        ids = claim_ids(x12)
        claim_id = ids[0] if ids else ""
        charge, bht03, served = _charge(x12), _bht03(x12), _service_date(x12)
        with self._state.lock:
            number = int(self._state.next_id("STEDI").rsplit("-", 1)[1])
        if not outcome.ok or len(ids) != 1:
            errors = list(outcome.errors) or [f"one claim per 837P expected, found {len(ids)}"]
            rejection = render_277ca(claim_id=claim_id or "UNKNOWN", batch_trace=bht03, control_number=number,
                                     sender="stedi", category="A7", status="21", charge=charge, usage=usage,
                                     service_date=served)
            return Answer(400, {"status": "ERROR", "httpStatusCode": "400 BAD_REQUEST", "x12": rejection,
                                "errors": [{"code": "21", "description": e,
                                            "followupAction": "Please Correct and Resubmit"} for e in errors],
                                "meta": {"traceId": str(uuid.uuid4())}})
        correlation_id = f"01STEDI{number:019d}"
        accepted = render_277ca(claim_id=claim_id, batch_trace=bht03, control_number=number, sender="stedi",
                                category="A1", status="20", charge=charge, usage=usage, service_date=served)
        body: JSONDict = {
            "status": "SUCCESS", "httpStatusCode": "200 OK", "controlNumber": f"{number:09d}",
            "claimReference": {"correlationId": correlation_id, "rhclaimNumber": correlation_id,
                               "patientControlNumber": claim_id, "formatVersion": "5010",
                               "timeOfResponse": utc_now()},
            "meta": {"traceId": str(uuid.uuid4())}, "x12": accepted,
        }
        answer = Answer(200, body)
        with self._state.lock:
            faults, dice = self._state.faults, self._state.dice
            rejected = dice.roll(faults.reject_rate)
            reason = dice.pick(REJECT_REASONS_277CA) if rejected else ""
            payer_claim_number = "PCN" + dice.digits(10)
            self._state.clearinghouse[key or correlation_id] = ClearinghouseRecord(
                idempotency_key=key or correlation_id, claim_id=claim_id, submission_id=correlation_id,
                fingerprint=fingerprint, x12=x12, received_at=utc_now(), first_answer=answer,
                ack277ca={"status": "rejected" if rejected else "accepted"},
                decided_ack277ca={"status": "rejected" if rejected else "accepted",
                                  "payer_claim_number": None if rejected else payer_claim_number},
                decide_after=self._clock() + faults.ack_delay_ms / 1000.0)
            delay_s = faults.ack_delay_ms / 1000.0
        now = self._clock()
        self._schedule("277", accepted, now, usage)
        if rejected:
            category, status = reason.split(" ", 1)[0].split(":")
            payer_ack = render_277ca(claim_id=claim_id, batch_trace=bht03, control_number=number + 500000,
                                     sender="payer", category=category, status=status, charge=charge,
                                     message=reason.split(" ", 1)[1], usage=usage, service_date=served)
        else:
            payer_ack = render_277ca(claim_id=claim_id, batch_trace=bht03, control_number=number + 500000,
                                     sender="payer", category="A2", status="20", charge=charge,
                                     payer_claim_number=payer_claim_number, usage=usage, service_date=served)
        self._schedule("277", payer_ack, now + delay_s, usage)
        log.info("sandbox.stedi.taken", claim_id=claim_id, idempotency_key=key, correlation_id=correlation_id,
                 payer_277ca="rejected" if rejected else "accepted")
        return answer

    def _schedule(self, kind: str, x12: str, due: float, usage: str) -> None:
        item = FeedItem(str(uuid.uuid4()), kind, x12, due, "test" if usage == "T" else "production")
        with self._lock:
            self._scheduled.append(item)
            self._documents[item.transaction_id] = x12

    # the transaction poll ------------------------------------------------------------------------------
    def poll(self, page_token: str | None, start: str | None, page_size: int) -> Answer:
        self._forget_if_reset()
        if not page_token and not start:
            return Answer(400, {"code": "BadRequestException", "message": "pageToken or startDateTime is required"})
        after = 0
        if page_token:
            try:
                after = int(json.loads(base64.urlsafe_b64decode(page_token.encode()))["after"])
            except (ValueError, KeyError, TypeError):
                return Answer(400, {"code": "BadRequestException", "message": "pageToken is not valid"})
        elif start:
            try:
                since = datetime.fromisoformat(start.replace("Z", "+00:00"))
            except ValueError:
                return Answer(400, {"code": "BadRequestException", "message": "startDateTime is not ISO 8601"})
        size = max(1, min(page_size, MAX_PAGE_SIZE))
        self._take_remittances()
        with self._lock:
            self._publish_due()
            listed_until = time.time() - self._state.faults.list_delay_ms / 1000.0
            if not page_token:  # processed after startDateTime, exclusive
                after = sum(1 for i in self._published if i.published_at <= since.timestamp())
            page = [i for i in self._published[after:after + size] if i.published_at <= listed_until]
            position = after + len(page)
        items = [self._summary(item) for item in page]
        return Answer(200, {"items": items, "nextPageToken": _token(position)})

    def _take_remittances(self) -> None:
        """The payer's new 835s (the sandbox clearinghouse writes them for the claims it accepted, whichever
        shape took them) become inbound 835 transactions."""
        if self._remittances is None:
            return
        with self._era_lock:  # the poll's threads and the webhook sender's: each 835 scheduled once
            while entries := self._remittances(self._era_cursor):
                for entry in entries:  # the place moves with each 835 scheduled: none is scheduled twice
                    self._schedule("835", str(entry["x12"]), self._clock(), "test")
                    self._era_cursor = str(entry["cursor"])

    def publish_due(self) -> list[tuple[str, str]]:
        """Process what is due now (the payer's new 835s included): (transaction id, transaction set) of each
        transaction processed by this call, for the webhook deliveries."""
        self._forget_if_reset()
        self._take_remittances()
        with self._lock:
            return [(item.transaction_id, item.kind) for item in self._publish_due()]

    def _publish_due(self) -> list[FeedItem]:
        now = self._clock()
        due = sorted((i for i in self._scheduled if i.due <= now), key=lambda i: i.due)
        for item in due:
            moment = datetime.now(UTC)
            item.published_at = moment.timestamp()
            item.processed_at = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            self._published.append(item)
            self._scheduled.remove(item)
        return due

    def _summary(self, item: FeedItem) -> JSONDict:
        release = "005010X214" if item.kind == "277" else "005010X221A1"
        return {
            "transactionId": item.transaction_id, "direction": "INBOUND", "mode": item.mode, "status": "succeeded",
            "processedAt": item.processed_at,
            "fileExecutionId": str(uuid.uuid5(uuid.NAMESPACE_URL, item.transaction_id)),
            "partnership": {"partnershipId": "sandbox-clearinghouse", "partnershipType": "x12"},
            "artifacts": [{"artifactType": "application/edi-x12", "model": "transaction", "usage": "input",
                           "sizeBytes": len(item.x12), "url": f"/transactions/{item.transaction_id}/input"}],
            "x12": {"metadata": {"transaction": {"transactionSetIdentifier": item.kind, "controlNumber": "0001"},
                                 "functionalGroup": {"release": release}}},
        }

    def document(self, transaction_id: str) -> str | None:
        with self._lock:
            return self._documents.get(transaction_id)

    def _forget_if_reset(self) -> None:
        """``/_sandbox/reset`` forgets this peer's keys and feed too."""
        with self._lock:
            if self._generation != self._state.generation:
                self._generation = self._state.generation
                self._taken.clear()
                self._scheduled.clear()
                self._published.clear()
                self._documents.clear()
                self._era_cursor = None


def _token(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": position}).encode()).decode()


def _isa15(x12: str) -> str:
    isa = next((s for s in segments(x12) if s[0] == "ISA"), [])
    return isa[15].strip() if len(isa) > 15 else ""


def _bht03(x12: str) -> str:
    bht = next((s for s in segments(x12) if s[0] == "BHT"), [])
    return bht[3] if len(bht) > 3 else ""


def _service_date(x12: str) -> str | None:
    dtp = next((s for s in segments(x12) if s[0] == "DTP" and len(s) > 3 and s[1] == "472"), [])
    return dtp[3] if dtp else None


def _charge(x12: str) -> str:
    clm = next((s for s in segments(x12) if s[0] == "CLM"), [])
    return clm[2] if len(clm) > 2 else "0"
