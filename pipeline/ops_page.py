"""The ops web page at /ops: plain server-rendered HTML behind the ops token.

Sign in with the token once (kept in an HttpOnly, SameSite=Strict cookie); then see what needs
attention, why, fix a claim's data and resubmit one, a selection, or everything matching a filter.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pipeline import ops
from pipeline.ops_api import bearer, token_ok
from pipeline.stages import Deps
from schemas.claim import RESUBMITTABLE_STATUSES, STATUSES
from schemas.decision import ROUTES

COOKIE = "superbill_ops"

CSS = """
*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;
color:#1d2433;background:#f5f7fa}header{background:#1f3a5f;color:#fff;padding:10px 24px;display:flex;
gap:24px;align-items:center}header a{color:#dfe8f5;text-decoration:none;font-weight:500}header a:hover{color:#fff}
header .brand{font-weight:700;font-size:17px;color:#fff;margin-right:12px}main{padding:20px 24px;max-width:1280px}
h1{font-size:22px;margin:4px 0 16px}h2{font-size:17px;margin:26px 0 8px}.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#fff;border:1px solid #d9dee7;border-radius:8px;padding:10px 14px;min-width:120px;
text-decoration:none;color:inherit}.card b{display:block;font-size:22px}.card.bad b{color:#b42318}
.card.good b{color:#067647}table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d9dee7}
th,td{padding:7px 10px;border-bottom:1px solid #e6e9ef;text-align:left;vertical-align:top}
th{background:#eef2f7;font-weight:600;font-size:13px}.num{text-align:right}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#e6e9ef;
white-space:nowrap}.nowrap{white-space:nowrap}
.s-accepted,.s-statement_ready{background:#d1fadf;color:#067647}.s-failed,.s-rejected{background:#fee4e2;color:#b42318}
.s-needs_attention{background:#fef0c7;color:#93370d}button,.btn{background:#1f6feb;color:#fff;border:0;
border-radius:6px;padding:6px 12px;font-size:14px;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#5b6b82}.flash{background:#e8f1ff;border:1px solid #a9c7f5;padding:8px 12px;
border-radius:6px;margin-bottom:14px}.error{background:#fee4e2;border-color:#f5a39b}form.inline{display:inline}
.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end;background:#fff;padding:10px;border:1px solid #d9dee7;
border-radius:8px;margin-bottom:12px}.filters label{display:flex;flex-direction:column;font-size:12px;color:#4a5568}
input,select,textarea{font:inherit;padding:5px 7px;border:1px solid #b8c0cc;border-radius:5px}
textarea{width:100%;font-family:ui-monospace,monospace;font-size:13px}.muted{color:#667085;font-size:13px}
.reason{color:#93370d}.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px}pre{white-space:pre-wrap;
background:#fff;border:1px solid #d9dee7;padding:10px;border-radius:6px;font-size:12px}
"""


def _page(title: str, body: str, *, msg: str | None = None, error: bool = False, nav: bool = True) -> HTMLResponse:
    bar = ('<header><span class="brand">superbill ops</span><a href="/ops">Overview</a>'
           '<a href="/ops/claims">Claims</a><a href="/ops/refused">Refused events</a>'
           '<form class="inline" method="post" action="/ops/logout" style="margin-left:auto">'
           '<button class="secondary" type="submit">Sign out</button></form></header>') if nav else \
        '<header><span class="brand">superbill ops</span></header>'
    # the message travels in the URL once; it is dropped from the address bar so a reload does not repeat it
    flash = (f'<div class="flash{" error" if error else ""}" role="status">{escape(msg)}</div>'
             '<script>history.replaceState(null, "", location.pathname)</script>') if msg else ""
    return HTMLResponse(f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}"
                        f"</title><meta name=viewport content='width=device-width'><style>{CSS}</style></head>"
                        f"<body>{bar}<main><h1>{escape(title)}</h1>{flash}{body}</main></body></html>")


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "-"


def _detail(entry: dict[str, Any]) -> str:
    """A timeline entry's details as `key: value` pairs (lists joined, nested documents summarised)."""
    parts = []
    for key, value in entry.items():
        if key in ("at", "kind", "event") or value in (None, "", []):
            continue
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = json.dumps(value, default=str)[:200]
        parts.append(f'<span class="muted">{escape(key.replace("_", " "))}:</span> {escape(str(value))}')
    if "event" in entry:
        parts.append('<span class="muted">(the event is kept with the claim)</span>')
    return " &middot; ".join(parts)


def _badge(status: str) -> str:
    return f'<span class="badge s-{escape(status)}">{escape(status.replace("_", " "))}</span>'


def _why(c: dict[str, Any]) -> str:
    parts = [f"{p}" for p in c["problems"]] + list(c.get("peer_reasons") or [])
    if not parts and c.get("last_error"):
        parts = [c["last_error"]]
    return "<br>".join(f'<span class="reason">{escape(str(p))}</span>' for p in parts) or '<span class="muted">-</span>'


def _claims_table(rows: list[dict[str, Any]], *, selectable: bool, form_id: str = "") -> str:
    if not rows:
        return '<p class="muted">None.</p>'
    head = ("<th></th>" if selectable else "") + ("<th>Claim</th><th>Status</th><th>Route</th><th>Date of service"
                                                  "</th><th>Payer</th><th>Why</th><th class=num>Attempts</th><th></th>")
    out = [f"<table><thead><tr>{head}</tr></thead><tbody>"]
    for c in rows:
        cid = escape(c["claim_id"])
        box = (f'<td><input type="checkbox" name="claim_id" value="{cid}" form="{form_id}" '
               f'aria-label="select {cid}"></td>') if selectable else ""
        action = ""
        if c["status"] in RESUBMITTABLE_STATUSES:
            action = (f'<form class="inline" method="post" action="/ops/resubmit"><input type="hidden" name="claim_id"'
                      f' value="{cid}"><button type="submit" data-claim="{cid}">Resubmit</button></form>')
        out.append(f'<tr data-claim="{cid}">{box}<td><a href="/ops/claims/{cid}">{cid}</a></td>'
                   f'<td>{_badge(c["status"])}</td><td>{escape(c["route"] or "-")}</td>'
                   f'<td class="nowrap">{escape(c["date_of_service"] or "-")}</td><td>{escape(c["payer"] or "-")}</td>'
                   f'<td>{_why(c)}</td><td class="num">{c["attempts"]}</td><td>{action}</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _filter_form(values: dict[str, str]) -> str:
    def select(name: str, options: tuple[str, ...]) -> str:
        opts = "".join(f'<option value="{o}"{" selected" if values.get(name) == o else ""}>{o}</option>'
                       for o in options)
        return f'<label>{name}<select name="{name}"><option value="">any</option>{opts}</select></label>'

    def text(name: str, kind: str = "text", hint: str = "") -> str:
        return (f'<label>{name}<input type="{kind}" name="{name}" value="{escape(values.get(name, ""))}"'
                f' placeholder="{hint}"></label>')

    return ('<form class="filters" method="get" action="/ops/claims">' + select("status", STATUSES)
            + select("route", ROUTES) + text("payer") + text("therapist") + text("since", "date")
            + text("until", "date") + text("problem", hint="e.g. prescription_missing")
            + '<button type="submit">Filter</button></form>')


def _filter_from(values: dict[str, str]) -> ops.ClaimFilter:
    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(values[name]) if values.get(name) else None
        except ValueError:
            return None

    status = values.get("status") or None
    route = values.get("route") or None
    return ops.ClaimFilter(status=status if status in STATUSES else None, route=route if route in ROUTES else None,
                           payer=values.get("payer") or None, therapist=values.get("therapist") or None,
                           since=day("since"), until=day("until"), problem=values.get("problem") or None)


def build_ops_page(deps: Deps, *, ops_token: str | None) -> APIRouter:
    page = APIRouter(prefix="/ops", include_in_schema=False)
    ledger = deps.ledger

    def signed_in(request: Request) -> bool:
        return token_ok(request.cookies.get(COOKIE) or bearer(request), ops_token)

    def to_login() -> Response:
        return RedirectResponse("/ops/login", 303)

    @page.get("/login")
    def login_form(msg: str | None = None) -> Response:
        note = "" if ops_token else ('<p class="flash error">No ops token is configured on this server '
                                     '(SUPERBILL_OPS_TOKEN), so nobody can sign in.</p>')
        body = (f'{note}<form method="post" action="/ops/login" style="max-width:420px"><p>Enter the ops token '
                '(the value of <code>SUPERBILL_OPS_TOKEN</code>).</p><p><input type="password" name="token" '
                'autocomplete="current-password" style="width:100%" aria-label="ops token" autofocus></p>'
                '<button type="submit">Sign in</button></form>')
        return _page("Sign in", body, msg=msg, error=bool(msg), nav=False)

    @page.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        token = str(form.get("token", ""))
        if not token_ok(token, ops_token):
            return RedirectResponse("/ops/login?" + urlencode({"msg": "That token is not right."}), 303)
        response = RedirectResponse("/ops", 303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=12 * 3600)
        return response

    @page.post("/logout")
    def logout() -> Response:
        response = RedirectResponse("/ops/login", 303)
        response.delete_cookie(COOKIE)
        return response

    @page.get("")
    def overview(request: Request, msg: str | None = None) -> Response:
        if not signed_in(request):
            return to_login()
        s = ops.summary(ledger)
        by_status = s["claims"]["by_status"]
        cards = "".join(
            f'<a class="card{" bad" if st in ("failed", "rejected", "needs_attention") and n else ""}'
            f'{" good" if st in ("accepted", "statement_ready") and n else ""}" href="/ops/claims?status={st}">'
            f'<b>{n}</b>{escape(st.replace("_", " "))}</a>' for st, n in by_status.items())
        sections = []
        for status, title in (("failed", "Failed: a peer could not be reached"),
                              ("rejected", "Rejected by the peer"),
                              ("needs_attention", "Needs attention: fix the data, then resubmit")):
            rows = [c.summary() for c in ops.list_claims(ledger, ops.ClaimFilter(status=status))]
            form_id = f"sel-{status}"
            buttons = ""
            if rows:
                buttons = (f'<form id="{form_id}" class="inline" method="post" action="/ops/resubmit">'
                           f'<button type="submit">Resubmit selected</button></form> '
                           f'<form class="inline" method="post" action="/ops/resubmit" onsubmit="return confirm('
                           f'\'Resubmit all {len(rows)} {status.replace("_", " ")} claims?\')"><input type="hidden" '
                           f'name="status" value="{status}"><button type="submit" class="secondary">Resubmit all '
                           f'{len(rows)} {status.replace("_", " ")}</button></form>')
            sections.append(f'<h2 id="{status}">{escape(title)} ({len(rows)})</h2>{buttons}'
                            f'{_claims_table(rows, selectable=True, form_id=form_id)}')
        queues = "".join(
            f'<tr><td>{escape(q["queue"])}</td><td class="num">{q["ready"]}</td><td class="num">{q["delayed"]}</td>'
            f'<td class="num">{q["in_progress"]}</td><td class="num">{q["dead"]}</td>'
            f'<td class="num">{q["oldest_ready_age_s"] if q["oldest_ready_age_s"] is not None else "-"}</td></tr>'
            for q in s["queues"])
        late = s["past_timely_filing_warning"]
        late_html = "".join(f'<li><a href="/ops/claims/{escape(x["claim_id"])}">{escape(x["claim_id"])}</a> '
                            f'{_badge(x["status"])} {x["age_days"]} days</li>' for x in late[:30])
        reasons = "".join(f"<li>{n} &times; {escape(r)}</li>" for r, n in s["last_24h"]["by_reason"].items())
        body = (f'<div class="cards">{cards}<a class="card" href="/ops/refused"><b>{s["refused_events"]}</b>'
                f'refused events</a></div>{"".join(sections)}'
                f'<div class="grid"><div><h2>Last 24 hours</h2><p>{s["last_24h"]["failed"]} failed, '
                f'{s["last_24h"]["rejected"]} rejected</p><ul>{reasons}</ul>'
                f'<h2>Past the 30-day filing warning, not accepted ({len(late)})</h2><ul>{late_html}</ul></div>'
                f'<div><h2>Queues</h2><table><thead><tr><th>queue</th><th class="num">ready</th><th class="num">delayed'
                f'</th><th class="num">in progress</th><th class="num">dead</th><th class="num">oldest (s)</th></tr>'
                f'</thead><tbody>{queues}</tbody>'
                f'</table></div></div>')
        return _page("Overview", body, msg=msg)

    @page.get("/claims")
    def claims(request: Request, msg: str | None = None) -> Response:
        if not signed_in(request):
            return to_login()
        values = {k: v for k, v in request.query_params.items() if k != "msg"}
        flt = _filter_from(values)
        rows = [c.summary() for c in ops.list_claims(ledger, flt)]
        bulk = ""
        if rows and any(r["status"] in RESUBMITTABLE_STATUSES for r in rows):
            hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                             for k, v in values.items() if v)
            bulk = (f'<form class="inline" method="post" action="/ops/resubmit" onsubmit="return confirm('
                    f'\'Resubmit every resubmittable claim matching this filter?\')">{hidden}<input type="hidden" '
                    f'name="all_matching" value="1"><button type="submit" class="secondary">Resubmit all matching'
                    f'</button></form> <form id="sel-list" class="inline" method="post" action="/ops/resubmit">'
                    f'<button type="submit">Resubmit selected</button></form>')
        body = (f'{_filter_form(values)}<p class="muted">{len(rows)} claim(s)</p>{bulk}'
                f'{_claims_table(rows, selectable=True, form_id="sel-list")}')
        return _page("Claims", body, msg=msg)

    @page.get("/claims/{claim_id}")
    def claim(request: Request, claim_id: str, msg: str | None = None, error: int = 0) -> Response:
        if not signed_in(request):
            return to_login()
        c = ops.show_claim(ledger, claim_id)
        if c is None:
            return _page("Claim not found", f"<p>No claim {escape(claim_id)}.</p>")
        cid = escape(claim_id)
        actions = ""
        if c["status"] in RESUBMITTABLE_STATUSES:
            actions = (f'<form class="inline" method="post" action="/ops/resubmit"><input type="hidden" '
                       f'name="claim_id" value="{cid}"><button type="submit">Resubmit this claim</button></form>')
        if c["has_statement"]:
            actions += f' <a class="btn" href="/ops/claims/{cid}/statement">Superbill PDF</a>'
        findings = "".join(f'<li><b>{escape(p["code"])}</b>: {escape(p["message"])}</li>' for p in c["problems"])
        warns = "".join(f'<li><b>{escape(w["code"])}</b>: {escape(w["message"])}</li>' for w in c["warnings"])
        reasons = "".join(f"<li>{escape(r)}</li>" for r in c.get("peer_reasons") or [])
        bill = c.get("superbill")
        lines = ""
        if bill:
            lines = "".join(
                f'<tr><td>{escape(ln["cpt"])}</td><td>{escape(" ".join(ln["modifiers"]))}</td>'
                f'<td class="num">{ln["minutes"]}</td><td class="num">{ln["units"]}</td>'
                f'<td>{escape(",".join(str(p) for p in ln["diagnosis_pointers"]))}</td>'
                f'<td class="num">{escape(ln["charge"])}</td></tr>' for ln in bill["lines"])
            lines = (f'<p>Date of service {escape(bill["date_of_service"])}, diagnoses '
                     f'{escape(", ".join(bill["diagnosis_codes"]) or "-")}</p><table><thead><tr><th>CPT</th>'
                     f'<th>modifiers</th><th class="num">minutes</th><th class="num">units</th><th>pointers</th>'
                     f'<th class="num">charge</th></tr></thead>'
                     f'<tbody>{lines}<tr><td colspan=5>total / paid / balance</td><td class="num">'
                     f'{escape(bill["total_charge"])} / {escape(bill["amount_paid"])} / '
                     f'{escape(bill["balance_due"])}</td></tr></tbody></table>')
        timeline = "".join(
            f'<tr><td class="nowrap">{_when(e.get("at"))}</td><td>{escape(e.get("kind", ""))}</td><td>'
            f'{_detail(e)}'
            f'</td></tr>' for e in c["timeline"])
        amend = ""
        if c["status"] in (*RESUBMITTABLE_STATUSES, "received"):
            example = json.dumps({"prescription": {"physician": {"first_name": "", "last_name": "", "npi": ""},
                                                   "issued_on": "YYYY-MM-DD", "signed": True,
                                                   "diagnosis_codes": ["M54.50"]}}, indent=1)
            amend = (f'<h2>Fix the data</h2><form method="post" action="/ops/claims/{cid}/amend"><p class="muted">'
                     f'JSON with the sections to attach or replace: prescription, va_referral, client, coverage, '
                     f'payment, session. Then resubmit.</p><textarea name="patch" rows="15" aria-label="amendment">'
                     f'{escape(example)}</textarea><p><button type="submit">Save amendment</button></p></form>')
        body = (f'<p>{_badge(c["status"])} route <b>{escape(c["route"] or "-")}</b> &middot; session '
                f'{escape(c["session_id"])} &middot; submission #{c["submission_no"]} &middot; attempts '
                f'{c["attempts"]} &middot; payer {escape(c["payer"] or "-")} &middot; date of service '
                f'{escape(c["date_of_service"] or "-")}'
                + (f' &middot; peer reference {escape(c["peer_reference"])}' if c.get("peer_reference") else "")
                + f'</p><p>{actions}</p>'
                + (f'<h2>Peer&#39;s reasons</h2><ul>{reasons}</ul>' if reasons else "")
                + (f'<p>Last error: <span class="reason">{escape(c["last_error"])}</span></p>'
                   if c.get("last_error") else "")
                + f'<div class="grid"><div><h2>Problems</h2><ul>{findings or "<li class=muted>none</li>"}</ul></div>'
                f'<div><h2>Warnings</h2><ul>{warns or "<li class=muted>none</li>"}</ul></div></div>'
                f'<h2>Superbill</h2>{lines or "<p class=muted>none</p>"}{amend}'
                f'<h2>Timeline</h2><table><thead><tr><th>when</th><th>step</th><th>detail</th></tr></thead>'
                f'<tbody>{timeline}</tbody></table>')
        return _page(f"Claim {claim_id}", body, msg=msg, error=bool(error))

    @page.get("/claims/{claim_id}/statement")
    def statement(request: Request, claim_id: str) -> Response:
        if not signed_in(request):
            return to_login()
        pdf = ledger.get_statement(claim_id)
        if pdf is None:
            return _page("No statement", f"<p>Claim {escape(claim_id)} has no statement.</p>")
        return Response(pdf, media_type="application/pdf")

    @page.post("/claims/{claim_id}/amend")
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

    @page.post("/resubmit")
    async def resubmit(request: Request) -> Response:
        if not signed_in(request):
            return Response("a valid ops token is required", 401)
        form = await request.form()
        ids = [str(v) for v in form.getlist("claim_id")]
        values = {k: str(v) for k, v in form.items() if k not in ("claim_id", "all_matching")}
        if not ids and (form.get("all_matching") or values.get("status")):
            flt = _filter_from(values)
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

    @page.get("/refused")
    def refused(request: Request, msg: str | None = None) -> Response:
        if not signed_in(request):
            return to_login()
        rows = "".join(
            f'<tr><td>{escape(r.refused_id)}</td><td class="nowrap">{_when(r.received_at)}</td><td class="nowrap">'
            f'HTTP {r.http_status}</td>'
            f'<td>{"<br>".join(escape(e["path"] + ": " + e["message"]) for e in r.errors)}</td>'
            f'<td>{escape(r.source)}</td><td>{escape(r.replayed_as or "")}</td></tr>'
            for r in reversed(ledger.list_refused()))
        body = ('<p class="muted">Events the booking system sent that were refused, kept verbatim. After the '
                'booking system is fixed, replay one with <code>superbill refused replay ID</code>.</p>'
                '<table><thead><tr><th>id</th><th>received</th><th>answer</th><th>errors</th><th>source</th>'
                f'<th>replayed</th></tr></thead><tbody>{rows}</tbody></table>')
        return _page("Refused events", body, msg=msg)

    return page


def _back(path: str, msg: str, *, error: bool = False) -> Response:
    base = path.split("?", 1)[0]
    query = {"msg": msg, **({"error": "1"} if error else {})}
    return RedirectResponse(f"{base}?{urlencode(query)}", 303)
