"""A claim's frequency (CLM05-3) and what the payer's yes to it means.

An original (`1`) or a replacement (`7`) that the clearinghouse and the payer accept is `accepted`: the payer
will decide on it. A void (`8`) that they accept ends the claim: it is `voided`, and owes nothing. The
payer's reversal of its earlier decision on a voided claim (CLP02 `22` in an 835) keeps it `voided`.
"""

from __future__ import annotations

ORIGINAL = "1"
REPLACEMENT = "7"
VOID = "8"


def status_when_accepted(frequency_code: str) -> str:
    """The final status of a submission the clearinghouse (999) and the payer (277CA) accepted."""
    return "voided" if frequency_code == VOID else "accepted"
