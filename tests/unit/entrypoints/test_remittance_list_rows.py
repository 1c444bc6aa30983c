"""The remittance list (terminal and ops page) shows what in a file needs a person, not only what posted."""

from __future__ import annotations

from typing import Any

from pipeline.entrypoints.cli.money import remittance_row_text
from pipeline.entrypoints.web.ops_page.money import remittances_body


def row(**kw: Any) -> dict[str, Any]:
    return {"remittance_id": "rem_000006", "source_id": "ERA-6", "received_at": 1796486281.0, "status": "posted",
            "deliveries": 1, "claims": 3, "posted": 1, "unmatched": 0, "not_postable": 0, "duplicate": 0,
            "waiting": 0, "errors": [], "trace_number": "CHK77", "payment_amount": "999.00",
            "payment_method": "CHK", "payment_date": "2026-12-05", "payer": "VA CCN OPTUM", **kw}


def test_a_file_with_claims_not_posted_and_an_unbalanced_bpr02_says_so_in_the_list() -> None:
    bad = row(not_postable=1, duplicate=1, errors=["BPR02 999 is not the claims' payments less the provider "
                                                   "adjustments"])
    text = remittance_row_text(bad)
    assert text.endswith("3 (1 posted, 1 not postable, 1 duplicate); 1 error(s): remittances show rem_000006")
    page = remittances_body([bad])
    assert "1 not postable, 1 duplicate, 1 error(s)" in page


def test_a_file_that_posted_everything_is_one_quiet_line() -> None:
    text = remittance_row_text(row(posted=3))
    assert text.endswith("3 (3 posted)") and "error" not in text
    assert "not postable" not in remittances_body([row(posted=3)])
