"""A claim's frequency (CLM05-3) and what the payer's yes to it means.

An original (`1`) or a replacement (`7`) that the clearinghouse and the payer accept is `accepted`: the payer
will decide on it. A void (`8`) that they accept ends the claim: it is `voided`, and owes nothing. The
payer's reversal of its earlier decision on a voided claim (CLP02 `22` in an 835) keeps it `voided`.

A replacement or a void that never reached the payer's decision (rejected by the clearinghouse or the payer's
277CA, failed, or stopped for a person by the rules) is sent again as what it was: the payer still holds its
decision on the original, so a new original would bill the session twice. A denied claim goes as a new original.
"""

from __future__ import annotations

ORIGINAL = "1"
REPLACEMENT = "7"
VOID = "8"


def status_when_accepted(frequency_code: str) -> str:
    """The final status of a submission the clearinghouse (999) and the payer (277CA) accepted."""
    return "voided" if frequency_code == VOID else "accepted"


def resubmission_frequency(frequency_code: str | None, status: str) -> str:
    """The frequency a resubmission of a claim in `status` goes with, its current submission being
    `frequency_code` (None: an original)."""
    if frequency_code in (REPLACEMENT, VOID) and status in ("rejected", "failed", "needs_attention"):
        return frequency_code
    return ORIGINAL
