"""Stedi's webhook deliveries: who sent them, and whether they announce a transaction the poll should take.

Two ways Stedi delivers events, both documented (read December 2026):

- Event destinations, signed as the Standard Webhooks specification says: headers `webhook-id`,
  `webhook-timestamp` (unix seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256>` entries separated by
  spaces), the HMAC keyed with the destination's signing secret (`whsec_<base64 key>`) over
  `"<webhook-id>.<webhook-timestamp>.<raw body>"`. Thin events: `type` (`transaction.processed`,
  `file.processed`, ...), `resource`, and `relatedResources` whose `type` names the transaction set
  (`transaction.x12.835`). https://www.stedi.com/docs/healthcare/event-destinations-event-types ;
  https://www.stedi.com/changelog/event-destinations-now-support-file-processing-events ;
  https://www.standardwebhooks.com
- Webhooks with a credential set of API keys: a header of our choosing with a value of our choosing (we
  document `Authorization: Bearer <token>`); the event is `transaction.processed.v2` with
  `detail.x12.metadata.transaction.transactionSetIdentifier`.
  https://www.stedi.com/docs/healthcare/configure-webhooks ; https://stedi.com/docs/operate/event-types

An event is only a nudge: nothing in it is taken as data. The transactions themselves still come from the
authenticated transaction poll, which takes each one once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Any

TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format of a secret, not one
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# The transaction sets a poll takes for the pipeline: payer 277CAs and 835s; Stedi's 999s for claims sent by
# API come back in the submission's answer, not through the poll.
WANTED_SETS = frozenset({"277", "835"})


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_...` signing secret; ValueError when it is not one."""
    raw = secret.strip()
    if raw.startswith(SECRET_PREFIX):
        raw = raw[len(SECRET_PREFIX):]
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a Stedi signing secret is whsec_ followed by base64") from None
    if len(key) < 16:
        raise ValueError("a Stedi signing secret is whsec_ followed by base64 of at least 16 bytes")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header for this delivery (the sandbox signs with it; so do the tests)."""
    mac = hmac.new(secret_key(secret), f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def signature_problem(secret: str, *, message_id: str | None, timestamp: str | None, signature: str | None,
                      body: bytes, now: float) -> str | None:
    """None when the delivery is signed with this secret and recent, else a short reason safe to answer."""
    if not message_id or not timestamp or not signature:
        return "missing webhook-id, webhook-timestamp or webhook-signature header"
    if not _TIMESTAMP.fullmatch(timestamp.strip()):
        return "webhook-timestamp is not a unix time"
    if abs(now - int(timestamp)) > TOLERANCE_S:
        return "webhook-timestamp is more than 5 minutes off"
    expected = sign(secret, message_id, int(timestamp), body).partition(",")[2]
    for entry in signature.split():
        version, _, given = entry.partition(",")
        if version == "v1" and hmac.compare_digest(expected, given):
            return None
    return "webhook-signature does not match the body"


def token_problem(expected: str, authorization: str | None) -> str | None:
    """None when `Authorization: Bearer <token>` carries the expected token, else a short reason."""
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given:
        return "missing Authorization: Bearer token"
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return "the Authorization token is not the one set up for Stedi's webhook"
    return None


def transaction_sets(event: Any) -> set[str]:
    """The X12 transaction sets an event names (`{"835"}`), from either delivery's shape; empty when none."""
    if not isinstance(event, dict):
        return set()
    found: set[str] = set()
    for related in event.get("relatedResources") or []:
        kind = related.get("type") if isinstance(related, dict) else None
        if isinstance(kind, str) and kind.startswith("transaction.x12."):
            found.add(kind.rpartition(".")[2])
    kind = _at(event, "detail", "x12", "metadata", "transaction", "transactionSetIdentifier")
    if isinstance(kind, str) and kind:
        found.add(kind)
    return found


def _at(document: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def event_type(event: Any) -> str:
    """`type` (event destinations) or `detail-type` (webhooks), for the log; empty when neither."""
    if not isinstance(event, dict):
        return ""
    value = event.get("type") or event.get("detail-type") or ""
    return value[:80] if isinstance(value, str) else ""


def announces_wanted(event: Any) -> bool:
    """Whether the poll should run soon: a processed file or transaction naming a 277 or 835, or one that names
    no transaction set at all (a file.processed of an unknown kind: polling once costs little)."""
    kind = event_type(event)
    if not (kind.startswith("transaction.processed") or kind.startswith("file.processed")):
        return False
    sets = transaction_sets(event)
    return not sets or bool(sets & WANTED_SETS)
