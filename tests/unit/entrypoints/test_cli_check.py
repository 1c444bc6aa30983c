"""`superbill check`: the dry run of CONTRACT.md section 3, run as the real console script."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from pipeline.documents.x12_validation import validate_837p
from tests.examples import EXAMPLES

EVENTS = EXAMPLES


def superbill(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize(("name", "route", "problems", "warnings"), [
    ("va_direct", "direct_billing", [], []),
    ("commercial_courtesy", "courtesy_submission", [], []),
    ("commercial_statement", "statement_only", [], ["courtesy_not_requested"]),
    ("self_pay", "statement_only", [], []),
    ("va_missing_referral", "needs_attention", ["va_referral_missing"], ["balance_due"]),
])
def test_each_example_gets_the_route_its_name_says(name: str, route: str, problems: list[str],
                                                    warnings: list[str]) -> None:
    result = superbill("check", str(EVENTS / f"{name}.json"), "--json")
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["route"] == route
    assert [p["code"] for p in decision["problems"]] == problems
    assert [w["code"] for w in decision["warnings"]] == warnings


def test_the_va_example_prints_the_contract_document() -> None:
    decision = json.loads(superbill("check", str(EVENTS / "va_direct.json"), "--json").stdout)
    assert decision["claim_id"] == decision["session_id"] == "ses_va_direct"
    bill = decision["superbill"]
    assert bill["date_of_service"] == "2026-11-20" and bill["place_of_service"] == "11"
    assert bill["diagnosis_codes"] == ["M54.50", "M62.830"]
    assert [(ln["cpt"], ln["modifiers"], ln["minutes"], ln["units"], ln["charge"], ln["diagnosis_pointers"])
            for ln in bill["lines"]] == [("97140", ["GP", "XS"], 30, 2, "140.00", [1, 2]),
                                         ("97124", ["GP"], 30, 2, "120.00", [1, 2])]
    assert (bill["total_charge"], bill["amount_paid"], bill["balance_due"]) == ("260.00", "0.00", "0.00")


def test_refused_input_exits_2_with_one_line_per_field() -> None:
    result = superbill("check", str(EVENTS / "refused_unsupported_cpt.json"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "session.services[0].cpt: CPT 97110 is not a service of this practice" in result.stderr


def test_x12_of_a_direct_claim_is_valid_and_carries_the_claim(tmp_path: Path) -> None:
    out = tmp_path / "claim.837"
    result = superbill("check", str(EVENTS / "va_direct.json"), "--json", "--x12", str(out))
    assert result.returncode == 0, result.stderr
    json.loads(result.stdout)  # stdout stays one JSON document
    x12 = out.read_text()
    report = validate_837p(x12)
    assert report.ok, report.errors
    segments = [s.split("*") for s in x12.strip().strip("~").split("~")]
    clm = next(s for s in segments if s[0] == "CLM")
    charges = [Decimal(s[2]) for s in segments if s[0] == "SV1"]
    assert clm[1] == "ses_va_direct"
    assert Decimal(clm[2]) == sum(charges) == Decimal("260")
    assert ["REF", "9F", "VA0012345678"] in segments
    assert next(s for s in segments if s[0] == "ISA")[13] == "000000001"


def test_x12_is_not_written_for_other_routes(tmp_path: Path) -> None:
    out = tmp_path / "claim.837"
    result = superbill("check", str(EVENTS / "commercial_courtesy.json"), "--x12", str(out))
    assert result.returncode == 0
    assert not out.exists()
    assert "no 837P written" in result.stderr


def test_pdf_is_written_with_the_superbill(tmp_path: Path) -> None:
    out = tmp_path / "superbill.pdf"
    result = superbill("check", str(EVENTS / "commercial_courtesy.json"), "--pdf", str(out))
    assert result.returncode == 0, result.stderr
    text = PdfReader(out).pages[0].extract_text()
    assert "97140" in text and "97124" in text and "M54.50" in text and "$260.00" in text


def test_an_unreadable_event_file_is_an_error_not_a_refusal(tmp_path: Path) -> None:
    result = superbill("check", str(tmp_path / "missing.json"))
    assert result.returncode == 1
    assert "cannot read" in result.stderr


def test_a_bad_practice_profile_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("[practice]\nlegal_name = 'x'\n")
    result = superbill("--practice", str(bad), "check", str(EVENTS / "va_direct.json"))
    assert result.returncode == 1
    assert str(bad) in result.stderr and "practice.npi" in result.stderr
