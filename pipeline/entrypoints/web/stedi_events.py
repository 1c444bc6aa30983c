"""`POST /v1/stedi/events`: Stedi's webhook deliveries, each a nudge for one remittance pass.

Served only when a signing secret (`SUPERBILL_STEDI_WEBHOOK_SECRET`, an event destination's `whsec_...`) or a
bearer token (`SUPERBILL_STEDI_WEBHOOK_TOKEN`, a webhook's API-key credential set) is set; otherwise `404`.
What an event says is never taken as data (`pipeline.domain.stedi_events`): a 277CA or 835 it announces is
taken by the authenticated transaction poll, once. Nothing of the body is kept or logged but its type and
the transaction sets it names.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import redis
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from pipeline.domain import stedi_events
from pipeline.entrypoints.web.api_models import StediEventAnswer, errors

log = structlog.get_logger(__name__)
MAX_EVENT_BYTES = 256 * 1024
RETRY_AFTER_S = 30


def _answer(status: int, state: str, message: str | None = None, path: str = "(body)",
            **extra: object) -> JSONResponse:
    body: dict[str, object] = {"status": state, **extra}
    if message:
        body["errors"] = [{"path": path, "message": message}]
    return JSONResponse(body, status)


def build_stedi_events_router(*, secret: str | None, token: str | None, fetch: Callable[[], bool],
                              clock: Callable[[], float] = time.time) -> APIRouter:
    """`fetch()` queues a remittance pass for the event, False when an earlier event's pass covers it."""
    router = APIRouter()

    @router.post("/v1/stedi/events", response_model=StediEventAnswer, status_code=202, responses={
        202: {"model": StediEventAnswer,
              "description": "a 277CA or 835 announced: a remittance pass is queued (or already is)"},
        200: {"model": StediEventAnswer, "description": "an event of another kind: nothing to do"},
        **errors((400, "the body is not a JSON object"),
                 (401, "not signed with the event destination's secret, and not the webhook's token"),
                 (404, "Stedi's webhook is not set up here"),
                 (413, "body over 256 KiB"),
                 (503, "the claim store cannot be reached: send it again (Stedi retries)"))})
    async def stedi_event(request: Request) -> JSONResponse:
        if not (secret or token):
            return _answer(404, "not_found", "Stedi's webhook is not set up (SUPERBILL_STEDI_WEBHOOK_SECRET or "
                                             "SUPERBILL_STEDI_WEBHOOK_TOKEN)", "(path)")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_EVENT_BYTES:
                return _answer(413, "refused", f"body over {MAX_EVENT_BYTES} bytes")
        problem = _auth_problem(request, bytes(body), secret, token, clock())
        if problem:
            return _answer(401, "unauthorized", problem, "(headers)")
        try:
            event = json.loads(body)
        except ValueError:
            return _answer(400, "refused", "not JSON")
        if not isinstance(event, dict):
            return _answer(400, "refused", "not a JSON object")
        kind, sets = stedi_events.event_type(event), sorted(stedi_events.transaction_sets(event))
        if not stedi_events.announces_wanted(event):
            log.info("stedi.event_ignored", event_type=kind, transaction_sets=sets)
            return _answer(200, "ignored")
        try:
            queued = await run_in_threadpool(fetch)  # Redis calls block: off the event loop
        except (redis.RedisError, OSError) as exc:
            return JSONResponse({"status": "unavailable", "errors": [{"path": "(service)", "message": (
                f"the claim store cannot be reached ({type(exc).__name__}); send the event again")}]}, 503,
                headers={"Retry-After": str(RETRY_AFTER_S)})
        log.info("stedi.event_received", event_type=kind, transaction_sets=sets, pass_queued=queued)
        return _answer(202, "accepted", fetch="queued" if queued else "already_queued")

    return router


def _auth_problem(request: Request, body: bytes, secret: str | None, token: str | None, now: float) -> str | None:
    """None when the delivery carries a valid signature (if a secret is set) or the token (if one is set)."""
    problems = []
    if secret:
        problem = stedi_events.signature_problem(
            secret, message_id=request.headers.get("webhook-id"), timestamp=request.headers.get("webhook-timestamp"),
            signature=request.headers.get("webhook-signature"), body=body, now=now)
        if problem is None:
            return None
        problems.append(problem)
    if token:
        problem = stedi_events.token_problem(token, request.headers.get("authorization"))
        if problem is None:
            return None
        problems.append(problem)
    return "; ".join(problems)
