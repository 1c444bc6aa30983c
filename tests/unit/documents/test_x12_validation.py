"""pyx12 validation of an 837P, in memory: good files pass, broken ones fail with readable errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pipeline.documents.x12_validation import X12Report, validate_837p

GOOD = (Path(__file__).parents[2] / "fixtures" / "va_direct_golden.x12").read_text()


def bad_service_date() -> str:
    """The second line's service date becomes 2026-13-40."""
    old = "DTP*472*D8*20261120~REF*6R*ses_va_direct-2"
    assert old in GOOD
    return GOOD.replace(old, "DTP*472*D8*20261340~REF*6R*ses_va_direct-2")


def edit(text: str, change: Callable[[list[str]], list[str]], *, recount: bool = True) -> str:
    """Apply `change` to the list of segments; by default SE01 is recounted afterwards."""
    segs = change(text[:-1].split("~"))
    if recount:
        ids = [s.split("*")[0] for s in segs]
        st, se = ids.index("ST"), ids.index("SE")
        segs[se] = f"SE*{se - st + 1}*0001"
    return "~".join(segs) + "~"


def without(seg_start: str) -> Callable[[list[str]], list[str]]:
    def change(segs: list[str]) -> list[str]:
        hits = [i for i, s in enumerate(segs) if s.startswith(seg_start)]
        assert hits, seg_start
        return segs[: hits[0]] + segs[hits[0] + 1 :]

    return change


def replaced(old: str, new: str) -> Callable[[list[str]], list[str]]:
    def change(segs: list[str]) -> list[str]:
        assert any(s == old for s in segs), old
        return [new if s == old else s for s in segs]

    return change


def test_a_good_837p_is_ok() -> None:
    report = validate_837p(GOOD)
    assert report == X12Report(ok=True, errors=[], acknowledgement=report.acknowledgement)
    assert "AK2*837*0001*005010X222A1" in report.acknowledgement
    assert "IK5*A" in report.acknowledgement


def test_line_breaks_after_terminators_are_accepted() -> None:
    assert validate_837p(GOOD.replace("~", "~\r\n")).ok


def test_wrong_se_count() -> None:
    report = validate_837p(GOOD.replace("SE*33*0001", "SE*34*0001"))
    assert not report.ok
    assert any("SE count of 34" in e and "I count 33" in e for e in report.errors), report.errors
    assert "IK5*R" in report.acknowledgement or "AK9*R" in report.acknowledgement


def test_missing_required_segment() -> None:
    report = validate_837p(edit(GOOD, without("N4*SPRINGFIELD*IL*627011234")))
    assert not report.ok
    assert any("N4" in e and "missing" in e.lower() for e in report.errors), report.errors


def test_missing_claim_segment() -> None:
    report = validate_837p(edit(GOOD, without("CLM*")))
    assert not report.ok
    assert report.errors


def test_bad_date() -> None:
    report = validate_837p(bad_service_date())
    assert not report.ok
    assert len(report.errors) == 1
    (error,) = report.errors
    assert "DTP" in error and "DTP03" in error and "20261340" in error and "invalid date" in error


def test_bad_birth_date() -> None:
    report = validate_837p(GOOD.replace("DMG*D8*19700101*M", "DMG*D8*19700231*M"))
    assert not report.ok
    assert any("DMG02" in e and "19700231" in e for e in report.errors), report.errors


def test_bad_code_value() -> None:
    report = validate_837p(edit(GOOD, replaced("SBR*P*18*******VA", "SBR*P*18*******QQ"), recount=False))
    assert not report.ok
    assert any("SBR09" in e and "QQ" in e for e in report.errors), report.errors


def test_control_number_mismatch() -> None:
    report = validate_837p(GOOD.replace("IEA*1*000000001", "IEA*1*000000002"))
    assert not report.ok
    assert any("IEA" in e for e in report.errors), report.errors


def test_short_isa() -> None:
    report = validate_837p(GOOD.replace("*ZZ*CLEARINGHOUSE  *", "*ZZ*CLEARINGHOUSE*", 1))
    assert not report.ok
    assert report.errors and report.acknowledgement == ""


@pytest.mark.parametrize("text", ["", "hello", "GS*HC*A*B~", "\x00" * 200])
def test_not_x12_at_all(text: str) -> None:
    report = validate_837p(text)
    assert not report.ok
    assert report.errors[0].startswith("not an X12 interchange")


def test_unknown_implementation_guide() -> None:
    report = validate_837p(GOOD.replace("005010X222A1", "005010X999A1"))
    assert not report.ok
    assert "Map not found" in report.errors[0]


def test_report_is_frozen() -> None:
    report = validate_837p(GOOD)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.ok = False  # type: ignore[misc]


def test_nothing_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    validate_837p(GOOD)
    validate_837p(GOOD.replace("SE*33*0001", "SE*34*0001"))
    validate_837p("hello")
    validate_837p(GOOD.replace("005010X222A1", "005010X999A1"))
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def test_repeated_calls_give_the_same_answer() -> None:
    bad = GOOD.replace("SE*33*0001", "SE*34*0001")
    first_good, first_bad = validate_837p(GOOD), validate_837p(bad)
    for _ in range(3):
        assert validate_837p(GOOD).ok
        assert validate_837p(bad).errors == first_bad.errors
    assert first_good.ok and not first_bad.ok


def test_threads() -> None:
    bad = bad_service_date()
    texts = [GOOD if i % 2 == 0 else bad for i in range(24)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        reports = list(pool.map(validate_837p, texts))
    assert [r.ok for r in reports] == [i % 2 == 0 for i in range(24)]
    assert all(len(r.errors) == 1 for r in reports[1::2])
