"""The alert notice for a claim that ended failed, rejected or needs_attention: codes, never patient data."""

from __future__ import annotations

from typing import Any

from schemas.claim import Claim


def alert_notice(claim: Claim) -> dict[str, Any]:
    return {
        "type": f"claim.{claim.status}",
        "claim_id": claim.claim_id,
        "route": claim.route,
        "status": claim.status,
        "reason_codes": [p.code for p in claim.problems],
        "peer_reasons": claim.peer_reasons,
        "last_error": claim.last_error,
        "attempts": claim.attempts,
    }
