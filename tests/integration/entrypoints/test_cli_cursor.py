"""A `--cursor` that is no position in a list (`nan:x`, `inf:x`, garbage) is refused with exit 2, as the list did
not give it out; it never reaches Redis as a range it cannot read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("command", [["claims", "list", "--limit", "2"], ["refused", "list", "--limit", "1"]])
@pytest.mark.parametrize("cursor", ["nan:x", "inf:x", "garbage"])
def test_a_cursor_that_is_no_position_exits_2(redis_url: str, tmp_path: Path, command: list[str],
                                              cursor: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *command, "--cursor", cursor],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
                            env={**os.environ, "REDIS_URL": redis_url})
    assert result.returncode == 2, result.stderr
    assert "is not a cursor this list gave out" in result.stderr and "Redis" not in result.stderr
