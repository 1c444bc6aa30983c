"""Counts, seconds and limits are checked when the arguments are read: a value the command cannot use is a
usage error (exit 2) naming the option, before anything reaches Redis."""

from __future__ import annotations

import pytest

from pipeline.entrypoints.cli import build_parser


@pytest.mark.parametrize(("argv", "option"), [
    (["audit", "--limit", "0"], "--limit"),
    (["audit", "--limit", "-3"], "--limit"),
    (["claims", "list", "--limit", "0"], "--limit"),
    (["refused", "list", "--limit", "x"], "--limit"),
    (["ar", "--warn-days", "-1"], "--warn-days"),
    (["worker", "--processes", "0"], "--processes"),
    (["worker", "--threads", "-1"], "--threads"),
    (["reconcile", "--every", "0"], "--every"),
    (["reconcile", "--older-than", "-5"], "--older-than"),
    (["reconcile", "--older-than", "nan"], "--older-than"),
    (["demo", "--timeout", "0"], "--timeout"),
    (["web", "--port", "99999"], "--port"),
])
def test_a_number_the_command_cannot_use_is_a_usage_error(argv: list[str], option: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(argv)
    assert stopped.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "field", "value"), [
    (["audit", "--limit", "5"], "limit", 5),
    (["ar", "--warn-days", "0"], "warn_days", 0),
    (["reconcile", "--once", "--older-than", "0"], "older_than", 0.0),
    (["web", "--port", "65535"], "port", 65535),
])
def test_a_usable_number_is_taken(argv: list[str], field: str, value: object) -> None:
    assert getattr(build_parser().parse_args(argv), field) == value
