"""The webhook signature: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`."""

from __future__ import annotations

import hashlib
import hmac

TOLERANCE_S = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_problem(header: str | None, secret: str, body: bytes, now: float) -> str | None:
    """None when the signature is good, else a short reason (safe to show to the sender)."""
    if not header:
        return "missing X-Signature header"
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value.strip())
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return "X-Signature has no valid t= timestamp"
    if abs(now - timestamp) > TOLERANCE_S:
        return "X-Signature timestamp is more than 5 minutes off"
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        return "X-Signature does not match the body"
    return None
