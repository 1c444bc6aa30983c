"""Provider-level adjustments (PLB) that move a claim's money: pure rules.

A payer takes back an earlier overpayment (`WO` overpayment recovery, `FB` forwarding balance, `J1`
nonreimbursable) off a later payment, and names in PLB03-2 what it recovers for: the payer claim number
(CLP07) of the claim, our claim id (CLP01), both (X12 RFI 2370: CLP01, CLP07, then the trace number), or a
financial control number of its own letter. A positive amount is taken off the payment (money taken back from
the claim); a negative one is added to it (a recovery delayed or given back: money the claim keeps). The
other codes (interest, `72` authorized return acknowledging a refund the practice sent, ...) are about the
whole payment, not a claim's money.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from schemas.remittance import ProviderAdjustment

ZERO = Decimal(0)
# A recovery for a claim no payment of the payer is posted to yet waits this long after its file was received
# for the claim's own payment (another file not received or posted yet, or the claim still on its way).
RECOVERY_WAITS = timedelta(days=30)
NEVER_PAID_STATUSES = frozenset({"voided"})  # a claim in these receives no payment of the payer any more
CLAIM_RECOVERY_CODES = frozenset({"WO", "FB", "J1"})
_SEPARATORS = re.compile(r"[\s,;/|]+")


def moves_claim_money(adjustment: ProviderAdjustment) -> bool:
    """Whether the adjustment is posted against the claim its reference names."""
    return adjustment.reason in CLAIM_RECOVERY_CODES


def reference_candidates(reference: str | None) -> list[str]:
    """What in PLB03-2 may name a claim: the whole reference, then each of its parts (a payer that gives
    CLP01 and CLP07 separates them with a blank, a comma, a semicolon, a slash or a bar)."""
    if not reference or not reference.strip():
        return []
    whole = reference.strip()
    parts = [p for p in _SEPARATORS.split(whole) if p]
    return list(dict.fromkeys([whole, *parts]))


def received(paid: Decimal | None, recovered: Decimal | None) -> Decimal:
    """What the practice has from the payer for a claim: what its remittances paid, less what the payer took
    back by provider-level recoveries (plus what it added back)."""
    return (paid or ZERO) - (recovered or ZERO)


def recovery_problem(amount: Decimal, paid: Decimal | None, recovered: Decimal | None) -> str | None:
    """Why a recovery cannot be posted to the claim (None: it can): the payer never takes back more than the
    claim has received."""
    have = received(paid, recovered)
    if amount > ZERO and amount > have:
        return f"the payer recovers {amount:.2f} but the claim has {have:.2f} received from the payer"
    return None


def fully_recovered(amount: Decimal, paid: Decimal | None, recovered: Decimal | None) -> bool:
    """Whether the recovery takes back everything the claim had received."""
    return amount > ZERO and received(paid, recovered) - amount == ZERO


def why_no_payment_will_come(status: str, waited: timedelta) -> str | None:
    """Why a recovery whose claim has no payment of the payer posted stops waiting for one (None: it waits,
    tried again with the file): the claim can receive none any more, or it waited `RECOVERY_WAITS`."""
    if status in NEVER_PAID_STATUSES:
        return f"no payment of the payer was posted to this claim, and it is {status}: none will be"
    if waited >= RECOVERY_WAITS:
        return (f"no payment of the payer was posted to this claim within {RECOVERY_WAITS.days} days of this "
                "file: post it by hand once the claim's payment is posted")
    return None
