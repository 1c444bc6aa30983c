"""Reading a 277CA claim acknowledgment (005010X214): which claim it is about, who sent it, and its verdict.

A 277CA names its sender in loop 2100A (`NM1*AY` a clearinghouse, `NM1*PR` a payer), echoes the 837's BHT03
in loop 2200B (`TRN*2`), and per claim (loop 2200D, `HL` level `PT`) echoes CLM01 as `TRN*2`, with one or
more `STC` statuses (`category:status:entity`), the payer's claim control number (`REF*1K`) and the
clearinghouse's trace number (`REF*D9`). Pure: text in, facts out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ISA_LENGTH = 106

# Claim status category codes (code list 507): a claim-level "no" from the clearinghouse or the payer.
REJECTED_CATEGORIES = frozenset({"A3", "A4", "A6", "A7", "A8", "E0", "E1", "E2", "E3", "E4", "R3"})
# A2: accepted into the adjudication system; A1 with status 20: "accepted for processing".
ACCEPTED_CATEGORIES = frozenset({"A2"})
CATEGORY_NAMES = {
    "A0": "forwarded", "A1": "received", "A2": "accepted into adjudication", "A3": "returned as unprocessable",
    "A4": "not found", "A5": "split", "A6": "rejected for missing information",
    "A7": "rejected for invalid information", "A8": "rejected for relational field in error",
    "E0": "response not possible, error on submitted request", "E1": "response not possible, system status",
}

Verdict = Literal["accepted", "rejected", "received"]


@dataclass(frozen=True)
class ClaimStatus:
    category: str
    status: str
    entity: str = ""


@dataclass(frozen=True)
class ClaimAcknowledgment:
    """One claim's acknowledgment in a 277CA."""

    patient_control_number: str  # CLM01 of the 837 (our claim id)
    sender: Literal["clearinghouse", "payer", "unknown"]
    sender_name: str
    batch_trace: str | None  # 2200B TRN02: the 837's BHT03
    statuses: list[ClaimStatus] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # STC12 free text
    payer_claim_number: str | None = None  # REF*1K
    clearinghouse_trace: str | None = None  # REF*D9

    @property
    def verdict(self) -> Verdict:
        """`rejected` when any status is a rejection; `accepted` for A2, or A1 with status 20; else `received`."""
        if any(s.category in REJECTED_CATEGORIES for s in self.statuses):
            return "rejected"
        if any(s.category in ACCEPTED_CATEGORIES or (s.category == "A1" and s.status == "20")
               for s in self.statuses):
            return "accepted"
        return "received"

    def reasons(self) -> list[str]:
        """`277CA: A7:562 from the payer (rejected for invalid information)`, one per rejecting status."""
        who = "Stedi" if self.sender_name.upper().startswith("STEDI") else (
            "the clearinghouse" if self.sender == "clearinghouse" else "the payer")
        out = []
        for s in self.statuses:
            if s.category in REJECTED_CATEGORIES:
                name = CATEGORY_NAMES.get(s.category, "rejected")
                entity = f", entity {s.entity}" if s.entity else ""
                out.append(f"277CA: {s.category}:{s.status} from {who} ({name}{entity})")
        return out + [f"277CA note from {who}: {m}" for m in self.messages if self.verdict == "rejected"]


def _separators(text: str) -> tuple[str, str, str]:
    """Element separator, component separator and segment terminator, from the fixed-width ISA."""
    if text.startswith("ISA") and len(text) >= ISA_LENGTH:
        return text[3], text[ISA_LENGTH - 2], text[ISA_LENGTH - 1]
    return "*", ":", "~"


def segments(text: str) -> list[list[str]]:
    stripped = text.lstrip()
    element, _, terminator = _separators(stripped)
    out = []
    for raw in stripped.split(terminator):
        segment = raw.strip("\r\n\t ")
        if segment:
            out.append(segment.split(element))
    return out


def _el(segment: list[str], n: int) -> str:
    return segment[n] if len(segment) > n else ""


def transaction_sets(text: str) -> list[str]:
    """The ST01 of every transaction set in the interchange (`277`, `835`, ...)."""
    return [_el(s, 1) for s in segments(text) if s[0] == "ST"]


@dataclass
class _Draft:
    pcn: str = ""
    statuses: list[ClaimStatus] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    refs: dict[str, str] = field(default_factory=dict)


def _sender(code: str) -> Literal["clearinghouse", "payer", "unknown"]:
    return "clearinghouse" if code == "AY" else "payer" if code == "PR" else "unknown"


def parse_277ca(text: str) -> list[ClaimAcknowledgment]:
    """Every claim acknowledged in the interchange, in order. Raises ValueError for text that is not X12."""
    if not text.lstrip().startswith("ISA"):
        raise ValueError("not an X12 interchange (no ISA segment)")
    _, component, _ = _separators(text.lstrip())
    acks: list[ClaimAcknowledgment] = []
    level = ""
    sender: Literal["clearinghouse", "payer", "unknown"] = "unknown"
    sender_name = ""
    batch: str | None = None
    draft: _Draft | None = None

    def close() -> None:
        if draft is not None and draft.pcn:
            acks.append(ClaimAcknowledgment(
                patient_control_number=draft.pcn, sender=sender, sender_name=sender_name, batch_trace=batch,
                statuses=draft.statuses, messages=draft.messages, payer_claim_number=draft.refs.get("1K"),
                clearinghouse_trace=draft.refs.get("D9")))

    for seg in segments(text):
        tag = seg[0]
        if tag == "ST":
            close()
            draft, level, sender, sender_name, batch = None, "", "unknown", "", None
        elif tag == "HL":
            close()
            level = _el(seg, 3)
            draft = _Draft() if level == "PT" else None
        elif tag == "NM1" and level == "20":
            sender, sender_name = _sender(_el(seg, 1)), _el(seg, 3)
        elif tag == "TRN" and _el(seg, 1) == "2":
            if level == "21":
                batch = _el(seg, 2) or None
            elif draft is not None:
                draft.pcn = _el(seg, 2)
        elif tag == "STC" and draft is not None:
            for index in (1, 10, 11):
                parts = _el(seg, index).split(component)
                if parts and parts[0]:
                    draft.statuses.append(ClaimStatus(parts[0], _el(parts, 1), _el(parts, 2)))
            if _el(seg, 12):
                draft.messages.append(_el(seg, 12))
        elif tag == "REF" and draft is not None and _el(seg, 1) in ("1K", "D9"):
            draft.refs[_el(seg, 1)] = _el(seg, 2)
    close()
    return acks
