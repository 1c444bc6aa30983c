"""The `AlertPort` over HTTP: the notice is POSTed as JSON to the configured URL."""

from __future__ import annotations

from typing import Any

import requests

from pipeline.application.errors import PeerRefused, PeerUnavailable


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
