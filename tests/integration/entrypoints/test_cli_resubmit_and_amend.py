"""`superbill resubmit` and `superbill claims amend` against a ledger whose claims were driven to their
status by the pipeline's own steps (a clearinghouse that rejects), on a real Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.application.harness import InlinePipeline, example


@pytest.fixture
def pipeline(redis_url: str) -> InlinePipeline:
    return InlinePipeline(redis_url)


def superbill(redis_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, check=False, env={**os.environ, "REDIS_URL": redis_url})


def rejected_claim(pipeline: InlinePipeline) -> str:
    pipeline.clearinghouse.outcome = "rejected"
    claim_id = pipeline.post(example("va_direct"))
    assert pipeline.claim(claim_id).status == "rejected"
    return claim_id


def test_an_unknown_id_is_skipped_and_the_known_ones_are_resubmitted(pipeline: InlinePipeline, redis_url: str,
                                                                     tmp_path: Path) -> None:
    claim_id = rejected_claim(pipeline)
    result = superbill(redis_url, tmp_path, "resubmit", claim_id, "nope", "--anyway", "--json")
    assert result.returncode == 1, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["resubmitted"], answer["skipped"], answer["dry_run"]) == (
        [claim_id], [{"claim_id": "nope", "reason": "no such claim"}], False)
    assert result.stderr.strip() == "no claim nope"
    assert (pipeline.claim(claim_id).status, pipeline.claim(claim_id).submission_no) == ("received", 2)


def test_the_text_output_names_the_unknown_id_as_skipped(pipeline: InlinePipeline, redis_url: str,
                                                         tmp_path: Path) -> None:
    claim_id = rejected_claim(pipeline)
    result = superbill(redis_url, tmp_path, "resubmit", "nope", claim_id)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"resubmitted 1 claim(s): {claim_id}", "  skipped nope: no such claim"]
    assert pipeline.claim(claim_id).submission_no == 2


def test_a_resubmission_of_known_claims_only_exits_0(pipeline: InlinePipeline, redis_url: str,
                                                     tmp_path: Path) -> None:
    claim_id = rejected_claim(pipeline)
    result = superbill(redis_url, tmp_path, "resubmit", claim_id)
    assert (result.returncode, result.stdout.strip()) == (0, f"resubmitted 1 claim(s): {claim_id}")


@pytest.mark.parametrize(("patch", "reason"), [
    ({"session": {"session_id": "ses_other"}}, "the session id of a claim cannot change"),
    ({"diagnosis": {"code": "M54.50"}}, "the amendment names sections that cannot be amended"),
])
def test_an_amendment_refused_says_why(pipeline: InlinePipeline, redis_url: str, tmp_path: Path,
                                       patch: dict[str, object], reason: str) -> None:
    claim_id = rejected_claim(pipeline)
    (tmp_path / "patch.json").write_text(json.dumps(patch))
    result = superbill(redis_url, tmp_path, "claims", "amend", claim_id, "--file", "patch.json")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == f"{claim_id}: not amended. {reason}"
    assert len(result.stderr.splitlines()) == 2


def test_a_denied_claim_can_be_amended(pipeline: InlinePipeline, redis_url: str, tmp_path: Path) -> None:
    claim_id = rejected_claim(pipeline)
    pipeline.ledger.r.hset(pipeline.ledger.claim_key(claim_id), "status", "denied")
    assert pipeline.claim(claim_id).status == "denied"
    (tmp_path / "patch.json").write_text(json.dumps({"client": {"phone": "+1-217-555-0199"}}))
    result = superbill(redis_url, tmp_path, "claims", "amend", claim_id, "--file", "patch.json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{claim_id}: amended (client).")


def test_an_amendment_the_claim_already_has_changes_nothing(pipeline: InlinePipeline, redis_url: str,
                                                            tmp_path: Path) -> None:
    claim_id = rejected_claim(pipeline)
    (tmp_path / "patch.json").write_text(json.dumps({"client": {"phone": "+1-217-555-0199"}}))
    first = superbill(redis_url, tmp_path, "claims", "amend", claim_id, "--file", "patch.json")
    assert first.returncode == 0 and first.stdout.startswith(f"{claim_id}: amended (client).")
    timeline = pipeline.kinds(claim_id)
    again = superbill(redis_url, tmp_path, "claims", "amend", claim_id, "--file", "patch.json")
    assert (again.returncode, again.stdout) == (0, f"{claim_id}: nothing changed: the claim already has these "
                                                   "values\n")
    assert pipeline.kinds(claim_id) == timeline  # no second "amended" entry
    as_json = json.loads(superbill(redis_url, tmp_path, "claims", "amend", claim_id, "--file", "patch.json",
                                   "--json").stdout)
    assert (as_json["ok"], as_json["changed"]) == (True, [])


@pytest.mark.parametrize(("content", "expected"), [
    (None, "patch.json: cannot read (No such file or directory)"),
    (b"{nope", "patch.json: not JSON (Expecting property name enclosed in double quotes at line 1 column 2)"),
    (b'{"client": {"phone": "\xc3\x28"}}', "patch.json: not JSON (not UTF-8 text)"),
    (b"[1]", 'patch.json: must be a JSON object such as {"prescription": {...}}'),
])
def test_an_amendment_file_that_cannot_be_used_is_one_line(pipeline: InlinePipeline, redis_url: str,
                                                           tmp_path: Path, content: bytes | None,
                                                           expected: str) -> None:
    claim_id = rejected_claim(pipeline)
    if content is not None:
        (tmp_path / "patch.json").write_bytes(content)
    for command in (["claims", "amend", claim_id], ["claims", "correct", claim_id]):
        result = superbill(redis_url, tmp_path, *command, "--file", "patch.json")
        assert (result.returncode, result.stderr) == (1, expected + "\n"), command


def test_a_dry_run_shows_what_each_claim_would_become(pipeline: InlinePipeline, redis_url: str,
                                                      tmp_path: Path) -> None:
    claim_id = pipeline.park("ses_dry")
    referral = {**example("va_direct")["va_referral"], "referral_number": "12345"}  # not a VA number
    (tmp_path / "patch.json").write_text(json.dumps({"va_referral": referral}))
    assert superbill(redis_url, tmp_path, "claims", "amend", claim_id, "--file", "patch.json").returncode == 0
    timeline = pipeline.kinds(claim_id)
    result = superbill(redis_url, tmp_path, "resubmit", claim_id, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"would resubmit 1 claim(s): {claim_id}",
                                          f"  {claim_id} would be routed needs_attention (va_referral_number_invalid)"]
    answer = json.loads(superbill(redis_url, tmp_path, "resubmit", claim_id, "--dry-run", "--json").stdout)
    assert answer["previews"] == {claim_id: {"route": "needs_attention", "problems": ["va_referral_number_invalid"]}}
    assert pipeline.kinds(claim_id) == timeline and pipeline.claim(claim_id).status == "needs_attention"

    referral["referral_number"] = "VA0000000999"
    (tmp_path / "patch.json").write_text(json.dumps({"va_referral": referral}))
    assert superbill(redis_url, tmp_path, "claims", "amend", claim_id, "--file", "patch.json").returncode == 0
    fixed = superbill(redis_url, tmp_path, "resubmit", claim_id, "--dry-run")
    assert fixed.stdout.splitlines()[1] == f"  {claim_id} would be routed direct_billing"
