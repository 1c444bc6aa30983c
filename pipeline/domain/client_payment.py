"""A payment the client makes after the visit: the rules a recorded payment must pass, and what it changes.

Pure. A client pays at the front desk days after the session, or part now and part later; each payment adds
to what was collected at the visit (`payment.amount_collected`) and lowers the balance due. It is taken:

- on a `statement_ready` claim (a statement the client owes on: self-pay, or a commercial client who files
  it); the claim then gets a replacement statement with the new amount paid and balance;
- on a `needs_attention` claim (not billed yet, so no statement out): what it changes is the event's
  payment, which the claim's statement or superbill is built from once it is fixed and sent on. The same
  payment recorded by amending the `payment` section is the one way to *correct* what the visit's payment
  was; a payment received later is recorded as a payment, with its date, method and who took it.

It is refused on a VA claim (a veteran owes nothing: `va_payment_collected`), on a courtesy submission (the
superbill already went to the billing service and is not replaced), on a claim billed to the payer directly,
and on a claim still on its way through the pipeline (it is `statement_ready` or `needs_attention` within
seconds: try again then).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.domain import codes
from schemas.decision import Finding

PAYMENT_STATUSES = ("statement_ready", "needs_attention")
# the contract's methods (`payment.method`) but `none`: a payment is made somehow
PAYMENT_METHODS = ("card", "cash", "check", "hsa", "fsa")
CENTS = Decimal("0.01")
ZERO = Decimal("0.00")
_AMOUNT = re.compile(r"^[0-9]+(\.[0-9]+)?$")  # ASCII digits only: \d takes any script's digits
MAX_WHOLE_DIGITS = 10  # 9999999999.99: far above any session's charge, and within Decimal's precision


class PaymentRefused(ValueError):
    """Why a payment cannot be taken, field by field: [(field, message)]."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


def parse_amount(text: str) -> tuple[Decimal | None, str | None]:
    """A payment's amount as typed ("40", "40.5", "40.00"): (the amount, None), or (None, why not)."""
    value = text.strip()
    if not value:
        return None, "is required: the amount received, such as 40.00"
    if value.startswith("-"):
        return None, "must be more than 0.00"
    if not _AMOUNT.match(value.removeprefix("$")):
        return None, "must be an amount such as 40.00"
    if len(value.removeprefix("$").partition(".")[0].lstrip("0")) > MAX_WHOLE_DIGITS:
        return None, "is too large to be a payment (at most 9999999999.99)"
    try:
        amount = Decimal(value.removeprefix("$"))
    except InvalidOperation:  # pragma: no cover - the pattern already guards this
        return None, "must be an amount such as 40.00"
    if -amount.as_tuple().exponent > 2:  # type: ignore[operator]
        return None, "must have at most two decimals"
    if amount <= 0:
        return None, "must be more than 0.00"
    return amount.quantize(CENTS), None


def where_refused(*, status: str, route: str | None, coverage_kind: str | None) -> str | None:
    """Why no client payment applies to a claim in this state, or None when one does."""
    if coverage_kind == "va_ccn" or route == codes.DIRECT_BILLING:
        return ("a veteran owes nothing for a VA CCN session: no payment is taken from them "
                "(money collected from a veteran is refunded: va_payment_collected)")
    if route == codes.COURTESY_SUBMISSION:
        return ("the superbill of a courtesy submission went to the billing service and is not replaced: the "
                "client's insurer reimburses the client; record what the client paid the practice in your "
                "point-of-sale records")
    if status in PAYMENT_STATUSES:
        return None
    if status in ("received", "validated", "assembled", "routed", "submitting", "submitted"):
        return (f"the claim is still being processed ({status}); its statement is ready within moments: "
                "try again then")
    return (f"a payment from the client applies to a statement_ready or needs_attention claim only (this one is "
            f"{status})")


def check_payment(*, amount: Decimal | None, method: str, received_on: date, balance_due: Decimal,
                  date_of_service: date | None, today: date) -> list[tuple[str, str]]:
    """What is wrong with a payment, field by field (none: it can be recorded). An `amount` of None was not
    an amount at all (said by `parse_amount`): only the other fields are checked."""
    out: list[tuple[str, str]] = []
    if amount is None:
        pass
    elif amount <= 0:
        out.append(("amount", "must be more than 0.00"))
    elif -amount.as_tuple().exponent > 2:  # type: ignore[operator]
        out.append(("amount", "must have at most two decimals"))
    elif balance_due <= 0:
        out.append(("amount", "nothing is due on this claim: its balance is 0.00"))
    elif amount > balance_due:
        out.append(("amount", f"is more than the balance due ({balance_due:.2f}): record at most "
                              f"{balance_due:.2f}"))
    if method not in PAYMENT_METHODS:
        out.append(("method", f"must be one of {', '.join(PAYMENT_METHODS)}"))
    if received_on > today:
        out.append(("received_on", f"is after today ({today.isoformat()})"))
    elif date_of_service is not None and received_on < date_of_service:
        out.append(("received_on", f"is before the session ({date_of_service.isoformat()})"))
    return out


@dataclass(frozen=True)
class Applied:
    """A payment applied: the event's new payment section, the claim's superbill and warnings."""

    payment: dict[str, Any]
    superbill: dict[str, Any] | None
    warnings: list[Finding]
    amount_paid: Decimal
    balance_due: Decimal


def apply_payment(*, payment: dict[str, Any], superbill: dict[str, Any] | None, warnings: list[Finding],
                  amount: Decimal, method: str) -> Applied:
    """The event's payment section, the superbill and the warnings with `amount` added to what was collected.

    The payment method stays the visit's, unless nothing was collected then (`none`): it becomes this
    payment's. The `balance_due` warning says the new balance, and goes once nothing is due."""
    collected = (Decimal(str(payment.get("amount_collected") or "0")) + amount).quantize(CENTS)
    visit_method = str(payment.get("method") or "none")
    new_payment = {**payment, "amount_collected": f"{collected:.2f}",
                   "method": method if visit_method == "none" else visit_method}
    total = Decimal(str((superbill or {}).get("total_charge") or "0"))
    balance = max(ZERO, total - collected).quantize(CENTS)
    new_superbill = None if superbill is None else {**superbill, "amount_paid": f"{collected:.2f}",
                                                    "balance_due": f"{balance:.2f}"}
    kept = [w for w in warnings if w.code != codes.BALANCE_DUE]
    if balance > 0:
        due = f"paid {collected:.2f} of {total:.2f}: {balance:.2f} is due"
        kept.append(Finding(code=codes.BALANCE_DUE, message=due))
        order = {code: n for n, code in enumerate(codes.CODE_ORDER)}
        kept.sort(key=lambda f: (order.get(f.code, len(order)), f.code))
    return Applied(payment=new_payment, superbill=new_superbill, warnings=kept, amount_paid=collected,
                   balance_due=balance)


def balance_of(superbill: dict[str, Any] | None, payment: dict[str, Any]) -> Decimal:
    """What the client still owes on a claim: its charge less what was collected, never below zero."""
    total = Decimal(str((superbill or {}).get("total_charge") or "0"))
    collected = Decimal(str(payment.get("amount_collected") or "0"))
    return max(ZERO, total - collected).quantize(CENTS)
