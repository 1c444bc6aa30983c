"""The billing-service adapter over HTTP: the courtesy superbill as JSON with its PDF, idempotently."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from pipeline.adapters.http_peer import PeerClient, reasons_of
from pipeline.application.ports import PeerAnswer


class HttpBillingService:
    name = "billing_service"

    def __init__(self, client: PeerClient) -> None:
        self.client = client

    def submit(self, payload: dict[str, Any], *, idempotency_key: str) -> PeerAnswer:
        response = self.client.request("POST", "/v1/superbills", idempotency_key=idempotency_key, json=payload)
        assert response is not None
        return _parse(response)

    def lookup(self, idempotency_key: str) -> PeerAnswer | None:
        response = self.client.request(
            "GET", f"/v1/superbills/by-key/{quote(idempotency_key, safe='')}", allow_404=True
        )
        return None if response is None else _parse(response)


def _parse(response: requests.Response) -> PeerAnswer:
    try:
        body = response.json()
    except ValueError:
        body = {}
    status = body.get("status")
    if response.status_code == 422 or status == "rejected":
        return PeerAnswer(outcome="rejected", reasons=reasons_of(response), raw=body,
                          file_accepted=response.status_code != 422)
    if status == "accepted":
        return PeerAnswer(outcome="accepted", reference=body.get("reference"), raw=body)
    return PeerAnswer(outcome="pending", reference=body.get("reference"), raw=body)
