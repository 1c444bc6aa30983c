"""The ops page's HTML frame and small pieces: the stylesheet, the page around a body, badges, times."""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime, tzinfo
from html import escape
from typing import Any

from fastapi.responses import HTMLResponse

from pipeline.application import explanations

CSS = """
*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;
color:#1d2433;background:#f5f7fa}header{background:#1f3a5f;color:#fff;padding:10px 24px;display:flex;
gap:24px;align-items:center}header a{color:#dfe8f5;text-decoration:none;font-weight:500}header a:hover{color:#fff}
header .brand{font-weight:700;font-size:17px;color:#fff;margin-right:12px}main{padding:20px 24px;max-width:1280px}
h1{font-size:22px;margin:4px 0 16px}h2{font-size:17px;margin:26px 0 8px}
h3{font-size:15px;margin:16px 0 6px}.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#fff;border:1px solid #d9dee7;border-radius:8px;padding:10px 14px;min-width:120px;
text-decoration:none;color:inherit}.card b{display:block;font-size:22px}.card.bad b{color:#b42318}
.card.good b{color:#067647}table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d9dee7}
th,td{padding:7px 10px;border-bottom:1px solid #e6e9ef;text-align:left;vertical-align:top}
th{background:#eef2f7;font-weight:600;font-size:13px}.num{text-align:right}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#e6e9ef;
white-space:nowrap}.nowrap{white-space:nowrap}
.s-accepted,.s-statement_ready,.s-paid{background:#d1fadf;color:#067647}
.s-failed,.s-rejected,.s-denied{background:#fee4e2;color:#b42318}
.s-needs_attention{background:#fef0c7;color:#93370d}.s-update{background:#dbeafe;color:#1e40af}button,.btn{background:#1f6feb;color:#fff;border:0;
border-radius:6px;padding:6px 12px;font-size:14px;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#5b6b82}.flash{background:#e8f1ff;border:1px solid #a9c7f5;padding:8px 12px;
border-radius:6px;margin-bottom:14px}.error{background:#fee4e2;border-color:#f5a39b}form.inline{display:inline}
.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end;background:#fff;padding:10px;border:1px solid #d9dee7;
border-radius:8px;margin-bottom:12px}.filters label{display:flex;flex-direction:column;font-size:12px;color:#4a5568}
input,select,textarea{font:inherit;padding:5px 7px;border:1px solid #b8c0cc;border-radius:5px}
textarea{width:100%;font-family:ui-monospace,monospace;font-size:13px}.muted{color:#667085;font-size:13px}
.reason{color:#93370d}.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px}pre{white-space:pre-wrap;
background:#fff;border:1px solid #d9dee7;padding:10px;border-radius:6px;font-size:12px}
.hint-after_fix{color:#93370d}.hint-yes{color:#067647}.hint-no{color:#667085}.explained{margin-bottom:8px}
.who{background:#fff;border:1px solid #d9dee7;border-radius:8px;padding:10px 14px;margin-bottom:12px}
.who dt{font-size:12px;color:#667085}.who dd{margin:0 0 6px 0;font-weight:500}
.who dl{display:grid;grid-template-columns:repeat(3,1fr);gap:4px 18px;margin:0}
fieldset{border:1px solid #d9dee7;border-radius:8px;background:#fff;margin:10px 0;padding:10px 14px}
fieldset label{display:inline-flex;flex-direction:column;font-size:12px;color:#4a5568;margin:0 10px 8px 0}
.preview{border:2px solid #1f6feb;border-radius:8px;background:#fff;padding:10px 14px;margin:10px 0}
details summary{cursor:pointer;font-weight:600;margin:8px 0}
.field-error{display:block;color:#b42318;font-size:12px;font-weight:600;max-width:22em}
[aria-invalid=true]{border-color:#b42318;background:#fff6f5}
@media (max-width:1000px){main{padding:14px 12px}header{flex-wrap:wrap;gap:6px 16px;padding:8px 12px}
table{display:block;overflow-x:auto;width:fit-content;max-width:100%}
.grid{grid-template-columns:1fr}.who dl{grid-template-columns:1fr 1fr}}
"""


_POST_FORM = re.compile(r"(<form\b[^>]*\bmethod=\"post\"[^>]*>)", re.IGNORECASE)
# No script runs but the page's own (a fresh nonce per page), no frame embeds the page, no form posts
# elsewhere, nothing is cached.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def csp(nonce: str) -> str:
    return (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; img-src 'self'; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


FRAGMENT_HEADERS = {**SECURITY_HEADERS, "Content-Security-Policy": csp(secrets.token_urlsafe(16))}
# A form, or the button that sends it, with `data-confirm` asks first (no inline event handlers: the policy forbids
# them).
_CONFIRM = ("document.addEventListener('submit',function(e){var b=e.submitter;"
            "var m=(b&&b.getAttribute('data-confirm'))||e.target.getAttribute('data-confirm');"
            "if(m&&!window.confirm(m)){e.preventDefault();}},true);")


def with_csrf(html: str, csrf: str | None) -> str:
    """Every form that posts carries the session's CSRF token."""
    if not csrf:
        return html
    field = f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
    return _POST_FORM.sub(lambda m: m.group(1) + field, html)


def page(title: str, body: str, *, msg: str | None = None, error: bool = False, nav: bool = True,
         csrf: str | None = None, user: str | None = None, status: int = 200) -> HTMLResponse:
    who = f'<span class="muted" style="color:#dfe8f5">{escape(user)}</span>' if user else ""
    bar = ('<header><span class="brand">superbill ops</span><a href="/ops">Overview</a>'
           '<a href="/ops/claims">Claims</a><a href="/ops/refused">Refused events</a>'
           '<a href="/ops/remittances">Remittances</a><a href="/ops/ar">What is owed</a>'
           '<a href="/ops/audit">Audit log</a>'
           f'<span style="margin-left:auto"></span>{who}'
           '<form class="inline" method="post" action="/ops/logout">'
           '<button class="secondary" type="submit">Sign out</button></form></header>') if nav else \
        '<header><span class="brand">superbill ops</span></header>'
    flash = f'<div class="flash{" error" if error else ""}" role="status">{escape(msg)}</div>' if msg else ""
    nonce = secrets.token_urlsafe(16)
    html = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}"
            f"</title><meta name=viewport content='width=device-width'><style>{CSS}</style>"
            f"<script>{_CONFIRM}</script></head>"
            f"<body>{bar}<main><h1>{escape(title)}</h1>{flash}{body}</main></body></html>")
    html = html.replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(with_csrf(html, csrf), status_code=status,
                        headers={**SECURITY_HEADERS, "Content-Security-Policy": csp(nonce)})


def when(ts: float | None, zone: tzinfo | None = None) -> str:
    """A time in the practice's time zone (with its abbreviation: CST, CDT)."""
    if not ts:
        return "-"
    return datetime.fromtimestamp(ts, UTC).astimezone(zone or UTC).strftime("%Y-%m-%d %H:%M:%S %Z")


def detail(entry: dict[str, Any]) -> str:
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


def badge(status: str) -> str:
    return f'<span class="badge s-{escape(status)}">{escape(status.replace("_", " "))}</span>'


def why(c: dict[str, Any]) -> str:
    """Each reason with its plain title; the raw code stays visible for whoever talks to the payer."""
    parts = [(str(p), explanations.explain(str(p))) for p in c["problems"]]
    parts += [(str(r), explanations.explain_reason(str(r))) for r in c.get("peer_reasons") or []]
    parts += [(str(d), explanations.explain(str(d))) for d in c.get("denial_codes") or []]
    if not parts and c.get("last_error"):
        parts = [(str(c["last_error"]), explanations.explain_error(str(c["last_error"])))]
    return "<br>".join(
        f'<span class="reason" title="{escape(e.meaning)}"><b>{escape(e.title)}</b></span> '
        f'<span class="muted">{escape(text)}</span>' for text, e in parts) or '<span class="muted">-</span>'


def explained(code: str, message: str, e: explanations.Explanation) -> str:
    """One reason as the front desk reads it: what it is, what to do, whether resubmitting helps."""
    return (f'<li class="explained" data-code="{escape(code)}"><b>{escape(e.title)}</b> '
            f'<span class="muted">({escape(code)})</span><br>{escape(e.meaning)}'
            + (f'<br><span class="muted">{escape(message)}</span>' if message and message != code else "")
            + f'<br><b>Next step:</b> {escape(e.next_step)} <span class="hint-{e.resubmit}">'
            f'{escape(e.resubmit_hint)}</span></li>')
