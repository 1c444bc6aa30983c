"""The webhook signature: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`."""

from __future__ import annotations

import hashlib
import hmac
import re

TOLERANCE_S = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # unix seconds; a longer number is no timestamp of this era


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class SignatureCheck:
    """The signature checked while the body streams in: the header is judged first (a request without a
    plausible signature is refused before its body is read), then the HMAC is computed chunk by chunk."""

    def __init__(self, header: str | None, secret: str, now: float) -> None:
        self.problem: str | None = None
        self._given: list[str] = []
        self._mac: hmac.HMAC | None = None
        if not header:
            self.problem = "missing X-Signature header"
            return
        parts: dict[str, list[str]] = {}
        for item in header.split(","):
            key, sep, value = item.strip().partition("=")
            if sep:
                parts.setdefault(key, []).append(value.strip())
        stamp = parts.get("t", [""])[0]
        if not _TIMESTAMP.fullmatch(stamp):
            self.problem = "X-Signature has no valid t= timestamp"
        elif abs(now - int(stamp)) > TOLERANCE_S:
            self.problem = "X-Signature timestamp is more than 5 minutes off"
        else:
            self._given = parts.get("v1", [])
            self._mac = hmac.new(secret.encode(), f"{stamp}.".encode(), hashlib.sha256)

    def update(self, chunk: bytes) -> None:
        if self._mac is not None:
            self._mac.update(chunk)

    def verdict(self) -> str | None:
        """None when the signature is good, else a short reason (safe to show to the sender)."""
        if self._mac is None:  # the header itself was refused
            return self.problem
        expected = self._mac.hexdigest()
        if not any(hmac.compare_digest(expected, given) for given in self._given):
            return "X-Signature does not match the body"
        return None


def signature_problem(header: str | None, secret: str, body: bytes, now: float) -> str | None:
    """None when the signature is good, else a short reason (safe to show to the sender)."""
    check = SignatureCheck(header, secret, now)
    check.update(body)
    return check.verdict()
