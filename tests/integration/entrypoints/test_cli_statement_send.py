"""`superbill statement send CLAIM_ID` queues the e-mail for a worker; run where no mail server is set up, it
says so, since a worker with the same settings would record the statement as not sent."""

from __future__ import annotations

from pathlib import Path

from tests.integration.entrypoints.test_cli_errors_are_one_line import self_pay_claim, superbill

__all__ = ["self_pay_claim"]  # the fixture, used by name


def test_a_resend_without_a_mail_server_set_up_says_so(redis_url: str, tmp_path: Path, self_pay_claim: str) -> None:
    result = superbill(redis_url, tmp_path, "statement", "send", self_pay_claim, SUPERBILL_SMTP_HOST="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{self_pay_claim}: ")
    assert result.stderr.startswith("note: no mail server is set up here (SUPERBILL_SMTP_HOST)")


def test_a_resend_with_a_mail_server_set_up_adds_no_note(redis_url: str, tmp_path: Path,
                                                         self_pay_claim: str) -> None:
    result = superbill(redis_url, tmp_path, "statement", "send", self_pay_claim,
                       SUPERBILL_SMTP_HOST="127.0.0.1", SUPERBILL_SMTP_PORT="2525",
                       SUPERBILL_SMTP_FROM="billing@practice.example")
    assert result.returncode == 0, result.stderr
    assert "note:" not in result.stderr
