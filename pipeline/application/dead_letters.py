"""Dead letters: the steps whose retries ran out, listed, shown, retried and cleared.

One module for the ops page, the ops API and `superbill dead`. A dead letter is only the record of a message
that gave up: the claim itself is in the ledger. Retrying never re-sends the old message: it sends the step
the claim's status still needs (the reconciler's rule), and only when that is the step that died; a submission
step sent again keeps its exactly-once keys, so a peer never gets a claim twice. What is shown is the step,
the claim id, when, the retries and the kind of the last error (an exception's class): never its text, which
may quote patient data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pipeline.application.ops import BadCursor, _cursor, _position
from pipeline.application.ports import DeadLetterStore
from pipeline.application.reconciler import STEP_FOR_STATUS
from pipeline.application.stages import Deps, dispatch
from pipeline.application.statement_delivery import UNFINISHED
from pipeline.application.steps import (
    ALERT,
    FETCH_REMITTANCES,
    QUEUES,
    SEND_STATEMENT,
    STATEMENT,
    STATEMENT_DELIVERY_FAILED,
    SUBMISSION_FAILED,
    SUBMISSION_STEP,
)
from schemas.claim import Claim

MAX_PAGE = 1000
# the broker's failure callbacks: their first argument is the message whose retries ran out
CALLBACKS = (SUBMISSION_FAILED, STATEMENT_DELIVERY_FAILED)
_EXCEPTION_LINE = re.compile(r"([A-Za-z_][\w.]*)(?::|$)")


class UnknownQueue(ValueError):
    """No such queue: the message names the queues there are."""

    def __init__(self, queue: str) -> None:
        super().__init__(f"there is no queue {queue[:40]}; the queues are {', '.join(QUEUES)}")
        self.queue = queue


@dataclass(frozen=True)
class Letter:
    """One dead letter as ops see it: no argument but the claim id, no error text."""

    queue: str
    message_id: str
    actor: str | None
    step: str | None  # the step that gave up: the actor, or for a failure callback the step it stood for
    claim_id: str | None
    dead_since: float  # epoch seconds
    retries: int
    error_kind: str | None
    enqueued_at: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"queue": self.queue, "message_id": self.message_id, "actor": self.actor, "step": self.step,
                "claim_id": self.claim_id, "dead_since": self.dead_since, "retries": self.retries,
                "error_kind": self.error_kind, "enqueued_at": self.enqueued_at}


@dataclass
class Outcome:
    """What a retry or a clear did, message by message."""

    queue: str
    retried: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    cleared: int = 0
    not_found: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"queue": self.queue, "retried": self.retried, "skipped": self.skipped, "cleared": self.cleared,
                "not_found": self.not_found}


# pure ---------------------------------------------------------------------------------------------------
def error_kind(traceback_text: Any) -> str | None:
    """The class of the exception a formatted traceback ends with (`module.Class`), never its message."""
    if not isinstance(traceback_text, str) or not traceback_text.strip():
        return None
    lines = traceback_text.rstrip().splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith("  File ")]
    start = frames[-1] + 1 if frames else 0
    for line in lines[start:]:
        if line[:1].isspace() or not line:
            continue  # the failing line's source, its carets
        found = _EXCEPTION_LINE.match(line)
        return found.group(1) if found else None
    return None


def letter_of(queue: str, message_id: str, dead_at_ms: float, message: dict[str, Any]) -> Letter:
    actor = message.get("actor_name")
    args = message.get("args") or []
    options = message.get("options") or {}
    first = args[0] if args else None
    step = actor if isinstance(actor, str) else None
    if actor in CALLBACKS and isinstance(first, dict):  # the message whose retries ran out
        inner = first.get("args") or []
        step = first.get("actor_name") if isinstance(first.get("actor_name"), str) else step
        first = inner[0] if inner else None
    retries = options.get("retries", 0)
    stamp = message.get("message_timestamp")
    return Letter(queue=queue, message_id=message_id, actor=actor if isinstance(actor, str) else None, step=step,
                  claim_id=first if isinstance(first, str) and first else None, dead_since=dead_at_ms / 1000,
                  retries=retries if isinstance(retries, int) else 0, error_kind=error_kind(options.get("traceback")),
                  enqueued_at=stamp / 1000 if isinstance(stamp, int | float) else None)


def needed_step(claim: Claim) -> str | None:
    """The step the claim's status waits for (as the reconciler re-drives it), or None: it needs none."""
    if claim.status in STEP_FOR_STATUS:
        return STEP_FOR_STATUS[claim.status]
    if claim.status == "routed":
        return {"statement_only": STATEMENT, **SUBMISSION_STEP}.get(claim.route or "")
    if claim.status in ("submitting", "submitted") and claim.route in SUBMISSION_STEP:
        return SUBMISSION_STEP[claim.route]
    if claim.status == "statement_ready" and (claim.statement_delivery or "") in ("", *UNFINISHED):
        return SEND_STATEMENT
    return None


def why_not_retried(letter: Letter, claim: Claim | None, covered: set[str]) -> str | None:
    """None when the step that died is still what its claim needs and nothing else covers the claim; else why
    it is not sent again."""
    if letter.step == FETCH_REMITTANCES:
        return None  # a pass over the remittances: run again, it posts only what is not posted yet
    if letter.step == ALERT:
        return "an alert is not sent again: the claim's status and reasons are on the ops page"
    if letter.claim_id is None:
        return "the message names no claim"
    if claim is None:
        return f"there is no claim {letter.claim_id}"
    needed = needed_step(claim)
    if needed is None:
        return f"the claim is {claim.status}: it needs no step any more"
    if needed != letter.step:
        return f"the claim is {claim.status}: it needs {needed} now, not {letter.step}"
    if claim.claim_id in covered:
        return f"a message for it is already queued or running ({needed})"
    return None


# with the store --------------------------------------------------------------------------------------------
def _store(deps: Deps, queue: str) -> DeadLetterStore | None:
    if queue not in QUEUES:
        raise UnknownQueue(queue)
    return deps.dead


def counts(deps: Deps) -> dict[str, Any]:
    found = deps.dead.counts() if deps.dead else {}
    rows = [{"queue": q, "dead": int(found.get(q, 0))} for q in QUEUES]
    return {"queues": rows, "total": sum(r["dead"] for r in rows)}


def list_page(deps: Deps, queue: str, *, limit: int,
              cursor: str | None = None) -> tuple[list[Letter], str | None]:
    """Up to `limit` dead letters of the queue, oldest first, and the next page's cursor (None at the end).
    UnknownQueue, BadCursor."""
    after = _position(cursor)
    store = _store(deps, queue)
    if store is None:
        return [], None
    rows = store.page(queue, limit=limit + 1, after=after)
    letters = [letter_of(queue, mid, at, msg) for mid, at, msg in rows[:limit]]
    next_cursor = _cursor((rows[limit - 1][1], rows[limit - 1][0])) if len(rows) > limit else None
    return letters, next_cursor


def show(deps: Deps, queue: str, message_id: str) -> dict[str, Any] | None:
    """One dead letter, with its claim's status now and whether a retry would send it (or why not)."""
    store = _store(deps, queue)
    found = store.get(queue, message_id) if store else None
    if found is None:
        return None
    letter = letter_of(queue, message_id, *found)
    claim = deps.ledger.get(letter.claim_id) if letter.claim_id else None
    why = why_not_retried(letter, claim, deps.in_flight() if claim else set())
    return {**letter.as_dict(), "claim_status": claim.status if claim else None,
            "retry": "would send " + str(letter.step) if why is None else f"would be skipped: {why}"}


def _chosen(store: DeadLetterStore, queue: str, message_ids: list[str] | None) -> tuple[list[Letter], list[str]]:
    if message_ids is None:
        letters, after = [], None
        while True:
            rows = store.page(queue, limit=MAX_PAGE, after=after)
            letters += [letter_of(queue, mid, at, msg) for mid, at, msg in rows]
            if len(rows) < MAX_PAGE:
                return letters, []
            after = (rows[-1][1], rows[-1][0])
    chosen, missing = [], []
    for mid in dict.fromkeys(message_ids):
        found = store.get(queue, mid)
        if found is None:
            missing.append(mid)
        else:
            chosen.append(letter_of(queue, mid, *found))
    return chosen, missing


def retry(deps: Deps, queue: str, message_ids: list[str] | None, *, by: str) -> Outcome:
    """Send again the step of each dead letter (these ids, or all of the queue's) whose claim still needs it,
    and drop those letters; the others stay, each with why it was skipped. UnknownQueue."""
    store = _store(deps, queue)
    outcome = Outcome(queue)
    if store is None:
        outcome.not_found = list(message_ids or [])
        return outcome
    letters, outcome.not_found = _chosen(store, queue, message_ids)
    covered = deps.in_flight() if letters else set()
    ids = [x.claim_id for x in letters if x.claim_id]
    claims = {c.claim_id: c for c in deps.ledger.get_many(list(dict.fromkeys(ids)))} if ids else {}
    sent: set[str] = set()
    for letter in letters:
        claim = claims.get(letter.claim_id or "")
        why = why_not_retried(letter, claim, covered | sent)
        if why is not None:
            outcome.skipped.append({"message_id": letter.message_id, "claim_id": letter.claim_id,
                                    "step": letter.step, "reason": why})
            continue
        if letter.step == FETCH_REMITTANCES:
            deps.send(FETCH_REMITTANCES, "")
        elif claim is not None and claim.status == "routed":
            dispatch(deps, claim.claim_id)
        elif claim is not None and letter.step is not None:
            deps.send(letter.step, claim.claim_id)
        if claim is not None:
            sent.add(claim.claim_id)
            deps.ledger.note(claim.claim_id, "dead_letter.retried", step=letter.step, by=by,
                             message_id=letter.message_id)
        store.drop(queue, [letter.message_id])
        outcome.retried.append({"message_id": letter.message_id, "claim_id": letter.claim_id, "step": letter.step})
    return outcome


def clear(deps: Deps, queue: str, message_ids: list[str] | None) -> Outcome:
    """Drop dead letters (these ids, or all of the queue's): the claims stay in the ledger. UnknownQueue."""
    store = _store(deps, queue)
    outcome = Outcome(queue)
    if store is None:
        outcome.not_found = list(message_ids or [])
        return outcome
    if message_ids is None:
        outcome.cleared = store.drop(queue, None)
        return outcome
    ids = list(dict.fromkeys(message_ids))
    outcome.not_found = [mid for mid in ids if store.get(queue, mid) is None]
    present = [mid for mid in ids if mid not in outcome.not_found]
    outcome.cleared = store.drop(queue, present) if present else 0
    return outcome


__all__ = ["BadCursor", "Letter", "Outcome", "UnknownQueue", "clear", "counts", "error_kind", "letter_of",
           "list_page", "needed_step", "retry", "show", "why_not_retried"]
