"""README: `SUPERBILL_WEBHOOK_SECRET` unset means `superbill web` refuses to start; it starts nothing
first (no Redis server in the data home, no port), says which variable to set, and exits non-zero."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("secret", [None, ""], ids=["unset", "empty"])
def test_superbill_web_refuses_to_start_without_a_webhook_secret(tmp_path: Path, secret: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPERBILL_", "REDIS_URL"))}
    env.update(SUPERBILL_HOME=str(tmp_path / "home"), SUPERBILL_OPS_TOKEN="ops")
    if secret is not None:
        env["SUPERBILL_WEBHOOK_SECRET"] = secret
    port = free_port()
    result = subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", "web", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode != 0
    assert "SUPERBILL_WEBHOOK_SECRET is not set" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").iterdir()), "a Redis server was started"
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "something listens on the web port"
