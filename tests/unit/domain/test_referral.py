from datetime import date
from typing import Any

import pytest

from pipeline.domain import codes
from pipeline.domain.referral import referral_findings, referral_number_is_valid
from schemas.event import VaReferral

SERVICE_DAY = date(2026, 11, 20)
BOTH = ["97140", "97124"]


def referral(**changes: Any) -> VaReferral:
    data: dict[str, Any] = {
        "referral_number": "VA0012345678",
        "administrator": "optum",
        "region": 2,
        "seoc": "Massage Therapy",
        "approved_on": "2026-09-28",
        "valid_from": "2026-10-01",
        "valid_until": "2026-12-30",
        "visits_authorized": 12,
        "procedures": ["97124", "97140"],
    }
    data.update(changes)
    return VaReferral.model_validate(data)


def found(ref: VaReferral | None, billed: list[str] = BOTH, visits_used: int = 0) -> list[str]:
    return [f.code for f in referral_findings(ref, SERVICE_DAY, billed, visits_used)]


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("402-123456-12", True),
        ("402-PC-1234567", True),
        ("VA1234567890", True),
        ("VA0012345678", True),
        ("402-12345-12", False),
        ("402-123456-123", False),
        ("4021-23456-12", False),
        ("402-pc-1234567", False),
        ("402-PC-123456", False),
        ("402-PC-12345678", False),
        ("va1234567890", False),
        ("VA123456789", False),
        ("VA12345678901", False),
        ("Referral VA1234567890", False),
        ("VA1234567890 approved", False),
        ("VA1234567890\n", False),
        ("VA１２３４５６７８９０", False),  # full-width digits
        ("402123456 12", False),
        ("", False),
    ],
)
def test_referral_number_must_be_one_of_the_three_va_formats(number: str, valid: bool) -> None:
    assert referral_number_is_valid(number) is valid


def test_valid_referral_has_no_findings() -> None:
    assert found(referral()) == []


def test_veteran_without_referral_has_only_referral_missing() -> None:
    assert found(None) == [codes.VA_REFERRAL_MISSING]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"referral_number": "12345"}, codes.VA_REFERRAL_NUMBER_INVALID),
        ({"administrator": "triwest", "region": 4}, codes.VA_OUT_OF_NETWORK),
        ({"approved_on": "2026-11-21"}, codes.VA_REFERRAL_NOT_APPROVED_BEFORE_SERVICE),
        ({"valid_from": "2026-11-21"}, codes.VA_REFERRAL_OUTSIDE_WINDOW),
        ({"valid_until": "2026-11-19"}, codes.VA_REFERRAL_OUTSIDE_WINDOW),
        ({"visits_authorized": 0}, codes.VA_VISITS_EXHAUSTED),
        ({"procedures": ["97124"]}, codes.VA_PROCEDURE_NOT_AUTHORIZED),
        ({"procedures": []}, codes.VA_PROCEDURE_NOT_AUTHORIZED),
    ],
)
def test_each_defect_of_the_referral_is_found(changes: dict[str, Any], code: str) -> None:
    assert found(referral(**changes)) == [code]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"approved_on": "2026-11-20"}, []),  # approved on the day of service
        ({"approved_on": "2026-11-21"}, [codes.VA_REFERRAL_NOT_APPROVED_BEFORE_SERVICE]),
        ({"valid_from": "2026-11-20"}, []),
        ({"valid_until": "2026-11-20"}, []),
        ({"valid_from": "2026-11-21"}, [codes.VA_REFERRAL_OUTSIDE_WINDOW]),
        ({"valid_until": "2026-11-19"}, [codes.VA_REFERRAL_OUTSIDE_WINDOW]),
    ],
)
def test_referral_dates_are_judged_against_the_date_of_service(
    changes: dict[str, Any], expected: list[str]
) -> None:
    assert found(referral(**changes)) == expected


@pytest.mark.parametrize(
    ("authorized", "used", "exhausted"),
    [
        (12, 0, False),
        (12, 11, False),  # this session is the 12th: still covered
        (12, 12, True),
        (12, 20, True),
        (1, 0, False),
        (1, 1, True),
        (0, 0, True),
    ],
)
def test_visits_count_the_other_sessions_already_billed(authorized: int, used: int, exhausted: bool) -> None:
    codes_found = found(referral(visits_authorized=authorized), visits_used=used)
    assert (codes.VA_VISITS_EXHAUSTED in codes_found) is exhausted


def test_negative_visits_used_is_refused() -> None:
    with pytest.raises(ValueError, match="visits_used"):
        referral_findings(referral(), SERVICE_DAY, BOTH, -1)


def test_unlisted_referral_procedures_mean_any_procedure_is_authorised() -> None:
    assert found(referral(procedures=None)) == []


def test_procedure_authorisation_looks_only_at_billed_codes() -> None:
    assert found(referral(procedures=["97140"]), billed=["97140"]) == []


def test_triwest_is_out_of_network_in_any_region() -> None:
    for region in (1, 2, 3, 4, 5, None):
        assert found(referral(administrator="triwest", region=region)) == [codes.VA_OUT_OF_NETWORK]


def test_every_referral_defect_is_reported_at_once_in_table_order() -> None:
    bad = referral(
        referral_number="ref 1",
        administrator="triwest",
        approved_on="2026-12-01",
        valid_from="2026-12-01",
        visits_authorized=3,
        procedures=["97124"],
    )
    assert found(bad, visits_used=3) == [
        codes.VA_REFERRAL_NUMBER_INVALID,
        codes.VA_OUT_OF_NETWORK,
        codes.VA_REFERRAL_NOT_APPROVED_BEFORE_SERVICE,
        codes.VA_REFERRAL_OUTSIDE_WINDOW,
        codes.VA_VISITS_EXHAUSTED,
        codes.VA_PROCEDURE_NOT_AUTHORIZED,
    ]


def _message(ref: VaReferral, code: str, visits_used: int = 0) -> str:
    matches = [f for f in referral_findings(ref, SERVICE_DAY, BOTH, visits_used) if f.code == code]
    assert len(matches) == 1
    return matches[0].message


def test_messages_name_the_offending_dates_counts_and_codes() -> None:
    window = _message(referral(valid_until="2026-11-19"), codes.VA_REFERRAL_OUTSIDE_WINDOW)
    assert "2026-10-01" in window and "2026-11-19" in window and "2026-11-20" in window
    approved = _message(referral(approved_on="2026-11-21"), codes.VA_REFERRAL_NOT_APPROVED_BEFORE_SERVICE)
    assert "2026-11-21" in approved
    visits = _message(referral(visits_authorized=12), codes.VA_VISITS_EXHAUSTED, visits_used=12)
    assert "13" in visits and "12" in visits
    assert "97140" in _message(referral(procedures=["97124"]), codes.VA_PROCEDURE_NOT_AUTHORIZED)
    assert "triwest" in _message(referral(administrator="triwest"), codes.VA_OUT_OF_NETWORK)


def test_without_a_count_of_earlier_visits_none_are_assumed() -> None:
    assert [f.code for f in referral_findings(referral(visits_authorized=1), SERVICE_DAY, BOTH)] == []


def test_each_unauthorised_code_is_named_once_with_what_the_referral_authorises() -> None:
    findings = referral_findings(referral(procedures=["97010"]), SERVICE_DAY, BOTH, 0)
    (found,) = [f for f in findings if f.code == "va_procedure_not_authorized"]
    assert found.message == "billed but not authorised on the referral: 97140, 97124 (authorised: 97010)"
