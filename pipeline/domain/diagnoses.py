"""ICD-10-CM codes against the code set shipped by `simple_icd_10_cm` (FY2026), as a compact table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import lru_cache

Entry = tuple[bool, str]


def _table() -> Mapping[str, Entry]:
    """The code set, built on first use (`config.icd10cm`): commands that never judge a code skip it.

    The import lock builds it once per process, whichever threads ask first.
    """
    from config.icd10cm import TABLE

    return TABLE


def warm_up() -> None:
    """Build the code set now (a worker does it at boot, not on its first claim)."""
    _table()


class DiagnosisStatus(StrEnum):
    BILLABLE = "billable"
    NOT_BILLABLE = "not_billable"
    INVALID = "invalid"


def _clean(code: str) -> str:
    return code.strip().upper()


def _entry(cleaned: str) -> Entry | None:
    """The code's entry, looked up as `simple_icd_10_cm` does: "M5450" is "M54.50" when that exists."""
    table = _table()
    if len(cleaned) >= 4 and cleaned[3] != ".":
        dotted = table.get(cleaned[:3] + "." + cleaned[3:])
        if dotted is not None:
            return dotted
    return table.get(cleaned)


@lru_cache(maxsize=4096)
def classify(code: str) -> DiagnosisStatus:
    """Billable (a leaf of the code tree), not billable (a category), or not an ICD-10-CM code."""
    cleaned = _clean(code)
    entry = _entry(cleaned) if cleaned else None
    if entry is None:
        return DiagnosisStatus.INVALID
    return DiagnosisStatus.BILLABLE if entry[0] else DiagnosisStatus.NOT_BILLABLE


def is_billable(code: str) -> bool:
    return classify(code) is DiagnosisStatus.BILLABLE


def describe(code: str) -> str:
    """The code set's description of `code`, or "" when it is not an ICD-10-CM code."""
    entry = _entry(_clean(code))
    return entry[1] if entry is not None else ""


def codes_with_status(codes: Iterable[str], status: DiagnosisStatus) -> list[str]:
    """The codes of `codes` (in order, each once) that have `status`."""
    return list(dict.fromkeys(c for c in codes if classify(c) is status))
