"""What the commands write can hold patient data (a backup holds every client's): a new file is readable by its
owner only, whatever the umask; a file the owner already had keeps the permissions they gave it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.examples import example_path
from tests.integration.entrypoints.test_cli_errors_are_one_line import self_pay_claim, superbill

__all__ = ["self_pay_claim"]  # the fixture, used by name


@pytest.fixture
def open_umask() -> Iterator[None]:
    before = os.umask(0o022)  # the usual umask: files readable by everyone unless made otherwise
    try:
        yield
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("command", "written"), [
    (["backup", "all.backup"], "all.backup"),
    (["claims", "export", "--from", "2026-11-01", "--to", "2026-11-30", "--with-client", "-o", "x.csv"], "x.csv"),
    (["claims", "statement", "ses_self_pay", "-o", "s.pdf"], "s.pdf"),
    (["check", str(example_path("va_direct")), "--x12", "a.837"], "a.837"),
])
def test_a_file_a_command_writes_is_readable_by_its_owner_only(
        redis_url: str, tmp_path: Path, self_pay_claim: str, open_umask: None, command: list[str],
        written: str) -> None:
    result = superbill(redis_url, tmp_path, *command)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / written).stat().st_size > 0
    assert mode(tmp_path / written) == 0o600


def test_a_file_the_owner_already_had_keeps_its_permissions(redis_url: str, tmp_path: Path, self_pay_claim: str,
                                                           open_umask: None) -> None:
    shared = tmp_path / "shared.csv"
    shared.write_text("old")
    shared.chmod(0o640)
    result = superbill(redis_url, tmp_path, "claims", "export", "--from", "2026-11-01", "--to", "2026-11-30",
                       "-o", "shared.csv")
    assert result.returncode == 0, result.stderr
    assert mode(shared) == 0o640 and shared.read_text().startswith("claim_id")
