from datetime import date
from decimal import Decimal

import pytest

from pipeline.domain import codes
from pipeline.domain.superbill import (
    MergedLine,
    balance_due,
    build_superbill,
    diagnosis_pointers,
    finalize_superbill,
    line_charge,
    merge_service_lines,
    zero_unit_warning,
)
from schemas.decision import Route
from schemas.event import ServiceLine

FEES = {"97124": Decimal("60.00"), "97140": Decimal("70.00")}


def service(cpt: str, minutes: int, region: str) -> ServiceLine:
    return ServiceLine.model_validate({"cpt": cpt, "minutes": minutes, "body_region": region})


def test_lines_of_one_cpt_are_merged_in_order_of_first_appearance() -> None:
    merged = merge_service_lines(
        [
            service("97124", 10, "cervical"),
            service("97140", 20, "lumbar"),
            service("97124", 15, "Thoracic"),
            service("97124", 5, "cervical "),
        ]
    )
    assert merged == [
        MergedLine("97124", 30, ("cervical", "Thoracic")),
        MergedLine("97140", 20, ("lumbar",)),
    ]


@pytest.mark.parametrize(
    ("count", "pointers"),
    [(0, []), (1, [1]), (2, [1, 2]), (4, [1, 2, 3, 4]), (5, [1, 2, 3, 4]), (12, [1, 2, 3, 4])],
)
def test_each_line_points_to_the_first_up_to_four_diagnoses(count: int, pointers: list[int]) -> None:
    assert diagnosis_pointers(count) == pointers


@pytest.mark.parametrize(
    ("units", "fee", "charge"),
    [(0, "60.00", "0.00"), (1, "60.00", "60.00"), (2, "70.00", "140.00"), (3, "33.33", "99.99")],
)
def test_charge_is_units_times_fee(units: int, fee: str, charge: str) -> None:
    assert line_charge(units, Decimal(fee)) == Decimal(charge)


@pytest.mark.parametrize(
    ("total", "paid", "route", "balance"),
    [
        ("260.00", "0.00", "direct_billing", "0.00"),
        ("260.00", "50.00", "direct_billing", "0.00"),
        ("260.00", "0.00", "needs_attention", "260.00"),
        ("260.00", "100.00", "statement_only", "160.00"),
        ("260.00", "260.00", "courtesy_submission", "0.00"),
        ("260.00", "300.00", "statement_only", "0.00"),
        ("260.00", "10.00", None, "250.00"),
    ],
)
def test_balance_due_depends_on_the_route(total: str, paid: str, route: Route | None, balance: str) -> None:
    assert balance_due(Decimal(total), Decimal(paid), route) == Decimal(balance)




def test_superbill_prices_the_billed_lines_and_totals_them() -> None:
    bill = build_superbill(
        date_of_service=date(2026, 11, 20),
        place_of_service="12",
        diagnosis_codes=["M54.50", "M62.830", "M54.50"],
        lines=[MergedLine("97140", 30, ("lumbar",)), MergedLine("97124", 23, ("cervical",))],
        units={"97140": 2, "97124": 1},
        modifiers={"97140": ["GP", "XS"], "97124": ["GP"]},
        fees=FEES,
        amount_paid=Decimal("20"),
    )
    assert bill is not None
    assert bill.place_of_service == "12"
    assert bill.diagnosis_codes == ["M54.50", "M62.830"]
    assert [(ln.cpt, ln.units, ln.charge, ln.modifiers) for ln in bill.lines] == [
        ("97140", 2, Decimal("140.00"), ["GP", "XS"]),
        ("97124", 1, Decimal("60.00"), ["GP"]),
    ]
    assert all(ln.diagnosis_pointers == [1, 2] for ln in bill.lines)
    assert bill.lines[0].body_regions == ["lumbar"]
    assert "Manual therapy" in bill.lines[0].description
    assert "Massage" in bill.lines[1].description
    assert bill.total_charge == Decimal("200.00")
    assert bill.amount_paid == Decimal("20.00")
    assert bill.balance_due == Decimal("180.00")


def test_zero_unit_lines_are_left_off_the_superbill() -> None:
    bill = build_superbill(
        date_of_service=date(2026, 11, 20),
        place_of_service="11",
        diagnosis_codes=["M54.50"],
        lines=[MergedLine("97140", 30, ("lumbar",)), MergedLine("97124", 5, ("cervical",))],
        units={"97140": 2, "97124": 0},
        modifiers={"97140": []},
        fees=FEES,
        amount_paid=Decimal("0"),
    )
    assert bill is not None
    assert [ln.cpt for ln in bill.lines] == ["97140"]
    assert bill.total_charge == Decimal("140.00")


def test_no_superbill_when_no_line_has_units() -> None:
    bill = build_superbill(
        date_of_service=date(2026, 11, 20),
        place_of_service="11",
        diagnosis_codes=["M54.50"],
        lines=[MergedLine("97140", 5, ("lumbar",))],
        units={"97140": 0},
        modifiers={},
        fees=FEES,
        amount_paid=Decimal("0"),
    )
    assert bill is None


def test_superbill_without_diagnoses_has_no_pointers() -> None:
    bill = build_superbill(
        date_of_service=date(2026, 11, 20),
        place_of_service="11",
        diagnosis_codes=[],
        lines=[MergedLine("97140", 30, ("lumbar",))],
        units={"97140": 2},
        modifiers={},
        fees=FEES,
        amount_paid=Decimal("0"),
    )
    assert bill is not None
    assert bill.diagnosis_codes == []
    assert bill.lines[0].diagnosis_pointers == []


def test_finalize_sets_the_balance_of_the_route() -> None:
    bill = build_superbill(
        date_of_service=date(2026, 11, 20),
        place_of_service="11",
        diagnosis_codes=["M54.50"],
        lines=[MergedLine("97140", 30, ("lumbar",))],
        units={"97140": 2},
        modifiers={},
        fees=FEES,
        amount_paid=Decimal("0"),
    )
    assert bill is not None
    assert bill.balance_due == Decimal("140.00")
    assert finalize_superbill(bill, "direct_billing").balance_due == Decimal("0.00")
    assert finalize_superbill(bill, "needs_attention").balance_due == Decimal("140.00")


def test_zero_unit_warning_names_each_dropped_line() -> None:
    lines = [
        MergedLine("97140", 30, ("lumbar",)),
        MergedLine("97124", 5, ("cervical",)),
    ]
    warning = zero_unit_warning(lines, {"97140": 2, "97124": 0}, "ama")
    assert warning is not None
    assert warning.code == codes.ZERO_UNIT_LINE
    assert "97124 (5 min)" in warning.message
    assert "97140" not in warning.message
    assert "AMA" in warning.message
    assert zero_unit_warning(lines, {"97140": 2, "97124": 1}, "ama") is None
