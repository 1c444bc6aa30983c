"""The ops HTTP API under /v1/ops (bearer token), and /metrics. Mirrors the CLI."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute

from pipeline.adapters.metrics import render_metrics
from pipeline.application import ops
from pipeline.application.stages import Deps
from schemas.claim import STATUSES
from schemas.decision import ROUTES


def token_ok(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; with no token configured every request is refused."""
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _filter(status: str | None, route: str | None, payer: str | None, therapist: str | None,
            since: date | None, until: date | None, problem: str | None) -> ops.ClaimFilter:
    if status and status not in STATUSES:
        raise HTTPException(422, {"errors": [{"path": "status", "message": f"must be one of {', '.join(STATUSES)}"}]})
    if route and route not in ROUTES:
        raise HTTPException(422, {"errors": [{"path": "route", "message": f"must be one of {', '.join(ROUTES)}"}]})
    return ops.ClaimFilter(status=status or None, route=route or None, payer=payer or None,
                           therapist=therapist or None, since=since, until=until, problem=problem or None)


def build_ops_router(deps: Deps, *, ops_token: str | None) -> APIRouter:
    def require_token(request: Request) -> None:
        if not token_ok(bearer(request), ops_token):
            raise HTTPException(401, "a valid ops bearer token is required",
                                headers={"WWW-Authenticate": 'Bearer realm="superbill-ops"'})

    class TokenFirst(APIRoute):
        """The token is checked before the body is read: without it a request learns nothing, not even 422."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                require_token(request)
                return await handler(request)

            return guarded

    api = APIRouter(prefix="/v1/ops", dependencies=[Depends(require_token)], tags=["ops"], route_class=TokenFirst)
    ledger = deps.ledger

    @api.get("/summary")
    def summary() -> dict[str, Any]:
        return ops.summary(ledger, deps.queues)

    @api.get("/claims")
    def claims(status: str | None = None, route: str | None = None, payer: str | None = None,
               therapist: str | None = None, since: date | None = None, until: date | None = None,
               problem: str | None = None) -> dict[str, Any]:
        flt = _filter(status, route, payer, therapist, since, until, problem)
        return {"claims": [c.summary() for c in ops.list_claims(ledger, flt)]}

    @api.get("/claims/{claim_id}")
    def claim(claim_id: str) -> dict[str, Any]:
        shown = ops.show_claim(ledger, claim_id)
        if shown is None:
            raise HTTPException(404, f"no claim {claim_id}")
        return shown

    @api.get("/claims/{claim_id}/statement")
    def statement(claim_id: str) -> Response:
        pdf = ledger.get_statement(claim_id)
        if pdf is None:
            raise HTTPException(404, f"claim {claim_id} has no statement")
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{claim_id}.pdf"'})

    @api.post("/claims/{claim_id}/amend")
    def amend(claim_id: str, patch: dict[str, Any] = Body(...)) -> JSONResponse:  # noqa: B008
        result = ops.amend(ledger, claim_id, patch, source="api")
        status = 200 if result.ok else (404 if result.message == "no such claim" else 422)
        if not result.ok and not result.errors and status == 422:
            status = 409
        return JSONResponse(result.__dict__, status)

    @api.post("/resubmit")
    def resubmit(request_body: dict[str, Any] = Body(...)) -> JSONResponse:  # noqa: B008
        dry_run = bool(request_body.get("dry_run"))
        if "claim_ids" in request_body:
            ids = request_body["claim_ids"]
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                return JSONResponse({"errors": [{"path": "claim_ids", "message": "must be a list of ids"}]}, 422)
        else:
            raw = request_body.get("filter", request_body)
            try:
                flt = _filter(raw.get("status"), raw.get("route"), raw.get("payer"), raw.get("therapist"),
                              _date(raw.get("since")), _date(raw.get("until")), raw.get("problem"))
                ids = ops.select_for_resubmit(ledger, flt)
            except ValueError as exc:
                return JSONResponse({"errors": [{"path": "filter", "message": str(exc)}]}, 422)
        result = ops.resubmit(ledger, ids, deps.send, source="api", dry_run=dry_run)
        return JSONResponse(result.as_dict())

    @api.get("/refused")
    def refused() -> dict[str, Any]:
        return {"refused": [r.summary() for r in ledger.list_refused()]}

    @api.get("/refused/{refused_id}")
    def refused_one(refused_id: str) -> dict[str, Any]:
        r = ledger.get_refused(refused_id)
        if r is None:
            raise HTTPException(404, f"no refused event {refused_id}")
        return {**r.summary(), "body": r.body.decode("utf-8", errors="replace")}

    @api.post("/refused/{refused_id}/replay")
    async def replay(refused_id: str, request: Request) -> JSONResponse:
        body = await request.body()
        outcome = ops.replay_refused(ledger, refused_id, deps.send, body=body or None)
        if outcome is None:
            raise HTTPException(404, f"no refused event {refused_id}")
        return JSONResponse({"http_status": outcome.http_status, **outcome.body}, outcome.http_status)

    root = APIRouter()
    root.include_router(api)

    @root.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> Response:
        text, content_type = render_metrics(ledger)
        return Response(text, media_type=content_type)

    return root


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None

