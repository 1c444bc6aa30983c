"""The ops page's HTML frame and small pieces: the stylesheet, the page around a body, badges, times."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any

from fastapi.responses import HTMLResponse

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
.s-accepted,.s-statement_ready,.s-paid{background:#d1fadf;color:#067647}
.s-failed,.s-rejected,.s-denied{background:#fee4e2;color:#b42318}
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


def page(title: str, body: str, *, msg: str | None = None, error: bool = False, nav: bool = True) -> HTMLResponse:
    bar = ('<header><span class="brand">superbill ops</span><a href="/ops">Overview</a>'
           '<a href="/ops/claims">Claims</a><a href="/ops/refused">Refused events</a>'
           '<a href="/ops/remittances">Remittances</a><a href="/ops/ar">What is owed</a>'
           '<form class="inline" method="post" action="/ops/logout" style="margin-left:auto">'
           '<button class="secondary" type="submit">Sign out</button></form></header>') if nav else \
        '<header><span class="brand">superbill ops</span></header>'
    # the message travels in the URL once; it is dropped from the address bar so a reload does not repeat it
    flash = (f'<div class="flash{" error" if error else ""}" role="status">{escape(msg)}</div>'
             '<script>history.replaceState(null, "", location.pathname)</script>') if msg else ""
    return HTMLResponse(f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}"
                        f"</title><meta name=viewport content='width=device-width'><style>{CSS}</style></head>"
                        f"<body>{bar}<main><h1>{escape(title)}</h1>{flash}{body}</main></body></html>")


def when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "-"


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
    parts = [f"{p}" for p in c["problems"]] + list(c.get("peer_reasons") or [])
    if c.get("denial_codes"):
        parts.append("denied: " + ", ".join(c["denial_codes"]))
    if not parts and c.get("last_error"):
        parts = [c["last_error"]]
    return "<br>".join(f'<span class="reason">{escape(str(p))}</span>' for p in parts) or '<span class="muted">-</span>'
