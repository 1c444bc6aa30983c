"""The ports the application owns: what it needs from the outside, as interfaces.

Adapters in `pipeline.adapters` implement them (the ledger on Redis, the HTTP peers, alerts, metrics,
the dramatiq step sender); the composition root (`pipeline.entrypoints.runtime`) plugs them in; tests plug
in fakes. The application never imports an adapter.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from schemas.claim import Claim

Outcome = Literal["accepted", "rejected", "pending"]


# the claim ledger -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IngestResult:
    outcome: str  # "created" | "duplicate" | "kept_for_review"
    claim_id: str
    queued: bool = False  # the new claim's first step was queued with it


@dataclass(frozen=True)
class Refused:
    """An inbound event the pipeline refused, kept verbatim with its errors."""

    refused_id: str
    received_at: float
    http_status: int
    errors: list[dict[str, str]]
    body: bytes
    source: str
    replayed_as: str | None = None
    times: int = 1  # how often these very bytes were refused this way (a sender's retries, replays)

    def replay(self) -> dict[str, Any] | None:
        """The recorded answer of the replay that counts (see `ops.replay_refused`), or None."""
        if not self.replayed_as:
            return None
        try:
            answer = json.loads(self.replayed_as)
        except ValueError:
            return {"http_status": 0, "status": self.replayed_as}
        return answer if isinstance(answer, dict) else None

    def replayed_into(self) -> str | None:
        """The claim a replay became, once one was taken (202 accepted, or 200 kept on the session's claim)."""
        answer = self.replay()
        if answer is None or answer.get("http_status") not in (200, 202):
            return None
        claim_id = answer.get("claim_id")
        return claim_id if isinstance(claim_id, str) else None

    def replay_text(self) -> str | None:
        """The replay's outcome for a person: `replayed as claim X`, or `replay refused (400)`."""
        answer = self.replay()
        if answer is None:
            return None
        claim_id = self.replayed_into()
        if claim_id is not None:
            status = answer.get("status")
            return f"replayed as claim {claim_id}" + (f" ({status})" if status and status != "accepted" else "")
        return f"replay refused ({answer.get('http_status')})"

    def summary(self) -> dict[str, Any]:
        return {
            "refused_id": self.refused_id,
            "received_at": self.received_at,
            "http_status": self.http_status,
            "errors": self.errors,
            "source": self.source,
            "replayed_as": self.replayed_as,
            "size": len(self.body),
            "times": self.times,
        }


class EventChanged(Exception):
    """An amendment made from a version of the claim's event that is no longer the claim's (another tab, another
    person amended it meanwhile): nothing of it was written."""

    def __init__(self, claim_id: str, based_on: str, now: str) -> None:
        super().__init__(f"{claim_id}: the event is at version {now}, not {based_on}")
        self.claim_id, self.based_on, self.now = claim_id, based_on, now


class AnswerKept(Exception):
    """A payment whose client's idempotency key is already kept (the same request made again, at the same
    moment): nothing of it was written; the kept answer says what was."""

    def __init__(self, claim_id: str) -> None:
        super().__init__(f"{claim_id}: an answer is already kept under this idempotency key")
        self.claim_id = claim_id


@dataclass(frozen=True)
class KeptAnswer:
    """A payment's answer kept under the client's idempotency key (per claim) for `ttl_seconds`: the request's
    `fingerprint` (what it asked for), the `answer` (JSON) and the event version the payment wrote."""

    key: str
    fingerprint: str
    answer: str
    ttl_seconds: int
    event_version: str = ""


class ClaimLedger(Protocol):
    """The source of truth: every claim, its event, its timeline; compare-and-set status changes."""

    def ingest(self, *, claim_id: str, event_id: str, session_id: str, event_doc: dict[str, Any],
               index: dict[str, str], now: float | None = None, first_step: str | None = None) -> IngestResult:
        """Record an event: a new claim, a duplicate, or an event kept for review. With `first_step`, a new
        claim's first step may be queued with it, atomically (`queued`); else the caller sends it."""
        ...

    def get(self, claim_id: str) -> Claim | None: ...

    def get_many(self, claim_ids: Iterable[str]) -> list[Claim]: ...

    def event_document(self, claim_id: str) -> dict[str, Any]: ...

    def dates_of_service(self, claim_ids: list[str]) -> dict[str, str]:
        """Each claim's date of service (`YYYY-MM-DD`; claims without one left out), one field of each read: what
        picks the claims a list by age shows before reading them whole."""
        ...

    def event_documents(self, claim_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The events of many claims at once (claims without one are left out)."""
        ...

    def keep_document(self, claim_id: str, name: str, text: str) -> None:
        """Keep what was sent to or answered by a peer (an 837P, a courtesy payload, a 999/277CA)."""
        ...

    def documents(self, claim_id: str) -> dict[str, str]: ...

    def timelines_since(self, claim_ids: list[str], since: float) -> dict[str, list[dict[str, Any]]]:
        """The timeline entries of these claims written at or after `since` (Unix seconds)."""
        ...

    def get_with_event(self, claim_id: str) -> tuple[Claim | None, dict[str, Any] | None]:
        """The claim and its event document, read together (None for what does not exist)."""
        ...

    def timeline(self, claim_id: str) -> list[dict[str, Any]]: ...

    def claim_ids(self, *, status: str | None = None, route: str | None = None) -> list[str]: ...

    def claim_ids_after(self, *, status: str | None = None, after: tuple[float, str] | None = None,
                        count: int = 100) -> list[tuple[str, float]]:
        """Up to `count` (claim id, score) after `after`, in creation order (or, with `status`, in the
        order the claims reached it): the claims index read a page at a time."""
        ...

    def refused_ids_after(self, *, after: tuple[float, str] | None = None,
                          count: int = 100) -> list[tuple[str, float]]:
        """Up to `count` (refused id, time) after `after`, oldest first."""
        ...

    def count_by_status(self) -> dict[str, int]: ...

    def count_by_route(self) -> dict[str, int]: ...

    def stale_claims(self, *, older_than: float, statuses: Iterable[str]) -> list[str]: ...

    def claim_ids_since(self, since: float, *, statuses: Iterable[str]) -> list[str]:
        """The claims that reached one of `statuses` at or after `since` (and are still in it)."""
        ...

    def claim_ids_active_since(self, since: float) -> list[str]:
        """The claims with a timeline entry of any kind (a step, an amendment, a note) at or after `since`,
        at most a day ago."""
        ...

    def transition(self, claim_id: str, expected: str | Iterable[str], to: str | None, *, kind: str,
                   fields: dict[str, Any] | None = None, now: float | None = None, **detail: Any) -> bool:
        """Move the claim to `to` if it is in one of `expected` ("*" for any); False and no change otherwise."""
        ...

    def advance(self, claim_id: str, expected: str | Iterable[str], to: str, *, then: str, kind: str,
                fields: dict[str, Any] | None = None, client_id: str | None = None,
                queue_delivery: bool = False, now: float | None = None, **detail: Any) -> tuple[bool, bool]:
        """`transition`, queueing the step `then` in the same atomic write when the ledger can:
        (moved, queued). When moved but not queued, the caller sends the step. Only when it moves, in the same
        write: `client_id` indexes the claim under its client (`client_claims`); `queue_delivery` queues the
        claim's statement e-mail (`statement_delivery` `queued`, `statement_sends` 1) unless it has one."""
        ...

    def note(self, claim_id: str, kind: str, **detail: Any) -> None:
        """A timeline entry without a status change."""
        ...

    def record_attempt(self, claim_id: str, *, error: str, peer: str) -> None: ...

    def replace_event(self, claim_id: str, event_doc: dict[str, Any], *, index: dict[str, str],
                      changed: list[str], source: str, by: str | None = None,
                      statuses: Iterable[str] = ..., based_on: str | None = None,
                      applied_event: str | None = None) -> str | None:
        """An amendment (`applied_event`: the id of the booking system's later event it applies, on its
        timeline entry): only for claims that are not on their way to, or at, a peer (by default), or in
        `statuses`: a correction amends a claim the payer adjudicated just before it is sent again. With
        `based_on` (an `ops.event_version`), only while the claim's event is at that version, checked and written
        in one atomic step: `EventChanged` (nothing written) otherwise. Returns the event version it wrote
        (None, nothing written, when the claim's status takes no amendment)."""
        ...

    def record_payment(self, claim_id: str, event_doc: dict[str, Any], *, statuses: Iterable[str], based_on: str,
                       fields: dict[str, Any], delivery: str, then: str | None,
                       kept: KeptAnswer | None = None, **detail: Any) -> tuple[str | None, bool]:
        """A client's payment after the visit: the claim's `fields`, its amended event (a new event version) and a
        `payment.recorded` timeline entry (`detail`), only while the claim is in one of `statuses` and its event
        at version `based_on` (`EventChanged`, nothing written, otherwise); with them, atomically, the
        statement's delivery: `queue` a new one (`queued`, one more send; the step `then` queued with it when
        the ledger can), `skip` it, or '' to leave it. Returns (the event version written, or None when the
        claim's status takes no payment; whether the step was queued: if not, the caller sends it). With `kept`,
        the payment's answer is kept under the client's idempotency key in the same step; when an answer is
        already kept under it, `AnswerKept` (nothing written)."""
        ...

    def kept_payment(self, claim_id: str, key: str) -> KeptAnswer | None:
        """The answer kept under a client's idempotency key for a payment on this claim (None: none, or
        expired)."""
        ...

    def resubmit(self, claim_id: str, *, source: str, by: str | None = None, anyway: bool = False,
                 frequency_code: str = "1", statuses: Iterable[str] = ..., based_on: str | None = None) -> bool:
        """Back to `received` under the next submission number (after a definite no, or new data): a new
        original (`1`), or a replacement (`7`) or void (`8`) of what the payer adjudicated; only from
        `statuses` (default: the resubmittable ones); with `based_on`, only while the claim's event is at that
        version, in the same atomic step (`EventChanged` otherwise)."""
        ...

    def resume_submission(self, claim_id: str, *, source: str, by: str | None = None) -> bool:
        """A failed, never-answered submission back to `submitting` under its own key."""
        ...

    def reserve_visit(self, referral_number: str, session_id: str, authorized: int) -> tuple[bool, int]:
        """Atomically take one visit for the session: (granted, visits used by other sessions)."""
        ...

    def release_visit(self, referral_number: str, session_id: str) -> bool: ...

    def visits_used(self, referral_number: str, *, excluding: str | None = None) -> int: ...

    def visit_referral(self, claim_id: str) -> str | None: ...

    def next_number(self, name: str) -> int:
        """Unique and increasing across every process that shares the ledger."""
        ...

    def put_statement(self, claim_id: str, pdf: bytes) -> None: ...

    def get_statement(self, claim_id: str) -> bytes | None: ...

    def delivery_transition(self, claim_id: str, expected: Iterable[str], to: str, *, kind: str | None,
                            fields: dict[str, Any] | None = None, **detail: Any) -> bool:
        """Move the claim's statement delivery to `to` if it is in one of `expected` ("" is none yet); False
        and no change otherwise. Undelivered ones are kept in an index for the reconciler."""
        ...

    def failed_deliveries(self, *, limit: int) -> list[str]:
        """Claims whose statement e-mail failed, the latest first."""
        ...

    def stale_deliveries(self, *, older_than: float) -> list[str]:
        """Claims whose statement delivery is unfinished and untouched since `older_than`."""
        ...

    def client_claims(self, client_id: str) -> list[str]: ...

    def period_document(self, key: str, fingerprint: str, issued_on: str) -> tuple[int, str, int | None]:
        """The number (from the `document` counter) and issue date of the period statement `key` (client
        and dates): the same ones again while its content (`fingerprint`) is unchanged, else a new number
        that replaces the old one. Returns (number, issued on, the replaced number or None)."""
        ...

    def mark_done(self, key: str) -> bool:
        """Record that `key` (a monthly statement sent, ...) is done: True the first time, False afterwards."""
        ...

    def is_done(self, key: str) -> bool: ...

    def lease(self, name: str, ttl_s: float) -> AbstractContextManager[bool]:
        """A short exclusive lease, so two workers never talk to a peer for one claim at once."""
        ...

    def lease_with_claim(self, name: str, ttl_s: float,
                         claim_id: str) -> AbstractContextManager[tuple[bool, Claim | None, dict[str, Any] | None]]:
        """`lease`, and when it is got the claim and its event document as they are once it is held, read
        with it: (got, claim, event document)."""
        ...

    def lease_remaining_ms(self, name: str) -> int: ...

    def keep_refused(self, *, body: bytes, http_status: int, errors: list[dict[str, str]], source: str,
                     now: float | None = None) -> str: ...

    def list_refused(self) -> list[Refused]: ...

    def get_refused(self, refused_id: str) -> Refused | None: ...

    def count_refused(self) -> int: ...

    def mark_replayed(self, refused_id: str, outcome: str) -> None: ...

    def post_once(self, claim_id: str, posting_key: str, remittance_id: str, expected: Iterable[str], to: str, *,
                  kind: str, fields: dict[str, Any], **detail: Any) -> tuple[bool, str]:
        """A remittance's decision applied at most once per posting key, with the status change:
        (True, previous status) or (False, `posted:<remittance id>` | the claim's status | '')."""
        ...

    def posted_by(self, posting_key: str) -> str | None:
        """The remittance that posted this key, if any."""
        ...


# moving a claim on ------------------------------------------------------------------------------------
class StepSender(Protocol):
    """Queue the next step for a claim: `send(step, claim_id, delay_ms=None)`; steps are named in `steps`."""

    def __call__(self, step: str, claim_id: str, delay_ms: int | None = None) -> None: ...


class QueueMonitor(Protocol):
    """Per queue: ready, delayed, in progress and dead messages, and the oldest ready message's age."""

    def __call__(self) -> list[dict[str, Any]]: ...


class DeadLetterStore(Protocol):
    """dramatiq's dead-lettered messages (a step whose retries ran out), per queue, as the broker keeps them:
    each as (message id, when it died in epoch ms, the message as the broker stored it)."""

    def counts(self) -> dict[str, int]:
        """Per queue, how many dead letters it holds."""
        ...

    def page(self, queue: str, *, limit: int,
             after: tuple[float, str] | None = None) -> list[tuple[str, float, dict[str, Any]]]:
        """Up to `limit` dead letters of the queue after this (time in ms, id), oldest first."""
        ...

    def get(self, queue: str, message_id: str) -> tuple[float, dict[str, Any]] | None:
        """One dead letter: when it died (ms) and the message, or None."""
        ...

    def drop(self, queue: str, message_ids: list[str] | None = None) -> int:
        """Remove these dead letters (None: all of the queue's); how many were removed."""
        ...


class InFlight(Protocol):
    """The claim ids that a queued, delayed or running step message covers."""

    def __call__(self) -> set[str]: ...


class MetricsPort(Protocol):
    def record_latency(self, peer: str, seconds: float, *, once: str | None = None) -> None:
        """One observation of a submission's latency; with `once`, at most one per such key. Never raises."""
        ...

    def record_message(self, actor: str, *, seconds: float, error: bool) -> None:
        """One message a worker processed: its actor, time and outcome. Never raises."""
        ...

    def record_messages(self, counts: dict[str, tuple[int, int, float]]) -> None:
        """Messages processed per actor, (count, errors, seconds) each, in one write. Never raises."""
        ...


# the peers --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PeerAnswer:
    """What a peer said about one submission (one idempotency key)."""

    outcome: Outcome
    reference: str | None = None
    reasons: list[str] = field(default_factory=list)
    file_accepted: bool = True  # clearinghouse: the 999; a rejected file is a rejected claim
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RemittanceFile:
    """One 835 file as the clearinghouse delivers it: its id there, the raw X12 text, its place in the feed."""

    source_id: str
    x12: str
    cursor: str | None = None


@dataclass(frozen=True)
class RemittanceBatch:
    """What a fetch brought: the files, oldest first, and the cursor to fetch from next time."""

    files: list[RemittanceFile]
    cursor: str | None
    has_more: bool = False


class ClearinghousePort(Protocol):
    name: str

    def submit(self, x12: str, *, idempotency_key: str) -> PeerAnswer:
        """Send one 837P. Raises PeerUnavailable (retry) or PeerRefused (do not)."""
        ...

    def lookup(self, idempotency_key: str) -> PeerAnswer | None:
        """What happened to this key: None when the peer never took it."""
        ...

    def remittances(self, cursor: str | None) -> RemittanceBatch:
        """The remittance files (835) the clearinghouse has after `cursor` (None: from the start), oldest
        first; the batch's cursor is where to go on from. Raises PeerUnavailable (retry) or PeerRefused."""
        ...


@dataclass(frozen=True)
class StoredRemittance:
    """A remittance file as the pipeline keeps it, and what posting it did to each of its claims."""

    remittance_id: str
    source_id: str
    received_at: float
    x12: str
    status: str  # received | posted | partly_posted | invalid
    deliveries: int = 1  # how often the same file was delivered
    errors: list[str] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)  # one entry per CLP loop
    summary: dict[str, Any] = field(default_factory=dict)  # trace number, payment amount and date, payer

    def overview(self) -> dict[str, Any]:
        # a PLB adjustment posted against a claim (or not postable) counts with the claims
        outcomes = [c.get("outcome") for c in self.claims]
        outcomes += [a.get("outcome") for a in self.summary.get("provider_adjustments") or []
                     if a.get("outcome") in ("not_postable", "waiting", "duplicate")]
        return {"remittance_id": self.remittance_id, "source_id": self.source_id, "received_at": self.received_at,
                "status": self.status, "deliveries": self.deliveries, **self.summary, "claims": len(self.claims),
                "posted": outcomes.count("posted"), "unmatched": outcomes.count("unmatched"),
                "not_postable": outcomes.count("not_postable"), "duplicate": outcomes.count("duplicate"),
                "waiting": outcomes.count("waiting"), "errors": self.errors}


class RemittanceStore(Protocol):
    """Remittance files as received (each kept once, whatever how often delivered) and the feed cursor."""

    def cursor(self) -> str | None: ...

    def set_cursor(self, cursor: str) -> None: ...

    def keep(self, *, x12: str, source_id: str) -> tuple[str, bool]:
        """Keep a file once by its content: (remittance id, whether it is new)."""
        ...

    def get(self, remittance_id: str) -> StoredRemittance | None: ...

    def all(self) -> list[StoredRemittance]:
        """Every file, oldest first; their `x12` may be left out (`get` has it)."""
        ...

    def unposted(self) -> list[str]: ...

    def record(self, remittance_id: str, *, status: str, errors: list[str], claims: list[dict[str, Any]],
               summary: dict[str, Any]) -> None:
        """What posting did; a file no longer `received` or `partly_posted` leaves the unposted set."""
        ...


class BillingServicePort(Protocol):
    name: str

    def submit(self, payload: dict[str, Any], *, idempotency_key: str) -> PeerAnswer: ...

    def lookup(self, idempotency_key: str) -> PeerAnswer | None: ...


# the client's statement by e-mail ---------------------------------------------------------------------
@dataclass(frozen=True)
class StatementMail:
    """One e-mail to a client: a short body without clinical data, the statement PDF attached."""

    to: str
    subject: str
    body: str
    message_id: str  # stable for one delivery: a resend after a crash carries the same Message-ID
    attachment_name: str
    pdf: bytes


class StatementMailer(Protocol):
    sender: str  # the From address; its domain names the Message-IDs

    def send(self, mail: StatementMail, *, before_commit: Callable[[], None] | None = None) -> None:
        """Hand the mail to the server. Raises PeerUnavailable (try again later) or PeerRefused (a permanent
        5xx answer). `before_commit` runs once the whole message is with the server and only the final
        end-of-data mark is left to send: until then a lost connection means the server discards it."""
        ...


class AlertPort(Protocol):
    def notify(self, notice: dict[str, Any]) -> None: ...
