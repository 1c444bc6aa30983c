"""A payment the client makes after the visit, end to end: real Redis, real dramatiq workers, the web app and
the sandbox mail server over SMTP on loopback. The front desk records a part-payment from the command line,
then the rest through the ops API: each time the claim gets a replacement statement with the new balance,
e-mailed to the client exactly once (the last one their receipt); the timeline names who took each payment;
what clients owe is the new balance, and as of the day before, the balance before the payments."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from config.practice import load_practice
from pipeline.application.statements import statement_pdf
from pipeline.entrypoints.demo import Stack
from tests.e2e.conftest import logs_of
from tests.e2e.opskit import event, ops, post, superbill, superbill_json, wait_for

pytestmark = pytest.mark.e2e
StartStack = Callable[..., Stack]
ADDRESS = "pay1@client.example"


def mails(stack: Stack) -> list[dict[str, Any]]:
    return [m for m in stack.mail()["messages"] if ADDRESS in m["to"]]


def sent_statement(stack: Stack, claim_id: str, count: int) -> dict[str, Any]:
    """The `count`-th e-mail to the client, once its delivery is `sent`: the statement the claim has now."""
    wait_for(lambda: (len(mails(stack)), stack.ledger().get(claim_id).statement_delivery),  # type: ignore[union-attr]
             lambda seen: seen == (count, "sent"), timeout_s=60, what=f"e-mail {count} sent")
    claim = stack.ledger().get(claim_id)
    assert claim is not None
    mail = mails(stack)[count - 1]
    assert mail["message_id"] == claim.statement_message_id and claim.document_number in mail["subject"]
    (pdf,) = mail["attachments"]
    stored = statement_pdf(stack.ledger(), load_practice(), claim_id)
    assert stored is not None and pdf["sha256"] == hashlib.sha256(stored).hexdigest()
    return mail


def test_a_part_payment_then_the_rest_each_replace_the_statement_e_mailed_once(start_stack: StartStack) -> None:
    stack = start_stack()
    claim_id = post(stack, event("commercial_statement", "pay1", client__email=ADDRESS,
                                 payment__amount_collected="60.00"))
    first = sent_statement(stack, claim_id, 1)
    original = stack.ledger().get(claim_id).document_number  # type: ignore[union-attr]
    assert first["subject"].startswith("Your statement")
    today = date.fromisoformat(superbill_json(stack, "ar")["as_of"])
    assert superbill_json(stack, "ar")["clients"]["outstanding"] == "200.00"

    paid = superbill(stack, "claims", "pay", claim_id, "--amount", "50.00", "--method", "cash",
                     "--by", "Dana Front")
    assert paid.returncode == 0, paid.stderr
    assert "Paid 110.00, balance due 150.00" in paid.stdout and "Dana Front" in paid.stdout
    second = sent_statement(stack, claim_id, 2)
    claim = stack.ledger().get(claim_id)
    assert claim is not None and claim.statement_replaces == original and claim.document_number != original
    assert second["subject"].startswith("Your updated statement")
    assert f"replaces statement {original}" in second["body"] and "$150.00 still due" in second["body"]
    assert second["message_id"] != first["message_id"]

    too_much = superbill(stack, "claims", "pay", claim_id, "--amount", "150.01", "--method", "card", "--by", "Lee")
    assert too_much.returncode == 2 and "balance due (150.00)" in too_much.stderr

    rest = ops(stack, "POST", f"/claims/{claim_id}/payments",
               json={"amount": "150.00", "method": "card", "by": "Lee Desk"})
    assert rest.status_code == 200, rest.text
    assert rest.json()["balance_due"] == "0.00" and rest.json()["replaces"] == claim.document_number
    receipt = sent_statement(stack, claim_id, 3)
    assert receipt["subject"].startswith("Your receipt") and "paid in full" in receipt["body"]
    assert len(mails(stack)) == 3  # each statement once: none sent twice

    shown = superbill_json(stack, "claims", "show", claim_id)
    payments = [(e["amount"], e["method"], e["by"], e["balance_due"]) for e in shown["timeline"]
                if e["kind"] == "payment.recorded"]
    assert payments == [("50.00", "cash", "Dana Front", "150.00"),
                        ("150.00", "card", "Lee Desk (via the shared ops token)", "0.00")]
    assert shown["superbill"]["amount_paid"] == "260.00" and shown["superbill"]["balance_due"] == "0.00"

    assert superbill_json(stack, "ar")["clients"]["outstanding"] == "0.00"
    api = ops(stack, "GET", "/ar").json()["clients"]
    assert api["outstanding"] == "0.00" and api["balances"] == []
    before = superbill_json(stack, "ar", "--as-of", (today - timedelta(days=1)).isoformat())["clients"]
    assert before["outstanding"] == "200.00" and [b["claim_id"] for b in before["balances"]] == [claim_id]

    logs = logs_of(stack)
    assert "payment.recorded" in logs or "statement.sent" in logs
    for patient in ("Doe", "John", ADDRESS, "1970-01-01", "456 Oak"):
        assert patient not in logs, patient
