"""`superbill refused replay|list`: a refused event replayed into a claim keeps saying so; a later replay is
refused unless asked for on purpose, and one refused again never hides that the event was fixed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.application.ingest import receive
from tests.integration.application.harness import InlinePipeline, example


def superbill(redis_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, check=False, env={**os.environ, "REDIS_URL": redis_url})


@pytest.fixture
def refused_id(redis_url: str, tmp_path: Path) -> str:
    pipeline = InlinePipeline(redis_url)
    outcome = receive(pipeline.ledger, json.dumps(example("refused_unsupported_cpt")).encode(),
                      lambda *_: None, source="test")
    assert outcome.http_status == 422
    fixed = example("refused_unsupported_cpt")
    fixed["session"]["services"][0]["cpt"] = "97124"
    (tmp_path / "fixed.json").write_text(json.dumps(fixed))
    (tmp_path / "broken.json").write_text("{not json")
    return str(outcome.body["refused_id"])


def listed(redis_url: str, tmp_path: Path, refused_id: str) -> str:
    result = superbill(redis_url, tmp_path, "refused", "list")
    assert result.returncode == 0, result.stderr
    return next(line for line in result.stdout.splitlines() if line.startswith(refused_id))


def test_a_replayed_event_keeps_the_claim_it_became(redis_url: str, tmp_path: Path, refused_id: str) -> None:
    first = superbill(redis_url, tmp_path, "refused", "replay", refused_id)
    assert first.returncode == 2
    assert listed(redis_url, tmp_path, refused_id).endswith("[replay refused (422)]")

    fixed = superbill(redis_url, tmp_path, "refused", "replay", refused_id, "--file", "fixed.json", "--json")
    assert fixed.returncode == 0, fixed.stderr
    claim_id = json.loads(fixed.stdout)["claim_id"]

    again = superbill(redis_url, tmp_path, "refused", "replay", refused_id, "--file", "broken.json")
    assert (again.returncode, again.stdout, again.stderr.strip()) == (
        2, "", f"{refused_id}: not replayed: already replayed as claim {claim_id}; add --again to send it "
               "through intake once more")

    on_purpose = superbill(redis_url, tmp_path, "refused", "replay", refused_id, "--file", "broken.json",
                           "--again", "--json")
    assert (on_purpose.returncode, json.loads(on_purpose.stdout)["http_status"]) == (2, 400)
    assert listed(redis_url, tmp_path, refused_id).endswith(f"[replayed as claim {claim_id}]")
    shown = json.loads(superbill(redis_url, tmp_path, "refused", "show", refused_id, "--json").stdout)
    assert json.loads(shown["replayed_as"])["http_status"] == 202


def test_a_second_replay_answers_409_in_json(redis_url: str, tmp_path: Path, refused_id: str) -> None:
    fixed = superbill(redis_url, tmp_path, "refused", "replay", refused_id, "--file", "fixed.json", "--json")
    claim_id = json.loads(fixed.stdout)["claim_id"]
    again = superbill(redis_url, tmp_path, "refused", "replay", refused_id, "--json")
    answer = json.loads(again.stdout)
    assert (again.returncode, answer["http_status"], answer["status"], answer["claim_id"]) == (
        2, 409, "already_replayed", claim_id)
