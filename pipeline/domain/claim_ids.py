"""The claim id: the 837P's CLM01 (at most 20 characters), stable for a session."""

from __future__ import annotations

import hashlib
import re

MAX_CLAIM_ID_LENGTH = 20
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]{1,20}")
_HASHED_PREFIX = "S"
# A session id shaped like a derived id is derived too, so that no two sessions share a claim id.
_DERIVED_ID = re.compile(r"S[0-9a-f]{19}")


def claim_id_for(session_id: str) -> str:
    """The session id itself when it is 1-20 of `[A-Za-z0-9_-]` (and not shaped like a derived id), else
    "S" + 19 hex digits of its SHA-256."""
    if _PLAIN_ID.fullmatch(session_id) and not _DERIVED_ID.fullmatch(session_id):
        return session_id
    digest = hashlib.sha256(session_id.encode("utf-8")).hexdigest()
    return _HASHED_PREFIX + digest[: MAX_CLAIM_ID_LENGTH - len(_HASHED_PREFIX)]
