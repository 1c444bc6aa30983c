"""`superbill demo` as the README's quickstart runs it: with only the installed project (no REDIS_URL, no
secrets, no peers configured) it starts an embedded Redis in a throwaway folder, the sandbox peers, a worker
and the web app, posts the bundled examples through the signed webhook, prints every claim once it is final
and exits 0, leaving nothing behind. With `--faults error_rate=0.3,timeout_rate=0.1` every submitted claim
still ends with exactly one receipt at the peer: the courtesy claim `accepted`, the VA claim `paid` by the
sandbox payer's remittance (835)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.examples import EXAMPLES

pytestmark = pytest.mark.e2e

# bundled example -> (route, final status, receipts at the peer), from pipeline/examples/README.md
EXPECTED = {
    "ses_va_direct": ("direct_billing", "paid", 1),  # accepted, then paid by the payer's 835
    "ses_commercial_courtesy": ("courtesy_submission", "accepted", 1),
    "ses_commercial_statement": ("statement_only", "statement_ready", 0),
    "ses_self_pay": ("statement_only", "statement_ready", 0),
    "ses_va_missing_referral": ("needs_attention", "needs_attention", 0),
}


def test_the_demo_runs_the_bundled_examples_to_their_final_status_through_faulty_peers(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "SUPERBILL_", "XDG_"))}
    env["HOME"] = str(home)
    done = subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", "demo", "--json",
                           "--faults", "error_rate=0.3,timeout_rate=0.1,seed=7"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(done.stdout)  # --json: one document on stdout and nothing else

    assert document["complete"] is True
    seen = {c["session_id"]: (c["route"], c["status"], c["peer_receipts"]) for c in document["claims"]}
    assert seen == EXPECTED
    assert [(r["file"], r["http_status"], [e["path"] for e in r["errors"]]) for r in document["refused"]] == [
        ("refused_unsupported_cpt.json", 422, ["session.services[0].cpt"])]
    assert len(document["claims"]) + len(document["refused"]) == len(list(EXAMPLES.glob("*.json")))

    # the embedded Redis lived in a throwaway folder, which is gone with its server; the user's data home
    # was never touched
    folder = re.search(r"in (\S+) \.\.\.", done.stderr)
    assert folder, done.stderr[:500]
    assert not Path(folder.group(1)).exists()
    assert processes_mentioning(folder.group(1)) == []
    assert not (home / ".local" / "share" / "superbill").exists()


def processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that name `text` (the demo's Redis server names its folder)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in line:
            found.append(line)
    return found


def test_a_demo_that_does_not_finish_in_time_keeps_its_logs_and_stops_everything(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "SUPERBILL_", "XDG_"))}
    env["HOME"] = str(tmp_path / "home")
    refused = subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", "demo", "--timeout", "0"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 2 and "--timeout" in refused.stderr and "above 0" in refused.stderr

    # the sandbox's first answers come late: no claim can be final within the time given
    done = subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", "demo", "--timeout", "0.2",
                           "--faults", "latency_ms=2000"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stderr[-2000:]
    folder = re.search(r"the logs of every process are kept in (\S+)", done.stderr)
    assert folder, done.stderr[-2000:]
    kept = Path(folder.group(1))
    try:
        assert {p.name for p in kept.glob("*.log")} >= {"worker.log", "web.log", "sandbox.log"}
        assert processes_mentioning(str(kept)) == []  # its Redis server and processes are stopped all the same
    finally:
        shutil.rmtree(kept, ignore_errors=True)
