"""Usage errors read well: a sub-command names itself once, a blank id is called empty, an unknown code to
`explain` is refused with the known ones."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipeline.entrypoints.cli import build_parser


def superbill(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *args], capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0"})


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(argv)
    assert stopped.value.code == 2
    return capsys.readouterr().err.splitlines()


@pytest.mark.parametrize(("argv", "prog"), [
    (["statement", "monthly", "--today", "bogus"], "superbill statement monthly"),
    (["statement", "send"], "superbill statement send"),
])
def test_a_statement_action_names_itself_once(argv: list[str], prog: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    lines = usage_error(argv, capsys)
    assert lines[0].startswith(f"usage: {prog} [-h]")
    assert lines[-1].startswith(f"{prog}: error: ")
    assert len(lines) == 2


@pytest.mark.parametrize("argv", [["claims", "show", ""], ["claims", "amend", " ", "--file", "p.json"],
                                  ["resubmit", "ses_1", ""], ["refused", "show", ""],
                                  ["statement", "send", ""],
                                  ["statement", "--client", "", "--from", "2026-11-01", "--to", "2026-11-30",
                                   "-o", "x.pdf"]])
def test_a_blank_id_is_called_empty(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert usage_error(argv, capsys)[-1].endswith("the id is empty")


@pytest.mark.parametrize(("argv", "missing"), [
    (["statement", "--client", "cli_1", "--from", "2026-11-01", "--to", "2026-11-30"], "-o"),
    (["statement", "--client", "cli_1"], "--from, --to, -o"),
    (["statement"], "--client, --from, --to, -o"),
])
def test_a_statement_without_its_options_is_a_usage_error_naming_them(argv: list[str], missing: str) -> None:
    result = superbill(*argv)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("usage: superbill statement --client CLIENT_ID")
    assert lines[-1].startswith(f"superbill statement: error: give {missing} (superbill statement --client ID")


def test_an_unknown_code_is_refused_with_the_known_ones() -> None:
    result = superbill("explain", "bogus_code", "va_referral_missing")
    assert (result.returncode, result.stdout) == (2, "")
    first, known = result.stderr.splitlines()
    assert first == "unknown code 'bogus_code'"
    assert known.startswith("known codes: ") and "va_referral_missing" in known


def test_known_codes_and_families_are_explained() -> None:
    result = superbill("explain", "va_referral_missing", "277CA:A7:999", "CO-197", "N54")
    assert result.returncode == 0, result.stderr
    assert "va_referral_missing: " in result.stdout and "CO-197: " in result.stdout
