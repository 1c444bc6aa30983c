"""A problem a command cannot get past is one line on stderr naming the file or the setting and the reason,
never a traceback (docs/CLI.md, Errors), with the documented exit code."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.examples import example_path
from tests.integration.application.harness import InlinePipeline, example


def superbill(redis_url: str, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, check=False, env={**os.environ, "REDIS_URL": redis_url, **env})


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def self_pay_claim(redis_url: str) -> str:
    return InlinePipeline(redis_url).post(example("self_pay"))


@pytest.mark.parametrize(("command", "expected"), [
    (["statement", "--client", "cli_204", "--from", "2026-11-01", "--to", "2026-11-30", "-o", "{gone}/x.pdf"],
     "{gone}/x.pdf: cannot write (no such folder {gone})"),
    (["claims", "statement", "ses_self_pay", "-o", "{gone}/x.pdf"],
     "{gone}/x.pdf: cannot write (No such file or directory)"),
    (["check", str(example_path("va_direct")), "--x12", "{gone}/a.837"],
     "{gone}/a.837: cannot write (No such file or directory)"),
    (["check", str(example_path("va_direct")), "--pdf", "{gone}/a.pdf"],
     "{gone}/a.pdf: cannot write (No such file or directory)"),
    (["claims", "export", "--from", "2026-11-01", "--to", "2026-11-30", "-o", "{gone}/x.csv"],
     "{gone}/x.csv: cannot write (No such file or directory)"),
    (["backup", "{gone}/x.bak"], "not backed up: {gone}/x.bak: cannot write (No such file or directory)"),
    (["ingest", "{gone}/events.jsonl"], "{gone}/events.jsonl: cannot read (No such file or directory)"),
    (["ingest", "{here}"], "{here}: cannot read (Is a directory)"),
])
def test_a_file_that_cannot_be_read_or_written_is_one_line_and_exit_1(
        redis_url: str, tmp_path: Path, self_pay_claim: str, command: list[str], expected: str) -> None:
    def place(text: str) -> str:
        return text.format(gone=tmp_path / "gone", here=tmp_path)

    result = superbill(redis_url, tmp_path, *map(place, command))
    assert (result.returncode, one_line(result)) == (1, place(expected))


@pytest.mark.parametrize("command", [
    ["claims", "export", "--from", "2026-11-30", "--to", "2026-11-01"],
    ["statement", "--client", "cli_204", "--from", "2026-11-30", "--to", "2026-11-01", "-o", "x.pdf"],
])
def test_a_date_range_that_ends_before_it_starts_is_a_usage_error(redis_url: str, tmp_path: Path,
                                                                  command: list[str]) -> None:
    result = superbill(redis_url, tmp_path, *command)
    assert (result.returncode, one_line(result)) == (2, "--to 2026-11-01 is before --from 2026-11-30")
    assert not (tmp_path / "x.pdf").exists()


def test_a_backup_cut_short_is_not_restored_and_the_ledger_stays(redis_url: str, tmp_path: Path,
                                                                self_pay_claim: str) -> None:
    assert superbill(redis_url, tmp_path, "backup", "full.backup").returncode == 0
    whole = (tmp_path / "full.backup").read_bytes()
    assert len(gzip.decompress(whole).splitlines()) > 2
    (tmp_path / "cut.backup").write_bytes(whole[: len(whole) * 2 // 3])
    for force in (["--force"], []):  # into the store that holds data, with or without --force: the damage first
        result = superbill(redis_url, tmp_path, "restore", *force, "cut.backup")
        assert result.returncode == 1
        assert one_line(result).startswith("cut.backup: not restored: the backup is cut short or damaged at line ")
    shown = superbill(redis_url, tmp_path, "claims", "show", self_pay_claim, "--json")
    assert shown.returncode == 0 and '"status": "statement_ready"' in shown.stdout


def test_an_unknown_log_level_names_the_variable_and_the_levels(redis_url: str, tmp_path: Path) -> None:
    result = superbill(redis_url, tmp_path, "status", SUPERBILL_LOG_LEVEL="LOUD")
    assert (result.returncode, one_line(result)) == (1, "configuration error: environment variable "
                                                        "SUPERBILL_LOG_LEVEL must be one of DEBUG, INFO, WARNING, "
                                                        "ERROR, got 'LOUD'")


@pytest.mark.parametrize("command", [["web", "--port", "99999"], ["web", "--port", "0"],
                                     ["sandbox", "--port", "65536"], ["sandbox", "--smtp-port", "x"]])
def test_a_port_out_of_range_is_a_usage_error(redis_url: str, tmp_path: Path, command: list[str]) -> None:
    result = superbill(redis_url, tmp_path, *command)
    assert result.returncode == 2
    assert result.stderr.startswith("usage:") and "is not a port number (1 to 65535)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_busy_port_is_one_line_and_exit_1(redis_url: str, tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = superbill(redis_url, tmp_path, "web", "--host", "127.0.0.1", "--port", str(port),
                           SUPERBILL_WEBHOOK_SECRET="s" * 40)
    assert (result.returncode, one_line(result)) == (
        1, f"cannot listen on 127.0.0.1:{port} (Address already in use): is another process using it? Choose "
           "another with --port or PORT")
