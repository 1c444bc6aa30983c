from collections.abc import Iterator

import pytest

from pipeline.domain.diagnoses import DiagnosisStatus, classify, codes_with_status, describe, is_billable


@pytest.fixture(autouse=True)
def fresh_lookups() -> Iterator[None]:
    """Each test looks its codes up itself, not in answers remembered from an earlier test."""
    classify.cache_clear()
    yield
    classify.cache_clear()


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("M54.50", DiagnosisStatus.BILLABLE),
        ("M62.830", DiagnosisStatus.BILLABLE),
        ("S13.4XXA", DiagnosisStatus.BILLABLE),
        ("m54.50", DiagnosisStatus.BILLABLE),
        (" M54.50 ", DiagnosisStatus.BILLABLE),
        ("M54.5", DiagnosisStatus.NOT_BILLABLE),  # a category since FY2022
        ("M54", DiagnosisStatus.NOT_BILLABLE),
        ("S13.4", DiagnosisStatus.NOT_BILLABLE),
        ("Z99.99", DiagnosisStatus.INVALID),
        ("M54.599", DiagnosisStatus.INVALID),
        ("", DiagnosisStatus.INVALID),
        # CONTRACT.md 1.3: with or without the dot, in any case
        ("M5450", DiagnosisStatus.BILLABLE),
        ("m62830", DiagnosisStatus.BILLABLE),
        ("S134XXA", DiagnosisStatus.BILLABLE),
        (" m5450 ", DiagnosisStatus.BILLABLE),
        ("M545", DiagnosisStatus.NOT_BILLABLE),
        ("Z9999", DiagnosisStatus.INVALID),
        ("M54599", DiagnosisStatus.INVALID),
    ],
)
def test_codes_are_classified_against_the_icd10cm_code_set(code: str, status: DiagnosisStatus) -> None:
    assert classify(code) is status
    assert is_billable(code) is (status is DiagnosisStatus.BILLABLE)


@pytest.mark.parametrize(
    ("code", "description"),
    [
        ("M54.50", "Low back pain, unspecified"),
        ("M54.5", "Low back pain"),
        ("M5450", "Low back pain, unspecified"),
        ("m545", "Low back pain"),
        ("Z99.99", ""),
        ("Z9999", ""),
    ],
)
def test_describe_gives_the_code_set_description_or_nothing(code: str, description: str) -> None:
    assert describe(code) == description


def test_codes_with_status_keeps_order_and_names_each_code_once() -> None:
    codes = ["Z99.99", "M54.50", "A99.99", "Z99.99", "M54.5"]
    assert codes_with_status(codes, DiagnosisStatus.INVALID) == ["Z99.99", "A99.99"]
    assert codes_with_status(codes, DiagnosisStatus.NOT_BILLABLE) == ["M54.5"]
    assert codes_with_status(codes, DiagnosisStatus.BILLABLE) == ["M54.50"]
