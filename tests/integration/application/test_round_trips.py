"""What each step costs in Redis round trips, counted on the connections of a real Redis server: a step reads its
claim (and event) once, and what it writes goes in as few scripts as its promises allow.

A round trip is one request sent on a connection: a command, a script, or a whole pipeline or transaction.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis
import redis.connection
from redis.commands.core import Script

from config.practice import load_practice
from pipeline.adapters import dramatiq_queue
from pipeline.adapters.redis_ledger import Ledger
from pipeline.application import stages
from pipeline.application.ingest import receive
from pipeline.application.ports import StatementMail
from tests.examples import example
from tests.integration.application.harness import STEP_FUNCTIONS, AlertReceiver, ScriptedPeer


class Mailer:
    sender = "statements@practice.example"

    def __init__(self) -> None:
        self.taken: list[StatementMail] = []

    def send(self, mail: StatementMail, *, before_commit: Callable[[], None] | None = None) -> None:
        if before_commit:
            before_commit()
        self.taken.append(mail)


def run_claim(redis_url: str, trips: Counter[str], event: dict[str, Any]) -> tuple[stages.Deps, list[tuple[str, int]]]:
    """The claim's steps, one after the other as they queue each other; (step, round trips) for each. Every
    step must be queued by the move before it (the workers' ledger has the broker's outbox), none sent after
    it (which would cost a round trip of its own)."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    ledger = Ledger(client, outbox=dramatiq_queue.outbox_entry)
    for script in vars(ledger).values():  # as in a worker that has run a step before: the scripts are loaded
        if isinstance(script, Script):
            client.script_load(script.script)
    sent: list[str] = []
    deps = stages.Deps(ledger=ledger, practice=load_practice(), send=lambda step, cid, delay_ms=None: sent.append(step),
                       clearinghouse=ScriptedPeer("clearinghouse"), billing_service=ScriptedPeer("billing_service"),
                       mailer=Mailer(), alerts=AlertReceiver(), now=lambda: datetime(2026, 11, 21, 12, tzinfo=UTC))
    outcome = receive(ledger, json.dumps(event).encode(), deps.send, source="test")
    claim_id = str(outcome.body["claim_id"])
    ran: list[tuple[str, int]] = []
    for _ in range(12):
        step = _next_step(client, sent)
        if step is None:
            break
        before = trips["sent"]
        STEP_FUNCTIONS[step](deps, claim_id)
        ran.append((step, trips["sent"] - before))
    assert sent == [], f"sent after a move, not with it: {sent}"
    return deps, ran


def _next_step(client: redis.Redis, sent: list[str]) -> str | None:
    """The step a move's script queued (in Redis, where a worker would fetch it)."""
    if sent:
        return None
    for queue in dramatiq_queue.QUEUES:
        key = f"{dramatiq_queue.NAMESPACE}:{queue}"
        message_id = client.lpop(key)
        if message_id is not None:
            data = client.hget(key + ".msgs", message_id)
            assert data is not None
            return str(json.loads(data)["actor_name"])
    return None


def test_a_statement_claim_reads_once_per_step_and_queues_its_e_mail_with_its_move(
        redis_url: str, trips: Counter[str]) -> None:
    deps, ran = run_claim(redis_url, trips, example("commercial_statement"))
    assert ran == [
        ("validate", 2),  # the claim with its event; the move (with the client's index and the next message)
        ("assemble", 2),
        ("route", 2),
        ("make_statement", 3),  # the claim; the document number; the move with the e-mail queued
        ("send_statement", 5),  # lease with the claim and event; sending; committing; sent; the lease let go
    ]
    claim = deps.ledger.get(deps.ledger.claim_ids()[0])
    assert claim is not None and claim.status == "statement_ready" and claim.statement_delivery == "sent"
    assert deps.ledger.client_claims(example("commercial_statement")["client"]["client_id"]) == [claim.claim_id]
    assert deps.ledger.count_unfinished_deliveries() == 0


def test_a_submission_reads_its_claim_once_under_its_lease(redis_url: str, trips: Counter[str]) -> None:
    deps, ran = run_claim(redis_url, trips, example("commercial_courtesy"))
    # the lease with the claim and event; the document number; submitting; the payload kept; submitted;
    # accepted; the lease let go (this peer's answer has no body to keep)
    assert ran[3:] == [("submit_courtesy", 7)]
    claim = deps.ledger.get(deps.ledger.claim_ids()[0])
    assert claim is not None and claim.status == "accepted"
    assert [e["kind"] for e in deps.ledger.timeline(claim.claim_id)][-3:] == [
        "submission.started", "submitted", "accepted"]


def test_a_claim_that_needs_attention_queues_its_alert_with_its_final_move(redis_url: str, trips: Counter[str]) -> None:
    deps, ran = run_claim(redis_url, trips, example("va_missing_referral"))
    assert [step for step, _ in ran] == ["validate", "assemble", "route", "alert"]
    assert dict(ran)["route"] == 3  # the claim; routed; needs_attention with its alert queued
    claim = deps.ledger.get(deps.ledger.claim_ids()[0])
    assert claim is not None and claim.status == "needs_attention"
    assert isinstance(deps.alerts, AlertReceiver) and len(deps.alerts.notices) == 1
