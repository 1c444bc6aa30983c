"""The ops page's views: each turns what ops services return into the body of one page."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, tzinfo
from html import escape
from typing import Any
from urllib.parse import urlencode

from pipeline.application import amend_forms, explanations, ops
from pipeline.application.client_identity import ClientIdentity
from pipeline.application.dead_letters import Letter
from pipeline.application.ports import Refused
from pipeline.application.reason_codes import error_code, peer_reason_code
from pipeline.entrypoints.web.api_queries import iso_day
from pipeline.entrypoints.web.ops_page import money
from pipeline.entrypoints.web.ops_page.booking_update import WAITING_BADGE
from pipeline.entrypoints.web.ops_page.layout import badge, detail, explained, when, why
from schemas.claim import AMENDABLE_STATUSES, RESUBMITTABLE_STATUSES, STATUSES
from schemas.decision import ROUTES

NONE = '<p class="muted">None.</p>'

def claims_table(rows: list[dict[str, Any]], *, selectable: bool, form_id: str = "",
                 people: dict[str, ClientIdentity] | None = None) -> str:
    if not rows:
        return NONE
    people = people or {}
    head = ("<th></th>" if selectable else "") + ("<th>Claim</th><th>Client</th><th>Status</th><th>Route</th>"
                                                  "<th>Date of service</th><th>Payer</th><th>Why</th>"
                                                  "<th class=num>Attempts</th><th></th>")
    out = [f"<table><thead><tr>{head}</tr></thead><tbody>"]
    for c in rows:
        cid = escape(c["claim_id"])
        box = (f'<td><input type="checkbox" name="claim_id" value="{cid}" form="{form_id}" '
               f'aria-label="select {cid}"></td>') if selectable else ""
        action = ""
        if c["status"] in RESUBMITTABLE_STATUSES:
            action = (f'<form class="inline" method="post" action="/ops/resubmit"><input type="hidden" name="claim_id"'
                      f' value="{cid}"><button type="submit" data-claim="{cid}">Resubmit</button></form>')
        person = people.get(c["claim_id"])
        client = (f'<span class="client-name">{escape(person.name)}</span><br><span class="muted">born '
                  f'{escape(person.date_of_birth)}' + (f' &middot; member {escape(person.member_id)}'
                                                       if person.member_id else "") + '</span>') if person else "-"
        out.append(f'<tr data-claim="{cid}">{box}<td><a href="/ops/claims/{cid}">{cid}</a></td><td>{client}</td>'
                   f'<td>{badge(c["status"])}</td><td>{escape(c["route"] or "-")}</td>'
                   f'<td class="nowrap">{escape(c["date_of_service"] or "-")}</td><td>{escape(c["payer"] or "-")}</td>'
                   f'<td>{why(c)}{" " + WAITING_BADGE if c.get("update_waiting") else ""}</td>'
                   f'<td class="num">{c["attempts"]}</td><td>{action}</td></tr>')
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

    search = (f'<label>search<input type="search" name="q" value="{escape(values.get("q", ""))}" size="28" '
              'placeholder="client name, member id, claim id, date" aria-label="search"></label>')
    return ('<form class="filters" method="get" action="/ops/claims">' + search + select("status", STATUSES)
            + select("route", ROUTES) + text("payer") + text("therapist") + text("since", "date")
            + text("until", "date") + text("problem", hint="e.g. prescription_missing")
            + '<button type="submit">Filter</button></form>')


class BadFilter(ValueError):
    """A claims filter with values the page cannot read: each named, so nothing is listed (or resubmitted) under a
    broader filter than the one asked for."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def filter_from(values: dict[str, str]) -> ops.ClaimFilter:
    """The filter the page's fields (or a link's query) ask for; BadFilter naming every value it cannot read."""
    errors: list[str] = []

    def day(name: str) -> date | None:
        try:
            return iso_day(values.get(name))
        except ValueError:
            errors.append(f"{name}: {values[name]!r} is not a date (YYYY-MM-DD)")
            return None

    def one_of(name: str, choices: tuple[str, ...]) -> str | None:
        value = values.get(name) or None
        if value is not None and value not in choices:
            errors.append(f"{name}: {value!r} is not one of {', '.join(choices)}")
            return None
        return value

    status, route = one_of("status", STATUSES), one_of("route", ROUTES)
    problem = values.get("problem") or None
    why = ops.problem_filter_error(problem) if problem else None
    if why:  # a code that no claim can have would list nothing, as if no claim had the problem
        errors.append(f"problem: {why}")
    since, until = day("since"), day("until")
    if since and until and until < since:
        errors.append(f"until: {until.isoformat()} is before since ({since.isoformat()})")
    if errors:
        raise BadFilter(errors)
    return ops.ClaimFilter(status=status, route=route, payer=values.get("payer") or None,
                           therapist=values.get("therapist") or None, since=since, until=until,
                           problem=problem, text=values.get("q") or None)


def bad_filter_body(values: dict[str, str], bad: BadFilter) -> str:
    """The claims page for a filter it cannot read: what to correct, the filter as typed, no claims."""
    items = "".join(f"<li>{escape(e)}</li>" for e in bad.errors)
    return (f'{filter_form(values)}<div class="flash error" role="alert" id="bad-filter">This filter cannot be '
            f'used; correct it and press Filter:<ul>{items}</ul></div>')


def login_body(csrf: str, username: str = "") -> str:
    return ('<form method="post" action="/ops/login" style="max-width:420px">'
            f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
            '<p><label>Name<br><input type="text" name="username" autocomplete="username" autocapitalize="none" '
            f'value="{escape(username)}" style="width:100%" autofocus required></label></p>'
            '<p><label>Password<br><input type="password" name="password" autocomplete="current-password" '
            'style="width:100%" required></label></p><button type="submit">Sign in</button>'
            '<p class="muted">Accounts are managed with <code>superbill users add|list|disable</code>.</p></form>')


def undelivered_statements(rows: list[dict[str, Any]], people: dict[str, ClientIdentity] | None = None) -> str:
    """statement_ready claims whose e-mail to the client failed: each with the reason and a resend button."""
    if not rows:
        return ""
    people = people or {}

    def client(claim_id: str) -> str:
        person = people.get(claim_id)
        return f'<span class="client-name">{escape(person.name)}</span>' if person else "-"

    items = "".join(
        f'<tr data-claim="{escape(r["claim_id"])}"><td><a href="/ops/claims/{escape(r["claim_id"])}">'
        f'{escape(r["claim_id"])}</a></td><td>{client(r["claim_id"])}</td>'
        f'<td class="nowrap">{escape(r.get("date_of_service") or "-")}</td>'
        f'<td class="reason">{escape(r.get("statement_error") or "")}</td><td><form class="inline" method="post" '
        f'action="/ops/claims/{escape(r["claim_id"])}/statement/send"><input type="hidden" name="back" '
        f'value="overview"><button type="submit">E-mail again</button></form></td></tr>' for r in rows)
    return (f'<h2 id="statement-emails">Statement e-mails that failed ({len(rows)})</h2><table><thead><tr>'
            f'<th>claim</th><th>client</th><th>date of service</th><th>reason</th><th></th></tr></thead>'
            f'<tbody>{items}</tbody></table>')


def overview_body(s: dict[str, Any], rows_by_status: dict[str, list[dict[str, Any]]],
                  people: dict[str, ClientIdentity], *, refresh_s: int,
                  failed_emails: list[dict[str, Any]] | None = None) -> str:
    """The overview; its live part is fetched again every `refresh_s` seconds, keeping ticked boxes."""
    script = ("<script>(function(){const every=" + str(refresh_s * 1000) + ";"
              "async function refresh(){const live=document.getElementById('live');"
              "if(document.activeElement&&live.contains(document.activeElement)&&"
              "document.activeElement.tagName!=='BODY'&&document.activeElement.type!=='checkbox')return;"
              "const ticked=[...live.querySelectorAll('input[name=claim_id]:checked')].map(b=>b.value);"
              "let r;try{r=await fetch('/ops/live',{credentials:'same-origin',cache:'no-store'});}catch(e){return;}"
              "if(r.status===401){location.replace('/ops/login');return;}"  # session over: patient data off the screen
              "if(!r.ok)return;live.innerHTML=await r.text();"
              "for(const v of ticked){const b=live.querySelector('input[name=claim_id][value=\"'+CSS.escape(v)+'\"]');"
              "if(b)b.checked=true;}live.dataset.refreshed=String(Number(live.dataset.refreshed||0)+1);}"
              "setInterval(refresh,every);})();</script>")
    return (f'<p class="muted">This page refreshes itself every {refresh_s} s; ticked claims stay ticked.</p>'
            f'<div id="live" data-refreshed="0">{live_body(s, rows_by_status, people, failed_emails)}</div>{script}')


def live_body(s: dict[str, Any], rows_by_status: dict[str, list[dict[str, Any]]],
              people: dict[str, ClientIdentity], failed_emails: list[dict[str, Any]] | None = None) -> str:
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
                       f'<input type="hidden" name="back" value="overview">'
                       f'<button type="submit">Resubmit selected</button></form> '
                       f'<form class="inline" method="post" action="/ops/resubmit" data-confirm="'
                       f'Resubmit all {total} {status.replace("_", " ")} claims?"><input type="hidden" '
                       f'name="status" value="{status}"><input type="hidden" name="back" value="overview">'
                       f'<button type="submit" class="secondary">Resubmit all '
                       f'{total} {status.replace("_", " ")}</button></form>')
        sections.append(f'<h2 id="{status}">{escape(title)} ({total})</h2>{buttons}'
                        f'{claims_table(rows, selectable=True, form_id=form_id, people=people)}{more}')
    queues = "".join(
        f'<tr><td>{escape(q["queue"])}</td><td class="num">{q["ready"]}</td><td class="num">{q["delayed"]}</td>'
        f'<td class="num">{q["in_progress"]}</td><td class="num">'
        + (f'<a href="/ops/dead/{escape(q["queue"])}">{q["dead"]}</a>' if q["dead"] else "0")
        + f'</td><td class="num">{q["oldest_ready_age_s"] if q["oldest_ready_age_s"] is not None else "-"}</td></tr>'
        for q in s["queues"])
    late = s["past_timely_filing_warning"]
    late_html = "".join(f'<li><a href="/ops/claims/{escape(x["claim_id"])}">{escape(x["claim_id"])}</a> '
                        f'{badge(x["status"])} {x["age_days"]} days</li>' for x in late[:30])
    last = s["last_24h"]
    reasons = "".join(f"<li>{n} &times; {escape(r)}</li>" for r, n in last["by_reason"].items())
    events = ", ".join(f'{n} {escape(k.replace("_", " "))}' for k, n in last.get("events", {}).items() if n)
    stalled = s.get("waiting_without_worker") or 0
    no_worker = (f'<div class="flash error" role="alert" id="no-worker"><b>No worker is running:</b> {stalled} '
                 f'step(s) wait in the queues, and no claim moves (resubmitted ones included) until one starts: '
                 f'<code>superbill worker</code>, with the same settings as this web process.</div>'
                 if stalled else "")
    return (f'{no_worker}<div class="cards">{cards}<a class="card" href="/ops/refused"><b>{s["refused_events"]}</b>'
            f'refused events</a></div>{"".join(sections)}'
            f'{undelivered_statements(failed_emails or [], people)}'
            f'<div class="grid"><div><h2>Last 24 hours</h2><p id="last24">{last["failed"]} failed, '
            f'{last["rejected"]} rejected</p><p class="muted">From the timelines: {events or "nothing happened"}.'
            f'</p><ul>{reasons}</ul>'
            f'{timely_filing_html(s.get("timely_filing"))}'
            f'<h2>Not accepted 30 days after the visit ({len(late)})</h2>'
            f'{f"<ul>{late_html}</ul>" if late else NONE}</div>'
            f'<div><h2>Queues</h2><table><thead><tr><th>queue</th><th class="num">ready</th><th class="num">delayed'
            f'</th><th class="num">in progress</th><th class="num">dead</th><th class="num">oldest (s)</th></tr>'
            f'</thead><tbody>{queues}</tbody></table></div></div>')


def timely_filing_html(tf: dict[str, Any] | None) -> str:
    """The claims near the payer's filing limit (the A/R's list), oldest first, each with its days left."""
    if not tf:
        return ""
    rows = tf["claims"]
    items = "".join(f'<li><a href="/ops/claims/{escape(x["claim_id"])}">{escape(x["claim_id"])}</a> '
                    f'{badge(x["status"])} <b>{x["days_left"]} days left</b> ({x["age_days"]} days after the visit)'
                    f'</li>' for x in rows[:30])
    more = f'<p class="muted"><a href="/ops/ar">All {len(rows)}</a></p>' if len(rows) > 30 else ""
    return (f'<h2 id="timely-filing">Timely filing: {len(rows)} claim(s) within {tf["limit_days"] - tf["warning_days"]}'
            f' days of the {tf["limit_days"]}-day limit</h2>{f"<ul>{items}</ul>{more}" if rows else NONE}')


def next_page(path: str, values: dict[str, str], next_cursor: str | None) -> str:
    """A link to the next page of a paged list, keeping its filter."""
    if not next_cursor:
        return ""
    query = urlencode({**{k: v for k, v in values.items() if v}, "cursor": next_cursor})
    return f'<p><a class="btn secondary" href="{path}?{escape(query)}">Next page</a></p>'


def claims_body(values: dict[str, str], rows: list[dict[str, Any]], people: dict[str, ClientIdentity],
                next_cursor: str | None = None) -> str:
    bulk = ""
    if rows and any(r["status"] in RESUBMITTABLE_STATUSES for r in rows):
        hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                         for k, v in values.items() if v and k in FILTER_FIELDS)
        bulk = (f'<form class="inline" method="post" action="/ops/resubmit" data-confirm="'
                f'Resubmit every resubmittable claim matching this filter?">{hidden}<input type="hidden" '
                f'name="all_matching" value="1"><input type="hidden" name="back" value="claims">'
                f'<button type="submit" class="secondary">Resubmit all matching'
                f'</button></form> <form id="sel-list" class="inline" method="post" action="/ops/resubmit">'
                f'<input type="hidden" name="back" value="claims"><button type="submit">Resubmit selected</button>'
                f'</form>')
    shown = f"{len(rows)} claim(s)" + (", oldest first; more on the next page" if next_cursor else "")
    body = (f'{filter_form(values)}<p class="muted">{shown}</p>{bulk}'
            f'{claims_table(rows, selectable=True, form_id="sel-list", people=people)}'
            f'{next_page("/ops/claims", values, next_cursor)}{export_form()}{period_statement_form()}')
    return body


FILTER_FIELDS = ("q", "status", "route", "payer", "therapist", "since", "until", "problem")
NAMED_AT_MOST = 10  # claims named per reason in the message after a resubmission; the rest counted


def skipped_text(skipped: list[dict[str, str]]) -> str:
    """The claims a resubmission left alone, grouped by why, a few named per group: one short message for one
    claim or for the 2,000 of a "Resubmit all"."""
    if len(skipped) == 1:
        return f'Not resubmitted: {skipped[0]["claim_id"]} ({skipped[0]["reason"]}).'
    groups: dict[str, list[str]] = {}
    for s in skipped:
        if s.get("unchanged"):
            why = "still need attention for the same reasons (fix their data first, or resubmit anyway)"
            groups.setdefault(why, []).append(f'{s["claim_id"]} ({s["unchanged"].replace(",", ", ")})')
        else:
            groups.setdefault(s["reason"], []).append(s["claim_id"])
    parts = []
    for why, ids in groups.items():
        more = f" and {len(ids) - NAMED_AT_MOST} more" if len(ids) > NAMED_AT_MOST else ""
        parts.append(f"{len(ids)} {why}: {', '.join(ids[:NAMED_AT_MOST])}{more}")
    return "Not resubmitted: " + "; ".join(parts) + "." if parts else ""


def statement_delivery_part(cid: str, c: dict[str, Any]) -> str:
    """A statement_ready claim: where its e-mail to the client stands, and a button to send it again."""
    if c["status"] != "statement_ready":
        return ""
    state = c.get("statement_delivery") or "not queued"
    error = f' <span class="reason">{escape(c["statement_error"])}</span>' if c.get("statement_error") else ""
    return (f' <span>e-mail to the client: <b>{escape(state)}</b>{error}</span> '
            f'<form class="inline" method="post" action="/ops/claims/{cid}/statement/send">'
            f'<input type="hidden" name="back" value="claim">'
            f'<button type="submit">E-mail the statement again</button></form>')


def _typed(values: dict[str, str] | None, name: str) -> str:
    return f' value="{escape((values or {}).get(name, ""))}"' if values and values.get(name) else ""


def period_statement_form(values: dict[str, str] | None = None) -> str:
    """One superbill for all of a client's statement_ready sessions in a date range (what was typed kept)."""
    return ('<h2>Client statement for a period</h2><form class="filters" method="get" action="/ops/statement">'
            f'<label>client id<input type="text" name="client" required{_typed(values, "client")}></label>'
            f'<label>from<input type="date" name="from" required{_typed(values, "from")}></label>'
            f'<label>to<input type="date" name="to" required{_typed(values, "to")}></label>'
            '<button type="submit">Superbill PDF</button></form>')


def export_form(values: dict[str, str] | None = None) -> str:
    """Download the claims of a date-of-service range, for the accountant or the billing service."""
    fmt, with_client = (values or {}).get("format"), (values or {}).get("with_client")
    return ('<h2>Export</h2><form class="filters" method="get" action="/ops/export">'
            f'<label>from<input type="date" name="from" required{_typed(values, "from")}></label>'
            f'<label>to<input type="date" name="to" required{_typed(values, "to")}></label>'
            '<label>format<select name="format"><option value="csv">CSV</option>'
            f'<option value="jsonl"{" selected" if fmt == "jsonl" else ""}>JSON lines</option></select></label>'
            '<label>client identity<select name="with_client"><option value="">leave out</option>'
            f'<option value="1"{" selected" if with_client == "1" else ""}>include (patient data)</option></select>'
            '</label><button type="submit">Download</button></form>')


# one claim --------------------------------------------------------------------------------------------------
@dataclass
class FixState:
    """What the claim page's fix forms show: typed values, a preview, errors (kept across a round trip)."""

    section: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    preview: dict[str, Any] | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    patch_text: str | None = None
    based_on: str | None = None  # the claim's event version the typed change was made from (kept across a preview)
    correcting: bool = False  # posted as a corrected claim (its errors say "Not sent")


def typed_change(form: Any, *, what: str = "amendment") -> tuple[FixState, dict[str, Any] | None]:
    """What a fix form was posted with (a section's fields, or the JSON of the expert form): the form as the page
    shows it again, and the change it means; None when its JSON cannot be read (the state's errors say why). An
    empty JSON form means no change (`{}`). `form` is the posted form (`get`, `getlist`)."""
    section = str(form.get("section") or "json")
    based_on = str(form.get("based_on") or "") or None  # the version the form was opened at
    if section == "json" or section not in amend_forms.FORMS:
        text = str(form.get("patch") or "")
        state = FixState(section="json", patch_text=text, based_on=based_on)
        if not text.strip():
            return state, {}
        try:
            value = json.loads(text)
            if not isinstance(value, dict):
                raise ValueError("must be a JSON object")
        except ValueError as exc:
            state.errors = [{"path": f"({what})", "message": f"the JSON is not valid ({exc})"}]
            return state, None
        return state, value
    values = amend_forms.typed_values(section, form, form.getlist)
    return FixState(section=section, values=values, based_on=based_on), amend_forms.patch_from(section, values)


def identity_block(person: ClientIdentity) -> str:
    def item(label: str, value: str, cls: str = "") -> str:
        return f'<div><dt>{escape(label)}</dt><dd class="{cls}">{escape(value or "-")}</dd></div>'

    return ('<div class="who" id="client"><dl>' + item("Client", person.name, "client-name")
            + item("Date of birth", person.date_of_birth) + item("Member id", person.member_id)
            + item("Client id", person.client_id) + item("VA referral", person.referral_text)
            + item("Prescription", person.prescription_text) + '</dl></div>')


def findings_html(c: dict[str, Any]) -> str:
    parts = [explained("voided", "", explanations.EXPLANATIONS["voided"])] if c["status"] == "voided" else []
    for p in c["problems"]:
        parts.append(explained(p["code"], p["message"], explanations.explain(p["code"])))
    for d in c.get("denial_reasons") or []:  # the payer's remittance: CARC with its group, RARC
        parts.append(explained(d["code"], d.get("text") or "", explanations.explain(d["code"])))
    for r in c.get("peer_reasons") or []:
        parts.append(explained(peer_reason_code(r), r, explanations.explain_reason(r)))
    if c.get("last_error") and not c.get("peer_reasons"):
        code = error_code(c["last_error"]) or "error"
        parts.append(explained(code, c["last_error"], explanations.explain_last_error(c["last_error"], c["status"])))
    return "".join(parts)


_NAMED_FIELD = re.compile(r"(?<![\w.])(" + "|".join(amend_forms.FORMS) + r")\.[a-z_]")


def forms_wanted(c: dict[str, Any]) -> list[str]:
    """The forms that fix this claim's reasons, first; then the others. A problem whose message names the fields
    (`claim_data_invalid`: `coverage.member_id: ...; client.address.city: ...`) wants the forms of those."""
    wanted: list[str] = []
    for p in c["problems"]:
        for section in _NAMED_FIELD.findall(p.get("message") or ""):
            if section not in wanted:
                wanted.append(section)
    codes = [p["code"] for p in c["problems"]]
    found = [explanations.explain(code) for code in codes]
    found += [explanations.explain(d["code"]) for d in c.get("denial_reasons") or []]
    found += [explanations.explain_reason(r) for r in c.get("peer_reasons") or []]
    for e in found:
        if e.form and e.form not in wanted:
            wanted.append(e.form)
    return wanted


def _said(messages: list[str]) -> str:
    """An error beside its field."""
    return "".join(f'<span class="field-error" role="alert">{escape(m)}</span>' for m in messages)


def _field_html(f: amend_forms.FormField, values: dict[str, str], section: str,
                errors: dict[str, list[str]] | None = None) -> str:
    errors = errors or {}
    name, value = escape(f.name), values.get(f.name, "")
    req = " required" if f.required else ""
    if f.name in errors:
        req += f' aria-invalid="true" aria-describedby="{escape(section)}-{name}-error"'
    said = (f'<span id="{escape(section)}-{name}-error">{_said(errors[f.name])}</span>'
            if f.name in errors else "")
    label = escape(f.label) + ("" if not f.hint else f' <span class="muted">({escape(f.hint)})</span>')
    if f.kind == "bool":
        return (f'<label style="flex-direction:row;gap:6px;align-items:center"><input type="checkbox" '
                f'name="{name}" value="1"{" checked" if value else ""}> {label}{said}</label>')
    if f.kind == "select":  # a value the event has but the list does not offer (place of service 13) stays chosen:
        # the form saved for another field never changes it behind the person's back
        options = f.options if not value or value in f.options else (value, *f.options)
        opts = "".join(f'<option value="{escape(o)}"{" selected" if value == o else ""}>{escape(o or "-")}</option>'
                       for o in options)
        return f'<label>{label}<select name="{name}">{opts}</select>{said}</label>'
    if f.kind == "cpts":
        chosen = {v.strip() for v in value.split(",")}
        boxes = "".join(f'<label style="flex-direction:row;gap:4px"><input type="checkbox" name="{name}" '
                        f'value="{cpt}"{" checked" if cpt in chosen else ""}>{cpt}</label>'
                        for cpt in amend_forms.CPTS)
        return f'<label>{label}<span>{boxes}</span>{said}</label>'
    if f.kind == "services":
        rows = []
        for i in range(amend_forms.SERVICE_LINES):
            cpt = values.get(f"services.{i}.cpt", "")
            opts = "".join(f'<option value="{o}"{" selected" if cpt == o else ""}>{o or "-"}</option>'
                           for o in ("", *amend_forms.CPTS))
            rows.append(f'<div>Line {i + 1}: <select name="services.{i}.cpt" aria-label="line {i + 1} CPT">{opts}'
                        f'</select> <input type="number" min="0" max="240" name="services.{i}.minutes" '
                        f'value="{escape(values.get(f"services.{i}.minutes", ""))}" aria-label="line {i + 1} minutes"'
                        f' style="width:6em"> minutes, body region <input type="text" name="services.{i}.body_region"'
                        f' value="{escape(values.get(f"services.{i}.body_region", ""))}" '
                        f'aria-label="line {i + 1} body region">'
                        + _said([f'{k.replace("_", " ")}: {m}' for k in ("cpt", "minutes", "body_region")
                                 for m in errors.get(f"services.{i}.{k}", [])]) + '</div>')
        return f'<div><b>{label}</b>{said}{"".join(rows)}</div>'
    kind = {"date": "date", "int": "number"}.get(f.kind, "text")
    return (f'<label>{label}<input type="{kind}" name="{name}" value="{escape(value)}" '
            f'id="{escape(section)}-{name}"{req}>{said}</label>')


def _error_items(section: str, errors: list[dict[str, str]]) -> str:
    """The errors above a form, each named by its field's label (a path of no field of the form as it is)."""
    items = []
    for e in errors:
        path = str(e.get("path") or "")
        name = amend_forms.field_of(section, path)
        where = (amend_forms.label_of(section, name) if name else "" if path.startswith("(") else path)
        items.append(f'<li>{escape(where) + ": " if where else ""}{escape(e["message"])}</li>')
    return "<ul>" + "".join(items) + "</ul>"


def _by_field(section: str, errors: list[dict[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in errors:
        name = amend_forms.field_of(section, str(e.get("path") or ""))
        if name:
            out.setdefault(name, []).append(str(e["message"]))
    return out


def preview_html(preview: dict[str, Any], current: dict[str, Any], section: str = "json", *,
                 until: str = "Save") -> str:
    if not preview.get("ok"):
        message = str(preview.get("message") or "")
        return (f'<div class="preview" id="preview"><b>This cannot be saved yet.</b> '
                f'{escape(message[:1].upper() + message[1:])}{"." if message else ""}'
                f'{_error_items(section, preview.get("errors", []))}</div>')
    problems = "".join(explained(p["code"], p["message"], explanations.explain(p["code"]))
                       for p in preview["problems"])
    warnings = ", ".join(escape(w["code"]) for w in preview["warnings"]) or "none"
    same = (preview["route"] == "needs_attention" and current["status"] == "needs_attention"
            and sorted(p["code"] for p in preview["problems"]) == sorted(p["code"] for p in current["problems"]))
    verdict = ("It would still need attention for the same reasons." if same else
               "It would still need attention." if preview["route"] == "needs_attention" else
               "The problems would be solved." if current["problems"] else "The rules find no problem.")
    return (f'<div class="preview" id="preview"><b>Preview:</b> with this change the claim would go to '
            f'<b id="preview-route">{escape(preview["route"])}</b>. {verdict}'
            + (f'<ul>{problems}</ul>' if problems else "")
            + f'<p class="muted">Warnings: {warnings}. Nothing is saved until you press {escape(until)}.</p></div>')


def fix_forms(cid: str, c: dict[str, Any], document: dict[str, Any], state: FixState, *, amendable: bool = True,
              correctable: bool = False) -> str:
    """A form per section of the claim's event, and the JSON for experts: each previews the decision the change
    would give (saving nothing); then, on a claim that can be amended, Save amendment; on a claim the payer
    adjudicated (`correctable`), Send as a corrected claim (frequency 7), which posts the same fields to
    `/ops/claims/{id}/correct`."""
    wanted = forms_wanted(c)
    order = wanted + [s for s in amend_forms.FORMS if s not in wanted]
    version = state.based_on or ops.event_version(c.get("amended_at"))
    base = f'<input type="hidden" name="based_on" value="{escape(version)}">'
    number = escape(c.get("payer_claim_number") or "")
    send = (f'<button type="submit" name="action" value="correct" formaction="/ops/claims/{cid}/correct#fix" '
            f'data-confirm="Send a corrected claim that replaces payer claim {number}?">Send as a corrected claim'
            '</button>') if correctable else ""
    until = " or ".join([*(["Save"] if amendable else []), *(["Send as a corrected claim"] if correctable else [])])
    if amendable and correctable:
        intro = ("Correct the data in the form that matches the problem and press Preview to see the decision it "
                 "would give. Then either Save it and Resubmit (a new original claim), or Send it as a corrected "
                 f"claim, which replaces payer claim {number} (frequency 7).")
    elif correctable:
        intro = ("To correct what the payer adjudicated, correct the data in the form, press Preview to see the "
                 f"decision it would give, then Send as a corrected claim: it replaces payer claim {number} "
                 "(frequency 7). To take the claim back whole, void it (Payment, above).")
    else:
        intro = ("Correct the data in the form that matches the problem, press Preview to see the decision it "
                 "would give, then Save, then Resubmit.")
    title = "Fix the data" if amendable else "Send a corrected claim"
    out = [f'<h2 id="fix">{title}</h2><p class="muted">{intro}</p>']
    not_done = "Not sent:" if state.correcting else "Not saved:"
    said_id = ' id="correction-errors"' if state.correcting else ""
    for section in order:
        form = amend_forms.FORMS[section]
        mine = state.section == section
        values = state.values if mine else amend_forms.form_values(section, document)
        said = [*state.errors, *((state.preview or {}).get("errors") or [])] if mine else []
        fields = "".join(_field_html(f, values, section, _by_field(section, said)) for f in form.fields)
        errors = ""
        if mine and state.errors:
            errors = (f'<div class="flash error" role="alert"{said_id}>{not_done}'
                      + _error_items(section, state.errors) + '</div>')
        preview = preview_html(state.preview, c, section, until=until) if mine and state.preview is not None else ""
        ready = mine and state.preview is not None and bool(state.preview.get("ok"))
        save = ('<button type="submit" name="action" value="save">Save amendment</button>'
                if ready and amendable else "")
        open_ = " open" if section in wanted[:1] or mine else ""
        out.append(f'<details{open_} data-form="{section}"><summary>{escape(form.title)}'
                   f'{" (fixes a problem here)" if section in wanted else ""}</summary>'
                   f'<form method="post" action="/ops/claims/{cid}/amend#fix" data-section="{section}">'
                   f'<input type="hidden" name="section" value="{section}">{base}{errors}<fieldset>{fields}</fieldset>'
                   f'{preview}<button type="submit" name="action" value="preview" class="secondary">Preview the '
                   f'decision</button> {save}{" " + send if ready else ""}</form></details>')
    example = state.patch_text if state.patch_text is not None else json.dumps(
        {wanted[0]: document.get(wanted[0])} if wanted and document.get(wanted[0]) else {}, indent=1)
    expert_errors = ""
    if state.section == "json" and state.errors:
        expert_errors = (f'<div class="flash error" role="alert"{said_id}>{not_done}'
                         + _error_items("json", state.errors) + '</div>')
    out.append(f'<details{" open" if state.section == "json" else ""}><summary>For experts: the change as JSON'
               f'</summary><form method="post" action="/ops/claims/{cid}/amend#fix"><input type="hidden" '
               f'name="section" value="json">{base}{expert_errors}<p class="muted">JSON with the sections to attach or '
               f'replace: prescription, va_referral, client, coverage, payment, session'
               + ("; empty (<code>{}</code>), a corrected claim with the data as it is" if correctable else "")
               + f'.</p><textarea name="patch" rows="12" aria-label="amendment">{escape(example)}</textarea>'
               + (preview_html(state.preview, c, until=until) if state.section == "json" and state.preview is not None
                  else "")
               + '<p><button type="submit" name="action" value="preview" class="secondary">Preview the decision'
               '</button>' + (' <button type="submit" name="action" value="save">Save amendment</button>'
                              if amendable else "") + (" " + send if correctable else "") + '</p></form></details>')
    return "".join(out)


def claim_body(claim_id: str, c: dict[str, Any], *, person: ClientIdentity | None, document: dict[str, Any],
               documents: dict[str, str], zone: tzinfo, unchanged: list[str], state: FixState | None = None,
               since_amended: dict[str, Any] | None = None, client_payment: str = "", update: str = "") -> str:
    cid = escape(claim_id)
    actions = ""
    if c["status"] in RESUBMITTABLE_STATUSES:
        actions = (f'<form class="inline" method="post" action="/ops/resubmit"><input type="hidden" '
                   f'name="claim_id" value="{cid}"><input type="hidden" name="back" value="claim">'
                   f'<button type="submit">Resubmit this claim</button></form>')
        if unchanged:
            actions += (f' <form class="inline" method="post" action="/ops/resubmit" data-confirm="'
                        f'It will need attention again for the same reasons. Resubmit anyway?">'
                        f'<input type="hidden" name="claim_id" value="{cid}"><input type="hidden" name="anyway" '
                        f'value="1"><input type="hidden" name="back" value="claim"><button type="submit" '
                        f'class="secondary">Resubmit anyway</button></form><p class="muted" id="unchanged">A dry run '
                        f'of the rules still finds {escape(", ".join(unchanged))}: fix the data first.</p>')
    if c["has_statement"]:
        actions += f' <a class="btn" href="/ops/claims/{cid}/statement">Superbill PDF</a>'
    actions += statement_delivery_part(cid, c)
    warns = "".join(explained(w["code"], w["message"], explanations.explain_warning(w["code"], c.get("coverage_kind")))
                    for w in c["warnings"])
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
        f'<tr><td class="nowrap">{when(e.get("at"), zone)}</td><td>{escape(e.get("kind", ""))}</td><td>'
        f'{detail(e)}</td></tr>' for e in c["timeline"])
    amend = ""
    amendable, correctable = c["status"] in AMENDABLE_ON_PAGE, money.correctable(c)
    if amendable or correctable:
        amend = fix_forms(cid, c, document, state or FixState(), amendable=amendable, correctable=correctable)
    sent = "".join(f'<details class="document"><summary>{escape(name)}</summary><pre>{escape(text)}</pre></details>'
                   for name, text in sorted(documents.items()))
    findings = findings_html(c)
    body = ((identity_block(person) if person else "")
            + f'<p>{badge(c["status"])} route <b>{escape(c["route"] or "-")}</b> &middot; session '
            f'{escape(c["session_id"])} &middot; submission #{c["submission_no"]} &middot; attempts '
            f'{c["attempts"]} &middot; payer {escape(c["payer"] or "-")} &middot; date of service '
            f'{escape(c["date_of_service"] or "-")}'
            + (f' &middot; peer reference {escape(c["peer_reference"])}' if c.get("peer_reference") else "")
            + f'</p><p>{actions}</p>'
            + '<h2>What is wrong, and what to do</h2>'
            + reasons_note(c, since_amended)
            + f'<ul id="reasons">{findings or "<li class=muted>nothing</li>"}</ul>'
            + (f'<h2>Warnings</h2><ul>{warns}</ul>' if warns else "")
            + update
            + money.payment_block(c)
            + f'<h2>Superbill</h2>{lines or "<p class=muted>none</p>"}{client_payment}{amend}'
            + f'<h2>Sent and received</h2>{sent or "<p class=muted>nothing sent to a peer yet</p>"}'
            + f'<h2>Timeline</h2><table><thead><tr><th>when</th><th>step</th><th>detail</th></tr></thead>'
            f'<tbody>{timeline}</tbody></table>')
    return body


AMENDABLE_ON_PAGE = AMENDABLE_STATUSES  # the statuses whose page has the fix forms: those an amendment is taken in


def reasons_note(c: dict[str, Any], since_amended: dict[str, Any] | None) -> str:
    """Whether the reasons shown still hold: data amended since they were found (and what the rules give now), or a
    claim being run again."""
    if since_amended is not None:
        problems = since_amended["problems"]
        now = (f'still needs attention: {escape(", ".join(problems))}' if problems else
               f'no problems: it would go to <b>{escape(since_amended["route"])}</b>')
        return (f'<p class="flash" id="since-amended">The data was amended after these reasons were found. With the '
                f'data as it is now, the rules find {now}. Resubmit the claim to apply it.</p>')
    if explanations.from_last_run(c):
        return f'<p class="muted" id="in-progress">{escape(explanations.LAST_RUN)}</p>'
    return ""


# refused events, dead letters, audit ----------------------------------------------------------------------------
def replay_html(r: Refused) -> str:
    """A replay's outcome in words, as `superbill refused list` says it, the claim it became a link."""
    said = r.replay_text()
    if not said:
        return ""
    claim_id = r.replayed_into()
    if claim_id and claim_id in said:
        before, after = said.split(claim_id, 1)
        return (f'{escape(before)}<a href="/ops/claims/{escape(claim_id)}">{escape(claim_id)}</a>'
                f'{escape(after)}')
    return escape(said)


def refused_body(refused: list[Refused], zone: tzinfo, next_cursor: str | None = None) -> str:
    rows = "".join(
        f'<tr><td><a href="/ops/refused/{escape(r.refused_id)}">{escape(r.refused_id)}</a></td>'
        f'<td class="nowrap">{when(r.received_at, zone)}</td><td class="nowrap">HTTP {r.http_status}</td>'
        f'<td>{"<br>".join(escape(e["path"] + ": " + e["message"]) for e in r.errors)}</td>'
        f'<td>{escape(r.source)}</td><td>{replay_html(r)}</td></tr>'
        for r in reversed(refused))
    return ('<p class="muted">Events the booking system sent that were refused, kept verbatim. Open one to read '
            'it, correct it and send it through again.</p>'
            '<table><thead><tr><th>id</th><th>received</th><th>answer</th><th>errors</th><th>source</th>'
            f'<th>replayed</th></tr></thead><tbody>{rows}</tbody></table>'
            f'{next_page("/ops/refused", {}, next_cursor)}')


def refused_detail(r: Refused, zone: tzinfo, corrected: str | None = None) -> str:
    text = r.body.decode("utf-8", errors="replace")
    try:
        shown = json.dumps(json.loads(text), indent=1, ensure_ascii=False)
    except ValueError:
        shown = text
    errors = "".join(f'<li>{escape(e["path"])}: {escape(e["message"])}</li>' for e in r.errors)
    rid = escape(r.refused_id)
    return (f'<p>Received {when(r.received_at, zone)} from {escape(r.source)}, answered HTTP {r.http_status}'
            f'{f", {r.times} times" if r.times > 1 else ""}.</p><h2>Why it was refused</h2><ul>{errors}</ul>'
            + (f'<p id="last-replay">Last replay: {replay_html(r)}</p>' if r.replayed_as else "")
            + f'<form method="post" action="/ops/refused/{rid}/replay"><button type="submit">Replay as it was'
            f'</button></form><h2>Correct and replay</h2><form method="post" action="/ops/refused/{rid}/replay">'
            f'<textarea name="body" rows="24" aria-label="corrected event">{escape(corrected or shown)}</textarea>'
            f'<p><button type="submit">Replay the corrected event</button></p></form>')


def dead_body(queue: str, rows: list[Letter], zone: tzinfo, next_cursor: str | None = None) -> str:
    q = escape(queue)
    table = "".join(
        f'<tr><td>{escape(m.message_id)}</td><td>{escape(m.step or m.actor or "-")}</td><td>'
        + (f'<a href="/ops/claims/{escape(m.claim_id)}">{escape(m.claim_id)}</a>' if m.claim_id else "-")
        + f'</td><td class="nowrap">{when(m.dead_since, zone)}</td><td class="num">{m.retries}</td>'
        f'<td>{escape(m.error_kind or "-")}</td></tr>'
        for m in rows)
    forms = (f'<form method="post" action="/ops/dead/{q}/retry" data-confirm="Send the step of every dead letter '
             f'of {q} again, where its claim still needs it?"><button type="submit">Retry them</button></form> '
             f'<form method="post" action="/ops/dead/{q}/clear" data-confirm="Clear all dead letters '
             f'of {q}?"><button type="submit" class="secondary">Clear them</button></form>') if rows else ""
    return ('<p class="muted">Messages that gave up after their retries. The claims themselves are safe in the '
            'ledger (the reconciler re-drives any that is not final); clearing only drops these records. '
            'Retrying sends the step again only for a claim whose status still needs it (a submission keeps '
            'its exactly-once key: the peer never gets it twice); the others stay listed.</p>'
            f'<table><thead><tr><th>message</th><th>step</th><th>claim</th><th>dead since</th><th class="num">'
            f'retries</th><th>last error</th></tr></thead><tbody>{table}</tbody></table>'
            f'{next_page(f"/ops/dead/{queue}", {}, next_cursor)}{forms}')


def audit_body(entries: list[dict[str, Any]], zone: tzinfo) -> str:
    def rest(e: dict[str, Any]) -> str:  # as a timeline entry's details are shown: lists joined, not as Python
        return detail({k: v for k, v in e.items() if k not in ("at", "action", "by", "name", "via")})

    rows = "".join(f'<tr><td class="nowrap">{when(e.get("at"), zone)}</td><td>{escape(str(e.get("action")))}</td>'
                   f'<td>{escape(str(e.get("name") or "-"))}</td><td>{escape(str(e.get("via") or ""))}</td>'
                   f'<td>{rest(e)}</td></tr>' for e in entries)
    return ('<p class="muted">Sign-ins, account changes, amendments, resubmissions and replays, newest first.</p>'
            '<table><thead><tr><th>when</th><th>what</th><th>who</th><th>where</th><th>detail</th></tr></thead>'
            f'<tbody>{rows}</tbody></table>')
