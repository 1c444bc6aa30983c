"""The claim id: the 837P's CLM01 (at most 20 characters), stable for a session."""

from __future__ import annotations

import hashlib
import re

MAX_CLAIM_ID_LENGTH = 20
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]{1,20}")
_HASHED_PREFIX = "S"


def claim_id_for(session_id: str) -> str:
    """The session id itself when it is 1-20 of `[A-Za-z0-9_-]`, else "S" + 19 hex digits of its SHA-256."""
    if _PLAIN_ID.fullmatch(session_id):
        return session_id
    digest = hashlib.sha256(session_id.encode("utf-8")).hexdigest()
    return _HASHED_PREFIX + digest[: MAX_CLAIM_ID_LENGTH - len(_HASHED_PREFIX)]
