"""The alert notice for a claim that ended failed, rejected or needs_attention: codes, never patient data
and never a peer's free text (which may quote it)."""

from __future__ import annotations

from typing import Any

from pipeline.application.reason_codes import error_code, peer_reason_code
from schemas.claim import Claim


def alert_notice(claim: Claim) -> dict[str, Any]:
    notice = _notice(claim)
    if claim.status in ("paid", "denied", "accepted") and claim.remittance_ids:
        notice["denial_codes"] = [r.get("code") for r in claim.denial_reasons]
        notice["paid_amount"] = f"{claim.paid_amount or 0:.2f}"
        notice["patient_responsibility"] = f"{claim.patient_responsibility or 0:.2f}"
        if claim.coverage_kind == "va_ccn" and (claim.patient_responsibility or 0) > 0 and claim.status != "denied":
            notice["type"] = "claim.patient_responsibility"  # a veteran is never charged: a person must look
        if claim.status == "paid" and claim.denied_parts:  # a split claim paid for a part, the rest denied
            notice["denied_part_codes"] = list(dict.fromkeys(
                r.get("code") for part in claim.denied_parts for r in part.get("reasons") or []))
            if notice["type"] == "claim.paid":
                notice["type"] = "claim.part_denied"
        # a denial stays `claim.denied` (its patient responsibility is in the notice): a rule that watches
        # denials must not miss the VA's denials that name the veteran's share (PR-96, PR-204)
    return notice


def _notice(claim: Claim) -> dict[str, Any]:
    return {
        "type": f"claim.{claim.status}",
        "claim_id": claim.claim_id,
        "route": claim.route,
        "status": claim.status,
        "reason_codes": [p.code for p in claim.problems],
        "peer_reason_codes": list(dict.fromkeys(peer_reason_code(r) for r in claim.peer_reasons or [])),
        "error_code": error_code(claim.last_error),
        "attempts": claim.attempts,
    }
