"""pyx12's verdicts kept by the text's hash: the same text gets the same verdict without a second walk of the
map, a different text is walked, the kept verdicts are bounded, and a caller cannot change a kept one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.documents import x12_validation
from pipeline.documents.x12_validation import VERDICTS_KEPT, X12Report, _Verdicts, validate_837p

GOOD = (Path(__file__).parents[2] / "fixtures" / "va_direct_golden.x12").read_text()
BROKEN = GOOD.replace("DTP*472*D8*20261120~", "DTP*472*D8*20261340~", 1)


def counting(verdict: X12Report) -> tuple[list[str], Callable[[str], X12Report]]:
    calls: list[str] = []

    def compute(text: str) -> X12Report:
        calls.append(text)
        return verdict

    return calls, compute


def test_the_same_text_is_validated_once_and_gets_the_same_verdict() -> None:
    verdicts = _Verdicts(4)
    calls, compute = counting(X12Report(ok=False, errors=["e1"], acknowledgement="999"))
    first = verdicts.get("ISA*one~", compute)
    second = verdicts.get("ISA*one~", compute)
    assert calls == ["ISA*one~"]
    assert first == second == X12Report(ok=False, errors=["e1"], acknowledgement="999")
    verdicts.get("ISA*two~", compute)
    assert calls == ["ISA*one~", "ISA*two~"]


def test_the_kept_verdicts_are_bounded_least_recently_used_first() -> None:
    verdicts = _Verdicts(3)
    calls, compute = counting(X12Report(ok=True))
    for text in ("a", "b", "c"):
        verdicts.get(text, compute)
    verdicts.get("a", compute)  # "a" is used again: "b" is now the oldest
    verdicts.get("d", compute)
    assert len(verdicts) == 3
    del calls[:]
    verdicts.get("a", compute)
    verdicts.get("b", compute)
    assert calls == ["b"]
    for i in range(50):
        verdicts.get(f"x{i}", compute)
    assert len(verdicts) == 3


def test_a_caller_changing_its_report_does_not_change_the_kept_verdict() -> None:
    verdicts = _Verdicts(2)
    _, compute = counting(X12Report(ok=False, errors=["e1"]))
    verdicts.get("t", compute).errors.append("added by a caller")
    assert verdicts.get("t", compute).errors == ["e1"]


def test_validate_837p_walks_a_text_once(monkeypatch: pytest.MonkeyPatch) -> None:
    x12_validation._verdicts_837p.clear()
    walked: list[str] = []
    run = x12_validation._run_pyx12

    def spy(text: str) -> X12Report:
        walked.append(text)
        return run(text)

    monkeypatch.setattr(x12_validation, "_run_pyx12", spy)
    good, good_again, broken = validate_837p(GOOD), validate_837p(GOOD), validate_837p(BROKEN)
    assert good.ok and good_again == good
    assert not broken.ok and broken.errors and broken == validate_837p(BROKEN)
    assert walked == [GOOD, BROKEN]
    assert 0 < len(x12_validation._verdicts_837p) <= VERDICTS_KEPT
