"""The claims page's problem filter, signed in on a real Redis: a warning code or a mistyped code is said to be
one the filter can never match (as the CLI and the API say), never shown as an empty list of claims."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.application.harness import InlinePipeline
from tests.integration.web.test_ops_page_payments import page

__all__ = ["page"]


def test_a_code_the_filter_can_never_match_is_said_not_listed_as_no_claims(
        page: tuple[TestClient, InlinePipeline, str]) -> None:
    client, _, _ = page
    warning = client.get("/ops/claims", params={"problem": "balance_due"})
    assert warning.status_code == 422 and 'id="bad-filter"' in warning.text
    assert "balance_due is a warning code, not a problem" in warning.text
    typo = client.get("/ops/claims", params={"problem": "prescripton_missing"})
    assert typo.status_code == 422 and "unknown problem code" in typo.text
    parked = client.get("/ops/claims", params={"problem": "va_referral_missing"})
    assert parked.status_code == 200 and 'id="bad-filter"' not in parked.text
