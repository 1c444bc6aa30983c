"""`superbill ingest FILE.jsonl`: each line through the webhook's path, with a summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import example

pytestmark = pytest.mark.e2e


def test_ingest_sends_every_line_and_summarises(start_stack: Any, tmp_path: Path) -> None:
    stack = start_stack()
    va, statement = example("va_direct"), example("self_pay")
    bad = example("refused_unsupported_cpt")
    lines = [json.dumps(va), json.dumps(statement), json.dumps(va), "{not json", json.dumps(bad)]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n\n")

    result = subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", "ingest", str(path), "--json"],
                            env=stack.env(), capture_output=True, text=True, timeout=120)

    assert result.returncode == 2, result.stderr  # some lines were refused
    summary = json.loads(result.stdout)
    assert summary["lines"] == 5
    assert summary["accepted"] == 2 and summary["duplicate"] == 1 and summary["refused"] == 2
    refused = {r["line"]: r for r in summary["refused_lines"]}
    assert set(refused) == {4, 5}
    assert refused[4]["errors"][0]["message"].startswith("malformed JSON")
    assert refused[5]["errors"][0]["path"] == "session.services[0].cpt"

    ledger = stack.ledger()
    assert sorted(ledger.claim_ids()) == ["ses_self_pay", "ses_va_direct"]
    assert stack.wait_final(["ses_self_pay", "ses_va_direct"], 60)
    assert {c.claim_id: c.status for c in ledger.get_many(ledger.claim_ids())} == {
        "ses_self_pay": "statement_ready", "ses_va_direct": "accepted"}
    kept = ledger.list_refused()
    assert [r.body for r in kept] == [b"{not json", json.dumps(bad).encode()]
    assert {r.source for r in kept} == {f"ingest:{path.name}:4", f"ingest:{path.name}:5"}
