"""The clearinghouse adapter over HTTP: POST the 837P with an Idempotency-Key; ask about a key after a crash."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from pipeline.adapters.http_peer import PeerClient, reasons_of
from pipeline.application.errors import PeerUnavailable
from pipeline.application.ports import PeerAnswer, RemittanceBatch, RemittanceFile


def _answer(body: dict[str, Any]) -> PeerAnswer:
    ack999 = body.get("ack999") or {}
    if ack999.get("status") == "rejected":
        return PeerAnswer(outcome="rejected", file_accepted=False, raw=body,
                          reasons=[f"999: {e}" for e in ack999.get("errors") or []] or ["999: file rejected"])
    ack = body.get("ack277ca") or {}
    status = ack.get("status", "pending")
    outcome = status if status in ("accepted", "rejected") else "pending"
    reasons = [f"277CA: {r}" for r in ack.get("reasons") or []]
    reference = ack.get("payer_claim_number") or body.get("submission_id")
    return PeerAnswer(outcome=outcome, reference=reference, reasons=reasons, raw=body)


class HttpClearinghouse:
    name = "clearinghouse"

    def __init__(self, client: PeerClient) -> None:
        self.client = client

    def submit(self, x12: str, *, idempotency_key: str) -> PeerAnswer:
        response = self.client.request(
            "POST", "/v1/claims", idempotency_key=idempotency_key, data=x12.encode(),
            headers={"Content-Type": "application/edi-x12"},
        )
        assert response is not None
        return _parse(response)

    def lookup(self, idempotency_key: str) -> PeerAnswer | None:
        response = self.client.request("GET", f"/v1/claims/by-key/{quote(idempotency_key, safe='')}",
                                       allow_404=True)
        return None if response is None else _parse(response)


    def remittances(self, cursor: str | None) -> RemittanceBatch:
        """`GET .../v1/remittances?after=<cursor>`: `{"remittances": [{"remittance_id", "x12", "cursor"}],
        "cursor", "has_more"}`."""
        response = self.client.request("GET", "/v1/remittances", params={"after": cursor} if cursor else {})
        assert response is not None
        try:
            body = response.json()
            files = [RemittanceFile(source_id=str(item.get("remittance_id") or ""), x12=str(item["x12"]),
                                    cursor=item.get("cursor")) for item in body.get("remittances") or []]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise PeerUnavailable(self.name, "answered a remittance feed it could not read") from None
        return RemittanceBatch(files=files, cursor=body.get("cursor") or cursor, has_more=bool(body.get("has_more")))


def _parse(response: requests.Response) -> PeerAnswer:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 422 and not body.get("ack999"):
        return PeerAnswer(outcome="rejected", file_accepted=False, reasons=reasons_of(response), raw=body)
    return _answer(body)
