"""The web process: the booking system's webhook, health, metrics, the ops API and the ops page."""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from pipeline.adapters.redis_ledger import Ledger
from pipeline.application.ingest import KEEP_AT_MOST_BYTES, READ_AT_MOST_BYTES, receive
from pipeline.domain.signature import SignatureCheck
from pipeline.entrypoints.web.api_models import EventAnswer, Health, error_body, errors

RETRY_AFTER_S = 5
# answers of the webhook whose request the ingest path logs itself (`event.received` / `event.refused`)
_LOGGED_BY_INGEST = frozenset({200, 202, 400, 413, 422})


class WebhookAccessLog(logging.Filter):
    """One log line per webhook request: uvicorn's access line is dropped when the ingest path has logged
    the request (with more to say: the event, the claim, the outcome); kept for every other request and
    answer (401, 503, the ops API)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            _, method, path, _, status = args
            if method == "POST" and str(path).split("?")[0] == "/v1/events" and status in _LOGGED_BY_INGEST:
                return False
        return True


def install_webhook_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, WebhookAccessLog) for f in access.filters):
        access.addFilter(WebhookAccessLog())


UNSIGNED_REFUSAL = ("SUPERBILL_WEBHOOK_SECRET is not set: the web process will not accept unsigned events; "
                    "set it to the booking system's signing secret")


class WebConfigError(Exception):
    pass


def create_app(*, ledger: Ledger, send: Callable[..., None], webhook_secret: str | None,
               extra_routers: list[Any] | None = None, clock: Callable[[], float] = time.time) -> FastAPI:
    if not webhook_secret:
        raise WebConfigError(UNSIGNED_REFUSAL)
    app = FastAPI(title="superbill-pipeline", version="0.1.0",
                  description="Webhook for session.completed events, ops API and ops page.")

    install_error_shape(app)

    @app.post("/v1/events", status_code=202, response_model=EventAnswer, responses={
        202: {"model": EventAnswer, "description": "a new claim (`accepted`), or an event kept on the timeline of "
                                                   "the session's claim (`kept_for_review`)"},
        200: {"model": EventAnswer, "description": "duplicate event_id: no second claim"},
        **errors((400, "malformed JSON; kept as a refused event"),
                 (401, "bad or missing X-Signature, or a timestamp more than 5 minutes off"),
                 (413, "body over 256 KiB; kept as a refused event"),
                 (422, "input errors, every field at once; kept as a refused event"),
                 (503, "the claim store cannot be reached: the event was not taken; retry after Retry-After"))},
        openapi_extra={"parameters": [{"name": "X-Signature", "in": "header", "required": True,
                                       "schema": {"type": "string"},
                                       "description": 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">'}],
                       "requestBody": {"required": True, "content": {"application/json": {
                           "schema": {"type": "object", "description": "a session.completed event"}}}}})
    async def post_event(request: Request) -> JSONResponse:
        check = SignatureCheck(request.headers.get("x-signature"), webhook_secret, clock())
        if check.problem:  # refused before the body is read
            return _unauthorized(check.problem)
        kept, size = bytearray(), 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > READ_AT_MOST_BYTES:
                return JSONResponse(error_body("(body)", f"body over {READ_AT_MOST_BYTES} bytes: not read to its end, "
                                               "not kept", status="refused"), 413)
            check.update(chunk)
            if len(kept) < KEEP_AT_MOST_BYTES:
                kept += chunk[: KEEP_AT_MOST_BYTES - len(kept)]
        problem = check.verdict()
        if problem:
            return _unauthorized(problem)
        try:  # the ledger's calls block: off the event loop, so a slow Redis never stalls other requests
            outcome = await run_in_threadpool(receive, ledger, bytes(kept), send, source="webhook", size=size)
        except (redis.RedisError, OSError) as exc:
            # nothing was stored, so never a 202: the sender keeps the event and tries again
            return JSONResponse(error_body("(service)", f"the claim store cannot be reached ({type(exc).__name__}); "
                                           "the event was not taken, send it again", status="unavailable"),
                                503, headers={"Retry-After": str(RETRY_AFTER_S)})
        return JSONResponse(outcome.body, outcome.http_status)

    @app.get("/healthz", response_model=Health,
             responses={503: {"model": Health, "description": "Redis cannot be reached"}})
    def healthz() -> JSONResponse:
        try:
            ledger.r.ping()
        except (redis.RedisError, OSError) as exc:
            return JSONResponse({"status": "unhealthy", "redis": f"unreachable ({type(exc).__name__})"}, 503)
        return JSONResponse({"status": "ok", "redis": "ok"})

    for router in extra_routers or []:
        app.include_router(router)
    return app


def _unauthorized(problem: str) -> JSONResponse:
    return JSONResponse(error_body("X-Signature", problem, status="unauthorized", error=problem), 401)


def _error_items(detail: Any, status: int) -> list[dict[str, str]]:
    if isinstance(detail, dict) and isinstance(detail.get("errors"), list):
        return [{"path": str(e.get("path", "")), "message": str(e.get("message", ""))} for e in detail["errors"]]
    where = {401: "Authorization", 404: "(path)", 405: "(method)"}.get(status, "(request)")
    return [{"path": where, "message": str(detail)}]


_WHERE = frozenset({"body", "query", "path", "header", "cookie"})


def _path(loc: Any) -> str:
    """A field of the body (`filter.since`), or a parameter by its own name (`cursor`, not `query.cursor`)."""
    parts = list(loc)
    if parts and parts[0] in _WHERE:
        parts = parts[1:]
    return ".".join(str(part) for part in parts) or "(body)"


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "extra_forbidden":
        return "is not a key of this request"
    return str(error.get("msg", "is not valid"))


def install_error_shape(app: FastAPI) -> None:
    """Every error of the API has the one documented shape: `{"errors": [{"path", "message"}]}`."""

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if _on_the_page(request):  # a person's browser: a page they can read, never the API's JSON
            return HTMLResponse(_page_error(exc.status_code, str(exc.detail)), exc.status_code,
                                headers={**PAGE_HEADERS, **(getattr(exc, "headers", None) or {})})
        return JSONResponse({"errors": _error_items(exc.detail, exc.status_code)}, exc.status_code,
                            headers=getattr(exc, "headers", None))

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        if any(e.get("type") == "json_invalid" for e in exc.errors()):  # as every route that reads JSON says it
            return JSONResponse(error_body("(body)", "is not JSON"), 400)
        items = [{"path": _path(e.get("loc", ())), "message": _message(e)} for e in exc.errors()]
        return JSONResponse({"errors": items}, 422)

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    for unreachable in (redis.ConnectionError, redis.TimeoutError):
        app.add_exception_handler(unreachable, store_unreachable)


STORE_DOWN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Claim store unavailable</title>
<meta http-equiv="refresh" content="{retry}"></head><body style="font-family:system-ui,sans-serif;margin:2em">
<h1>The claim store cannot be reached</h1><p>Redis, where claims are kept, does not answer ({error}). The request
stopped there. This page tries again in {retry} seconds; if it keeps failing, start Redis (<code>superbill redis
start</code>) or check <code>REDIS_URL</code>.</p></body></html>"""


def _on_the_page(request: Request) -> bool:
    return request.url.path == "/ops" or request.url.path.startswith("/ops/")


PAGE_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"}
_PAGE_ERROR = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family:system-ui,sans-serif;margin:2em"><h1>{title}</h1><p>{what} Nothing was changed.</p>
<p><a href="/ops">Back to the overview</a></p></body></html>"""


def _page_error(status: int, detail: str) -> str:
    """An error of the ops page's own routes (an address typed wrong, a form's address opened as a page, a form
    too large to read), for a person."""
    title, what = {
        404: ("Page not found", "There is no page at this address."),
        405: ("Not a page", "This address takes a form's answer; it is not a page to open (after a preview, use "
                            "the claim's own address)."),
    }.get(status, ("The request could not be read", f"{html.escape(detail)}."))
    return _PAGE_ERROR.format(title=title, what=what)


async def store_unreachable(request: Request, exc: Exception) -> Response:
    """Redis down or too slow, whatever the route: `503` and `Retry-After`, never a bare `500`. The API answers
    the one error shape; the ops page (`/ops...`) a page a person can read."""
    error, headers = type(exc).__name__, {"Retry-After": str(RETRY_AFTER_S)}
    if _on_the_page(request):
        return HTMLResponse(STORE_DOWN_PAGE.format(retry=RETRY_AFTER_S, error=error), 503, headers=headers)
    message = f"the claim store (Redis) cannot be reached ({error}); the request stopped there, try again"
    return JSONResponse(error_body("(service)", message, status="unavailable"), 503, headers=headers)
