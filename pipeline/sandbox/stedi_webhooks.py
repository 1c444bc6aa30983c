"""The Stedi shape's webhook deliveries: each transaction the sandbox processes is announced to a URL as a
thin `transaction.processed` event, signed as Stedi's event destinations sign (the Standard Webhooks scheme:
`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`,
keyed with the base64 key of a `whsec_...` secret). A delivery that fails is tried again, as Stedi does, a
few times.

Set up by `superbill sandbox` from `SUPERBILL_SANDBOX_STEDI_WEBHOOK_URL` and `SUPERBILL_STEDI_WEBHOOK_SECRET`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
import structlog

log = structlog.get_logger("pipeline.sandbox.stedi_webhooks")

ATTEMPTS = 5


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def thin_event(transaction_id: str, transaction_set: str) -> dict[str, object]:
    return {"id": f"evt_{uuid.uuid4()}", "type": "transaction.processed",
            "resource": {"id": transaction_id, "type": "transaction"},
            "relatedResources": [{"id": transaction_id, "type": f"transaction.x12.{transaction_set}"}]}


@dataclass
class WebhookSender:
    """Every `every_s`, processes what is due (`publish`) and delivers one event per transaction."""

    url: str
    secret: str
    publish: Callable[[], list[tuple[str, str]]]
    every_s: float = 0.25
    delivered: int = 0
    failed: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _session: requests.Session = field(default_factory=requests.Session)

    def start(self) -> WebhookSender:
        self._thread = threading.Thread(target=self._run, name="stedi-webhooks", daemon=True)
        self._thread.start()
        log.info("sandbox.stedi.webhooks", url=self.url)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                for transaction_id, transaction_set in self.publish():
                    self.deliver(thin_event(transaction_id, transaction_set))
            except Exception as exc:  # the sender keeps going whatever one round met
                log.warning("sandbox.stedi.webhook_round_failed", error=f"{type(exc).__name__}: {exc}")

    def deliver(self, event: dict[str, object]) -> bool:
        body = json.dumps(event).encode()
        message_id = f"msg_{uuid.uuid4()}"
        for attempt in range(1, ATTEMPTS + 1):
            stamp = int(time.time())
            headers = {"webhook-id": message_id, "webhook-timestamp": str(stamp), "attempt-number": str(attempt),
                       "webhook-signature": standard_signature(self.secret, message_id, stamp, body),
                       "Content-Type": "application/json"}
            try:
                answer = self._session.post(self.url, data=body, headers=headers, timeout=5)
                if 200 <= answer.status_code < 300:
                    self.delivered += 1
                    log.info("sandbox.stedi.webhook_delivered", event_id=event["id"], status=answer.status_code)
                    return True
                log.info("sandbox.stedi.webhook_refused", event_id=event["id"], status=answer.status_code)
            except requests.RequestException as exc:
                log.info("sandbox.stedi.webhook_unreachable", event_id=event["id"], error=type(exc).__name__)
            if self._stop.wait(min(5.0, 0.5 * attempt)):
                break
        self.failed += 1
        return False
