from datetime import date
from typing import Any

import pytest

from pipeline.domain import codes
from pipeline.domain.prescription import missing_prescription, prescription_findings
from schemas.event import Prescription

SERVICE_DAY = date(2026, 11, 20)
BOTH = ["97140", "97124"]


def rx(**changes: Any) -> Prescription:
    if isinstance(changes.get("physician"), dict):
        changes["physician"] = {"first_name": "R", "last_name": "S", **changes["physician"]}
    data: dict[str, Any] = {
        "prescription_id": "rx_77",
        "physician": {"first_name": "Robert", "last_name": "Smith", "npi": "1679576722"},
        "issued_on": "2026-10-01",
        "expires_on": "2027-04-01",
        "signed": True,
        "diagnosis_codes": ["M54.50", "M62.830"],
        "procedures": ["97140", "97124"],
    }
    data.update(changes)
    return Prescription.model_validate(data)


def found(prescription: Prescription, billed: list[str] = BOTH) -> list[str]:
    return [f.code for f in prescription_findings(prescription, SERVICE_DAY, billed)]


def test_valid_prescription_has_no_findings() -> None:
    assert found(rx()) == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"signed": False}, codes.PRESCRIPTION_UNSIGNED),
        ({"issued_on": "2026-11-21"}, codes.PRESCRIPTION_NOT_YET_VALID),
        ({"expires_on": "2026-11-19"}, codes.PRESCRIPTION_EXPIRED),
        ({"physician": {"npi": "1245319590"}}, codes.PHYSICIAN_NPI_INVALID),
        ({"physician": {"npi": "123"}}, codes.PHYSICIAN_NPI_INVALID),
        ({"diagnosis_codes": []}, codes.DIAGNOSIS_MISSING),
        ({"diagnosis_codes": ["M54.50", "Z99.99"]}, codes.DIAGNOSIS_INVALID),
        ({"diagnosis_codes": ["M54.5"]}, codes.DIAGNOSIS_NOT_BILLABLE),
        ({"procedures": ["97140"]}, codes.PROCEDURE_NOT_PRESCRIBED),
        ({"procedures": []}, codes.PROCEDURE_NOT_PRESCRIBED),
    ],
)
def test_each_defect_of_the_prescription_is_found(changes: dict[str, Any], code: str) -> None:
    assert found(rx(**changes)) == [code]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"issued_on": "2026-11-20"}, []),  # issued on the day of service is valid
        ({"issued_on": "2026-11-21"}, [codes.PRESCRIPTION_NOT_YET_VALID]),
        ({"expires_on": "2026-11-20"}, []),  # expiring on the day of service is still valid
        ({"expires_on": "2026-11-19"}, [codes.PRESCRIPTION_EXPIRED]),
        ({"expires_on": None}, []),
    ],
)
def test_prescription_dates_are_judged_against_the_date_of_service(
    changes: dict[str, Any], expected: list[str]
) -> None:
    assert found(rx(**changes)) == expected


def test_unlisted_procedures_mean_any_procedure_is_prescribed() -> None:
    assert found(rx(procedures=None)) == []


def test_procedure_check_looks_only_at_the_billed_codes() -> None:
    assert found(rx(procedures=["97140"]), billed=["97140"]) == []


def test_every_defect_is_reported_at_once_in_table_order() -> None:
    bad = rx(
        signed=False,
        issued_on="2026-12-01",
        expires_on="2026-11-01",
        physician={"first_name": "R", "last_name": "S", "npi": "1245319590"},
        diagnosis_codes=["M54.5", "Z99.99"],
        procedures=["97124"],
    )
    assert found(bad) == [
        codes.PRESCRIPTION_UNSIGNED,
        codes.PRESCRIPTION_NOT_YET_VALID,
        codes.PRESCRIPTION_EXPIRED,
        codes.PHYSICIAN_NPI_INVALID,
        codes.DIAGNOSIS_INVALID,
        codes.DIAGNOSIS_NOT_BILLABLE,
        codes.PROCEDURE_NOT_PRESCRIBED,
    ]


def _message(prescription: Prescription, code: str, billed: list[str] = BOTH) -> str:
    matches = [f for f in prescription_findings(prescription, SERVICE_DAY, billed) if f.code == code]
    assert len(matches) == 1
    return matches[0].message


def test_messages_name_every_offending_item() -> None:
    assert "Z99.99" in _message(rx(diagnosis_codes=["Z99.99", "A99.99", "M54.50"]), codes.DIAGNOSIS_INVALID)
    assert "A99.99" in _message(rx(diagnosis_codes=["Z99.99", "A99.99", "M54.50"]), codes.DIAGNOSIS_INVALID)
    not_billable = _message(rx(diagnosis_codes=["M54.5", "M54", "M54.50"]), codes.DIAGNOSIS_NOT_BILLABLE)
    assert "M54.5," in not_billable and not_billable.endswith("M54")
    assert "M54.50" not in not_billable
    assert "97124" in _message(rx(procedures=["97140"]), codes.PROCEDURE_NOT_PRESCRIBED)
    both = _message(rx(procedures=[]), codes.PROCEDURE_NOT_PRESCRIBED)
    assert "97140" in both and "97124" in both
    assert "1245319590" in _message(
        rx(physician={"first_name": "R", "last_name": "S", "npi": "1245319590"}), codes.PHYSICIAN_NPI_INVALID
    )
    expired = _message(rx(expires_on="2026-11-19"), codes.PRESCRIPTION_EXPIRED)
    assert "2026-11-19" in expired and "2026-11-20" in expired
    early = _message(rx(issued_on="2026-11-21"), codes.PRESCRIPTION_NOT_YET_VALID)
    assert "2026-11-21" in early and "2026-11-20" in early


def test_messages_do_not_carry_the_physicians_name() -> None:
    bad = rx(
        signed=False,
        physician={"first_name": "Roberta", "last_name": "Smithers", "npi": "1245319590"},
    )
    for finding in prescription_findings(bad, SERVICE_DAY, BOTH):
        assert "Roberta" not in finding.message and "Smithers" not in finding.message


def test_missing_prescription_says_why_one_is_needed() -> None:
    finding = missing_prescription("a VA CCN claim")
    assert finding.code == codes.PRESCRIPTION_MISSING
    assert "a VA CCN claim" in finding.message
