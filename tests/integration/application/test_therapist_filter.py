"""The `therapist` filter (README, CONTRACT.md 3.3): `claims list --therapist`, `GET /v1/ops/claims?therapist=`
and a resubmission by filter select exactly the claims of that therapist id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline.adapters.redis_server import embedded_redis
from pipeline.application import ops
from tests.integration.application.harness import InlinePipeline, example
from tests.web_app import web_app_on


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, InlinePipeline]]:
    """Four claims: two of thr_jones, two of thr_lee (one of each needs attention)."""
    with embedded_redis(Path(tmp_path_factory.mktemp("redis"))) as url:
        pipeline = InlinePipeline(url)
        for tag, therapist, name in (("j1", "thr_jones", "self_pay"), ("j2", "thr_jones", "va_missing_referral"),
                                     ("l1", "thr_lee", "self_pay"), ("l2", "thr_lee", "va_missing_referral")):
            doc = example(name)
            doc["event_id"], doc["session"]["session_id"] = f"evt_{tag}", f"ses_{tag}"
            doc["session"]["therapist_id"] = therapist
            pipeline.post(doc)
        yield url, pipeline


def test_listing_by_therapist_gives_exactly_that_therapists_claims(claims: tuple[str, InlinePipeline]) -> None:
    _, pipeline = claims
    found = ops.list_claims(pipeline.ledger, ops.ClaimFilter(therapist="thr_lee"))
    assert sorted(c.claim_id for c in found) == ["ses_l1", "ses_l2"]
    both = ops.list_claims(pipeline.ledger, ops.ClaimFilter(therapist="thr_lee", status="needs_attention"))
    assert [c.claim_id for c in both] == ["ses_l2"]
    assert ops.list_claims(pipeline.ledger, ops.ClaimFilter(therapist="thr_le")) == []  # an id, not a prefix


def test_resubmitting_by_therapist_selects_only_that_therapists_claims(claims: tuple[str, InlinePipeline]) -> None:
    _, pipeline = claims
    assert ops.select_for_resubmit(pipeline.ledger, ops.ClaimFilter(therapist="thr_jones")) == ["ses_j2"]


def test_the_cli_lists_claims_by_therapist(claims: tuple[str, InlinePipeline], tmp_path: Path) -> None:
    url, _ = claims
    result = subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", "claims", "list", "--therapist",
                             "thr_jones", "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            check=False, env={**os.environ, "REDIS_URL": url})
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["claims"]
    assert sorted((r["claim_id"], r["therapist_id"]) for r in rows) == [("ses_j1", "thr_jones"),
                                                                        ("ses_j2", "thr_jones")]


def test_the_ops_api_lists_claims_by_therapist(claims: tuple[str, InlinePipeline]) -> None:
    url, _ = claims
    with web_app_on(url, ops_token="ops-token", webhook_secret="secret") as app:
        answer = TestClient(app).get("/v1/ops/claims", params={"therapist": "thr_lee"},
                                     headers={"Authorization": "Bearer ops-token"})
    assert answer.status_code == 200, answer.text
    assert sorted(r["claim_id"] for r in answer.json()["claims"]) == ["ses_l1", "ses_l2"]
