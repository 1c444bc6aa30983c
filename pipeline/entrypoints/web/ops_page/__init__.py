"""The ops web page at /ops: plain server-rendered HTML behind the ops token.

Sign in with the token once (kept in an HttpOnly, SameSite=Strict cookie); then see what needs
attention, why, fix a claim's data and resubmit one, a selection, or everything matching a filter.
"""

from __future__ import annotations

import json
from datetime import date
from html import escape
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from pipeline.application import exports, ops, period_statements, receivables, remittances, statement_delivery
from pipeline.application.stages import Deps
from pipeline.application.statements import statement_pdf
from pipeline.entrypoints.web.ops_api import bearer, token_ok
from pipeline.entrypoints.web.ops_page import layout, money, views

COOKIE = "superbill_ops"


OVERVIEW_ROWS = 50  # per list on the overview; the rest a click away, a page at a time
PAGE_ROWS = 100


def build_ops_page(deps: Deps, *, ops_token: str | None) -> APIRouter:
    router = APIRouter(prefix="/ops", include_in_schema=False)
    ledger = deps.ledger

    def signed_in(request: Request) -> bool:
        return token_ok(request.cookies.get(COOKIE) or bearer(request), ops_token)

    def to_login() -> Response:
        return RedirectResponse("/ops/login", 303)

    @router.get("/login")
    def login_form(msg: str | None = None) -> Response:
        body = views.login_body(bool(ops_token))
        return layout.page("Sign in", body, msg=msg, error=bool(msg), nav=False)

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        token = str(form.get("token", ""))
        if not token_ok(token, ops_token):
            return RedirectResponse("/ops/login?" + urlencode({"msg": "That token is not right."}), 303)
        response = RedirectResponse("/ops", 303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=12 * 3600)
        return response

    @router.post("/logout")
    def logout() -> Response:
        response = RedirectResponse("/ops/login", 303)
        response.delete_cookie(COOKIE)
        return response

    @router.get("")
    def overview(request: Request, msg: str | None = None) -> Response:
        if not signed_in(request):
            return to_login()
        s = ops.summary(ledger, deps.queues)
        rows_by_status = {status: [c.summary() for c in ops.list_claims_page(
            ledger, ops.ClaimFilter(status=status), limit=OVERVIEW_ROWS)[0]]
            for status in ("failed", "rejected", "needs_attention", "denied")}
        failed_emails = [{**c.summary(), "statement_error": c.statement_error}
                         for c in ledger.get_many(ledger.failed_deliveries(limit=OVERVIEW_ROWS))]
        body = views.overview_body(s, rows_by_status, failed_emails)
        return layout.page("Overview", body, msg=msg)

    @router.get("/claims")
    def claims(request: Request, msg: str | None = None) -> Response:
        if not signed_in(request):
            return to_login()
        values = {k: v for k, v in request.query_params.items() if k not in ("msg", "cursor")}
        flt = views.filter_from(values)
        try:
            page, next_cursor = ops.list_claims_page(ledger, flt, limit=PAGE_ROWS,
                                                     cursor=request.query_params.get("cursor"))
        except ops.BadCursor:
            page, next_cursor = ops.list_claims_page(ledger, flt, limit=PAGE_ROWS)
        body = views.claims_body(values, [c.summary() for c in page], next_cursor=next_cursor)
        return layout.page("Claims", body, msg=msg)

    @router.get("/export")
    def export(request: Request) -> Response:
        if not signed_in(request):
            return to_login()
        query = request.query_params
        try:
            since, until = date.fromisoformat(query.get("from", "")), date.fromisoformat(query.get("to", ""))
        except ValueError:
            return layout.page("Export", "<p>Give both dates (YYYY-MM-DD).</p>" + views.export_form(), msg=None)
        fmt = query.get("format") if query.get("format") in exports.FORMATS else "csv"
        with_client = query.get("with_client") == "1"
        text = exports.render(exports.export_rows(ledger, since, until, with_client=with_client), fmt,
                              with_client=with_client)
        name = f"claims-{since.isoformat()}-{until.isoformat()}.{fmt}"
        media = "text/csv" if fmt == "csv" else "application/x-ndjson"
        return Response(text, media_type=f"{media}; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @router.get("/claims/{claim_id}")
    def claim(request: Request, claim_id: str, msg: str | None = None, error: int = 0) -> Response:
        if not signed_in(request):
            return to_login()
        c = ops.show_claim(ledger, claim_id)
        if c is None:
            return layout.page("Claim not found", f"<p>No claim {escape(claim_id)}.</p>")
        body = views.claim_body(claim_id, c)
        return layout.page(f"Claim {claim_id}", body, msg=msg, error=bool(error))

    @router.get("/claims/{claim_id}/statement")
    def statement(request: Request, claim_id: str) -> Response:
        if not signed_in(request):
            return to_login()
        pdf = statement_pdf(ledger, deps.practice, claim_id)
        if pdf is None:
            return layout.page("No statement", f"<p>Claim {escape(claim_id)} has no statement.</p>")
        return Response(pdf, media_type="application/pdf")

    @router.post("/claims/{claim_id}/statement/send")
    def send_statement(request: Request, claim_id: str) -> Response:
        if not signed_in(request):
            return Response("a valid ops token is required", 401)
        result = statement_delivery.resend_statement(deps, deps.send, claim_id, source="ops page")
        return _back(f"/ops/claims/{claim_id}", result.message[:1].upper() + result.message[1:] + ".",
                     error=not result.ok)

    @router.get("/statement")
    def period(request: Request) -> Response:
        if not signed_in(request):
            return to_login()
        query = request.query_params
        client = query.get("client", "").strip()
        try:
            since, until = date.fromisoformat(query.get("from", "")), date.fromisoformat(query.get("to", ""))
        except ValueError:
            since = until = None  # type: ignore[assignment]
        if not client or since is None:
            return layout.page("Client statement", "<p>Give the client id and both dates (YYYY-MM-DD).</p>"
                               + views.period_statement_form(), msg=None)
        try:
            statement = period_statements.period_statement(deps, client, since, until)
        except period_statements.NoSessions as exc:
            return layout.page("Client statement", f"<p>{escape(str(exc))}.</p>" + views.period_statement_form(),
                               msg=None)
        name = f"statement-{statement.document_number}.pdf"
        return Response(statement.pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"'})

    @router.post("/claims/{claim_id}/amend")
    async def amend(request: Request, claim_id: str) -> Response:
        if not signed_in(request):
            return Response("a valid ops token is required", 401)
        form = await request.form()
        try:
            patch = json.loads(str(form.get("patch", "")))
            if not isinstance(patch, dict):
                raise ValueError("must be a JSON object")
        except ValueError as exc:
            return _back(f"/ops/claims/{claim_id}", f"Not amended: the JSON is not valid ({exc}).", error=True)
        result = ops.amend(ledger, claim_id, patch, source="ops page")
        if result.ok:
            return _back(f"/ops/claims/{claim_id}", f"Amended ({', '.join(result.changed)}). Now resubmit it.")
        details = "; ".join(f"{e['path']}: {e['message']}" for e in result.errors)
        return _back(f"/ops/claims/{claim_id}", f"Not amended. {result.message} {details}".strip(), error=True)

    @router.post("/claims/{claim_id}/correct")
    async def correct(request: Request, claim_id: str) -> Response:
        return await _correction(request, claim_id, "replacement")

    @router.post("/claims/{claim_id}/void")
    async def void(request: Request, claim_id: str) -> Response:
        return await _correction(request, claim_id, "void")

    async def _correction(request: Request, claim_id: str, kind: str) -> Response:
        if not signed_in(request):
            return Response("a valid ops token is required", 401)
        form = await request.form()
        text = str(form.get("patch", "")).strip()
        patch = None
        if text:
            try:
                patch = json.loads(text)
                if not isinstance(patch, dict):
                    raise ValueError("must be a JSON object")
            except ValueError as exc:
                return _back(f"/ops/claims/{claim_id}", f"Not sent: the JSON is not valid ({exc}).", error=True)
        result = ops.correct(ledger, claim_id, deps.send, kind=kind, patch=patch, source="ops page")
        if result.ok:
            return _back(f"/ops/claims/{claim_id}", result.message[:1].upper() + result.message[1:] + ".")
        details = "; ".join(f"{e['path']}: {e['message']}" for e in result.errors)
        return _back(f"/ops/claims/{claim_id}", f"Not sent. {result.message} {details}".strip(), error=True)

    @router.post("/resubmit")
    async def resubmit(request: Request) -> Response:
        if not signed_in(request):
            return Response("a valid ops token is required", 401)
        form = await request.form()
        ids = [str(v) for v in form.getlist("claim_id")]
        values = {k: str(v) for k, v in form.items() if k not in ("claim_id", "all_matching")}
        if not ids and (form.get("all_matching") or values.get("status")):
            flt = views.filter_from(values)
            try:
                ids = ops.select_for_resubmit(ledger, flt)
            except ValueError as exc:
                return _back(request.headers.get("referer") or "/ops", str(exc), error=True)
        if not ids:
            return _back(request.headers.get("referer") or "/ops", "Nothing selected to resubmit.", error=True)
        result = ops.resubmit(ledger, ids, deps.send, source="ops page")
        text = f"Resubmitted {len(result.resubmitted)} claim(s)."
        if result.skipped:
            text += " Skipped: " + ", ".join(f"{s['claim_id']} ({s['reason']})" for s in result.skipped)
        target = f"/ops/claims/{ids[0]}" if len(ids) == 1 else "/ops"
        return _back(target, text)

    @router.get("/remittances")
    def remittance_list(request: Request, msg: str | None = None) -> Response:
        if not signed_in(request):
            return to_login()
        return layout.page("Remittances", money.remittances_body(remittances.list_remittances(deps)), msg=msg)

    @router.get("/remittances/{remittance_id}")
    def remittance(request: Request, remittance_id: str) -> Response:
        if not signed_in(request):
            return to_login()
        shown = remittances.show_remittance(deps, remittance_id)
        if shown is None:
            return layout.page("Remittance not found", f"<p>No remittance {escape(remittance_id)}.</p>")
        return layout.page(f"Remittance {remittance_id}", money.remittance_body(shown))

    @router.get("/ar")
    def owed(request: Request) -> Response:
        if not signed_in(request):
            return to_login()
        claims = ledger.get_many(ledger.claim_ids(route="direct_billing"))
        report = receivables.accounts_receivable(claims, today=date.today(),
                                                 warning_days=deps.timely_filing_warning_days)
        return layout.page("What is owed", money.ar_body(report))

    @router.get("/refused")
    def refused(request: Request, msg: str | None = None) -> Response:
        if not signed_in(request):
            return to_login()
        try:
            page, next_cursor = ops.list_refused_page(ledger, limit=PAGE_ROWS,
                                                      cursor=request.query_params.get("cursor"))
        except ops.BadCursor:
            page, next_cursor = ops.list_refused_page(ledger, limit=PAGE_ROWS)
        body = views.refused_body(page, next_cursor=next_cursor)
        return layout.page("Refused events", body, msg=msg)

    return router


def _back(path: str, msg: str, *, error: bool = False) -> Response:
    base = path.split("?", 1)[0]
    query = {"msg": msg, **({"error": "1"} if error else {})}
    return RedirectResponse(f"{base}?{urlencode(query)}", 303)
