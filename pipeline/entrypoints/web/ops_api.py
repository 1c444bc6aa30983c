"""The ops HTTP API under /v1/ops (bearer token), and /metrics. Mirrors the CLI."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from starlette.types import Message, Receive

from pipeline.adapters.metrics import render_metrics
from pipeline.application import (
    booking_updates,
    client_payments,
    dead_letters,
    exports,
    ops,
    period_statements,
    receivables,
    remittances,
    staff,
    statement_delivery,
)
from pipeline.application.ingest import MAX_BODY_BYTES
from pipeline.application.staff import SHARED_TOKEN_ACTOR, Actor
from pipeline.application.stages import Deps
from pipeline.application.statements import statement_pdf
from pipeline.domain.client_payment import PAYMENT_METHODS
from pipeline.entrypoints.web.api_models import (
    FILTER_KEYS,
    AmendAnswer,
    ClaimDetail,
    ClaimList,
    DeadCounts,
    DeadLetterList,
    DeadLettersAnswer,
    DeadLettersRequest,
    PaymentAnswer,
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
    UpdateAnswer,
    error_body,
    errors,
)
from pipeline.entrypoints.web.api_queries import (
    ClaimsQuery,
    ExportQuery,
    PageQuery,
    ReceivablesQuery,
    ReplayQuery,
    StatementsQuery,
    UpdateQuery,
    VersionQuery,
    has_query_model,
    iso_day,
    naming_the_known,
    query_names,
    unknown_parameters,
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


UNAUTHORIZED = errors((401, "no or wrong ops bearer token"))
BAD_INPUT = errors((422, "a parameter or the body is not valid"))
NOT_JSON = errors((400, "the body is not JSON"), (413, f"the body is over {MAX_BODY_BYTES} bytes"),
                  (415, "the body is sent with a Content-Type other than JSON"))
NOT_FOUND = errors((404, "no such claim or refused event"))
NO_CLAIM = errors((404, "no such claim"))
UNKNOWN_QUERY = errors((422, "a query parameter the request does not know, or a bad one: one error each"))
STORE_DOWN = errors((503, "the claim store (Redis) cannot be reached: try again after Retry-After seconds"))


DEFAULT_PAGE = 100


def no_claim(claim_id: str, *, with_message: bool = False) -> dict[str, Any]:
    """The one answer of every route for a claim id that names no claim (404), with the same `message` for an
    answer that has one."""
    message = f"no claim {claim_id}"
    return ({"message": message} if with_message else {}) | error_body("claim_id", message)


# a change made from a version of the claim's event that is no longer its own (`based_on`), as the API says it
API_CHANGED = (": the claim's event was amended since the version given (based_on); read the claim again "
               "(event_version) and make the change again")
# the replay takes an event: intake's own limits
JSON_BODY_ROUTES = frozenset({"amend", "correct", "resubmit", "record_payment", "dead_retry", "dead_clear"})


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
    """`from` and `to` (both dates, as their query model checked), `to` not before `from` (422 naming `to`)."""
    first, last = date.fromisoformat(since), date.fromisoformat(until)
    if last < first:
        raise HTTPException(422, error_body("to", f"{last} is before from ({first})"))
    return first, last


def _refused(path: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(path, message), 422)


def _filter(status: str | None, route: str | None, payer: str | None, therapist: str | None,
            since: date | None, until: date | None, problem: str | None) -> ops.ClaimFilter:
    bad = _bad_choices(status, route)
    why = ops.problem_filter_error(problem) if problem else None
    if why:
        bad.append({"path": "problem", "message": why})
    if bad:
        raise HTTPException(422, {"errors": bad})
    return ops.ClaimFilter(status=status or None, route=route or None, payer=payer or None,
                           therapist=therapist or None, since=since, until=until, problem=problem or None)


def _bad_choices(status: str | None, route: str | None) -> list[dict[str, str]]:
    return ([{"path": "status", "message": f"must be one of {', '.join(STATUSES)}"}]
            if status is not None and status not in STATUSES else []) + \
           ([{"path": "route", "message": f"must be one of {', '.join(ROUTES)}"}]
            if route is not None and route not in ROUTES else [])


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
        """The token is checked before the body is read: without it a request learns nothing, not even 422.
        A query parameter the route does not know is refused: by the route's query model, with every other bad
        parameter, or here for a route that takes none."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()
            known, modelled = query_names(self.dependant), has_query_model(self.dependant)

            async def guarded(request: Request) -> Response:
                require_token(request)
                unknown = [] if modelled else unknown_parameters(request.query_params.keys(), known)
                if unknown:
                    raise RequestValidationError(unknown)
                if self.name in JSON_BODY_ROUTES:
                    request = await json_body_checked(request)
                try:
                    return await handler(request)
                except RequestValidationError as exc:
                    raise RequestValidationError(naming_the_known(exc.errors(), known), body=exc.body,
                                                 endpoint_ctx=exc.endpoint_ctx) from None

            return guarded

    # a JSON body without a Content-Type is read as JSON: a request needs the bearer token, which no other site's
    # page can send along, so a form posted from elsewhere can never pass for one
    api = APIRouter(prefix="/v1/ops", dependencies=[Depends(require_token)], tags=["ops"], route_class=TokenFirst,
                    responses={**UNKNOWN_QUERY, **STORE_DOWN}, strict_content_type=False)
    ledger = deps.ledger

    @api.get("/summary", response_model=Summary, responses=UNAUTHORIZED)
    def summary() -> dict[str, Any]:
        return ops.summary(ledger, deps.queues, today=deps.today(),
                           timely_filing_warning_days=deps.timely_filing_warning_days)

    @api.get("/claims", response_model=ClaimList, responses={**UNAUTHORIZED, **BAD_INPUT})
    def claims(query: Annotated[ClaimsQuery, Query()]) -> dict[str, Any]:
        flt = _filter(query.status, query.route, query.payer, query.therapist, _date(query.since),
                      _date(query.until), query.problem)
        if query.q:
            flt = ops.ClaimFilter(**{**flt.__dict__, "text": query.q})
        if query.limit is None and query.cursor is None:
            return {"claims": [c.summary() for c in ops.list_claims(ledger, flt)], "next_cursor": None}
        page, next_cursor = ops.list_claims_page(ledger, flt, limit=query.limit or DEFAULT_PAGE,
                                                 cursor=query.cursor)
        return {"claims": [c.summary() for c in page], "next_cursor": next_cursor}

    @api.get("/export", responses={
        200: {"description": "one row per claim with a date of service in the range",
              "content": {"text/csv": {"schema": {"type": "string"}},
                          "application/x-ndjson": {"schema": {"type": "string"}}}},
        **UNAUTHORIZED, **BAD_INPUT}, response_model=None)
    def export(query: Annotated[ExportQuery, Query()]) -> Response:
        first, last = _period(query.since, query.until)
        text = exports.render(exports.export_rows(ledger, first, last, with_client=query.with_client),
                              query.format, with_client=query.with_client)
        media = "text/csv" if query.format == "csv" else "application/x-ndjson"
        name = f"claims-{query.since}-{query.until}.{query.format}"
        return Response(text, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @api.get("/claims/{claim_id}", response_model=ClaimDetail, responses={**UNAUTHORIZED, **NO_CLAIM})
    def claim(claim_id: str) -> dict[str, Any]:
        shown = ops.show_claim(ledger, claim_id)
        if shown is None:
            raise HTTPException(404, no_claim(claim_id))
        return shown

    @api.get("/claims/{claim_id}/statement", response_model=None, responses={
        200: {"description": "the statement PDF", "content": {"application/pdf": {"schema": {"type": "string",
                                                                                            "format": "binary"}}}},
        **UNAUTHORIZED, **errors((404, "no such claim, or the claim has no statement"))})
    def statement(claim_id: str) -> Response:
        pdf = statement_pdf(ledger, deps.practice, claim_id)
        if pdf is None:
            raise HTTPException(404, no_claim(claim_id) if ledger.get(claim_id) is None
                                else error_body("claim_id", f"claim {claim_id} has no statement"))
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{claim_id}.pdf"'})

    @api.post("/claims/{claim_id}/statement/send", response_model=StatementSendAnswer, responses={
        **UNAUTHORIZED, **errors((404, "no such claim"), (409, "the statement cannot be e-mailed now"))})
    def send_statement(claim_id: str, request: Request) -> JSONResponse:
        actor = actor_of(request)
        result = statement_delivery.resend_statement(deps, deps.send, claim_id, source="api", by=actor.label)
        if result.message == ops.NO_SUCH_CLAIM:
            raise HTTPException(404, no_claim(claim_id))
        if result.ok and deps.staff is not None:
            staff.audit(deps.staff, "statement.resent", actor, claim_id=claim_id)
        answer = {"ok": result.ok, "claim_id": claim_id, "message": result.message}
        if result.ok:
            return JSONResponse(answer)
        return JSONResponse(answer | error_body("claim_id", result.message), 409)

    @api.get("/statements", response_model=None, responses={
        200: {"description": "one superbill for all of the client's statement_ready sessions in the range",
              "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
        **UNAUTHORIZED, **BAD_INPUT, **errors((404, "the client has no statement_ready session in the range"))})
    def period_statement(request: Request, query: Annotated[StatementsQuery, Query()]) -> Response:
        first, last = _period(query.since, query.until)
        try:
            statement = period_statements.period_statement(deps, query.client, first, last)
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
    def amend(claim_id: str, request: Request, query: Annotated[VersionQuery, Query()],
              patch: dict[str, Any] = Body(...)) -> JSONResponse:  # noqa: B008
        actor = actor_of(request)
        result = ops.amend(ledger, claim_id, patch, source="api", by=actor.label, based_on=query.based_on)
        if result.ok and result.changed and deps.staff is not None:
            staff.audit(deps.staff, "claim.amended", actor, claim_id=claim_id, changed=result.changed)
        return _changed(claim_id, result.ok, result.errors, result.message, result.__dict__)

    @api.post("/claims/{claim_id}/apply-update", response_model=UpdateAnswer, responses={
        **UNAUTHORIZED,
        **errors((404, "no such claim"), (409, "no update from the booking system is waiting, the claim's status "
                                              "takes no amendment (a claim the payer has takes a corrected claim: "
                                              "`correction`), or it was amended since the version given (based_on)"),
                 (422, "the update does not make a valid event: one error per field"))})
    def apply_update(claim_id: str, request: Request, query: Annotated[UpdateQuery, Query()]) -> JSONResponse:
        actor = actor_of(request)
        result = booking_updates.apply_update(ledger, deps.practice, claim_id, by=actor.label, source="api",
                                              based_on=query.based_on, dry_run=query.dry_run, send=deps.send,
                                              resubmit=query.resubmit)
        answer = result.as_dict()
        if result.ok:
            if not result.dry_run and deps.staff is not None:
                staff.audit(deps.staff, "claim.update_applied", actor, claim_id=claim_id, event_id=result.event_id,
                            changed=result.applied, resubmitted=result.resubmitted)
            return JSONResponse(answer)
        if result.message == ops.NO_SUCH_CLAIM:
            return JSONResponse(answer | no_claim(claim_id, with_message=True), 404)
        if result.errors:
            return JSONResponse(answer, 422)
        if result.message == ops.CHANGED_MEANWHILE:
            answer["message"] = result.message.split(":", 1)[0] + API_CHANGED
            return JSONResponse(answer | error_body("based_on", answer["message"]), 409)
        return JSONResponse(answer | error_body("claim_id", result.message), 409)

    def _correct(request: Request, claim_id: str, kind: str, patch: dict[str, Any] | None,
                 based_on: str | None = None) -> JSONResponse:
        actor = actor_of(request)
        result = ops.correct(ledger, claim_id, deps.send, kind=kind, practice=deps.practice, patch=patch,
                             source="api", by=actor.label, based_on=based_on)
        if result.ok and deps.staff is not None:
            staff.audit(deps.staff, "claim.voided" if kind == "void" else "claim.corrected", actor,
                        claim_id=claim_id, changed=result.changed or None)
        return _changed(claim_id, result.ok, result.errors, result.message, result.__dict__)

    def _changed(claim_id: str, ok: bool, problems: list[dict[str, str]], message: str,
                 answer: dict[str, Any]) -> JSONResponse:
        """An amendment's or correction's answer: 200, 404 (no such claim), 422 (`errors` says why), or 409 (the
        claim's status does not allow it)."""
        if ok:
            return JSONResponse(answer)
        if message == ops.NO_SUCH_CLAIM:
            return JSONResponse(answer | no_claim(claim_id, with_message=True), 404)
        if problems:
            return JSONResponse(answer, 422)
        # said as the API's caller gave the version
        if message in (ops.CHANGED_MEANWHILE, ops.NOT_SENT_CHANGED, ops.VOID_NOT_SENT_CHANGED):
            message = message.split(":", 1)[0] + API_CHANGED
            answer = answer | {"message": message}
            return JSONResponse(answer | error_body("based_on", message), 409)
        return JSONResponse(answer | error_body("claim_id", message), 409)

    CORRECTION_ERRORS = errors((404, "no such claim"), (409, "the claim has no payer claim number yet, or is in "
                                                              "a status that cannot be corrected or voided"),
                               (422, "the amendment is not valid: one error per field"))

    @api.post("/claims/{claim_id}/correct", response_model=AmendAnswer,
              responses={**UNAUTHORIZED, **NOT_JSON, **CORRECTION_ERRORS},
              openapi_extra={"requestBody": {"required": False, "content": {"application/json": {
                  "schema": {"type": "object", "description": "sections to change first, as for amend"}}}}})
    async def correct(claim_id: str, request: Request, query: Annotated[VersionQuery, Query()]) -> JSONResponse:
        raw = await request.body()
        patch: Any = None
        if raw.strip():
            try:
                patch = json.loads(raw)
            except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
                return JSONResponse(error_body("(body)", "is not JSON"), 400)
            if not isinstance(patch, dict):
                return JSONResponse(error_body("(body)", "must be a JSON object"), 422)
        return _correct(request, claim_id, "replacement", patch or None, query.based_on)

    @api.post("/claims/{claim_id}/void", response_model=AmendAnswer, responses={**UNAUTHORIZED, **CORRECTION_ERRORS})
    def void(claim_id: str, request: Request, query: Annotated[VersionQuery, Query()]) -> JSONResponse:
        return _correct(request, claim_id, "void", None, query.based_on)

    @api.post("/claims/{claim_id}/payments", response_model=PaymentAnswer, responses={
        **UNAUTHORIZED, **NOT_JSON,
        **errors((404, "no such claim"), (409, "the claim takes no payment from the client (its status or route), "
                 "or it changed since the version given (based_on)"),
                 (422, "the payment is not valid: one error per field; or its Idempotency-Key is not valid, or was "
                       "used for a different payment on this claim"))},
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["amount", "method"], "additionalProperties": False, "properties": {
                "amount": {"type": "string", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$", "example": "40.00"},
                "method": {"type": "string", "enum": list(PAYMENT_METHODS)},
                "received_on": {"type": "string", "format": "date",
                                "description": "default: today, the practice's day"},
                "by": {"type": "string", "description": "who took the payment; only (and then required) with "
                                                        "the shared ops token: a person's own token names them"}}}}}}})
    async def record_payment(claim_id: str, request: Request, query: Annotated[VersionQuery, Query()],
                             idempotency_key: Annotated[str | None, Header(
                                 alias=client_payments.IDEMPOTENCY_KEY,
                                 description="a key of the client's (e.g. a UUID; letters, digits, . _ : -, at most "
                                             f"{client_payments.MAX_IDEMPOTENCY_KEY}): the same request again within "
                                             "24 h answers the first one's answer (header Idempotent-Replayed: "
                                             "true) and records nothing")] = None) -> JSONResponse:
        try:
            body = json.loads(await request.body() or b"null")
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
            return JSONResponse(error_body("(body)", "is not JSON"), 400)
        actor = actor_of(request)
        checked = payment_body(body, shared=actor == SHARED_TOKEN_ACTOR)
        if isinstance(checked, list):
            answer = client_payments.PaymentResult(False, claim_id, message="the payment is not valid",
                                                   errors=checked).as_dict()
            return JSONResponse(answer, 404 if ledger.get(claim_id) is None else 422)
        amount, method, received_on, named = checked
        by = f"{named} (via the {actor.name})" if named else actor.label
        result = client_payments.record_payment(deps, claim_id, amount=amount, method=method, by=by, source="api",
                                                received_on=received_on, based_on=query.based_on,
                                                idempotency_key=idempotency_key)
        answer = result.as_dict()
        if result.replayed:  # the answer kept under the request's Idempotency-Key: nothing recorded again
            return JSONResponse(answer, headers={"Idempotent-Replayed": "true"})
        if result.ok:
            if deps.staff is not None:
                staff.audit(deps.staff, "claim.payment_recorded", actor, claim_id=claim_id, amount=result.amount,
                            method=result.method, received_on=result.received_on, taken_by=named,
                            document_number=result.document_number)
            return JSONResponse(answer)
        if result.message == ops.NO_SUCH_CLAIM:
            return JSONResponse(answer | no_claim(claim_id, with_message=True), 404)
        if result.errors:
            return JSONResponse(answer, 422)
        return JSONResponse(answer | error_body("based_on" if result.conflict else "claim_id", result.message), 409)

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
            raise HTTPException(404, error_body("remittance_id", f"no remittance {remittance_id}"))
        return shown

    @api.get("/ar", response_model=Receivables, responses={**UNAUTHORIZED, **BAD_INPUT})
    def accounts_receivable(query: Annotated[ReceivablesQuery, Query()]) -> dict[str, Any]:
        warn_days = query.warn_days
        try:
            return receivables.receivables(ledger, today=deps.today(), as_of=_date(query.as_of),
                                           warning_days=warn_days if warn_days is not None
                                           else deps.timely_filing_warning_days, zone=deps.practice.practice.zone)
        except receivables.FutureDay as exc:
            raise HTTPException(422, error_body("as_of", str(exc))) from None

    @api.get("/refused", response_model=RefusedList, responses={**UNAUTHORIZED, **BAD_INPUT})
    def refused(query: Annotated[PageQuery, Query()]) -> dict[str, Any]:
        if query.limit is None and query.cursor is None:
            return {"refused": [r.summary() for r in ledger.list_refused()], "next_cursor": None}
        page, next_cursor = ops.list_refused_page(ledger, limit=query.limit or DEFAULT_PAGE, cursor=query.cursor)
        return {"refused": [r.summary() for r in page], "next_cursor": next_cursor}

    @api.get("/refused/{refused_id}", response_model=RefusedDetail, responses={**UNAUTHORIZED, **NOT_FOUND})
    def refused_one(refused_id: str) -> dict[str, Any]:
        r = ledger.get_refused(refused_id)
        if r is None:
            raise HTTPException(404, error_body("refused_id", f"no refused event {refused_id}"))
        return {**r.summary(), "body": r.body.decode("utf-8", errors="replace")}

    @api.post("/refused/{refused_id}/replay", response_model=ReplayAnswer, responses={
        202: {"model": ReplayAnswer, "description": "taken: a new claim, or kept on the session's claim"},
        **UNAUTHORIZED, **NOT_FOUND,
        **errors((400, "still malformed"), (409, "already replayed as a claim (`claim_id`); `?again=true` replays "
                 "it all the same"), (413, "too large"), (422, "still refused: one error per field"))},
        openapi_extra={"requestBody": {"required": False, "content": {"application/json": {
            "schema": {"type": "object", "description": "a corrected event; empty: the refused body again"}}}}})
    async def replay(refused_id: str, request: Request, query: Annotated[ReplayQuery, Query()]) -> JSONResponse:
        body = await request.body()
        outcome = ops.replay_refused(ledger, refused_id, deps.send, body=body or None, again=query.again)
        if outcome is None:
            raise HTTPException(404, error_body("refused_id", f"no refused event {refused_id}"))
        if deps.staff is not None:
            staff.audit(deps.staff, "refused.replayed", actor_of(request), refused_id=refused_id,
                        corrected=bool(body) or None, http_status=outcome.http_status)
        return JSONResponse({"http_status": outcome.http_status, **outcome.body}, outcome.http_status)

    NO_QUEUE = errors((404, "no such queue"))

    def _no_queue(exc: dead_letters.UnknownQueue) -> HTTPException:
        return HTTPException(404, error_body("queue", str(exc)))

    @api.get("/dead", response_model=DeadCounts, responses=UNAUTHORIZED)
    def dead_counts() -> dict[str, Any]:
        return dead_letters.counts(deps)

    @api.get("/dead/{queue}", response_model=DeadLetterList, responses={**UNAUTHORIZED, **BAD_INPUT, **NO_QUEUE})
    def dead_list(queue: str, query: Annotated[PageQuery, Query()]) -> dict[str, Any]:
        try:
            page, next_cursor = dead_letters.list_page(deps, queue, limit=query.limit or DEFAULT_PAGE,
                                                       cursor=query.cursor)
        except dead_letters.UnknownQueue as exc:
            raise _no_queue(exc) from None
        except ops.BadCursor as exc:
            raise HTTPException(422, error_body("cursor", str(exc))) from None
        return {"queue": queue, "dead_letters": [x.as_dict() for x in page], "next_cursor": next_cursor}

    @api.post("/dead/{queue}/retry", response_model=DeadLettersAnswer,
              responses={**UNAUTHORIZED, **NOT_JSON, **BAD_INPUT, **NO_QUEUE})
    def dead_retry(queue: str, request: Request, request_body: DeadLettersRequest) -> dict[str, Any]:
        actor = actor_of(request)
        ids = None if request_body.all else list(request_body.message_ids)
        try:
            outcome = dead_letters.retry(deps, queue, ids, by=actor.label)
        except dead_letters.UnknownQueue as exc:
            raise _no_queue(exc) from None
        if deps.staff is not None and (outcome.retried or outcome.skipped):
            staff.audit(deps.staff, "dead_letters.retried", actor, queue=queue,
                        message_ids=[r["message_id"] for r in outcome.retried], skipped=len(outcome.skipped) or None)
        return outcome.as_dict()

    @api.post("/dead/{queue}/clear", response_model=DeadLettersAnswer,
              responses={**UNAUTHORIZED, **NOT_JSON, **BAD_INPUT, **NO_QUEUE})
    def dead_clear(queue: str, request: Request, request_body: DeadLettersRequest) -> dict[str, Any]:
        ids = None if request_body.all else list(request_body.message_ids)
        try:
            outcome = dead_letters.clear(deps, queue, ids)
        except dead_letters.UnknownQueue as exc:
            raise _no_queue(exc) from None
        if deps.staff is not None:
            staff.audit(deps.staff, "dead_letters.cleared", actor_of(request), queue=queue, count=outcome.cleared,
                        message_ids=ids)
        return outcome.as_dict()

    root = APIRouter()
    root.include_router(api)

    @root.get("/metrics", response_class=PlainTextResponse, responses={
        200: {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}})
    def metrics() -> Response:
        text, content_type = render_metrics(ledger)
        return Response(text, media_type=content_type)

    return root


PAYMENT_FIELDS = ("amount", "method", "received_on", "by")


def payment_body(body: Any, *, shared: bool) -> tuple[str, str, date | None, str | None] | list[dict[str, str]]:
    """A payment's body checked for its shape, field by field: (amount as typed, method, the day received, the
    person named with the shared token), or the errors. The amount's own rules are the application's."""
    if not isinstance(body, dict):
        return [{"path": "(body)", "message": 'must be a JSON object such as {"amount": "40.00", "method": "card"}'}]
    out: list[dict[str, str]] = [{"path": str(k), "message": f"is not a field of a payment (fields: "
                                  f"{', '.join(PAYMENT_FIELDS)})"} for k in body if k not in PAYMENT_FIELDS]
    amount, method, received, named = body.get("amount"), body.get("method"), body.get("received_on"), body.get("by")
    if amount is None:
        out.append({"path": "amount", "message": 'is required: a decimal string such as "40.00"'})
    elif not isinstance(amount, str):
        out.append({"path": "amount", "message": 'must be a decimal string such as "40.00"'})
    if method is None:
        out.append({"path": "method", "message": f"is required: one of {', '.join(PAYMENT_METHODS)}"})
    elif not isinstance(method, str) or method not in PAYMENT_METHODS:
        out.append({"path": "method", "message": f"must be one of {', '.join(PAYMENT_METHODS)}"})
    day: date | None = None
    if received is not None:
        try:
            day = _date(received) if isinstance(received, str) else None
        except ValueError:
            day = None
        if day is None:
            out.append({"path": "received_on", "message": "must be a date (YYYY-MM-DD)"})
    if shared and (not isinstance(named, str) or not named.strip()):
        out.append({"path": "by", "message": "is required with the shared ops token: the name of the person "
                                             "who took the payment"})
    elif shared and isinstance(named, str) and len(named.strip()) > client_payments.MAX_BY:
        out.append({"path": "by", "message": f"must be at most {client_payments.MAX_BY} characters"})
    elif not shared and named is not None:
        out.append({"path": "by", "message": "is the person the bearer token belongs to: leave it out"})
    if out:
        return out
    return str(amount), str(method), day, named.strip() if shared and isinstance(named, str) else None


def _date(value: Any) -> date | None:
    return iso_day(value)

