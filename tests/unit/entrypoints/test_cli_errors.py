"""The command line says what is wrong in one line, never with a traceback; every command takes --json."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipeline.entrypoints.cli import build_parser


def superbill(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *args], capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, **env})


@pytest.mark.parametrize(("env", "expected"), [
    ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "cannot reach Redis (ConnectionError)"),
    ({"REDIS_URL": "not-a-url"}, "configuration error: environment variable REDIS_URL must start with"),
    ({"SUPERBILL_PEER_TIMEOUT": "abc"}, "configuration error: environment variable SUPERBILL_PEER_TIMEOUT must be"),
])
def test_a_setting_or_a_redis_that_cannot_be_used_is_one_line(env: dict[str, str], expected: str) -> None:
    result = superbill("status", **env)
    assert result.returncode == 1
    assert result.stderr.startswith(expected) and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_daily_summary_takes_json_and_refused_names_its_subcommands() -> None:
    assert build_parser().parse_args(["daily-summary", "--json"]).json is True
    help_text = superbill("refused", "--help").stdout
    assert "every refused event" in help_text and "one refused event" in help_text
