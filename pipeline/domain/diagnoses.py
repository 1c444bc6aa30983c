"""ICD-10-CM codes against the code set shipped by `simple_icd_10_cm`."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from enum import StrEnum
from functools import cache, lru_cache
from types import ModuleType


@cache
def _code_set() -> ModuleType:
    """The code set, loaded on first use (about a second): commands that never judge a code skip it."""
    with warnings.catch_warnings():
        # The package loads its data through a deprecated importlib.resources call.
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    icd: ModuleType = simple_icd_10_cm
    return icd


class DiagnosisStatus(StrEnum):
    BILLABLE = "billable"
    NOT_BILLABLE = "not_billable"
    INVALID = "invalid"


def _clean(code: str) -> str:
    return code.strip().upper()


@lru_cache(maxsize=4096)
def classify(code: str) -> DiagnosisStatus:
    """Billable (a leaf of the code tree), not billable (a category), or not an ICD-10-CM code."""
    cleaned, icd = _clean(code), _code_set()
    if not cleaned or not icd.is_valid_item(cleaned):
        return DiagnosisStatus.INVALID
    return DiagnosisStatus.BILLABLE if icd.is_leaf(cleaned) else DiagnosisStatus.NOT_BILLABLE


def is_billable(code: str) -> bool:
    return classify(code) is DiagnosisStatus.BILLABLE


def describe(code: str) -> str:
    """The code set's description of `code`, or "" when it is not an ICD-10-CM code."""
    if classify(code) is DiagnosisStatus.INVALID:
        return ""
    return str(_code_set().get_description(_clean(code)))


def codes_with_status(codes: Iterable[str], status: DiagnosisStatus) -> list[str]:
    """The codes of `codes` (in order, each once) that have `status`."""
    return list(dict.fromkeys(c for c in codes if classify(c) is status))
