"""`superbill claims pay` on a real Redis, as a terminal user runs it: the audit log names the terminal user who
recorded the payment and, apart from it, the person named as having taken it (`--by`)."""

from __future__ import annotations

import getpass
import json

from pipeline.adapters.redis_client import connect
from pipeline.adapters.redis_staff import RedisStaffStore
from tests.examples import example
from tests.integration.application.harness import InlinePipeline
from tests.integration.entrypoints.test_cli_kept_event import superbill


def test_the_audit_log_keeps_the_terminal_user_and_the_person_who_took_the_payment(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    doc = json.loads(json.dumps(example("commercial_statement")))
    doc["payment"] = {"amount_collected": "60.00", "method": "card"}
    claim_id = pipeline.post(doc)
    done = superbill(redis_url, "claims", "pay", claim_id, "--amount", "10.00", "--method", "cash",
                     "--by", "Someone Else")
    assert done.returncode == 0, done.stderr
    [entry] = [e for e in RedisStaffStore(connect(redis_url)).audit_log(10)
               if e["action"] == "claim.payment_recorded"]
    assert (entry["by"], entry["via"], entry["taken_by"]) == (getpass.getuser(), "cli", "Someone Else")
    assert entry["claim_id"] == claim_id and entry["amount"] == "10.00"
