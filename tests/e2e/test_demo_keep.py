"""After `superbill demo --keep`, the ops commands can look at the demo's claims, then stop its Redis."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.adapters.redis_server import server_pid, stop_embedded

pytestmark = pytest.mark.e2e


def superbill(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_kept_demo_is_there_for_the_ops_commands(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "SUPERBILL_"))}
    demo = superbill("demo", "--keep", "--json", env=env, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    document = json.loads(demo.stdout)
    kept = document["kept"]
    data_dir = Path(kept["redis_data_dir"])
    try:
        assert server_pid(data_dir) is not None  # still running after the demo ended
        listed = superbill("claims", "list", "--json", env={**env, "REDIS_URL": kept["redis_url"]}, cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert sorted(c["claim_id"] for c in json.loads(listed.stdout)["claims"]) == sorted(
            c["claim_id"] for c in document["claims"])
        # in the shell that exported REDIS_URL as the demo said, `redis status` and `redis stop` act on that server
        status = superbill("redis", "status", "--json", env={**env, "REDIS_URL": kept["redis_url"]}, cwd=tmp_path)
        assert status.returncode == 0, status.stderr
        assert (json.loads(status.stdout)["running"], json.loads(status.stdout)["data_dir"]) == (True, str(data_dir))
        stopped = superbill("redis", "stop", env={**env, "REDIS_URL": kept["redis_url"]}, cwd=tmp_path)
        assert stopped.returncode == 0 and server_pid(data_dir) is None, stopped.stdout
    finally:
        stop_embedded(data_dir)
        shutil.rmtree(kept["folder"], ignore_errors=True)
