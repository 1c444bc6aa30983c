"""An unknown claim id gets the same one-line answer and exit code from every command that takes one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("command", [
    ["claims", "show", "nope"],
    ["claims", "statement", "nope", "-o", "out.pdf"],
    ["claims", "amend", "nope", "--file", "patch.json"],
    ["resubmit", "nope"],
])
def test_an_unknown_claim_is_one_line_and_exit_1(redis_url: str, tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "patch.json").write_text('{"client": {"phone": "+1-217-555-0100"}}')
    result = subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *command], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False,
                            env={**os.environ, "REDIS_URL": redis_url})
    assert (result.returncode, result.stderr.strip()) == (1, "no claim nope")
