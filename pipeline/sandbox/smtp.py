"""The sandbox mail server: an SMTP server (aiosmtpd) on loopback that keeps every message it takes, for the
demo and the tests, with faults injected on request.

A fault spec is a comma-separated list of ``key=value`` pairs, e.g. ``fail_first=3,fail_code=451``:

| key | meaning | default |
|---|---|---|
| ``fail_first`` | the first N mail transactions are answered ``fail_code`` (nothing is kept) | 0 |
| ``fail_code`` | the answer of a failed transaction: 4xx (try later) or 5xx (never) | 451 |
| ``fail_at`` | where the failure is answered: ``rcpt`` or ``data`` (after the whole message) | data |
| ``stall_first`` | the first N transactions are held ``stall_ms`` | 0 |
| ``stall_ms`` | how long a stalled transaction is held | 30000 |
| ``stall_at`` | ``rcpt``: before the answer to RCPT TO; ``data``: after the message is taken, before its 250 | rcpt |

A client that goes away during a ``data`` stall cannot know that its message was taken: that is SMTP's
window for a duplicate, which the tests pin down.

A message counts as taken when the server answers 250 to its end of data; a client that goes away before
that leaves nothing behind (RFC 5321 section 4.1.1.4). ``GET /_sandbox/mail`` on the sandbox's HTTP port
lists what was taken (Message-ID, recipient, subject, attachments) and how often each Message-ID arrived.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from typing import Any

import structlog
from aiosmtpd.controller import Controller

log = structlog.get_logger("pipeline.sandbox.smtp")

_INT_KEYS = ("fail_first", "fail_code", "stall_first", "stall_ms")
_WHERE = ("rcpt", "data")


@dataclass(frozen=True)
class MailFaults:
    fail_first: int = 0
    fail_code: int = 451
    fail_at: str = "data"
    stall_first: int = 0
    stall_ms: int = 30_000
    stall_at: str = "rcpt"

    def __post_init__(self) -> None:
        if self.stall_at not in _WHERE:
            raise ValueError(f"stall_at must be rcpt or data, got {self.stall_at!r}")
        if not 400 <= self.fail_code <= 599:
            raise ValueError(f"fail_code must be a 4xx or 5xx code, got {self.fail_code}")
        if self.fail_at not in ("rcpt", "data"):
            raise ValueError(f"fail_at must be rcpt or data, got {self.fail_at!r}")
        for key in ("fail_first", "stall_first", "stall_ms"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must not be negative")

    def to_spec(self) -> str:
        default = MailFaults()
        return ",".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self)
                        if getattr(self, f.name) != getattr(default, f.name))


def parse_mail_faults(spec: str) -> MailFaults:
    """Parse ``fail_first=3,fail_code=451``; ValueError names an unknown key or a bad value."""
    values: dict[str, Any] = {}
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        key, sep, text = (part.strip() for part in item.partition("="))
        if not sep:
            raise ValueError(f"mail fault {key!r} needs a value (key=value)")
        if key in values:
            raise ValueError(f"mail fault {key!r} given twice")
        if key in _INT_KEYS:
            try:
                values[key] = int(text)
            except ValueError:
                raise ValueError(f"mail fault {key!r} must be a whole number, got {text!r}") from None
        elif key in ("fail_at", "stall_at"):
            values[key] = text
        else:
            raise ValueError(f"unknown mail fault {key!r}")
    return MailFaults(**values)


@dataclass
class Mailbox:
    """What the sandbox mail server took, and its faults. Thread-safe."""

    faults: MailFaults = field(default_factory=MailFaults)
    messages: list[dict[str, Any]] = field(default_factory=list)
    transactions: int = 0
    connections: int = 0  # the connections that carried at least one transaction
    stalled: int = 0
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_faults(self, faults: MailFaults) -> None:
        with self.lock:
            self.faults = faults
            self.transactions = self.connections = self.stalled = self.failed = 0

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.transactions = self.connections = self.stalled = self.failed = 0

    def view(self) -> dict[str, Any]:
        with self.lock:
            by_id: dict[str, int] = {}
            for m in self.messages:
                by_id[m["message_id"]] = by_id.get(m["message_id"], 0) + 1
            return {"messages": list(self.messages), "by_message_id": by_id, "transactions": self.transactions,
                    "connections": self.connections,
                    "stalled": self.stalled, "failed": self.failed, "faults": asdict(self.faults),
                    "spec": self.faults.to_spec()}


def _parsed(raw: bytes, rcpt_tos: list[str]) -> dict[str, Any]:
    # compat32 with the encoded words decoded here: what the default policy reads, several times cheaper
    msg = message_from_bytes(raw, policy=policy.compat32)
    attachments = []
    body = ""
    for part in msg.walk():
        if part.is_multipart():
            continue
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        filename = part.get_filename()
        if filename:
            attachments.append({"filename": _decoded(filename), "content_type": part.get_content_type(),
                                "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()})
        elif part.get_content_type() == "text/plain" and not body:
            body = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return {"message_id": _decoded(msg.get("Message-ID")), "to": rcpt_tos, "from": _decoded(msg.get("From")),
            "subject": _decoded(msg.get("Subject")), "body": body, "attachments": attachments,
            "received_at": time.time()}


def _decoded(value: Any) -> str:
    """A header's text with its RFC 2047 encoded words decoded and its folding undone."""
    if not value:
        return ""
    return str(make_header(decode_header(str(value).replace("\r\n", "").replace("\n", ""))))


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        box = self.box
        with box.lock:
            box.transactions += 1
            if not getattr(session, "sandbox_counted", False):
                box.connections += 1
                session.sandbox_counted = True
            n, faults = box.transactions, box.faults
            session.sandbox_n = n
            stall = n <= faults.stall_first and faults.stall_at == "rcpt"
            if stall:
                box.stalled += 1
        if stall:
            log.info("sandbox.smtp.stall", transaction=n, stall_ms=faults.stall_ms)
            await asyncio.sleep(faults.stall_ms / 1000)
        if faults.fail_at == "rcpt" and n <= faults.fail_first:
            return self._fail(n, faults)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        box = self.box
        n = getattr(session, "sandbox_n", 0)
        faults = box.faults
        if faults.fail_at == "data" and n <= faults.fail_first:
            return self._fail(n, faults)
        record = _parsed(bytes(envelope.content), list(envelope.rcpt_tos))
        with box.lock:
            box.messages.append(record)
            stall = n <= faults.stall_first and faults.stall_at == "data"
            if stall:
                box.stalled += 1
        log.info("sandbox.smtp.taken", transaction=n, message_id=record["message_id"])
        if stall:  # taken, but the answer is late: the client cannot know
            log.info("sandbox.smtp.stall", transaction=n, stall_ms=faults.stall_ms, after="data")
            await asyncio.sleep(faults.stall_ms / 1000)
        return "250 Message accepted for delivery"

    def _fail(self, n: int, faults: MailFaults) -> str:
        with self.box.lock:
            self.box.failed += 1
        log.info("sandbox.smtp.fault", transaction=n, code=faults.fail_code)
        if faults.fail_code < 500:
            return f"{faults.fail_code} 4.3.0 Sandbox: temporarily unavailable, try again later"
        return f"{faults.fail_code} 5.7.1 Sandbox: message refused"


class SandboxMailServer:
    """The SMTP server in a background thread; ``port=0`` picks a free port."""

    def __init__(self, box: Mailbox | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 tls_context: Any = None) -> None:
        """With `tls_context` (an `ssl.SSLContext`), the server offers STARTTLS and requires it."""
        self.box = box or Mailbox()
        self.host = host
        # aiosmtpd logs every command line at INFO, recipients included: contact details stay out of the logs
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        tls = {"tls_context": tls_context, "require_starttls": True} if tls_context is not None else {}
        self._controller = Controller(_Handler(self.box), hostname=host, port=port or _free_port(host),
                                      ready_timeout=10, **tls)

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def start(self) -> SandboxMailServer:
        self._controller.start()
        log.info("sandbox.smtp.start", host=self.host, port=self.port, faults=self.box.faults.to_spec())
        return self

    def stop(self) -> None:
        self._controller.stop()


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
