"""Period statements end to end: one superbill for all of a client's statement_ready sessions in a date range,
from the CLI, the ops API and the ops page, the same bytes each time; resending a claim's statement from the
CLI and the ops API reaches the client as a new e-mail."""

from __future__ import annotations

import getpass
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from pypdf import PdfReader

from pipeline.entrypoints.demo import Stack
from tests.e2e.opskit import (
    OpsPage,
    event,
    on_day,
    ops,
    post,
    superbill,
    superbill_json,
    wait_final,
    wait_for,
)

pytestmark = pytest.mark.e2e
StartStack = Callable[..., Stack]


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_clients_month_is_one_repeatable_superbill_from_cli_api_and_page(start_stack: StartStack,
                                                                          tmp_path: Path) -> None:
    stack = start_stack()
    mine = {"client__client_id": "cli_month", "client__statement_schedule": "monthly"}
    ids = [post(stack, event("commercial_statement", f"pm{n}", **mine, **on_day(day)))
           for n, day in enumerate(("2026-10-06", "2026-10-13", "2026-10-27", "2026-11-03"))]
    other = post(stack, event("commercial_statement", "pmx", client__client_id="cli_other", **on_day("2026-10-08")))
    courtesy = post(stack, event("commercial_courtesy", "pmc", **mine, **on_day("2026-10-20")))
    assert set(wait_final(stack, [*ids, other, courtesy]).values()) >= {"statement_ready"}

    out = tmp_path / "october.pdf"
    args = ("statement", "--client", "cli_month", "--from", "2026-10-01", "--to", "2026-10-31", "-o", str(out))
    first = superbill_json(stack, *args)
    pdf = out.read_bytes()
    second = superbill_json(stack, *args)
    assert out.read_bytes() == pdf and second["document_number"] == first["document_number"]
    assert first["claim_ids"] == ids[:3] and first["replaces"] is None
    text = text_of(pdf)
    assert first["document_number"] in text
    for n, day in enumerate(("10/06/2026", "10/13/2026", "10/27/2026"), 1):
        assert re.search(rf"Session {n}\s+-\s+{day}", text)
    assert "11/03/2026" not in text and "10/08/2026" not in text and "10/20/2026" not in text
    assert "Session 4" not in text and re.search(r"Total charges\s*\$780\.00", text)

    api = ops(stack, "GET", "/statements", params={"client": "cli_month", "from": "2026-10-01",
                                                          "to": "2026-10-31"})
    assert api.status_code == 200 and api.headers["content-type"] == "application/pdf" and api.content == pdf
    desk = OpsPage(stack)
    page = desk.get("/ops/statement", params={"client": "cli_month", "from": "2026-10-01", "to": "2026-10-31"})
    assert page.status_code == 200 and page.content == pdf
    assert "Client statement for a period" in desk.get("/ops/claims").text
    issued = [e for e in superbill_json(stack, "audit")["audit"] if e["action"] == "statement.issued"]
    assert [e["by"] for e in issued] == ["desk", "ops-token", getpass.getuser(), getpass.getuser()]  # newest first
    assert {e["document_number"] for e in issued} == {first["document_number"]}
    signed_out = requests.get(stack.web_url + "/ops/statement", timeout=30, allow_redirects=False,
                              params={"client": "cli_month", "from": "2026-10-01", "to": "2026-10-31"})
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/ops/login"
    none = ops(stack, "GET", "/statements", params={"client": "nobody", "from": "2026-10-01",
                                                           "to": "2026-10-31"})
    assert none.status_code == 404
    missing = superbill(stack, "statement", "--client", "nobody", "--from", "2026-10-01", "--to", "2026-10-31",
                        "-o", str(tmp_path / "x.pdf"))
    assert missing.returncode == 1 and "no statement_ready session" in missing.stderr

    # the monthly client's per-session e-mails were not sent: one statement a month instead
    assert all(stack.ledger().get(cid).statement_delivery == "skipped" for cid in ids)  # type: ignore[union-attr]
    monthly = superbill_json(stack, "statement", "monthly", "--today", "2026-11-02")["statements"]
    assert [(m["client_id"], m["outcome"]) for m in monthly] == [("cli_month", "sent")]
    again = superbill_json(stack, "statement", "monthly", "--today", "2026-11-02")["statements"]
    assert [(m["client_id"], m["outcome"]) for m in again] == [("cli_month", "already_sent")]
    mails = [m for m in stack.mail()["messages"] if first["document_number"] in m["subject"]]
    assert len(mails) == 1 and mails[0]["attachments"][0]["size"] == len(pdf)


def test_a_statement_is_sent_again_from_the_cli_and_the_ops_api(start_stack: StartStack) -> None:
    stack = start_stack()
    claim_id = post(stack, event("commercial_statement", "rs1", client__email="rs1@client.example"))
    wait_for(lambda: stack.ledger().get(claim_id), lambda c: c is not None and c.statement_delivery == "sent",
             timeout_s=45, what="first e-mail sent")

    sent = superbill(stack, "statement", "send", claim_id)
    assert sent.returncode == 0, sent.stderr
    wait_for(lambda: len(stack.mail()["messages"]), lambda n: n == 2, timeout_s=45, what="second e-mail")
    wait_for(lambda: stack.ledger().get(claim_id), lambda c: c is not None and c.statement_delivery == "sent",
             timeout_s=45, what="second delivery recorded")
    answer = ops(stack, "POST", f"/claims/{claim_id}/statement/send")
    assert answer.status_code == 200 and answer.json()["ok"] is True
    wait_for(lambda: len(stack.mail()["messages"]), lambda n: n == 3, timeout_s=45, what="third e-mail")
    ids = [m["message_id"] for m in stack.mail()["messages"]]
    assert len(set(ids)) == 3 and all(claim_id in i for i in ids)
    wait_for(lambda: stack.ledger().get(claim_id), lambda c: c is not None and c.statement_delivery == "sent",
             timeout_s=45, what="third delivery recorded")

    # the ops page: the claim's page shows the delivery; its button sends it again, in the person's name
    desk = OpsPage(stack)
    shown = desk.get(f"/ops/claims/{claim_id}")
    assert "e-mail to the client: <b>sent</b>" in shown.text and "E-mail the statement again" in shown.text
    pressed = desk.post(f"/ops/claims/{claim_id}/statement/send", {"back": "claim"})
    assert pressed.status_code == 303 and pressed.headers["location"] == f"/ops/claims/{claim_id}"
    assert "the statement will be e-mailed again" in desk.get(pressed.headers["location"]).text
    wait_for(lambda: len(stack.mail()["messages"]), lambda n: n == 4, timeout_s=45, what="fourth e-mail")
    asked = [e for e in stack.ledger().timeline(claim_id) if e["kind"] == "statement.resend_requested"]
    assert [(e["source"], e["by"]) for e in asked] == [
        ("cli", f"{getpass.getuser()} (terminal)"), ("api", "shared ops token (ops-token)"),
        ("ops page", "Front Desk (desk)")]
    audited = [e for e in superbill_json(stack, "audit")["audit"] if e["action"] == "statement.resent"]
    assert [(e["by"], e["via"], e["claim_id"]) for e in audited] == [  # newest first
        ("desk", "ops page", claim_id), ("ops-token", "api", claim_id), (getpass.getuser(), "cli", claim_id)]
    forged = desk.http.post(f"{stack.web_url}/ops/claims/{claim_id}/statement/send", timeout=30,
                            data={"csrf": desk.csrf}, headers={"Origin": "https://elsewhere.example"},
                            allow_redirects=False)
    assert forged.status_code == 403
    anonymous = requests.post(f"{stack.web_url}/ops/claims/{claim_id}/statement/send", timeout=30,
                              allow_redirects=False)
    assert anonymous.status_code == 401

    unknown = superbill(stack, "statement", "send", "no_such_claim")
    assert unknown.returncode == 1 and "no claim no_such_claim" in unknown.stderr
    detail = ops(stack, "GET", f"/claims/{claim_id}").json()
    assert detail["statement_delivery"] in ("queued", "sending", "committing", "sent")
