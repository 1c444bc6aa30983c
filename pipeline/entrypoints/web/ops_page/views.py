"""The ops page's views: each turns what ops services return into the body of one page."""

from __future__ import annotations

import json
from datetime import date
from html import escape
from typing import Any
from urllib.parse import urlencode

from pipeline.application import ops
from pipeline.application.ports import Refused
from pipeline.entrypoints.web.ops_page import money
from pipeline.entrypoints.web.ops_page.layout import badge, detail, when, why
from schemas.claim import RESUBMITTABLE_STATUSES, STATUSES
from schemas.decision import ROUTES


def claims_table(rows: list[dict[str, Any]], *, selectable: bool, form_id: str = "") -> str:
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
                   f'<td>{badge(c["status"])}</td><td>{escape(c["route"] or "-")}</td>'
                   f'<td class="nowrap">{escape(c["date_of_service"] or "-")}</td><td>{escape(c["payer"] or "-")}</td>'
                   f'<td>{why(c)}</td><td class="num">{c["attempts"]}</td><td>{action}</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def filter_form(values: dict[str, str]) -> str:
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


def filter_from(values: dict[str, str]) -> ops.ClaimFilter:
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


def login_body(ops_token_configured: bool) -> str:
    note = "" if ops_token_configured else ('<p class="flash error">No ops token is configured on this server '
                                 '(SUPERBILL_OPS_TOKEN), so nobody can sign in.</p>')
    body = (f'{note}<form method="post" action="/ops/login" style="max-width:420px"><p>Enter the ops token '
            '(the value of <code>SUPERBILL_OPS_TOKEN</code>).</p><p><input type="password" name="token" '
            'autocomplete="current-password" style="width:100%" aria-label="ops token" autofocus></p>'
            '<button type="submit">Sign in</button></form>')
    return body


def undelivered_statements(rows: list[dict[str, Any]]) -> str:
    """statement_ready claims whose e-mail to the client failed: each with the reason and a resend button."""
    if not rows:
        return ""
    items = "".join(
        f'<tr><td><a href="/ops/claims/{escape(r["claim_id"])}">{escape(r["claim_id"])}</a></td>'
        f'<td>{escape(r.get("date_of_service") or "-")}</td><td class="reason">{escape(r.get("statement_error") or "")}'
        f'</td><td><form class="inline" method="post" action="/ops/claims/{escape(r["claim_id"])}/statement/send">'
        f'<button type="submit">E-mail again</button></form></td></tr>' for r in rows)
    return (f'<h2 id="statement-emails">Statement e-mails that failed ({len(rows)})</h2><table><thead><tr>'
            f'<th>claim</th><th>date of service</th><th>reason</th><th></th></tr></thead><tbody>{items}</tbody>'
            f'</table>')


def overview_body(s: dict[str, Any], rows_by_status: dict[str, list[dict[str, Any]]],
                  failed_emails: list[dict[str, Any]] | None = None) -> str:
    by_status = s["claims"]["by_status"]
    cards = "".join(
        f'<a class="card{" bad" if st in ("failed", "rejected", "needs_attention", "denied") and n else ""}'
        f'{" good" if st in ("accepted", "statement_ready", "paid") and n else ""}" href="/ops/claims?status={st}">'
        f'<b>{n}</b>{escape(st.replace("_", " "))}</a>' for st, n in by_status.items())
    sections = []
    for status, title in (("failed", "Failed: a peer could not be reached"),
                          ("rejected", "Rejected by the peer"),
                          ("needs_attention", "Needs attention: fix the data, then resubmit"),
                          ("denied", "Denied by the payer: fix and resubmit, or send a corrected claim")):
        rows, total = rows_by_status.get(status, []), s["claims"]["by_status"].get(status, 0)
        form_id = f"sel-{status}"
        buttons = ""
        more = (f'<p class="muted">The oldest {len(rows)} of {total}: <a href="/ops/claims?status={status}">'
                f'all of them, a page at a time</a></p>' if total > len(rows) else "")
        if rows:
            buttons = (f'<form id="{form_id}" class="inline" method="post" action="/ops/resubmit">'
                       f'<button type="submit">Resubmit selected</button></form> '
                       f'<form class="inline" method="post" action="/ops/resubmit" onsubmit="return confirm('
                       f'\'Resubmit all {total} {status.replace("_", " ")} claims?\')"><input type="hidden" '
                       f'name="status" value="{status}"><button type="submit" class="secondary">Resubmit all '
                       f'{total} {status.replace("_", " ")}</button></form>')
        sections.append(f'<h2 id="{status}">{escape(title)} ({total})</h2>{buttons}'
                        f'{claims_table(rows, selectable=True, form_id=form_id)}{more}')
    queues = "".join(
        f'<tr><td>{escape(q["queue"])}</td><td class="num">{q["ready"]}</td><td class="num">{q["delayed"]}</td>'
        f'<td class="num">{q["in_progress"]}</td><td class="num">{q["dead"]}</td>'
        f'<td class="num">{q["oldest_ready_age_s"] if q["oldest_ready_age_s"] is not None else "-"}</td></tr>'
        for q in s["queues"])
    late = s["past_timely_filing_warning"]
    late_html = "".join(f'<li><a href="/ops/claims/{escape(x["claim_id"])}">{escape(x["claim_id"])}</a> '
                        f'{badge(x["status"])} {x["age_days"]} days</li>' for x in late[:30])
    reasons = "".join(f"<li>{n} &times; {escape(r)}</li>" for r, n in s["last_24h"]["by_reason"].items())
    body = (f'<div class="cards">{cards}<a class="card" href="/ops/refused"><b>{s["refused_events"]}</b>'
            f'refused events</a></div>{"".join(sections)}{undelivered_statements(failed_emails or [])}'
            f'<div class="grid"><div><h2>Last 24 hours</h2><p>{s["last_24h"]["failed"]} failed, '
            f'{s["last_24h"]["rejected"]} rejected</p><ul>{reasons}</ul>'
            f'<h2>Past the 30-day filing warning, not accepted ({len(late)})</h2><ul>{late_html}</ul></div>'
            f'<div><h2>Queues</h2><table><thead><tr><th>queue</th><th class="num">ready</th><th class="num">delayed'
            f'</th><th class="num">in progress</th><th class="num">dead</th><th class="num">oldest (s)</th></tr>'
            f'</thead><tbody>{queues}</tbody>'
            f'</table></div></div>')
    return body


def next_page(path: str, values: dict[str, str], next_cursor: str | None) -> str:
    """A link to the next page of a paged list, keeping its filter."""
    if not next_cursor:
        return ""
    query = urlencode({**{k: v for k, v in values.items() if v}, "cursor": next_cursor})
    return f'<p><a class="btn secondary" href="{path}?{escape(query)}">Next page</a></p>'


def claims_body(values: dict[str, str], rows: list[dict[str, Any]], next_cursor: str | None = None) -> str:
    bulk = ""
    if rows and any(r["status"] in RESUBMITTABLE_STATUSES for r in rows):
        hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                         for k, v in values.items() if v)
        bulk = (f'<form class="inline" method="post" action="/ops/resubmit" onsubmit="return confirm('
                f'\'Resubmit every resubmittable claim matching this filter?\')">{hidden}<input type="hidden" '
                f'name="all_matching" value="1"><button type="submit" class="secondary">Resubmit all matching'
                f'</button></form> <form id="sel-list" class="inline" method="post" action="/ops/resubmit">'
                f'<button type="submit">Resubmit selected</button></form>')
    shown = f"{len(rows)} claim(s)" + (", oldest first; more on the next page" if next_cursor else "")
    body = (f'{filter_form(values)}<p class="muted">{shown}</p>{bulk}'
            f'{claims_table(rows, selectable=True, form_id="sel-list")}'
            f'{next_page("/ops/claims", values, next_cursor)}{export_form()}{period_statement_form()}')
    return body


def statement_delivery_part(cid: str, c: dict[str, Any]) -> str:
    """A statement_ready claim: where its e-mail to the client stands, and a button to send it again."""
    if c["status"] != "statement_ready":
        return ""
    state = c.get("statement_delivery") or "not queued"
    error = f' <span class="reason">{escape(c["statement_error"])}</span>' if c.get("statement_error") else ""
    return (f' <span>e-mail to the client: <b>{escape(state)}</b>{error}</span> '
            f'<form class="inline" method="post" action="/ops/claims/{cid}/statement/send">'
            f'<button type="submit">E-mail the statement again</button></form>')


def period_statement_form() -> str:
    """One superbill for all of a client's statement_ready sessions in a date range."""
    return ('<h2>Client statement for a period</h2><form class="filters" method="get" action="/ops/statement">'
            '<label>client id<input type="text" name="client" required></label>'
            '<label>from<input type="date" name="from" required></label>'
            '<label>to<input type="date" name="to" required></label>'
            '<button type="submit">Superbill PDF</button></form>')


def export_form() -> str:
    """Download the claims of a date-of-service range, for the accountant or the billing service."""
    return ('<h2>Export</h2><form class="filters" method="get" action="/ops/export">'
            '<label>from<input type="date" name="from" required></label>'
            '<label>to<input type="date" name="to" required></label>'
            '<label>format<select name="format"><option value="csv">CSV</option>'
            '<option value="jsonl">JSON lines</option></select></label>'
            '<label>client identity<select name="with_client"><option value="">leave out</option>'
            '<option value="1">include (patient data)</option></select></label>'
            '<button type="submit">Download</button></form>')


def claim_body(claim_id: str, c: dict[str, Any]) -> str:
    cid = escape(claim_id)
    actions = ""
    if c["status"] in RESUBMITTABLE_STATUSES:
        actions = (f'<form class="inline" method="post" action="/ops/resubmit"><input type="hidden" '
                   f'name="claim_id" value="{cid}"><button type="submit">Resubmit this claim</button></form>')
    if c["has_statement"]:
        actions += f' <a class="btn" href="/ops/claims/{cid}/statement">Superbill PDF</a>'
    actions += statement_delivery_part(cid, c)
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
        f'<tr><td class="nowrap">{when(e.get("at"))}</td><td>{escape(e.get("kind", ""))}</td><td>'
        f'{detail(e)}'
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
    body = (f'<p>{badge(c["status"])} route <b>{escape(c["route"] or "-")}</b> &middot; session '
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
            + money.payment_block(c)
            + f'<h2>Superbill</h2>{lines or "<p class=muted>none</p>"}{amend}'
            f'<h2>Timeline</h2><table><thead><tr><th>when</th><th>step</th><th>detail</th></tr></thead>'
            f'<tbody>{timeline}</tbody></table>')
    return body


def refused_body(refused: list[Refused], next_cursor: str | None = None) -> str:
    rows = "".join(
        f'<tr><td>{escape(r.refused_id)}</td><td class="nowrap">{when(r.received_at)}</td><td class="nowrap">'
        f'HTTP {r.http_status}</td>'
        f'<td>{"<br>".join(escape(e["path"] + ": " + e["message"]) for e in r.errors)}</td>'
        f'<td>{escape(r.source)}</td><td>{escape(r.replayed_as or "")}</td></tr>'
        for r in reversed(refused))
    body = ('<p class="muted">Events the booking system sent that were refused, kept verbatim. After the '
            'booking system is fixed, replay one with <code>superbill refused replay ID</code>.</p>'
            '<table><thead><tr><th>id</th><th>received</th><th>answer</th><th>errors</th><th>source</th>'
            f'<th>replayed</th></tr></thead><tbody>{rows}</tbody></table>'
            f'{next_page("/ops/refused", {}, next_cursor)}')
    return body
