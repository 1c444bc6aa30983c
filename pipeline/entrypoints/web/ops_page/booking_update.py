"""The claim page's "Update from the booking system" block: the later event the booking system sent for the
session, what it changes section by section (values: this page already shows patient data to signed-in staff),
the decision applying it would give, and the buttons that apply it (and resubmit)."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from html import escape
from typing import Any

from pipeline.application.ops import CORRECTABLE_STATUSES, event_version
from pipeline.entrypoints.web.ops_page.layout import badge, when
from schemas.claim import AMENDABLE_STATUSES

WAITING_BADGE = '<span class="badge s-update" title="the booking system sent changed data">update waiting</span>'


def _value(value: Any) -> str:
    if value is None:
        return '<span class="muted">(none)</span>'
    return f'<pre class="value">{escape(json.dumps(value, indent=1, ensure_ascii=False))}</pre>'


def _preview(preview: dict[str, Any] | None, c: dict[str, Any]) -> str:
    if preview is None:
        return ""
    if not preview.get("ok"):
        return (f'<div class="preview" id="update-preview"><b>This update cannot be applied as it is:</b> '
                f'{escape(str(preview.get("message") or ""))}'
                + "".join(f'<br>{escape(e["path"])}: {escape(e["message"])}' for e in preview.get("errors") or [])
                + "</div>")
    problems = ", ".join(escape(p["code"]) for p in preview.get("problems") or []) or "none"
    verdict = ("The problems would be solved." if c["problems"] and preview["route"] != "needs_attention"
               else "It would still need attention." if preview["route"] == "needs_attention" else "")
    return (f'<div class="preview" id="update-preview"><b>Preview:</b> with the update the claim would go to '
            f'<b id="update-route">{escape(preview["route"])}</b> (problems: {problems}). {verdict} '
            '<span class="muted">Nothing is stored until you apply it.</span></div>')


def update_block(cid: str, c: dict[str, Any], preview: dict[str, Any] | None, zone: tzinfo | None = None) -> str:
    """The block, or nothing when no update is waiting."""
    waiting = c.get("pending_event")
    if not waiting:
        return ""
    rows = "".join(
        f'<tr data-section="{escape(s["section"])}"><td><b>{escape(s["section"])}</b><br><span class="muted">'
        f'{escape(", ".join(s["paths"]))}</span></td><td>{_value(s.get("now"))}</td><td>{_value(s.get("update"))}'
        f'</td><td>{"will be applied" if s["applicable"] else escape("not applied: " + str(s.get("why_not")))}'
        f'</td></tr>' for s in waiting["sections"])
    table = (f'<table id="update-sections"><thead><tr><th>section</th><th>the claim now</th><th>the booking system '
             f'says</th><th></th></tr></thead><tbody>{rows}</tbody></table>')
    status = c["status"]
    if status in AMENDABLE_STATUSES and waiting["applicable"]:
        version = escape(event_version(c.get("amended_at")))
        action = (f'{_preview(preview, c)}<form class="inline" method="post" action="/ops/claims/{escape(cid)}/'
                  f'apply-update#update"><input type="hidden" name="based_on" value="{version}">'
                  f'<button type="submit" name="action" value="apply">Apply the booking system\'s update</button> '
                  f'<button type="submit" name="action" value="apply_resubmit" class="secondary">Apply and resubmit'
                  f'</button></form><p class="muted">Applying amends the claim with the sections marked "will be '
                  f'applied", in your name; then resubmit it (or press Apply and resubmit).</p>')
    elif status in CORRECTABLE_STATUSES:
        action = (f'<p id="update-correction">The payer has this claim already ({badge(status)}): the update would be '
                  f'a corrected claim, not an amendment. Send it with these sections under '
                  f'<a href="#fix">Send a corrected claim</a>.</p>')
    elif not waiting["applicable"]:
        action = '<p class="muted">Nothing in it can be applied by an amendment.</p>'
    else:
        action = (f'<p class="muted">The claim is {badge(status)}: on its way to, or at, a peer; the update can be '
                  f'applied once it is back.</p>')
    arrived = when(datetime.fromisoformat(waiting["received_at"]).timestamp(), zone)  # the practice's time
    return (f'<h2 id="update">Update from the booking system {WAITING_BADGE}</h2><p>Event '
            f'<code>{escape(waiting["event_id"])}</code>, received {arrived}, changes this '
            f'claim\'s data; it was not applied by itself.</p>{table}{action}')
