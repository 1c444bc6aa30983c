"""Ports to the outside peers: a clearinghouse (837P) and a billing service (courtesy superbills).

The practice can change either peer: the pipeline only speaks these interfaces. HTTP adapters live in
`pipeline.clearinghouse_http` and `pipeline.billing_service_http`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Outcome = Literal["accepted", "rejected", "pending"]


@dataclass(frozen=True)
class PeerAnswer:
    """What a peer said about one submission (one idempotency key)."""

    outcome: Outcome
    reference: str | None = None
    reasons: list[str] = field(default_factory=list)
    file_accepted: bool = True  # clearinghouse: the 999; a rejected file is a rejected claim
    raw: dict[str, Any] = field(default_factory=dict)


class ClearinghousePort(Protocol):
    name: str

    def submit(self, x12: str, *, idempotency_key: str) -> PeerAnswer:
        """Send one 837P. Raises PeerUnavailable (retry) or PeerRefused (do not)."""
        ...

    def lookup(self, idempotency_key: str) -> PeerAnswer | None:
        """What happened to this key: None when the peer never took it."""
        ...


class BillingServicePort(Protocol):
    name: str

    def submit(self, payload: dict[str, Any], *, idempotency_key: str) -> PeerAnswer:
        ...

    def lookup(self, idempotency_key: str) -> PeerAnswer | None:
        ...


class AlertPort(Protocol):
    def notify(self, notice: dict[str, Any]) -> None:
        ...
