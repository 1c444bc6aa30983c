"""Statements e-mailed to clients end to end: real Redis, real workers, the sandbox mail server over SMTP on
loopback. A statement-only claim's client gets exactly one e-mail with the PDF, also when the mail server
fails a few times first and when the worker is SIGKILLed in the middle of the send."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from config.practice import load_practice
from pipeline.application.statements import statement_pdf
from pipeline.entrypoints.demo import Stack
from tests.e2e.opskit import FAST_FAIL_ENV, OpsPage, event, post, wait_for

pytestmark = pytest.mark.e2e
StartStack = Callable[..., Stack]


def delivery(stack: Stack, claim_id: str) -> str | None:
    claim = stack.ledger().get(claim_id)
    return claim.statement_delivery if claim else None


def messages_to(stack: Stack, address: str) -> list[dict[str, Any]]:
    return [m for m in stack.mail()["messages"] if address in m["to"]]


def unfinished_metric(stack: Stack) -> str:
    text = requests.get(stack.web_url + "/metrics", headers={"Authorization": f"Bearer {stack.ops_token}"},
                        timeout=30).text
    return "\n".join(line for line in text.splitlines() if line.startswith("superbill_statement_emails"))


def assert_one_mail_with_the_statement(stack: Stack, claim_id: str, address: str) -> None:
    ledger = stack.ledger()
    claim = ledger.get(claim_id)
    assert claim is not None and claim.statement_delivery == "sent", claim
    mails = messages_to(stack, address)
    assert len(mails) == 1, [m["message_id"] for m in mails]
    assert mails[0]["message_id"] == claim.statement_message_id
    (pdf,) = mails[0]["attachments"]
    stored = statement_pdf(ledger, load_practice(), claim_id)  # as the ops page and the CLI give it
    assert stored is not None and pdf["content_type"] == "application/pdf"
    assert pdf["sha256"] == hashlib.sha256(stored).hexdigest()
    assert claim.document_number and claim.document_number in mails[0]["subject"]


def test_a_statement_client_gets_one_mail_through_a_failing_mail_server_and_others_get_none(
        start_stack: StartStack) -> None:
    stack = start_stack(mail_faults="fail_first=3,fail_code=451")
    wanted = post(stack, event("commercial_statement", "em1", client__email="em1@client.example"))
    opted_out = post(stack, event("commercial_statement", "em2", client__email="em2@client.example",
                                  client__statement_opt_out=True))
    courtesy = post(stack, event("commercial_courtesy", "em3", client__email="em3@client.example"))

    wait_for(lambda: (delivery(stack, wanted), delivery(stack, opted_out)),
             lambda d: d == ("sent", "skipped"), timeout_s=60, what="deliveries settled")
    stack.wait_final([courtesy], 30)

    assert_one_mail_with_the_statement(stack, wanted, "em1@client.example")
    assert messages_to(stack, "em2@client.example") == [] and messages_to(stack, "em3@client.example") == []
    view = stack.mail()
    assert view["failed"] == 3 and len(view["messages"]) == 1
    timeline = stack.ledger().timeline(wanted)
    failures = [e for e in timeline if e["kind"] == "statement.attempt_failed"]
    assert len(failures) == 3 and all("451" in e["error"] and "outcome_unknown" not in e for e in failures)
    assert any(e["kind"] == "statement.sent" for e in timeline)
    skipped = [e for e in stack.ledger().timeline(opted_out) if e["kind"] == "statement.not_sent"]
    assert skipped and "opted out" in skipped[0]["reason"]
    body = messages_to(stack, "em1@client.example")[0]["body"]
    for clinical in ("M54", "M62", "97140", "97124", "Doe"):
        assert clinical not in body


def test_a_worker_sigkilled_mid_send_leaves_the_client_one_mail(start_stack: StartStack) -> None:
    # The mail server holds the first transaction before answering RCPT TO: the kill lands mid-send.
    stack = start_stack(mail_faults="stall_first=1,stall_ms=20000")
    claim_id = post(stack, event("commercial_statement", "kill1", client__email="kill1@client.example"))
    wait_for(lambda: (delivery(stack, claim_id), stack.mail()["stalled"]), lambda v: v == ("sending", 1),
             timeout_s=60, what="the worker is in the middle of the send")

    assert "superbill_statement_emails_unfinished 1.0" in unfinished_metric(stack)
    os.killpg(stack.procs["worker"].pid, signal.SIGKILL)
    killed_at = time.monotonic()
    stack.procs["worker"].wait(10)
    stack.start_worker("worker2")

    wait_for(lambda: delivery(stack, claim_id), lambda d: d == "sent", timeout_s=60, what="sent after the kill")
    print(f"statement e-mailed {time.monotonic() - killed_at:.1f} s after its worker was SIGKILLed mid-send")
    assert_one_mail_with_the_statement(stack, claim_id, "kill1@client.example")
    assert "superbill_statement_emails_unfinished 0.0" in unfinished_metric(stack)
    kinds = [e["kind"] for e in stack.ledger().timeline(claim_id) if e["kind"].startswith("statement.")]
    assert kinds == ["statement.ready", "statement.sending", "statement.resumed", "statement.sent"], kinds


def test_a_refused_mail_is_failed_with_the_reason_shown_to_ops_and_sent_again_once_fixed(
        start_stack: StartStack) -> None:
    stack = start_stack(mail_faults="fail_first=1,fail_code=550,fail_at=rcpt")
    claim_id = post(stack, event("commercial_statement", "rf1", client__email="rf1@client.example"))
    wait_for(lambda: delivery(stack, claim_id), lambda d: d == "failed", timeout_s=60, what="failed")

    claim = stack.ledger().get(claim_id)
    assert claim is not None and "550" in (claim.statement_error or "")
    assert "rf1@client.example" not in (claim.statement_error or "")  # the server's echo is redacted
    (failed,) = [e for e in stack.ledger().timeline(claim_id) if e["kind"] == "statement.failed"]
    assert "550" in failed["reason"]
    desk = OpsPage(stack)
    overview = desk.get("/ops").text
    assert "Statement e-mails that failed (1)" in overview and claim_id in overview and "550" in overview
    assert (f'action="/ops/claims/{claim_id}/statement/send"><input type="hidden" name="csrf" '
            f'value="{desk.csrf}">') in overview  # the button's form carries the session's token

    pressed = desk.post(f"/ops/claims/{claim_id}/statement/send", {"back": "overview"})
    assert pressed.status_code == 303 and pressed.headers["location"] == "/ops#statement-emails"
    wait_for(lambda: delivery(stack, claim_id), lambda d: d == "sent", timeout_s=60, what="sent on the resend")
    assert len(messages_to(stack, "rf1@client.example")) == 1
    assert "Statement e-mails that failed" not in desk.get("/ops").text
    (asked,) = [e for e in stack.ledger().timeline(claim_id) if e["kind"] == "statement.resend_requested"]
    assert asked["by"] == "Front Desk (desk)" and asked["source"] == "ops page"


def test_a_mail_server_that_keeps_failing_ends_the_delivery_failed_when_retries_run_out(
        start_stack: StartStack) -> None:
    stack = start_stack(mail_faults="fail_first=99,fail_code=421", extra_env=FAST_FAIL_ENV)
    claim_id = post(stack, event("commercial_statement", "rx1", client__email="rx1@client.example"))
    wait_for(lambda: delivery(stack, claim_id), lambda d: d == "failed", timeout_s=60, what="failed")

    claim = stack.ledger().get(claim_id)
    assert claim is not None and claim.status == "statement_ready" and "421" in (claim.statement_error or "")
    timeline = stack.ledger().timeline(claim_id)
    attempts = [e for e in timeline if e["kind"] == "statement.attempt_failed"]
    assert len(attempts) == 2  # the first try and SUPERBILL_SUBMIT_MAX_RETRIES=1 retry
    assert [e["reason"] for e in timeline if e["kind"] == "statement.failed"] == [claim.statement_error]
    assert stack.mail()["messages"] == []


def test_the_residual_window_a_worker_killed_after_the_server_took_the_message_sends_a_second_copy(
        start_stack: StartStack) -> None:
    """Documents the one case SMTP cannot make exactly-once (CONTRACT.md 6.2): the server has taken the
    message and the worker dies before it hears the 250. The next worker cannot know, sends it again under the
    same Message-ID, and the timeline says the outcome was unknown."""
    stack = start_stack(mail_faults="stall_first=1,stall_ms=20000,stall_at=data")
    claim_id = post(stack, event("commercial_statement", "win1", client__email="win1@client.example"))
    wait_for(lambda: (delivery(stack, claim_id), stack.mail()["stalled"]), lambda v: v == ("committing", 1),
             timeout_s=60, what="the server took the message and the worker waits for its answer")

    os.killpg(stack.procs["worker"].pid, signal.SIGKILL)
    stack.procs["worker"].wait(10)
    stack.start_worker("worker2")

    wait_for(lambda: delivery(stack, claim_id), lambda d: d == "sent", timeout_s=60, what="sent after the kill")
    claim = stack.ledger().get(claim_id)
    assert claim is not None
    assert stack.mail()["by_message_id"] == {claim.statement_message_id: 2}  # one message id, two copies
    (resumed,) = [e for e in stack.ledger().timeline(claim_id) if e["kind"] == "statement.resumed"]
    assert resumed["outcome_unknown"] is True
