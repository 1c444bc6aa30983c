"""Just enough X12 reading for the sandbox clearinghouse: the claim ids (CLM01) of a file."""

from __future__ import annotations

ISA_LENGTH = 106


def _delimiters(text: str) -> tuple[str, str]:
    """Element separator and segment terminator, read from the fixed-width ISA segment."""
    if text.startswith("ISA") and len(text) >= ISA_LENGTH:
        return text[3], text[ISA_LENGTH - 1]
    return "*", "~"


def segments(text: str) -> list[list[str]]:
    """The file's segments, each split into its elements (element 0 is the segment id)."""
    stripped = text.lstrip()
    element_sep, segment_term = _delimiters(stripped)
    out = []
    for raw in stripped.split(segment_term):
        segment = raw.strip("\r\n\t ")
        if segment:
            out.append(segment.split(element_sep))
    return out


def claim_ids(text: str) -> list[str]:
    """CLM01 of every claim in the file, in order."""
    return [seg[1] for seg in segments(text) if seg[0] == "CLM" and len(seg) > 1 and seg[1]]


def fingerprint_text(text: str) -> str:
    """The file with line breaks removed: two sends of the same claim compare equal."""
    return text.replace("\r", "").replace("\n", "").strip()
