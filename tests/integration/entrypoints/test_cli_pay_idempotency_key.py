"""`superbill claims pay --idempotency-key` on a real Redis, as a script that retries runs it: the same command
again records nothing and says so; the key with another payment is refused naming the option."""

from __future__ import annotations

import json

from pipeline.adapters.redis_client import connect
from pipeline.adapters.redis_staff import RedisStaffStore
from tests.examples import example
from tests.integration.application.harness import InlinePipeline
from tests.integration.entrypoints.test_cli_kept_event import superbill


def test_a_script_that_runs_pay_again_with_its_key_records_the_payment_once(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    doc = json.loads(json.dumps(example("commercial_statement")))
    doc["payment"] = {"amount_collected": "60.00", "method": "card"}
    claim_id = pipeline.post(doc)
    pay = ("claims", "pay", claim_id, "--amount", "10.00", "--method", "cash", "--by", "Dana",
           "--idempotency-key", "run-7")
    first = superbill(redis_url, *pay, "--json")
    assert first.returncode == 0, first.stderr
    again = superbill(redis_url, *pay, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == json.loads(first.stdout) | {"replayed": True}
    said = superbill(redis_url, *pay)
    assert said.returncode == 0 and "nothing was recorded again" in said.stdout
    assert [e["kind"] for e in pipeline.ledger.timeline(claim_id)].count("payment.recorded") == 1
    audited = [e for e in RedisStaffStore(connect(redis_url)).audit_log(10) if e["action"] == "claim.payment_recorded"]
    assert len(audited) == 1

    other = superbill(redis_url, "claims", "pay", claim_id, "--amount", "15.00", "--method", "cash", "--by", "Dana",
                      "--idempotency-key", "run-7")
    assert other.returncode != 0 and "--idempotency-key:" in other.stderr
    assert [e["kind"] for e in pipeline.ledger.timeline(claim_id)].count("payment.recorded") == 1
