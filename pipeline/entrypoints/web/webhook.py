"""The web process: the booking system's webhook, health, metrics, the ops API and the ops page."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from pipeline.adapters.redis_ledger import Ledger
from pipeline.application.ingest import KEEP_AT_MOST_BYTES, MAX_BODY_BYTES, receive
from pipeline.domain.signature import signature_problem


class WebConfigError(Exception):
    pass


def create_app(*, ledger: Ledger, send: Callable[..., None], webhook_secret: str | None,
               extra_routers: list[Any] | None = None, clock: Callable[[], float] = time.time) -> FastAPI:
    if not webhook_secret:
        raise WebConfigError("SUPERBILL_WEBHOOK_SECRET is not set: the web process will not accept "
                             "unsigned events; set it to the booking system's signing secret")
    app = FastAPI(title="superbill-pipeline", version="0.1.0",
                  description="Webhook for session.completed events, ops API and ops page.")

    @app.post("/v1/events", status_code=202, responses={
        200: {"description": "duplicate event_id: no second claim"},
        400: {"description": "malformed JSON"}, 401: {"description": "bad or missing signature"},
        413: {"description": "body over 256 KiB"}, 422: {"description": "input errors, one per field"}})
    async def post_event(request: Request) -> JSONResponse:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > KEEP_AT_MOST_BYTES:
                return JSONResponse({"status": "refused", "errors": [
                    {"path": "(body)", "message": f"body over the limit of {MAX_BODY_BYTES} bytes"}]}, 413)
        problem = signature_problem(request.headers.get("x-signature"), webhook_secret, body, clock())
        if problem:
            return JSONResponse({"status": "unauthorized", "error": problem}, 401)
        outcome = receive(ledger, body, send, source="webhook")
        return JSONResponse(outcome.body, outcome.http_status)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        try:
            ledger.r.ping()
        except (redis.RedisError, OSError) as exc:
            return JSONResponse({"status": "unhealthy", "redis": f"unreachable ({type(exc).__name__})"}, 503)
        return JSONResponse({"status": "ok", "redis": "ok"})

    for router in extra_routers or []:
        app.include_router(router)
    return app
