"""The claim page's "Record a payment" form (a payment the client makes after the visit) and the payments
recorded so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import Any

from pipeline.application.client_payments import payment_applies, payments_of
from pipeline.application.ops import event_version
from pipeline.documents.superbill_pdf import PAYMENT_METHODS as METHOD_NAMES
from pipeline.domain.client_payment import PAYMENT_METHODS

FIELDS = ("amount", "method", "received_on")


@dataclass
class PaymentForm:
    """What the payment form was posted with, shown again with the errors beside their fields."""

    values: dict[str, str] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    based_on: str | None = None


def posted_payment(form: Any) -> PaymentForm:
    values = {name: str(form.get(name) or "").strip()[:40] for name in FIELDS}
    return PaymentForm(values=values, based_on=str(form.get("based_on") or "") or None)


def applies(c: dict[str, Any]) -> bool:
    return payment_applies(c["status"], c.get("route"), c.get("coverage_kind"), c.get("superbill"))


def _said(name: str, errors: list[dict[str, str]]) -> tuple[str, str]:
    """The error spans beside a field, and its input's aria attributes."""
    mine = [e["message"] for e in errors if e.get("path") == name]
    if not mine:
        return "", ""
    spans = "".join(f'<span class="field-error" role="alert">{escape(m)}</span>' for m in mine)
    return (f'<span id="payment-{name}-error">{spans}</span>',
            f' aria-invalid="true" aria-describedby="payment-{name}-error"')


def payments_html(c: dict[str, Any]) -> str:
    """The payments recorded after the visit, each with its method, day and who took it."""
    rows = payments_of(c.get("timeline") or [])
    if not rows:
        return ""
    items = "".join(
        f'<tr><td>{escape(str(p.get("received_on") or "-"))}</td><td class="num">{escape(str(p.get("amount")))}</td>'
        f'<td>{escape(METHOD_NAMES.get(str(p.get("method")), str(p.get("method"))))}</td>'
        f'<td>{escape(str(p.get("by") or "-"))}</td><td class="num">{escape(str(p.get("balance_due") or "-"))}</td>'
        f'<td>{escape(str(p.get("document_number") or "-"))}</td></tr>' for p in rows)
    return ('<p>Payments after the visit:</p><table id="client-payments"><thead><tr><th>received</th>'
            '<th class="num">amount</th><th>method</th><th>taken by</th><th class="num">balance after</th>'
            f'<th>statement</th></tr></thead><tbody>{items}</tbody></table>')


def payment_section(cid: str, c: dict[str, Any], state: PaymentForm | None, *, today: date, by: str) -> str:
    """The payments recorded, and the form to record one on a claim that takes one (see
    `pipeline.domain.client_payment`)."""
    listed = payments_html(c)
    if not applies(c):
        return f'<h2 id="client-payment">Client payments</h2>{listed}' if listed else ""
    state = state or PaymentForm()
    values, errors = state.values, state.errors
    bill = c.get("superbill") or {}
    balance = str(bill.get("balance_due") or "0.00")
    version = state.based_on or event_version(c.get("amended_at"))
    others = [e for e in errors if e.get("path") not in FIELDS]
    flash = ('<div class="flash error" role="alert" id="payment-errors">Not recorded:<ul>'
             + "".join(f'<li>{escape(e["message"])}</li>' for e in others) + '</ul></div>') if others else ""
    amount_said, amount_aria = _said("amount", errors)
    method_said, method_aria = _said("method", errors)
    day_said, day_aria = _said("received_on", errors)
    chosen = values.get("method", "")
    options = '<option value="">choose</option>' + "".join(
        f'<option value="{m}"{" selected" if chosen == m else ""}>{escape(METHOD_NAMES[m])}</option>'
        for m in PAYMENT_METHODS)
    what = ("a replacement statement with the new balance is issued and e-mailed to the client"
            if c["status"] == "statement_ready" else "the claim's statement shows it once the claim is fixed and sent")
    if balance == "0.00":
        return (f'<h2 id="client-payment">Client payments</h2>{listed}<p class="muted">Paid in full: nothing is '
                'due on this claim.</p>')
    return (f'<h2 id="client-payment">Client payments</h2>{listed}<h3>Record a payment</h3>'
            f'<p class="muted">A payment the client made after the visit (balance due <b>{escape(balance)}</b>): '
            f'it is recorded as taken by {escape(by)}, and {what}.</p>'
            f'<form method="post" action="/ops/claims/{cid}/payments#client-payment" id="payment-form">'
            f'<input type="hidden" name="based_on" value="{escape(version)}">{flash}<fieldset>'
            f'<label>amount<input type="text" inputmode="decimal" name="amount" id="payment-amount" required '
            f'placeholder="{escape(balance)}" value="{escape(values.get("amount", ""))}"{amount_aria}>{amount_said}'
            f'</label><label>method<select name="method" id="payment-method" required{method_aria}>{options}</select>'
            f'{method_said}</label><label>received on<input type="date" name="received_on" id="payment-received_on" '
            f'max="{today.isoformat()}" value="{escape(values.get("received_on") or today.isoformat())}"{day_aria}>'
            f'{day_said}</label></fieldset><button type="submit">Record the payment</button></form>')
