"""Every process finds the same data wherever it runs from: the embedded Redis lives in the data home
(`SUPERBILL_HOME`, else a per-user folder), never in the current folder; `superbill redis` manages it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.adapters.redis_server import stop_embedded

EXAMPLES = Path(__file__).resolve().parents[3] / "pipeline" / "examples"


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sbh"))  # short: a Unix socket path must fit in 107 bytes
    yield path
    for sock in path.rglob("redis.sock"):
        stop_embedded(sock.parent)
    shutil.rmtree(path, ignore_errors=True)


def superbill(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if k not in ("REDIS_URL", "SUPERBILL_DATA_DIR", "SUPERBILL_HOME", "XDG_DATA_HOME")}
    return subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *args], cwd=cwd, env={**base, **env},
                          capture_output=True, text=True, timeout=120, check=False)


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_two_folders_one_home_one_ledger(short_tmp: Path) -> None:
    env = {"SUPERBILL_HOME": str(short_tmp / "home")}
    here, there = short_tmp / "a", short_tmp / "b"
    here.mkdir(), there.mkdir()
    events = short_tmp / "events.jsonl"
    events.write_text((EXAMPLES / "self_pay.json").read_text().replace("\n", " ") + "\n")

    ingested = superbill("ingest", str(events), "--json", cwd=here, env=env)
    assert ingested.returncode == 0, ingested.stderr
    listed = as_json(superbill("claims", "list", "--json", cwd=there, env=env))["claims"]
    assert [c["session_id"] for c in listed] == [json.loads(events.read_text())["session"]["session_id"]]

    status = as_json(superbill("redis", "status", "--json", cwd=there, env=env))
    assert (status["running"], status["data_dir"]) == (True, str(short_tmp / "home"))
    assert not (here / "var").exists() and not (there / "var").exists()


def test_the_default_home_is_the_users_not_the_current_folder(short_tmp: Path) -> None:
    env = {"HOME": str(short_tmp / "u")}
    status = as_json(superbill("redis", "status", "--json", cwd=short_tmp, env=env))
    assert status["data_dir"] == str(short_tmp / "u" / ".local" / "share" / "superbill")
    assert status["running"] is False


def test_redis_start_status_stop(short_tmp: Path) -> None:
    env = {"SUPERBILL_HOME": str(short_tmp / "h")}
    started = superbill("redis", "start", cwd=short_tmp, env=env)
    assert started.stdout.strip() == f"unix://{short_tmp / 'h' / 'redis.sock'}"
    assert superbill("redis", "status", cwd=short_tmp, env=env).returncode == 0
    stopped = superbill("redis", "stop", cwd=short_tmp, env=env)
    assert stopped.stdout.startswith("stopped")
    after = superbill("redis", "status", "--json", cwd=short_tmp, env=env)
    assert after.returncode == 1
    assert (json.loads(after.stdout)["running"], json.loads(after.stdout)["stopped_on_purpose"]) == (False, True)
