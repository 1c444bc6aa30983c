"""The ops page at /ops: plain server-rendered HTML for the front desk and the billing person.

Each person signs in with their own name and password (`superbill users add`); see `auth` for the session,
the cookie, the CSRF token and the origin check. Then: see what needs attention and why, in plain words;
find a client's claim; fix its data in a form with a preview of the decision; resubmit; read what was sent
to the peers and what they answered; replay refused events; look at dead letters and the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from config.settings import Settings
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
from pipeline.application.stages import Deps
from pipeline.application.statements import statement_pdf
from pipeline.application.steps import QUEUES
from pipeline.entrypoints.web.api_queries import iso_day
from pipeline.entrypoints.web.ops_page import booking_update, layout, money, payments, views
from pipeline.entrypoints.web.ops_page.auth import COOKIE, PageAuth, Who
from schemas.claim import AMENDABLE_STATUSES, Claim

REFRESH_S = 15
# where a form post returns: fixed paths only, never a URL taken from the request
BACK = {"overview": "/ops", "claims": "/ops/claims"}


# a form posted after its session ended (signed out, idle too long, password changed, account disabled)
SIGNED_OUT = ('<p id="signed-out"><b>Sign in first: nothing was changed.</b> Your session has ended (you signed out, '
              'the page was left idle too long, or your account was changed), so this form was not taken.</p>'
              '<p><a class="btn" href="/ops/login">Sign in again</a></p>')

OVERVIEW_ROWS = 50  # per list on the overview; the rest a click away, a page at a time
PAGE_ROWS = 100


class Answered(Exception):
    """Raised by a page's dependency (not signed in, a refused form) with the answer to give instead."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class PageRoute(APIRoute):
    """A route whose dependencies may answer first: `Answered` becomes the response."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answered_first(request: Request) -> Response:
            try:
                return await handler(request)
            except Answered as answer:
                return answer.response

        return answered_first


@dataclass(frozen=True)
class Posted:
    """A form posted by a signed-in person, its CSRF token and origin checked."""

    who: Who
    form: FormData


def build_ops_page(deps: Deps, settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/ops", include_in_schema=False, route_class=PageRoute)
    ledger = deps.ledger
    auth = PageAuth.from_settings(deps.staff, settings)
    zone = deps.practice.practice.zone

    def to_login() -> Response:
        return RedirectResponse("/ops/login", 303)

    def render(who: Who, title: str, body: str, *, status: int = 200, msg: str | None = None,
               error: bool = False) -> HTMLResponse:
        flashed, flashed_error = auth.take_flash(who)
        text = " ".join(m for m in (flashed, msg) if m) or None
        return layout.page(title, body, msg=text, error=error or flashed_error, csrf=who.csrf,
                           user=who.actor.name, status=status)

    def refused(why: str) -> Response:  # nothing changed; a way on from here, never to a URL of the request
        return layout.page("Refused", f'<p>{escape(why[:1].upper() + why[1:])}. Nothing was changed.</p><p>'
                           '<a class="btn" href="/ops">Back to the overview</a> <span class="muted">or go back '
                           'with the browser, reload the page and send the form again</span></p>',
                           nav=False, status=403)

    # what every page needs first: the person signed in (else the sign-in page), and for a form post its
    # CSRF token and origin checked (else 401 or 403)
    def signed_in(request: Request) -> Who:
        who = auth.who(request)
        if who is None:
            raise Answered(to_login())
        return who

    def signed_in_fragment(request: Request) -> Who:  # the overview's own refresh: keeps no idle session alive
        who = auth.who(request, touch=False)
        if who is None:
            raise Answered(Response("sign in first", 401))
        return who

    async def posted(request: Request) -> Posted:
        who = auth.who(request)
        if who is None:  # a page left open past its session: say so on a page, with the way back in
            raise Answered(layout.page("Signed out", SIGNED_OUT, nav=False, status=401))
        form = await request.form()
        why = auth.post_refusal(request, who, form)
        if why:
            staff_audit("form.refused", who, path=request.url.path, reason=why)
            raise Answered(refused(why))
        return Posted(who, form)

    page_reader = Depends(signed_in)
    fragment_reader = Depends(signed_in_fragment)
    form_poster = Depends(posted)

    def no_claim(who: Who, claim_id: str) -> Response:
        return render(who, "Claim not found", f"<p>No claim {escape(claim_id)}.</p>", status=404)

    def staff_audit(action: str, who: Who | None, **detail: Any) -> None:
        if deps.staff is not None:
            staff.audit(deps.staff, action, who.actor if who else None, **detail)

    def back(who: Who, path: str, text: str, *, error: bool = False) -> Response:
        auth.flash(who, text, error=error)
        return RedirectResponse(path, 303)

    # signing in --------------------------------------------------------------------------------------
    @router.get("/login")
    def login_form(request: Request) -> Response:
        return login_page(request)

    def login_page(request: Request, *, username: str = "", msg: str | None = None, status: int = 200) -> Response:
        response = HTMLResponse("")
        csrf = auth.login_csrf(request, response)
        note = "" if deps.staff is not None else '<p class="flash error">No account store is configured.</p>'
        page = layout.page("Sign in", note + views.login_body(csrf, username), msg=msg, error=bool(msg), nav=False,
                           status=status)
        page.raw_headers.extend(h for h in response.raw_headers if h[0] == b"set-cookie")
        return page

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        username = str(form.get("username") or "")[:64]
        why = auth.login_refusal(request, form)
        if why:
            staff_audit("sign_in.refused", None, reason=why)
            return login_page(request, username=username, msg=f"Not signed in: {why}.", status=403)
        if deps.staff is None:
            return login_page(request, msg="Nobody can sign in: no account store.", status=403)
        # argon2 takes a few hundred milliseconds on purpose: not on the event loop
        result = await run_in_threadpool(staff.sign_in, deps.staff, username, str(form.get("password") or ""),
                                         idle_s=auth.idle_s, max_s=auth.max_s)
        if result.token is None:
            return login_page(request, username=username, msg=result.message, status=401)
        response = RedirectResponse("/ops", 303)
        auth.set_session_cookie(response, request, result.token)
        response.delete_cookie("superbill_login", path="/ops/login")
        return response

    @router.post("/logout")
    async def logout(request: Request, got: Posted = form_poster) -> Response:
        who = got.who
        if who.signed is not None and deps.staff is not None:
            staff.sign_out(deps.staff, who.signed)
        response = RedirectResponse("/ops/login", 303)
        auth.clear_session_cookie(response, request)
        return response

    # looking -----------------------------------------------------------------------------------------
    def overview_parts() -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]], list[dict[str, Any]],
                                  dict[str, Any]]:
        s = ops.summary(ledger, deps.queues, today=deps.today(),
                        timely_filing_warning_days=deps.timely_filing_warning_days)
        claims = {status: ops.list_claims_page(ledger, ops.ClaimFilter(status=status), limit=OVERVIEW_ROWS)[0]
                  for status in ("failed", "rejected", "needs_attention", "denied")}
        emails = ledger.get_many(ledger.failed_deliveries(limit=OVERVIEW_ROWS))
        failed_emails = [{**c.summary(), "statement_error": c.statement_error} for c in emails]
        people = ops.identities(ledger, [c.claim_id for rows in (*claims.values(), emails) for c in rows])
        return s, {k: marked(v) for k, v in claims.items()}, failed_emails, people

    def marked(claims: list[Claim]) -> list[dict[str, Any]]:
        """The claims' rows, each marked when an update from the booking system waits on it (its badge)."""
        waiting = booking_updates.claim_ids_with_update(ledger, [c.claim_id for c in claims])
        return [{**c.summary(), **({"update_waiting": True} if c.claim_id in waiting else {})} for c in claims]

    @router.get("")
    def overview(request: Request, who: Who = page_reader) -> Response:
        s, rows, failed_emails, people = overview_parts()
        every = _refresh_s(request.query_params.get("refresh"))
        return render(who, "Overview", views.overview_body(s, rows, people, refresh_s=every,
                                                           failed_emails=failed_emails))

    @router.get("/live")
    def live(who: Who = fragment_reader) -> Response:
        """The overview's live part, fetched by the page itself every few seconds."""
        s, rows, failed_emails, people = overview_parts()
        html = layout.with_csrf(views.live_body(s, rows, people, failed_emails), who.csrf)
        return HTMLResponse(html, headers=layout.FRAGMENT_HEADERS)

    @router.get("/claims")
    def claims(request: Request, who: Who = page_reader) -> Response:
        values = {k: v for k, v in request.query_params.items() if k in views.FILTER_FIELDS}
        try:
            flt = views.filter_from(values)
        except views.BadFilter as bad:
            return render(who, "Claims", views.bad_filter_body(values, bad), status=422)
        try:
            page, next_cursor = ops.list_claims_page(ledger, flt, limit=PAGE_ROWS,
                                                     cursor=request.query_params.get("cursor"))
        except ops.BadCursor:
            page, next_cursor = ops.list_claims_page(ledger, flt, limit=PAGE_ROWS)
        people = ops.identities(ledger, [c.claim_id for c in page])
        return render(who, "Claims", views.claims_body(values, marked(page), people,
                                                       next_cursor=next_cursor))

    @router.get("/export")
    def export(request: Request, who: Who = page_reader) -> Response:
        query = request.query_params
        try:
            since, until = _period(query.get("from"), query.get("to"))
        except ValueError as exc:
            return render(who, "Export", f'<p class="flash error" role="alert">{escape(str(exc))}</p>'
                          + views.export_form(dict(query)), status=422)
        fmt = query.get("format") if query.get("format") in exports.FORMATS else "csv"
        with_client = query.get("with_client") == "1"
        text = exports.render(exports.export_rows(ledger, since, until, with_client=with_client), fmt,
                              with_client=with_client)
        name = f"claims-{since.isoformat()}-{until.isoformat()}.{fmt}"
        media = "text/csv" if fmt == "csv" else "application/x-ndjson"
        return Response(text, media_type=f"{media}; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    def claim_page(who: Who, claim_id: str, *, state: views.FixState | None = None, status: int = 200,
                   paying: payments.PaymentForm | None = None,
                   update_preview: dict[str, Any] | None = None) -> Response:
        shown = ops.show_claim(ledger, claim_id)
        if shown is None:
            return no_claim(who, claim_id)
        document = ledger.event_document(claim_id)
        person = ops.identities(ledger, [claim_id]).get(claim_id)
        unchanged: list[str] = []
        since_amended: dict[str, Any] | None = None
        claim = ledger.get(claim_id)
        amended = claim is not None and ops.amended_since_decided(claim)
        if claim is not None and (claim.status == "needs_attention" or amended):
            ahead = ops.preview(ledger, deps.practice, claim_id)
            unchanged = ops.unchanged_reasons(claim, ahead)
            since_amended = ops.outlook(ahead) if amended and ahead is not None else None
        update = ""
        if shown.get("pending_event"):
            if claim is not None and claim.status in AMENDABLE_STATUSES and update_preview is None:
                ahead_update = booking_updates.apply_update(ledger, deps.practice, claim_id, by=who.actor.label,
                                                            source="ops page", dry_run=True)
                update_preview = ahead_update.preview if ahead_update.ok else {
                    "ok": False, "message": ahead_update.message, "errors": ahead_update.errors}
            update = booking_update.update_block(claim_id, shown, update_preview, zone)
        body = views.claim_body(claim_id, shown, person=person, document=document,
                                documents=ledger.documents(claim_id), zone=zone, unchanged=unchanged, state=state,
                                since_amended=since_amended,
                                client_payment=payments.payment_section(quote(claim_id, safe=""), shown, paying,
                                                                        today=deps.today(), by=who.actor.label),
                                update=update)
        return render(who, f"Claim {claim_id}", body, status=status)

    @router.get("/claims/{claim_id}")
    def claim(claim_id: str, who: Who = page_reader) -> Response:
        return claim_page(who, claim_id)

    @router.get("/claims/{claim_id}/statement")
    def statement(claim_id: str, who: Who = page_reader) -> Response:
        pdf = statement_pdf(ledger, deps.practice, claim_id)
        if pdf is None:
            return render(who, "No statement", f"<p>Claim {escape(claim_id)} has no statement.</p>", status=404)
        return Response(pdf, media_type="application/pdf", headers={"Cache-Control": "no-store"})

    # client statements -------------------------------------------------------------------------------
    @router.post("/claims/{claim_id}/statement/send")
    async def send_statement(claim_id: str, got: Posted = form_poster) -> Response:
        who, form = got.who, got.form

        def work() -> Response:  # Redis and the practice profile: off the event loop
            result = statement_delivery.resend_statement(deps, deps.send, claim_id, source="ops page",
                                                         by=who.actor.label)
            if result.message == "no such claim":
                return no_claim(who, claim_id)
            if result.ok:
                staff_audit("statement.resent", who, claim_id=claim_id)
            home = "/ops#statement-emails" if form.get("back") == "overview" else (
                f"/ops/claims/{quote(claim_id, safe='')}")
            return back(who, home, f"{claim_id}: {result.message}.", error=not result.ok)

        return await run_in_threadpool(work)

    @router.get("/statement")
    def period(request: Request, who: Who = page_reader) -> Response:
        query = request.query_params
        client = query.get("client", "").strip()
        try:
            since, until = _period(query.get("from"), query.get("to"))
            if not client:
                raise ValueError("Give the client id and both dates (YYYY-MM-DD).")
        except ValueError as exc:
            return render(who, "Client statement", f'<p class="flash error" role="alert">{escape(str(exc))}</p>'
                          + views.period_statement_form(dict(query)), status=422)
        try:
            statement = period_statements.period_statement(deps, client, since, until)
        except period_statements.NoSessions as exc:
            return render(who, "Client statement", f"<p>{escape(str(exc))}.</p>"
                          + views.period_statement_form(dict(query)), status=404)
        staff_audit("statement.issued", who, document_number=statement.document_number,
                    claim_ids=statement.claim_ids)
        name = f"statement-{statement.document_number}.pdf"
        return Response(statement.pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"})

    # fixing ------------------------------------------------------------------------------------------
    @router.post("/claims/{claim_id}/amend")
    async def amend(claim_id: str, got: Posted = form_poster) -> Response:
        who, form = got.who, got.form

        def work() -> Response:  # the rules, pyx12 and Redis block: off the event loop
            if ledger.get(claim_id) is None:
                return no_claim(who, claim_id)
            action = "save" if form.get("action") == "save" else "preview"
            state, patch = views.typed_change(form)
            if patch is None:
                return claim_page(who, claim_id, state=state, status=422)
            if action == "preview":
                ahead = ops.preview(ledger, deps.practice, claim_id, patch)
                state.preview = ahead.as_dict() if ahead else None
                return claim_page(who, claim_id, state=state, status=200 if ahead and ahead.decision else 422)
            result = ops.amend(ledger, claim_id, patch, source="ops page", by=who.actor.label,
                               based_on=state.based_on)
            current = ledger.get(claim_id)
            if not result.ok and (current is None or current.status not in views.AMENDABLE_ON_PAGE):
                # the claim moved on meanwhile (another tab resubmitted it): no form to show why in
                return back(who, f"/ops/claims/{quote(claim_id, safe='')}", f"Not saved: {result.message}.",
                            error=True)
            if not result.ok:
                state.errors = result.errors or [{"path": "(claim)", "message": result.message}]
                return claim_page(who, claim_id, state=state, status=409 if not result.errors else 422)
            if not result.changed:
                return back(who, f"/ops/claims/{quote(claim_id, safe='')}", result.message.capitalize() + ".")
            staff_audit("claim.amended", who, claim_id=claim_id, changed=result.changed)
            return back(who, f"/ops/claims/{quote(claim_id, safe='')}",
                        f"Amended ({', '.join(result.changed)}). Now resubmit it.")

        return await run_in_threadpool(work)

    @router.post("/claims/{claim_id}/apply-update")
    async def apply_update(claim_id: str, got: Posted = form_poster) -> Response:
        who, form = got.who, got.form

        def work() -> Response:  # the rules and Redis block: off the event loop
            if ledger.get(claim_id) is None:
                return no_claim(who, claim_id)
            here = f"/ops/claims/{quote(claim_id, safe='')}"
            result = booking_updates.apply_update(
                ledger, deps.practice, claim_id, by=who.actor.label, source="ops page",
                based_on=str(form.get("based_on") or "") or None, send=deps.send,
                resubmit=form.get("action") == "apply_resubmit")
            if not result.ok:
                return back(who, here + "#update", f"Not applied: {result.message}.", error=True)
            staff_audit("claim.update_applied", who, claim_id=claim_id, event_id=result.event_id,
                        changed=result.applied, resubmitted=result.resubmitted or None)
            then = ("Resubmitted." if result.resubmitted else "Not resubmitted: " + result.message.split(": ", 1)[-1]
                    + "." if form.get("action") == "apply_resubmit" else "Now resubmit it.")
            return back(who, here, f"Applied the booking system's update {result.event_id} "
                        f"({', '.join(result.applied)}). {then}")

        return await run_in_threadpool(work)

    @router.post("/claims/{claim_id}/payments")
    async def record_payment(claim_id: str, got: Posted = form_poster) -> Response:
        who, form = got.who, got.form
        home = f"/ops/claims/{quote(claim_id, safe='')}"

        def work() -> Response:  # Redis and the practice profile: off the event loop
            typed = payments.posted_payment(form)
            day, unread = None, bool(typed.errors)  # a field too long to have been typed whole
            if typed.values["received_on"] and not typed.errors:
                try:
                    day = iso_day(typed.values["received_on"])
                except ValueError:
                    unread = True
            if unread:  # nothing recorded: never another amount or day than the one typed
                if ledger.get(claim_id) is None:
                    return no_claim(who, claim_id)
                typed.errors = typed.errors or [{"path": "received_on", "message": "must be a date (YYYY-MM-DD)"}]
                return claim_page(who, claim_id, paying=typed, status=422)
            result = client_payments.record_payment(deps, claim_id, amount=typed.values["amount"],
                                                    method=typed.values["method"], by=who.actor.label,
                                                    source="ops page", received_on=day, based_on=typed.based_on)
            if result.message == ops.NO_SUCH_CLAIM:
                return no_claim(who, claim_id)
            if result.ok:
                staff_audit("claim.payment_recorded", who, claim_id=claim_id, amount=result.amount,
                            method=result.method, received_on=result.received_on,
                            document_number=result.document_number)
                return back(who, home + "#client-payment", f"{result.message[:1].upper()}{result.message[1:]}.")
            typed.errors = result.errors or [{"path": "(payment)", "message": result.message}]
            shown = ops.show_claim(ledger, claim_id)
            if shown is None or not payments.applies(shown):  # no form to show it in: said at the top
                return back(who, home, result.message[:1].upper() + result.message[1:] + ".", error=True)
            return claim_page(who, claim_id, paying=typed, status=409 if result.conflict else 422)

        return await run_in_threadpool(work)

    @router.post("/claims/{claim_id}/correct")
    async def correct(claim_id: str, got: Posted = form_poster) -> Response:
        return await _correction(got, claim_id, "replacement")

    @router.post("/claims/{claim_id}/void")
    async def void(claim_id: str, got: Posted = form_poster) -> Response:
        return await _correction(got, claim_id, "void")

    async def _correction(got: Posted, claim_id: str, kind: str) -> Response:
        """A corrected claim from a fix form (a section's fields or the JSON, with the version the form was opened
        at), or a void (the button alone)."""
        who, form = got.who, got.form
        home = f"/ops/claims/{quote(claim_id, safe='')}"

        def work() -> Response:  # the rules and Redis block: off the event loop
            kept, patch = views.typed_change(form, what="correction")  # shown again, with why, when not sent
            kept.correcting = True
            if kind == "void":
                kept, patch = views.FixState(based_on=kept.based_on), {}  # the button's version of the claim
            elif patch is None:
                return claim_page(who, claim_id, state=kept, status=422)
            result = ops.correct(ledger, claim_id, deps.send, kind=kind, practice=deps.practice, patch=patch or None,
                                 source="ops page", by=who.actor.label, based_on=kept.based_on)
            if result.message == "no such claim":
                return no_claim(who, claim_id)
            if result.ok:
                staff_audit("claim.voided" if kind == "void" else "claim.corrected", who, claim_id=claim_id,
                            changed=result.changed or None)
                return back(who, home, result.message[:1].upper() + result.message[1:] + ".")
            shown = ops.show_claim(ledger, claim_id)
            if shown is None or not money.correctable(shown):  # no form to show it in: said at the top
                details = "; ".join(f"{e['path']}: {e['message']}" for e in result.errors)
                said = result.message.removeprefix("not sent: ")
                return back(who, home, f"Not sent: {said}. {details}".strip(), error=True)
            kept.errors = [{"path": "(correction)", "message": result.message}, *result.errors]
            if kind == "void":  # a button, no form of its own: said at the top
                return back(who, home, f"Not sent: {result.message.removeprefix('not sent: ')}.", error=True)
            return claim_page(who, claim_id, state=kept, status=422 if result.errors else 409)

        return await run_in_threadpool(work)

    @router.post("/resubmit")
    async def resubmit(got: Posted = form_poster) -> Response:
        who, form = got.who, got.form

        def work() -> Response:  # the rules, pyx12 and Redis block: off the event loop
            ids = [str(v) for v in form.getlist("claim_id")]
            values = {k: str(v) for k, v in form.items() if k in views.FILTER_FIELDS}
            home = BACK.get(str(form.get("back") or ""), "/ops")
            if home == "/ops/claims" and values:
                home += "?" + urlencode(values)
            if not ids and (form.get("all_matching") or values.get("status")):
                try:
                    ids = ops.select_for_resubmit(ledger, views.filter_from(values))
                except views.BadFilter as bad:
                    return back(who, home, f"Nothing resubmitted: the filter cannot be used ({bad}).", error=True)
                except ValueError as exc:
                    return back(who, home, str(exc), error=True)
            if not ids:
                return back(who, home, "Nothing selected to resubmit.", error=True)
            anyway = form.get("anyway") == "1"
            result = ops.resubmit(ledger, ids, deps.send, source="ops page", by=who.actor.label,
                                  practice=deps.practice, anyway=anyway)
            if result.resubmitted:
                staff_audit("claims.resubmitted", who, claim_ids=result.resubmitted, anyway=anyway or None)
            text = f"Resubmitted {len(result.resubmitted)} claim(s)."
            if result.skipped:
                text += " " + views.skipped_text(result.skipped)
            target = f"/ops/claims/{quote(ids[0], safe='')}" if len(ids) == 1 else home
            return back(who, target, text, error=bool(result.skipped) and not result.resubmitted)

        return await run_in_threadpool(work)

    # money: remittances received, what is owed ------------------------------------------------------
    @router.get("/remittances")
    def remittance_list(who: Who = page_reader) -> Response:
        return render(who, "Remittances", money.remittances_body(remittances.list_remittances(deps), zone))

    @router.get("/remittances/{remittance_id}")
    def remittance(remittance_id: str, who: Who = page_reader) -> Response:
        shown = remittances.show_remittance(deps, remittance_id)
        if shown is None:
            return render(who, "Remittance not found", f"<p>No remittance {escape(remittance_id)}.</p>",
                          status=404)
        return render(who, f"Remittance {remittance_id}", money.remittance_body(shown))

    @router.get("/ar")
    def owed(request: Request, who: Who = page_reader) -> Response:
        asked = request.query_params.get("as_of", "").strip()
        try:
            day = iso_day(asked)
        except ValueError:
            return render(who, "What is owed", money.ar_form(asked), status=422,
                          msg="Give the day as YYYY-MM-DD.", error=True)
        try:
            report = receivables.receivables(ledger, today=deps.today(), as_of=day,
                                             warning_days=deps.timely_filing_warning_days, zone=zone)
        except receivables.FutureDay as exc:
            return render(who, "What is owed", money.ar_form(asked), status=422,
                          msg=f"{exc}: what is owed is known up to today.", error=True)
        return render(who, "What is owed", money.ar_form(asked) + money.ar_body(report))

    # refused events, dead letters, audit ----------------------------------------------------------------
    @router.get("/refused")
    def refused_list(request: Request, who: Who = page_reader) -> Response:
        try:
            page, next_cursor = ops.list_refused_page(ledger, limit=PAGE_ROWS,
                                                      cursor=request.query_params.get("cursor"))
        except ops.BadCursor:
            page, next_cursor = ops.list_refused_page(ledger, limit=PAGE_ROWS)
        return render(who, "Refused events", views.refused_body(page, zone, next_cursor=next_cursor))

    @router.get("/refused/{refused_id}")
    def refused_one(refused_id: str, who: Who = page_reader) -> Response:
        r = ledger.get_refused(refused_id)
        if r is None:
            return render(who, "Not found", f"<p>No refused event {escape(refused_id)}.</p>", status=404)
        return render(who, f"Refused event {refused_id}", views.refused_detail(r, zone))

    @router.post("/refused/{refused_id}/replay")
    async def replay(refused_id: str, got: Posted = form_poster) -> Response:
        who, form = got.who, got.form

        def work() -> Response:  # the rules, pyx12 and Redis block: off the event loop
            corrected = str(form.get("body") or "")
            outcome = ops.replay_refused(ledger, refused_id, deps.send,
                                         body=corrected.encode() if corrected.strip() else None)
            if outcome is None:
                return render(who, "Not found", f"<p>No refused event {escape(refused_id)}.</p>", status=404)
            staff_audit("refused.replayed", who, refused_id=refused_id, corrected=bool(corrected.strip()) or None,
                        http_status=outcome.http_status)
            claim_id = outcome.body.get("claim_id")
            if outcome.http_status == ops.ALREADY_REPLAYED and isinstance(claim_id, str):
                return back(who, f"/ops/claims/{quote(claim_id, safe='')}",
                            f"{refused_id} was already replayed as this claim: nothing was sent again.", error=True)
            if outcome.http_status in (200, 202) and isinstance(claim_id, str):
                return back(who, f"/ops/claims/{quote(claim_id, safe='')}",
                            f"Replayed {refused_id}: {outcome.body.get('status')}.")
            errors = "; ".join(f"{e['path']}: {e['message']}" for e in outcome.body.get("errors") or [])
            new_id = outcome.body.get("refused_id")
            return back(who, f"/ops/refused/{quote(refused_id, safe='')}",
                        f"Still refused (HTTP {outcome.http_status}, kept as {new_id}): {errors}", error=True)

        return await run_in_threadpool(work)

    @router.get("/dead/{queue}")
    def dead_list(request: Request, queue: str, who: Who = page_reader) -> Response:
        try:
            try:
                rows, next_cursor = dead_letters.list_page(deps, queue, limit=PAGE_ROWS,
                                                           cursor=request.query_params.get("cursor"))
            except ops.BadCursor:
                rows, next_cursor = dead_letters.list_page(deps, queue, limit=PAGE_ROWS)
        except dead_letters.UnknownQueue as exc:
            return render(who, "No such queue", f"<p>{escape(str(exc)[:1].upper() + str(exc)[1:])}.</p>",
                          status=404)
        return render(who, f"Dead letters of {queue}", views.dead_body(queue, rows, zone, next_cursor))

    @router.post("/dead/{queue}/clear")
    async def dead_clear(queue: str, got: Posted = form_poster) -> Response:
        who = got.who
        if queue not in QUEUES:  # nothing to clear, nothing to write in the audit log
            return back(who, "/ops", f"There is no queue {queue[:40]}; nothing cleared.", error=True)
        cleared = dead_letters.clear(deps, queue, None).cleared
        staff_audit("dead_letters.cleared", who, queue=queue, count=cleared)
        return back(who, "/ops", f"Cleared {cleared} dead letter(s) of {queue}.")

    @router.post("/dead/{queue}/retry")
    async def dead_retry(queue: str, got: Posted = form_poster) -> Response:
        who = got.who
        if queue not in QUEUES:  # nothing to retry, nothing to write in the audit log
            return back(who, "/ops", f"There is no queue {queue[:40]}; nothing retried.", error=True)
        outcome = await run_in_threadpool(dead_letters.retry, deps, queue, None, by=who.actor.label)
        staff_audit("dead_letters.retried", who, queue=queue, message_ids=[r["message_id"] for r in outcome.retried],
                    skipped=len(outcome.skipped) or None)
        reasons = "; ".join(f"{s['claim_id'] or s['message_id']}: {s['reason']}" for s in outcome.skipped[:10])
        text = (f"Retried {len(outcome.retried)} dead letter(s) of {queue}"
                + (f"; skipped {len(outcome.skipped)} (kept in the list): {reasons}" if outcome.skipped else "")
                + ".")
        return back(who, f"/ops/dead/{quote(queue, safe='')}" if outcome.skipped else "/ops", text,
                    error=bool(outcome.skipped) and not outcome.retried)

    @router.get("/audit")
    def audit_log(who: Who = page_reader) -> Response:
        entries = deps.staff.audit_log(500) if deps.staff else []
        return render(who, "Audit log", views.audit_body(entries, zone))

    return router


def _refresh_s(raw: str | None) -> int:
    try:
        return max(2, min(int(raw or REFRESH_S), 600))
    except ValueError:
        return REFRESH_S


__all__ = ["COOKIE", "build_ops_page"]


def _period(since: str | None, until: str | None) -> tuple[date, date]:
    """Both days of a period, each `YYYY-MM-DD` as the ops API reads them (`iso_day`), the last not before the
    first (the API's 422, the CLI's usage error); ValueError with what to correct otherwise."""
    try:
        first, last = iso_day(since), iso_day(until)
    except ValueError:
        first = last = None
    if first is None or last is None:
        raise ValueError("Give both dates (YYYY-MM-DD).")
    if last < first:
        raise ValueError(f"The period ends ({last.isoformat()}) before it starts ({first.isoformat()}): "
                         "swap the dates.")
    return first, last
