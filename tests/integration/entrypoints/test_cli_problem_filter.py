"""`--problem` takes a problem code: a warning code or a typo is a usage error naming the known codes, never
an empty list that reads as "no claim has this problem"."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.integration.application.harness import InlinePipeline


def superbill(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *args], capture_output=True,
                          text=True, timeout=60, check=False, env={**os.environ, "REDIS_URL": redis_url})


def test_claims_list_and_resubmit_refuse_a_problem_filter_that_is_no_problem_code(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    claim_id = pipeline.park("ses_parked")
    found = superbill(redis_url, "claims", "list", "--problem", "va_referral_missing")
    assert found.returncode == 0 and claim_id in found.stdout
    warning = superbill(redis_url, "claims", "list", "--problem", "balance_due")
    assert warning.returncode == 2 and warning.stdout == ""
    assert "balance_due is a warning code, not a problem" in warning.stderr
    typo = superbill(redis_url, "resubmit", "--status", "needs_attention", "--problem", "va_referal_missing")
    assert typo.returncode == 2 and "unknown problem code 'va_referal_missing'" in typo.stderr
    assert "va_referral_missing" in typo.stderr  # the known codes are named
    claim = pipeline.ledger.get(claim_id)
    assert claim is not None and claim.submission_no == 1
