"""What an X12 element can carry, in one place: the separators, the character set, the element limits of
005010X222A1 for every event field an 837P carries, and the checks that say, field by field, what in a
claim's data an 837P cannot carry as sent.

The rules, shared by the renderer and the checks:
- Names (NM103, NM104) are cut to the element's maximum: a payer matches on the member id, and a cut name
  is still the person's name.
- Free text is written in the X12 character set, upper case. Accents are dropped ("José" -> "JOSE") and a
  few letters have a customary spelling ("ß" -> "SS", "Ø" -> "O"); a letter or digit with no faithful
  ASCII form ("李", an Arabic-Indic digit) makes the field one the 837P cannot carry. Punctuation X12
  cannot hold is dropped.
- Addresses and cities are never cut: a cut address is a wrong address. Too long is `claim_data_invalid`.
- Identifiers (member id, referral number, NPIs) are sent exactly as given, or not at all.

Pure: no I/O. The code lists (states, places of service) come from pyx12 in `pipeline.documents`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from schemas.event import SessionCompleted

ELEMENT_SEPARATOR = "*"
COMPONENT_SEPARATOR = ":"
REPETITION_SEPARATOR = "^"
SEGMENT_TERMINATOR = "~"
SEPARATORS = frozenset(ELEMENT_SEPARATOR + COMPONENT_SEPARATOR + REPETITION_SEPARATOR + SEGMENT_TERMINATOR)


@dataclass(frozen=True)
class Limit:
    """An element's length bounds and whether a longer value may be cut to fit."""

    element: str
    min_length: int
    max_length: int
    truncate: bool = False


# The element limits of 005010X222A1 for what the 837P carries; the renderer and the checks read them here.
PERSON_LAST_NAME = Limit("NM103", 1, 60, truncate=True)
PERSON_FIRST_NAME = Limit("NM104", 1, 35, truncate=True)
ORGANIZATION_NAME = Limit("NM103", 1, 60)
ADDRESS_LINE = Limit("N301", 1, 55)
CITY = Limit("N401", 2, 30)
MEMBER_ID = Limit("NM109", 2, 80)
REFERRAL_NUMBER = Limit("REF02", 1, 50)
NPI = Limit("NM109", 10, 10)
ISA_ID = Limit("ISA06", 1, 15)
GS_ID = Limit("GS02", 2, 15)
SUBMITTER_ID = Limit("NM109", 2, 80)
TAXONOMY = Limit("PRV03", 10, 10)
DIAGNOSIS = Limit("HI01-2", 1, 30)
PROCEDURE = Limit("SV101-2", 1, 48)
MODIFIER = Limit("SV101-3", 2, 2)

# Characters kept in free text: the X12 basic character set, upper case, plus a few common extended ones,
# never a separator.
_KEPT_PUNCTUATION = frozenset(" !\"&'()+,-./;?=#@%")
# Letters that Unicode does not decompose, with their customary ASCII spelling.
_SPELLED = {"ß": "SS", "Æ": "AE", "Ø": "O", "Ł": "L", "Đ": "D", "Þ": "TH", "Œ": "OE", "Ð": "D", "Ħ": "H",
            "ı": "I", "Ŋ": "NG", "ĸ": "K"}
# Typographic punctuation with a plain equivalent.
_PLAIN = {"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "‐": "-", "‑": "-", "‒": "-", "–": "-",
          "—": "-", "−": "-", "\u00a0": " "}
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\D")


class CannotCarry(ValueError):
    """A value an X12 element cannot carry as sent. The message names the element's field, never the value."""


def x12_text(value: str | None) -> str | None:
    """`value` in the X12 character set, upper case, single spaces; None when a letter or digit in it has no
    faithful ASCII form. Punctuation X12 cannot carry is dropped."""
    if value is None:
        return ""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", value.upper()):
        ch = _PLAIN.get(ch, ch)
        if unicodedata.combining(ch):
            continue
        if ch in _SPELLED:
            out.append(_SPELLED[ch])
        elif ch.isascii() and (ch.isalnum() or ch in _KEPT_PUNCTUATION):
            out.append(ch)
        elif ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch)[0] in "LN":
            return None  # a letter or digit that only a guess could spell in ASCII
    return _SPACES.sub(" ", "".join(out)).strip()


def clean_text(value: str | None) -> str:
    """Optional free text for an element: its X12 form, or empty when it has none."""
    return x12_text(value) or ""


def required_text(value: str | None, what: str, limit: Limit | None = None) -> str:
    """Free text an element must carry: in the X12 character set, within the limit (cut when the element
    allows it); CannotCarry otherwise."""
    text = x12_text(value)
    if text is None:
        raise CannotCarry(f"{what} has letters or digits with no X12 (ASCII) spelling")
    if not text or not any(c.isalnum() for c in text):
        raise CannotCarry(f"{what} is empty once the characters X12 cannot carry are left out")
    if limit is not None:
        if len(text) > limit.max_length:
            if not limit.truncate:
                raise CannotCarry(f"{what} is longer than {limit.max_length} characters ({limit.element})")
            text = text[: limit.max_length].rstrip()
        if len(text) < limit.min_length:
            raise CannotCarry(f"{what} is shorter than {limit.min_length} characters ({limit.element})")
    return text


def identifier(value: str | None, what: str, max_length: int = 80, *, min_length: int = 1) -> str:
    """An identifier is sent exactly: it may not hold a separator or a non-ASCII character, is never
    rewritten, and must fit its element."""
    text = value or ""
    if not text.strip():
        raise CannotCarry(f"{what} is missing")
    if text != text.strip():
        raise CannotCarry(f"{what} starts or ends with a space")
    if any(c in SEPARATORS or not (" " <= c <= "~") for c in text):
        raise CannotCarry(f"{what} contains characters an 837P cannot carry")
    if len(text) > max_length:
        raise CannotCarry(f"{what} is longer than {max_length} characters")
    if len(text) < min_length:
        raise CannotCarry(f"{what} is shorter than {min_length} characters")
    return text


def limited_identifier(value: str | None, what: str, limit: Limit) -> str:
    return identifier(value, what, limit.max_length, min_length=limit.min_length)


def digits_of(value: str | None) -> str:
    return _DIGITS.sub("", value or "")


def phone(value: str) -> str:
    digits = digits_of(value)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        raise CannotCarry("phone is not a 10-digit North American number")
    return digits


def zip_code(value: str, what: str, *, nine_digits: bool = False) -> str:
    if not value.isascii():
        raise CannotCarry(f"{what} ZIP code has characters other than ASCII digits")
    digits = digits_of(value)
    allowed = (9,) if nine_digits else (5, 9)
    if len(digits) not in allowed:
        shape = "9 digits" if nine_digits else "5 or 9 digits"
        raise CannotCarry(f"{what} ZIP code must have {shape}")
    return digits


def state_code(value: str, what: str) -> str:
    state = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", state):
        raise CannotCarry(f"{what} state is not a two-letter code")
    return state


def x12_field_problems(event: SessionCompleted) -> list[str]:
    """What in a VA claim's event an 837P cannot carry as sent, as "<field path>: <why>", never the values.

    The code lists (is the state a state, is the place of service a place of service) are checked where
    pyx12's code sets are, in the 837P pre-flight.
    """
    client, address = event.client, event.client.address
    checks: list[tuple[str, Callable[[], object]]] = [
        ("coverage.member_id", lambda: limited_identifier(event.coverage.member_id, "member id", MEMBER_ID)),
        ("client.last_name", lambda: required_text(client.last_name, "client last name", PERSON_LAST_NAME)),
        ("client.first_name", lambda: required_text(client.first_name, "client first name", PERSON_FIRST_NAME)),
        ("client.address.line1", lambda: required_text(address.line1, "address line 1", ADDRESS_LINE)),
        ("client.address.city", lambda: required_text(address.city, "city", CITY)),
        ("client.address.state", lambda: state_code(address.state, "client")),
        ("client.address.postal_code", lambda: zip_code(address.postal_code, "client")),
        ("session.place_of_service", lambda: identifier(event.session.place_of_service, "place of service", 2,
                                                        min_length=2)),
    ]
    if address.line2 and address.line2.strip():
        checks.append(("client.address.line2", lambda: required_text(address.line2, "address line 2",
                                                                     ADDRESS_LINE)))
    if event.prescription is not None:
        physician = event.prescription.physician
        checks += [
            ("prescription.physician.last_name",
             lambda: required_text(physician.last_name, "physician last name", PERSON_LAST_NAME)),
            ("prescription.physician.first_name",
             lambda: required_text(physician.first_name, "physician first name", PERSON_FIRST_NAME)),
        ]
    if event.va_referral is not None and event.va_referral.referral_number:
        checks.append(("va_referral.referral_number",
                       lambda: limited_identifier(event.va_referral.referral_number  # type: ignore[union-attr]
                                                  , "referral number", REFERRAL_NUMBER)))
    problems = []
    for path, check in checks:
        try:
            check()
        except CannotCarry as exc:
            problems.append(f"{path}: {exc}")
    if client.date_of_birth > event.date_of_service:  # a payer's front-end edit rejects such a claim
        problems.append("client.date_of_birth: after the date of service (DMG02)")
    return problems
