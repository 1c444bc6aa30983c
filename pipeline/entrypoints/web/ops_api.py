"""The ops HTTP API under /v1/ops (bearer token), and /metrics. Mirrors the CLI."""

from __future__ import annotations

import contextlib
import hmac
import json
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from starlette.types import Message, Receive

from pipeline.adapters.metrics import render_metrics
from pipeline.application import exports, ops, period_statements, receivables, remittances, staff, statement_delivery
from pipeline.application.ingest import MAX_BODY_BYTES
from pipeline.application.staff import SHARED_TOKEN_ACTOR, Actor
from pipeline.application.stages import Deps
from pipeline.application.statements import statement_pdf
from pipeline.entrypoints.web.api_models import (
    FILTER_KEYS,
    AmendAnswer,
    ClaimDetail,
    ClaimList,
    Receivables,
    RefusedDetail,
    RefusedList,
    RemittanceDetail,
    RemittanceList,
    ReplayAnswer,
    ResubmitAnswer,
    ResubmitRequest,
    StatementSendAnswer,
    Summary,
    error_body,
    errors,
)
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


DATE = {"format": "date"}
TO_DATE = "the last date of the period, YYYY-MM-DD: not before `from` (422 naming `to`)"
def _date_param(what: str) -> Any:
    return Query(default=None, description=f"date of service on or {what} this date, YYYY-MM-DD",
                 json_schema_extra=DATE)


UNAUTHORIZED = errors((401, "no or wrong ops bearer token"))
BAD_INPUT = errors((422, "a parameter or the body is not valid"))
NOT_JSON = errors((400, "the body is not JSON"), (413, f"the body is over {MAX_BODY_BYTES} bytes"),
                  (415, "the body is sent with a Content-Type other than JSON"))
NOT_FOUND = errors((404, "no such claim or refused event"))
STORE_DOWN = errors((503, "the claim store (Redis) cannot be reached: try again after Retry-After seconds"))


def _day(value: str | None, name: str) -> date | None:
    """A query parameter's date, or 422 naming it (an empty value is no date)."""
    try:
        if value == "":
            raise ValueError(value)
        return _date(value)
    except ValueError:
        raise HTTPException(422, error_body(name, "is not a date (YYYY-MM-DD)")) from None


DEFAULT_PAGE = 100
LimitParam = Query(default=None, ge=1, le=1000,
                   description="at most this many, oldest first; the answer's next_cursor names the next page")
# a query parameter is never null: the cursor's schema is a string of that pattern, and the app checks it
CursorParam = Query(default=None, json_schema_extra={"pattern": f"^{ops.CURSOR_PATTERN}$"},
                    description="the next page: next_cursor of the previous page (a position in the list, "
                                "`<time>:<id>`: the page starts after it)")


@contextlib.contextmanager
def _cursor_checked() -> Iterator[None]:
    try:
        yield
    except ops.BadCursor as exc:
        raise HTTPException(422, error_body("cursor", str(exc))) from None


JSON_BODY_ROUTES = frozenset({"amend", "correct", "resubmit"})  # the replay takes an event: intake's own limits


def _too_large() -> HTTPException:
    return HTTPException(413, error_body("(body)", f"the body is over {MAX_BODY_BYTES} bytes, "
                                             "the limit of an event: not read to its end, nothing was changed"))


async def json_body_checked(request: Request) -> Request:
    """The request, its body read to at most MAX_BODY_BYTES (413 beyond: a larger body is not even read to its
    end) and sent as JSON: no Content-Type, or a JSON one (415 for a form or text)."""
    kind = request.headers.get("content-type")
    if kind is not None and not _is_json(kind):
        raise HTTPException(415, error_body("Content-Type", f"is {kind.split(';')[0]!r}: send "
                                            "the body as JSON, with Content-Type: application/json (or none)"))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _too_large()
    return Request(request.scope, _replaying(bytes(body), request))


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _replaying(body: bytes, request: Request) -> Receive:
    """The body already read, for the route to read again; then what the client sends next (a disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await request.receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _period(since: str, until: str) -> tuple[date, date]:
    """`from` and `to`, both dates (every bad one named), `to` not before `from` (422 naming `to`)."""
    first, last = _days(**{"from": since, "to": until})
    assert first is not None and last is not None
    if last < first:
        raise HTTPException(422, error_body("to", f"{last} is before from ({first})"))
    return first, last


def _refused(path: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(path, message), 422)


def _filter(status: str | None, route: str | None, payer: str | None, therapist: str | None,
            since: date | None, until: date | None, problem: str | None) -> ops.ClaimFilter:
    bad = _bad_choices(status, route)
    if bad:
        raise HTTPException(422, {"errors": bad})
    return ops.ClaimFilter(status=status or None, route=route or None, payer=payer or None,
                           therapist=therapist or None, since=since, until=until, problem=problem or None)


def _bad_choices(status: str | None, route: str | None) -> list[dict[str, str]]:
    return ([{"path": "status", "message": f"must be one of {', '.join(STATUSES)}"}]
            if status is not None and status not in STATUSES else []) + \
           ([{"path": "route", "message": f"must be one of {', '.join(ROUTES)}"}]
            if route is not None and route not in ROUTES else [])


def _days(**values: str | None) -> list[date | None]:
    """Each query parameter's date; every bad one named at once (422), with a bad status or route given."""
    days: list[date | None] = []
    bad: list[dict[str, str]] = []
    for name, value in values.items():
        try:
            days.append(_day(value, name))
        except HTTPException as exc:
            days.append(None)
            bad += exc.detail["errors"]
    if bad:
        raise HTTPException(422, {"errors": bad})
    return days


def api_actor(deps: Deps, request: Request, ops_token: str | None) -> Actor | None:
    """Who a bearer token belongs to: a person's or service's own token, or the shared ops token."""
    given = bearer(request)
    if token_ok(given, ops_token):
        return SHARED_TOKEN_ACTOR
    return staff.token_actor(deps.staff, given) if deps.staff is not None else None


def actor_of(request: Request) -> Actor:
    return getattr(request.state, "actor", None) or SHARED_TOKEN_ACTOR


def build_ops_router(deps: Deps, *, ops_token: str | None) -> APIRouter:
    def require_token(request: Request) -> None:
        actor = api_actor(deps, request, ops_token)
        if actor is None:
            raise HTTPException(401, "a valid ops bearer token is required",
                                headers={"WWW-Authenticate": 'Bearer realm="superbill-ops"'})
        request.state.actor = actor
        repeated = sorted({k for k, _ in request.query_params.multi_items()
                           if len(request.query_params.getlist(k)) > 1})
        if repeated:
            raise HTTPException(422, {"errors": [{"path": k, "message": "is given more than once"} for k in repeated]})

    class TokenFirst(APIRoute):
        """The token is checked before the body is read: without it a request learns nothing, not even 422."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                require_token(request)
                if self.name in JSON_BODY_ROUTES:
                    request = await json_body_checked(request)
                return await handler(request)

            return guarded

    # a JSON body without a Content-Type is read as JSON: a request needs the bearer token, which no other site's
    # page can send along, so a form posted from elsewhere can never pass for one
    api = APIRouter(prefix="/v1/ops", dependencies=[Depends(require_token)], tags=["ops"], route_class=TokenFirst,
                    responses=STORE_DOWN, strict_content_type=False)
    ledger = deps.ledger

    @api.get("/summary", response_model=Summary, responses=UNAUTHORIZED)
    def summary() -> dict[str, Any]:
        return ops.summary(ledger, deps.queues)

    @api.get("/claims", response_model=ClaimList, responses={**UNAUTHORIZED, **BAD_INPUT})
    def claims(status: str | None = Query(default=None, json_schema_extra={"enum": list(STATUSES)}),
               route: str | None = Query(default=None, json_schema_extra={"enum": list(ROUTES)}),
               payer: str | None = None,
               therapist: str | None = None, since: str | None = _date_param("after"),
               until: str | None = _date_param("before"),
               problem: str | None = None, limit: int | None = LimitParam, cursor: str = CursorParam,
               q: str | None = Query(default=None, description="client name, member id, claim or session id, or "
                                     "a date of service or birth; every word must match")) -> dict[str, Any]:
        bad = _bad_choices(status, route)
        try:
            first, last = _days(since=since, until=until)
        except HTTPException as exc:
            bad += exc.detail["errors"]
        if bad:
            raise HTTPException(422, {"errors": bad})
        flt = _filter(status, route, payer, therapist, first, last, problem)
        if q:
            flt = ops.ClaimFilter(**{**flt.__dict__, "text": q})
        if limit is None and cursor is None:
            return {"claims": [c.summary() for c in ops.list_claims(ledger, flt)], "next_cursor": None}
        with _cursor_checked():
            page, next_cursor = ops.list_claims_page(ledger, flt, limit=limit or DEFAULT_PAGE, cursor=cursor)
        return {"claims": [c.summary() for c in page], "next_cursor": next_cursor}

    @api.get("/export", responses={
        200: {"description": "one row per claim with a date of service in the range",
              "content": {"text/csv": {"schema": {"type": "string"}},
                          "application/x-ndjson": {"schema": {"type": "string"}}}},
        **UNAUTHORIZED, **BAD_INPUT}, response_model=None)
    def export(since: str = Query(alias="from", json_schema_extra=DATE),
               until: str = Query(alias="to", json_schema_extra=DATE, description=TO_DATE),
               format: str = Query(default="csv", pattern="^(csv|jsonl)$"),
               with_client: bool = False) -> Response:
        first, last = _period(since, until)
        text = exports.render(exports.export_rows(ledger, first, last, with_client=with_client), format,
                              with_client=with_client)
        media = "text/csv" if format == "csv" else "application/x-ndjson"
        return Response(text, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="claims-{since}-{until}.{format}"'})

    @api.get("/claims/{claim_id}", response_model=ClaimDetail, responses={**UNAUTHORIZED, **NOT_FOUND})
    def claim(claim_id: str) -> dict[str, Any]:
        shown = ops.show_claim(ledger, claim_id)
        if shown is None:
            raise HTTPException(404, f"no claim {claim_id}")
        return shown

    @api.get("/claims/{claim_id}/statement", response_model=None, responses={
        200: {"description": "the statement PDF", "content": {"application/pdf": {"schema": {"type": "string",
                                                                                            "format": "binary"}}}},
        **UNAUTHORIZED, **NOT_FOUND})
    def statement(claim_id: str) -> Response:
        pdf = statement_pdf(ledger, deps.practice, claim_id)
        if pdf is None:
            raise HTTPException(404, f"claim {claim_id} has no statement")
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{claim_id}.pdf"'})

    @api.post("/claims/{claim_id}/statement/send", response_model=StatementSendAnswer, responses={
        **UNAUTHORIZED, **errors((404, "no such claim"), (409, "the statement cannot be e-mailed now"))})
    def send_statement(claim_id: str, request: Request) -> JSONResponse:
        actor = actor_of(request)
        result = statement_delivery.resend_statement(deps, deps.send, claim_id, source="api", by=actor.label)
        if result.message == "no such claim":
            raise HTTPException(404, f"no claim {claim_id}")
        if result.ok and deps.staff is not None:
            staff.audit(deps.staff, "statement.resent", actor, claim_id=claim_id)
        return JSONResponse({"ok": result.ok, "claim_id": claim_id, "message": result.message},
                            200 if result.ok else 409)

    @api.get("/statements", response_model=None, responses={
        200: {"description": "one superbill for all of the client's statement_ready sessions in the range",
              "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
        **UNAUTHORIZED, **BAD_INPUT, **errors((404, "the client has no statement_ready session in the range"))})
    def period_statement(request: Request, client: str = Query(min_length=1),
                         since: str = Query(alias="from", json_schema_extra=DATE),
                         until: str = Query(alias="to", json_schema_extra=DATE, description=TO_DATE)) -> Response:
        first, last = _period(since, until)
        try:
            statement = period_statements.period_statement(deps, client, first, last)
        except period_statements.NoSessions as exc:
            raise HTTPException(404, str(exc)) from None
        if deps.staff is not None:
            staff.audit(deps.staff, "statement.issued", actor_of(request),
                        document_number=statement.document_number, claim_ids=statement.claim_ids)
        return Response(statement.pdf, media_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="statement-{statement.document_number}.pdf"',
            "X-Document-Number": statement.document_number})

    @api.post("/claims/{claim_id}/amend", response_model=AmendAnswer, responses={
        **UNAUTHORIZED, **NOT_JSON,
        **errors((404, "no such claim"), (409, "the claim is not in a status that can be amended"),
                 (422, "the amendment is not valid: one error per field"))})
    def amend(claim_id: str, request: Request, patch: dict[str, Any] = Body(...)) -> JSONResponse:  # noqa: B008
        actor = actor_of(request)
        result = ops.amend(ledger, claim_id, patch, source="api", by=actor.label)
        if result.ok and deps.staff is not None:
            staff.audit(deps.staff, "claim.amended", actor, claim_id=claim_id, changed=result.changed)
        status = 200 if result.ok else (404 if result.message == "no such claim" else 422)
        if not result.ok and not result.errors and status == 422:
            status = 409
        answer = result.__dict__ | ({} if result.ok or result.errors
                                    else error_body("claim_id", result.message))
        return JSONResponse(answer, status)

    def _correct(request: Request, claim_id: str, kind: str, patch: dict[str, Any] | None) -> JSONResponse:
        actor = actor_of(request)
        result = ops.correct(ledger, claim_id, deps.send, kind=kind, patch=patch, source="api", by=actor.label)
        if result.ok and deps.staff is not None:
            staff.audit(deps.staff, "claim.voided" if kind == "void" else "claim.corrected", actor,
                        claim_id=claim_id, changed=result.changed or None)
        status = 200 if result.ok else (404 if result.message == "no such claim" else
                                        422 if result.errors else 409)
        answer = result.__dict__ | ({} if result.ok or result.errors
                                    else error_body("claim_id", result.message))
        return JSONResponse(answer, status)

    CORRECTION_ERRORS = errors((404, "no such claim"), (409, "the claim has no payer claim number yet, or is in "
                                                              "a status that cannot be corrected or voided"),
                               (422, "the amendment is not valid: one error per field"))

    @api.post("/claims/{claim_id}/correct", response_model=AmendAnswer,
              responses={**UNAUTHORIZED, **NOT_JSON, **CORRECTION_ERRORS},
              openapi_extra={"requestBody": {"required": False, "content": {"application/json": {
                  "schema": {"type": "object", "description": "sections to change first, as for amend"}}}}})
    async def correct(claim_id: str, request: Request) -> JSONResponse:
        raw = await request.body()
        patch: Any = None
        if raw.strip():
            try:
                patch = json.loads(raw)
            except ValueError:
                return JSONResponse(error_body("(body)", "is not JSON"), 400)
            if not isinstance(patch, dict):
                return JSONResponse(error_body("(body)", "must be a JSON object"), 422)
        return _correct(request, claim_id, "replacement", patch or None)

    @api.post("/claims/{claim_id}/void", response_model=AmendAnswer, responses={**UNAUTHORIZED, **CORRECTION_ERRORS})
    def void(claim_id: str, request: Request) -> JSONResponse:
        return _correct(request, claim_id, "void", None)

    @api.post("/resubmit", response_model=ResubmitAnswer, responses={**UNAUTHORIZED, **NOT_JSON, **BAD_INPUT})
    def resubmit(request: Request, request_body: ResubmitRequest) -> JSONResponse:
        given = request_body.model_fields_set
        top_level = [k for k in FILTER_KEYS if k in given]
        if "claim_ids" in given and (top_level or "filter" in given):
            return _refused("claim_ids", "give claim_ids or a filter, not both")
        if "filter" in given and top_level:
            return _refused("filter", f"give the filter under \"filter\" or at the top level, not both "
                            f"({', '.join(top_level)} given at the top level)")
        if "claim_ids" in given:
            ids = request_body.claim_ids
        elif "filter" not in given and not top_level:
            return _refused("(body)", 'say which claims: "claim_ids", or a filter ("filter": {} for every '
                            "resubmittable claim)")
        else:
            raw = request_body.filter if "filter" in given else request_body
            try:
                flt = _filter(raw.status, raw.route, raw.payer, raw.therapist, _date(raw.since), _date(raw.until),
                              raw.problem)
                ids = ops.select_for_resubmit(ledger, flt)
            except ValueError as exc:
                return _refused("filter", str(exc))
        dry_run, anyway = request_body.dry_run, request_body.anyway
        actor = actor_of(request)
        result = ops.resubmit(ledger, ids, deps.send, source="api", dry_run=dry_run, by=actor.label,
                              practice=deps.practice, anyway=anyway)
        if result.resubmitted and not dry_run and deps.staff is not None:
            staff.audit(deps.staff, "claims.resubmitted", actor, claim_ids=result.resubmitted,
                        anyway=anyway or None)
        return JSONResponse(result.as_dict())

    @api.get("/remittances", response_model=RemittanceList, responses=UNAUTHORIZED)
    def remittance_list() -> dict[str, Any]:
        return {"remittances": remittances.list_remittances(deps)}

    @api.get("/remittances/{remittance_id}", response_model=RemittanceDetail,
             responses={**UNAUTHORIZED, **errors((404, "no such remittance"))})
    def remittance(remittance_id: str) -> dict[str, Any]:
        shown = remittances.show_remittance(deps, remittance_id)
        if shown is None:
            raise HTTPException(404, f"no remittance {remittance_id}")
        return shown

    @api.get("/ar", response_model=Receivables, responses={**UNAUTHORIZED, **BAD_INPUT})
    def accounts_receivable(as_of: str | None = Query(default=None, json_schema_extra=DATE, description=(
                                "what was owed at the end of this day (default: now); a day after today is "
                                "refused (422)")),
                            warn_days: int | None = Query(default=None, ge=0, le=3650)) -> dict[str, Any]:
        day = _day(as_of, "as_of") if as_of is not None else None
        try:
            return receivables.receivables(ledger, today=datetime.now(UTC).date(), as_of=day,
                                           warning_days=warn_days if warn_days is not None
                                           else deps.timely_filing_warning_days, zone=deps.practice.practice.zone)
        except receivables.FutureDay as exc:
            raise HTTPException(422, error_body("as_of", str(exc))) from None

    @api.get("/refused", response_model=RefusedList, responses={**UNAUTHORIZED, **BAD_INPUT})
    def refused(limit: int | None = LimitParam, cursor: str = CursorParam) -> dict[str, Any]:
        if limit is None and cursor is None:
            return {"refused": [r.summary() for r in ledger.list_refused()], "next_cursor": None}
        with _cursor_checked():
            page, next_cursor = ops.list_refused_page(ledger, limit=limit or DEFAULT_PAGE, cursor=cursor)
        return {"refused": [r.summary() for r in page], "next_cursor": next_cursor}

    @api.get("/refused/{refused_id}", response_model=RefusedDetail, responses={**UNAUTHORIZED, **NOT_FOUND})
    def refused_one(refused_id: str) -> dict[str, Any]:
        r = ledger.get_refused(refused_id)
        if r is None:
            raise HTTPException(404, f"no refused event {refused_id}")
        return {**r.summary(), "body": r.body.decode("utf-8", errors="replace")}

    @api.post("/refused/{refused_id}/replay", response_model=ReplayAnswer, responses={
        202: {"model": ReplayAnswer, "description": "taken: a new claim, or kept on the session's claim"},
        **UNAUTHORIZED, **NOT_FOUND,
        **errors((400, "still malformed"), (409, "already replayed as a claim (`claim_id`); `?again=true` replays "
                 "it all the same"), (413, "too large"), (422, "still refused: one error per field"))},
        openapi_extra={"requestBody": {"required": False, "content": {"application/json": {
            "schema": {"type": "object", "description": "a corrected event; empty: the refused body again"}}}}})
    async def replay(refused_id: str, request: Request, again: bool = Query(
            False, description="replay a refused event already replayed as a claim all the same")) -> JSONResponse:
        body = await request.body()
        outcome = ops.replay_refused(ledger, refused_id, deps.send, body=body or None, again=again)
        if outcome is None:
            raise HTTPException(404, f"no refused event {refused_id}")
        if deps.staff is not None:
            staff.audit(deps.staff, "refused.replayed", actor_of(request), refused_id=refused_id,
                        corrected=bool(body) or None, http_status=outcome.http_status)
        return JSONResponse({"http_status": outcome.http_status, **outcome.body}, outcome.http_status)

    root = APIRouter()
    root.include_router(api)

    @root.get("/metrics", response_class=PlainTextResponse, responses={
        200: {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}})
    def metrics() -> Response:
        text, content_type = render_metrics(ledger)
        return Response(text, media_type=content_type)

    return root


def _date(value: Any) -> date | None:
    """`YYYY-MM-DD` exactly (Python would also take `20261120`); None for no value."""
    if value in (None, ""):
        return None
    text = str(value)
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None

