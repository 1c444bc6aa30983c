"""Dead letters on a real Redis: a step that fails past its retries on a real dramatiq broker and worker is
listed with its step, claim and error kind (never the error's text), and retried only where the claim's
status still needs that step; the rest are kept, each with why."""

from __future__ import annotations

import json
import time
from typing import Any

import dramatiq
import redis

from pipeline.adapters.dramatiq_queue import NAMESPACE, build_broker
from pipeline.adapters.queue_stats import RedisDeadLetters
from pipeline.application import dead_letters, ops
from pipeline.application.steps import SUBMISSION_FAILED, SUBMIT_DIRECT, VALIDATE
from tests.integration.application.harness import InlinePipeline, example


class ClaimStoreHiccup(Exception):
    pass


def _dead_letter_from_a_real_worker(redis_url: str, claim_id: str) -> str:
    """Run `validate` for the claim on a real broker and worker with an actor that always fails: one retry,
    then the broker dead-letters it. Returns the dead letter's id."""
    broker = build_broker(redis_url)

    def failing(claim: str) -> None:
        raise ClaimStoreHiccup(f"Jane Doe, born 1980-01-02, claim {claim}")  # text that must never be shown

    actor: Any = dramatiq.actor(failing, broker=broker, actor_name=VALIDATE, queue_name="validate", max_retries=1,
                                min_backoff=10, max_backoff=10)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    client = redis.Redis.from_url(redis_url)
    try:
        actor.send(claim_id)
        deadline = time.monotonic() + 30
        while client.zcard(f"{NAMESPACE}:validate.XQ") == 0:
            assert time.monotonic() < deadline, "the message was never dead-lettered"
            time.sleep(0.05)
    finally:
        worker.stop()
        broker.close()
    return str(client.zrange(f"{NAMESPACE}:validate.XQ", 0, 0)[0].decode())


def _write_dead_letter(client: redis.Redis, queue: str, message_id: str, actor: str, args: list[Any],
                       at_ms: float) -> None:
    """A dead letter as dramatiq's RedisBroker's `nack` writes it (the member and the message)."""
    message = {"queue_name": queue, "actor_name": actor, "args": args, "kwargs": {}, "options": {"retries": 3},
               "message_id": message_id, "message_timestamp": int(at_ms) - 5000}
    client.zadd(f"{NAMESPACE}:{queue}.XQ", {message_id: at_ms})
    client.hset(f"{NAMESPACE}:{queue}.XQ.msgs", message_id, json.dumps(message))


def test_a_real_dead_letter_is_listed_and_retried_once_where_its_claim_still_needs_the_step(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    client = redis.Redis.from_url(redis_url)
    pipeline.deps.dead = RedisDeadLetters(client)
    claim_id = pipeline.receive(example("va_missing_referral"))  # received; its validate is queued, not run
    pipeline.queue.clear()  # ... and lost: only the dead letter remains
    message_id = _dead_letter_from_a_real_worker(redis_url, claim_id)

    assert dead_letters.counts(pipeline.deps)["total"] == 1
    page, next_cursor = dead_letters.list_page(pipeline.deps, "validate", limit=10)
    assert next_cursor is None and len(page) == 1
    letter = page[0]
    assert (letter.message_id, letter.step, letter.claim_id, letter.retries) == (message_id, VALIDATE, claim_id, 1)
    assert letter.error_kind is not None and letter.error_kind.endswith("ClaimStoreHiccup")
    shown = dead_letters.show(pipeline.deps, "validate", message_id)
    assert shown is not None and shown["claim_status"] == "received" and shown["retry"] == "would send validate"
    assert "Jane" not in json.dumps(shown) and "1980" not in json.dumps(shown)

    outcome = dead_letters.retry(pipeline.deps, "validate", None, by="Dana")
    assert [r["message_id"] for r in outcome.retried] == [message_id] and outcome.skipped == []
    assert list(pipeline.queue) == [(VALIDATE, claim_id)]
    assert client.zcard(f"{NAMESPACE}:validate.XQ") == 0
    assert "dead_letter.retried" in pipeline.kinds(claim_id)
    pipeline.run()
    assert pipeline.claim(claim_id).status == "needs_attention"


def test_a_retry_sends_nothing_for_a_claim_that_moved_on_and_never_submits_twice(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    client = redis.Redis.from_url(redis_url)
    pipeline.deps.dead = RedisDeadLetters(client)
    done = pipeline.post(example("va_direct"))
    final = pipeline.claim(done)
    now = time.time() * 1000
    _write_dead_letter(client, "submit_direct", "m-old-submit", SUBMIT_DIRECT, [done], now - 2000)
    callback = {"actor_name": SUBMIT_DIRECT, "args": [done], "queue_name": "submit_direct"}
    _write_dead_letter(client, "submit_direct", "m-callback", SUBMISSION_FAILED, [callback, {}], now - 1000)
    _write_dead_letter(client, "submit_direct", "m-nobody", SUBMIT_DIRECT, ["ses_nobody"], now)
    sent_before = pipeline.clearinghouse.sent + pipeline.billing_service.sent

    page, cursor = dead_letters.list_page(pipeline.deps, "submit_direct", limit=2)
    assert [x.message_id for x in page] == ["m-old-submit", "m-callback"] and cursor is not None
    assert page[1].step == SUBMIT_DIRECT and page[1].claim_id == done  # the callback stands for the submission
    rest, end = dead_letters.list_page(pipeline.deps, "submit_direct", limit=2, cursor=cursor)
    assert [x.message_id for x in rest] == ["m-nobody"] and end is None

    outcome = dead_letters.retry(pipeline.deps, "submit_direct", ["m-old-submit", "m-callback", "m-nobody", "m-x"],
                                 by="Dana")
    assert outcome.retried == [] and outcome.not_found == ["m-x"]
    reasons = {s["message_id"]: s["reason"] for s in outcome.skipped}
    assert reasons["m-nobody"] == "there is no claim ses_nobody"
    assert reasons["m-old-submit"].startswith(f"the claim is {final.status}")
    assert list(pipeline.queue) == [] and pipeline.clearinghouse.sent + pipeline.billing_service.sent == sent_before
    assert client.zcard(f"{NAMESPACE}:submit_direct.XQ") == 3  # kept, to be read or cleared

    cleared = dead_letters.clear(pipeline.deps, "submit_direct", ["m-nobody", "m-x"])
    assert (cleared.cleared, cleared.not_found) == (1, ["m-x"])
    assert dead_letters.clear(pipeline.deps, "submit_direct", None).cleared == 2
    assert dead_letters.counts(pipeline.deps)["total"] == 0


def test_an_unknown_queue_and_a_bad_cursor_are_refused(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    pipeline.deps.dead = RedisDeadLetters(redis.Redis.from_url(redis_url))
    try:
        dead_letters.list_page(pipeline.deps, "nope", limit=5)
    except dead_letters.UnknownQueue as exc:
        assert "validate" in str(exc)
    else:
        raise AssertionError("an unknown queue was listed")
    try:
        dead_letters.list_page(pipeline.deps, "validate", limit=5, cursor="garbage")
    except ops.BadCursor:
        pass
    else:
        raise AssertionError("a bad cursor was taken")


def test_a_retried_submission_keeps_its_exactly_once_key(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    client = redis.Redis.from_url(redis_url)
    pipeline.deps.dead = RedisDeadLetters(client)
    pipeline.clearinghouse.outcome = "answer_lost"  # the clearinghouse took it; its answer never came back
    claim_id = pipeline.post(example("va_direct"))
    assert pipeline.claim(claim_id).status == "submitting" and len(pipeline.clearinghouse.taken) == 1
    _write_dead_letter(client, "submit_direct", "m-sub", SUBMIT_DIRECT, [claim_id], time.time() * 1000)
    pipeline.clearinghouse.outcome = "accepted"

    outcome = dead_letters.retry(pipeline.deps, "submit_direct", ["m-sub"], by="Dana")
    assert [r["step"] for r in outcome.retried] == [SUBMIT_DIRECT]
    pipeline.run()
    assert pipeline.claim(claim_id).status in ("submitted", "accepted")
    assert len(pipeline.clearinghouse.taken) == 1  # the same key: the payer has the claim once
