"""The ops page's money views: remittances received, what is owed (AR), and a claim's payment with its
corrected-claim and void forms."""

from __future__ import annotations

from datetime import tzinfo
from html import escape
from typing import Any

from pipeline.entrypoints.web.ops_page.layout import badge, when


def remittances_body(rows: list[dict[str, Any]], zone: tzinfo | None = None) -> str:
    if not rows:
        return '<p class="muted">No remittance (835) received yet.</p>'
    body = "".join(
        f'<tr><td><a href="/ops/remittances/{escape(r["remittance_id"])}">{escape(r["remittance_id"])}</a></td>'
        f'<td class="nowrap">{when(r["received_at"], zone)}</td><td>{escape(r["status"])}'
        f'{_needs_a_look(r)}</td>'
        f'<td>{escape(r.get("trace_number") or "-")}</td><td class="num">{escape(r.get("payment_amount") or "-")}</td>'
        f'<td>{escape(r.get("payment_date") or "-")}</td><td class="num">{r["claims"]}</td>'
        f'<td class="num">{r["posted"]}</td><td class="num">{r["unmatched"]}</td>'
        f'<td class="num">{r["deliveries"]}</td></tr>' for r in reversed(rows))
    return ('<table><thead><tr><th>remittance</th><th>received</th><th>status</th><th>trace</th>'
            '<th class="num">payment</th><th>date</th><th class="num">claims</th><th class="num">posted</th>'
            f'<th class="num">unmatched</th><th class="num">deliveries</th></tr></thead><tbody>{body}</tbody></table>')


def _needs_a_look(r: dict[str, Any]) -> str:
    """What in a file needs a person, next to its status: claims not postable, errors (BPR02 unbalanced)."""
    notes = [f"{r[key]} {words}" for key, words in (("not_postable", "not postable"), ("waiting", "waiting"),
                                                     ("duplicate", "duplicate")) if r.get(key)]
    notes += [f"{len(r['errors'])} error(s)"] if r.get("errors") else []
    return f'<br><span class="reason">{escape(", ".join(notes))}</span>' if notes else ""


def remittance_body(r: dict[str, Any]) -> str:
    rows = []
    for c in r["claims"]:
        posting = c.get("posting") or {}
        reasons = "<br>".join(f'<b>{escape(x["code"])}</b> {escape(x["text"])}' for x in posting.get("reasons", []))
        claim_link = f'<a href="/ops/claims/{escape(c["claim_id"])}">{escape(c["claim_id"])}</a>' \
            if c["outcome"] != "unmatched" else escape(c["claim_id"])
        rows.append(f'<tr><td>{claim_link}</td><td>{escape(c["status_code"])}</td><td class="num">'
                    f'{escape(c["charge"])}</td><td class="num">{escape(c["paid"])}</td>'
                    f'<td>{escape(c["outcome"])}{" &rarr; " + badge(c["status"]) if c.get("status") else ""}</td>'
                    f'<td>{reasons}</td><td class="reason">{escape(c.get("detail") or "")}</td></tr>')
    errors = "".join(f"<li>{escape(e)}</li>" for e in r["errors"])
    plb = "".join(f'<li><b>{escape(a["code"])}</b> {escape(a["amount"])}: {escape(a["text"])}</li>'
                  for a in r.get("provider_adjustments") or [])
    return (f'<p>{escape(r["status"])} &middot; payment {escape(r.get("payment_amount") or "-")} by '
            f'{escape(r.get("payment_method") or "-")} on {escape(r.get("payment_date") or "-")} &middot; trace '
            f'{escape(r.get("trace_number") or "-")} &middot; payer {escape(r.get("payer") or "-")} &middot; '
            f'delivered {r["deliveries"]} time(s)</p>'
            + (('<h2>Payments in this file</h2><ul>' + "".join(
                f'<li>{escape(c["payment_amount"])} by {escape(c["payment_method"] or "-")} on '
                f'{escape(c["payment_date"] or "-")}, trace {escape(c["trace_number"])} ({c["claims"]} claim(s))</li>'
                for c in r["checks"]) + '</ul>') if len(r.get("checks") or []) > 1 else "")
            + (f'<h2>Provider adjustments (PLB): taken off the payment, added when negative</h2><ul>{plb}</ul>'
               if plb else "")
            + (f'<h2>Errors</h2><ul>{errors}</ul>' if errors else "")
            + '<table><thead><tr><th>claim</th><th>CLP02</th><th class="num">charge</th><th class="num">paid</th>'
            f'<th>outcome</th><th>reasons</th><th>detail</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f'<h2>The 835</h2><pre>{escape(str(r.get("x12", "")).replace("~", "~" + chr(10)))}</pre>')


def ar_form(as_of: str = "") -> str:
    """What was owed at the end of another day (empty: now)."""
    return ('<form class="filters" method="get" action="/ops/ar"><label>as of<input type="date" name="as_of" '
            f'value="{escape(as_of)}"></label><button type="submit">Show</button>'
            + ('<a href="/ops/ar">now</a>' if as_of else "") + "</form>")


def ar_body(a: dict[str, Any]) -> str:
    t = a["totals"]
    cards = "".join(f'<div class="card"><span class="muted">{k}</span><b>{escape(t[k])}</b></div>'
                    for k in ("billed", "paid", "adjusted", "outstanding"))
    buckets = ("0-30", "31-60", "61-90", "90+")
    payers = "".join(f'<tr><td>{escape(p)}</td>' + "".join(f'<td class="num">{escape(row[b])}</td>' for b in buckets)
                     + f'<td class="num">{escape(row["total"])}</td></tr>' for p, row in a["by_payer"].items())
    owed = "".join(
        f'<tr><td><a href="/ops/claims/{escape(r["claim_id"])}">{escape(r["claim_id"])}</a></td>'
        f'<td>{badge(r["status"])}</td><td>{escape(r["date_of_service"])}</td><td class="num">{r["age_days"]}</td>'
        f'<td class="num">{escape(r["outstanding"])}</td><td>{escape(", ".join(r["denial_codes"]))}</td></tr>'
        for r in a["outstanding"])
    tf = a["timely_filing"]
    late = "".join(f'<li><a href="/ops/claims/{escape(r["claim_id"])}">{escape(r["claim_id"])}</a> '
                   f'({escape(r["status"])}, {r["age_days"]} days, {r["days_left"]} left)</li>' for r in tf["claims"])
    return (f'<p class="muted">Direct-billing claims as of {escape(a["as_of"])}; ages from the date of service.</p>'
            f'<div class="cards">{cards}</div><h2>Outstanding by payer and age</h2><table><thead><tr><th>payer</th>'
            + "".join(f'<th class="num">{b}</th>' for b in buckets) + '<th class="num">total</th></tr></thead>'
            f'<tbody>{payers}</tbody></table>'
            f'<h2>Not paid {tf["warning_days"]}+ days after the date of service (limit {tf["limit_days"]})</h2>'
            f'<ul>{late or "<li class=muted>none</li>"}</ul>'
            '<h2>Outstanding claims</h2><table><thead><tr><th>claim</th><th>status</th><th>date of service</th>'
            f'<th class="num">days</th><th class="num">owed</th><th>denied for</th></tr></thead><tbody>{owed}</tbody>'
            '</table>'
            + (f'<h2>Voided: owe nothing ({len(a["voided"])})</h2><p>' + ", ".join(
                f'<a href="/ops/claims/{escape(v)}">{escape(v)}</a>' for v in a["voided"]) + "</p>"
               if a.get("voided") else ""))


def correctable(c: dict[str, Any]) -> bool:
    """Whether the claim's page shows the corrected-claim and void forms."""
    return bool(c.get("remittance_ids") and c.get("payer_claim_number") and c["status"] in ("paid", "denied",
                                                                                               "accepted"))


def payment_block(c: dict[str, Any]) -> str:
    """A claim's payment from the payer's remittances; on a claim the payer adjudicated, where its corrected claim is
    sent from (the fix forms, below) and the void button."""
    if not c.get("remittance_ids"):
        return ""
    cid = escape(c["claim_id"])
    reasons = "".join(f'<li><b>{escape(r["code"])}</b>: {escape(r["text"])}</li>'
                      for r in c.get("denial_reasons") or [])
    links = ", ".join(f'<a href="/ops/remittances/{escape(r)}">{escape(r)}</a>' for r in c["remittance_ids"])
    forms = ""
    if correctable(c):
        number = escape(c["payer_claim_number"])
        forms = (f'<p class="muted" id="correct-here">A corrected claim (frequency 7) replaces payer claim {number}: '
                 'correct the data in its form <a href="#fix">below</a>, preview it, then press Send as a corrected '
                 f'claim.</p><form method="post" action="/ops/claims/{cid}/void" data-confirm="Void payer claim '
                 f'{number}? The payer takes back what it paid.">'
                 # the claim as this page shows it: a void pressed after someone amended it is not sent
                 f'<input type="hidden" name="based_on" value="{escape(str(c.get("event_version") or "0"))}">'
                 '<button class="secondary" '
                 'type="submit">Void this claim (frequency 8)</button></form>')
    if c["status"] == "voided":
        number = escape(c.get("payer_claim_number") or "-")
        forms = (f'<p><b>Voided</b>: the payer took the void of payer claim {number}; the claim owes nothing '
                 'and cannot be corrected or voided again.</p>')
    return (f'<h2 id="payment">Payment</h2><p>paid <b>{escape(str(c.get("paid_amount") or "0.00"))}</b> '
            f'&middot; adjusted '
            f'{escape(str(c.get("adjusted_amount") or "0.00"))} &middot; patient responsibility '
            f'{escape(str(c.get("patient_responsibility") or "0.00"))} &middot; payer claim '
            f'{escape(c.get("payer_claim_number") or "-")} &middot; check/EFT {escape(c.get("payment_trace") or "-")}'
            f' on {escape(c.get("paid_on") or "-")} &middot; remittances {links}</p>'
            + (f'<h3>Denied because</h3><ul>{reasons}</ul>' if reasons else "") + forms)
