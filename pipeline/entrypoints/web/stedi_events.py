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
from pipeline.entrypoints.web.api_models import StediEventAnswer, error_body, errors

log = structlog.get_logger(__name__)
MAX_EVENT_BYTES = 256 * 1024
RETRY_AFTER_S = 30


def _refusal(status: int, state: str, path: str, message: str, *,
             headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(path, message, status=state), status, headers=headers)


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
            return _refusal(404, "not_found", "(path)", "Stedi's webhook is not set up "
                             "(SUPERBILL_STEDI_WEBHOOK_SECRET or SUPERBILL_STEDI_WEBHOOK_TOKEN)")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_EVENT_BYTES:
                return _refusal(413, "refused", "(body)", f"body over {MAX_EVENT_BYTES} bytes")
        problem = _auth_problem(request, bytes(body), secret, token, clock())
        if problem:
            return _refusal(401, "unauthorized", "(headers)", problem)
        try:
            event = json.loads(body)
        except ValueError:
            return _refusal(400, "refused", "(body)", "not JSON")
        if not isinstance(event, dict):
            return _refusal(400, "refused", "(body)", "not a JSON object")
        kind, sets = stedi_events.event_type(event), sorted(stedi_events.transaction_sets(event))
        if not stedi_events.announces_wanted(event):
            log.info("stedi.event_ignored", event_type=kind, transaction_sets=sets)
            return JSONResponse({"status": "ignored"}, 200)
        try:
            queued = await run_in_threadpool(fetch)  # Redis calls block: off the event loop
        except (redis.RedisError, OSError) as exc:
            return _refusal(503, "unavailable", "(service)",
                            f"the claim store cannot be reached ({type(exc).__name__}); send the event again",
                            headers={"Retry-After": str(RETRY_AFTER_S)})
        log.info("stedi.event_received", event_type=kind, transaction_sets=sets, pass_queued=queued)
        return JSONResponse({"status": "accepted", "fetch": "queued" if queued else "already_queued"}, 202)

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
