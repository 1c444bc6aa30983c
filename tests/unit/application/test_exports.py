"""The claims export: one row per claim, spreadsheet-safe text, client identity only when asked for."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import pytest

from pipeline.application.exports import COLUMNS, claim_row, claims_between, render
from schemas.claim import Claim

BILL = {"date_of_service": "2026-11-20", "diagnosis_codes": ["M54.50", "M62.830"], "total_charge": "260.00",
        "amount_paid": "0.00", "balance_due": "0.00",
        "lines": [{"cpt": "97140", "modifiers": ["GP", "XS"], "units": 2, "charge": "140.00"},
                  {"cpt": "97124", "modifiers": ["GP"], "units": 2, "charge": "120.00"}]}


def claim(claim_id: str = "ses_1", dos: str = "2026-11-20", **fields: Any) -> Claim:
    base: dict[str, Any] = {"claim_id": claim_id, "session_id": claim_id, "event_id": "evt", "status": "accepted",
                            "route": "direct_billing", "superbill": BILL, "date_of_service": dos,
                            "payer": "VA CCN", "created_at": 1795000000.0, "status_changed_at": 1795000100.0}
    return Claim.model_validate(base | fields)


def test_a_row_carries_lines_units_money_and_codes_as_plain_text() -> None:
    row = claim_row(claim(peer_reasons=["277CA: A7:21 Missing or invalid information"], status="rejected"))
    assert row["lines"] == "97140-GP-XSx2|97124-GPx2"
    assert (row["units"], row["total_charge"], row["amount_paid"], row["balance_due"]) == ("4", "260.00", "0.00",
                                                                                            "0.00")
    assert row["diagnosis_codes"] == "M54.50|M62.830"
    assert row["reason_codes"] == "277CA:A7:21"
    assert row["created_at"].startswith("2026-") and row["created_at"].endswith("+00:00")
    assert set(row) == set(COLUMNS)


def test_client_identity_is_only_in_a_row_when_asked_for() -> None:
    event = {"client": {"client_id": "cli_1", "last_name": "Doe", "first_name": "John",
                        "date_of_birth": "1970-01-01"}, "coverage": {"member_id": "XYZ1"}}
    assert "client_last_name" not in claim_row(claim())
    row = claim_row(claim(), event)
    assert (row["client_last_name"], row["member_id"]) == ("Doe", "XYZ1")


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_defused() -> None:
    text = render([claim_row(claim(payer="=HYPERLINK(\"x\")"))], "csv")
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["payer"] == "'=HYPERLINK(\"x\")"
    assert row["date_of_service"] == "2026-11-20" and row["total_charge"] == "260.00"


def test_json_lines_have_every_column_and_nothing_else() -> None:
    line = json.loads(render([claim_row(claim())], "jsonl"))
    assert list(line) == list(COLUMNS)
    with pytest.raises(ValueError, match="format"):
        render([], "xlsx")


class _Ledger:
    def __init__(self, claims: list[Claim]) -> None:
        self.claims = {c.claim_id: c for c in claims}

    def claim_ids(self) -> list[str]:
        return list(self.claims)

    def get_many(self, ids: list[str]) -> list[Claim]:
        return [self.claims[i] for i in ids]


def test_only_claims_with_a_date_of_service_in_the_range_are_exported_in_date_order() -> None:
    ledger = _Ledger([claim("b", "2026-11-30"), claim("a", "2026-11-01"), claim("c", "2026-12-01"),
                      claim("d", None)])
    found = claims_between(ledger, date(2026, 11, 1), date(2026, 11, 30))  # type: ignore[arg-type]
    assert [c.claim_id for c in found] == ["a", "b"]


def test_json_lines_carry_counts_as_numbers_and_money_as_exact_text() -> None:
    line = json.loads(render([claim_row(claim(submission_no=2))], "jsonl"))
    assert (line["submission_no"], line["units"]) == (2, 4)
    assert (line["total_charge"], line["payer_paid"]) == ("260.00", "")
