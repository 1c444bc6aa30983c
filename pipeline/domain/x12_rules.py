"""What an X12 element can carry, in one place: the character set, separators, and the checks that
say, field by field, what in a claim's data an 837P cannot carry as sent.

Pure: used by the rules (to route such a claim to needs attention) and by the 837P renderer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from schemas.event import SessionCompleted

ELEMENT_SEPARATOR = "*"
COMPONENT_SEPARATOR = ":"
REPETITION_SEPARATOR = "^"
SEGMENT_TERMINATOR = "~"
SEPARATORS = frozenset(ELEMENT_SEPARATOR + COMPONENT_SEPARATOR + REPETITION_SEPARATOR + SEGMENT_TERMINATOR)


# Characters kept in free text: the X12 basic character set (upper case) plus a few common
# extended ones, never a separator.
_FREE_TEXT_DROP = re.compile(r"""[^A-Z0-9 !"&'()+,\-./;?=#@%]""")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\D")


def clean_text(value: str | None) -> str:
    """Free text for an X12 element: ASCII, upper case, no separators, single spaces."""
    if not value:
        return ""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    upper = _SPACES.sub(" ", ascii_text.upper())
    return _SPACES.sub(" ", _FREE_TEXT_DROP.sub("", upper)).strip()


def required_text(value: str | None, what: str) -> str:
    text = clean_text(value)
    if not text:
        raise ValueError(f"{what} is empty after removing characters X12 cannot carry")
    return text


def identifier(value: str | None, what: str, max_length: int = 80) -> str:
    """An identifier is sent exactly: it may not hold a separator, and is never rewritten."""
    text = (value or "").strip()
    if not text:
        raise ValueError(f"{what} is missing")
    bad = sorted({c for c in text if c in SEPARATORS or not (" " <= c <= "~")})
    if bad:
        raise ValueError(f"{what} contains characters an 837P cannot carry")
    if len(text) > max_length:
        raise ValueError(f"{what} is longer than {max_length} characters")
    return text


def digits_of(value: str | None) -> str:
    return _DIGITS.sub("", value or "")


def phone(value: str) -> str:
    digits = digits_of(value)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        raise ValueError("phone is not a 10-digit North American number")
    return digits


def zip_code(value: str, what: str, *, nine_digits: bool = False) -> str:
    digits = digits_of(value)
    allowed = (9,) if nine_digits else (5, 9)
    if len(digits) not in allowed:
        shape = "9 digits" if nine_digits else "5 or 9 digits"
        raise ValueError(f"{what} ZIP code must have {shape}")
    return digits


def state_code(value: str, what: str) -> str:
    state = clean_text(value)
    if not re.fullmatch(r"[A-Z]{2}", state):
        raise ValueError(f"{what} state is not a two-letter code")
    return state


def subscriber_data_problems(event: SessionCompleted) -> list[str]:
    """What in the client's and coverage's data an 837P cannot carry as sent, by field (never the values).

    The rules call this for VA claims, so that such a claim needs attention instead of failing to render.
    """
    client = event.client
    checks: list[tuple[str, Callable[[], object]]] = [
        ("coverage.member_id", lambda: identifier(event.coverage.member_id, "member id")),
        ("client.last_name", lambda: required_text(client.last_name, "client last name")),
        ("client.address.line1", lambda: required_text(client.address.line1, "client address line 1")),
        ("client.address.city", lambda: required_text(client.address.city, "client city")),
        ("client.address.state", lambda: state_code(client.address.state, "client")),
        ("client.address.postal_code", lambda: zip_code(client.address.postal_code, "client")),
    ]
    problems = []
    for field, check in checks:
        try:
            check()
        except ValueError as exc:
            problems.append(f"{field}: {exc}")
    return problems
