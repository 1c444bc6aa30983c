"""Alerts: a short notice (claim id, route, reason codes; never patient data) POSTed to a configured URL."""

from __future__ import annotations

from typing import Any

import requests

from pipeline.errors import PeerRefused, PeerUnavailable
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


class HttpAlerts:
    def __init__(self, url: str, *, timeout_s: float) -> None:
        self.url = url
        self.timeout_s = timeout_s

    def notify(self, notice: dict[str, Any]) -> None:
        try:
            response = requests.post(self.url, json=notice, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise PeerUnavailable("alerts", type(exc).__name__) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise PeerUnavailable("alerts", f"answered {response.status_code}")
        if response.status_code >= 400:
            raise PeerRefused("alerts", response.status_code, [response.text[:200]])
