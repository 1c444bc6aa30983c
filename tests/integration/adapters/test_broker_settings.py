"""The broker's settings reach dramatiq's worker: the idle poll, the delay queues' poll, and the wake lists an idle
consumer waits on."""

from __future__ import annotations

from collections import Counter

import dramatiq
import pytest
from dramatiq import Worker
from dramatiq.brokers.redis import RedisBroker

from pipeline.adapters import dramatiq_queue
from tests.examples import example_path


def fresh_broker(redis_url: str) -> RedisBroker:
    """The pipeline's broker on an emptied database, set as the process's broker."""
    broker = dramatiq_queue.build_broker(redis_url)
    dramatiq.set_broker(broker)
    broker.client.flushdb()
    return broker


@pytest.mark.parametrize(("env", "expected"), [(None, dramatiq_queue.IDLE_POLL_MS), ("40", 40)])
def test_every_consumer_of_a_worker_polls_an_idle_queue_within_the_idle_poll(
        redis_url: str, monkeypatch: pytest.MonkeyPatch, env: str | None, expected: int) -> None:
    if env is None:
        monkeypatch.delenv("SUPERBILL_WORKER_IDLE_POLL_MS", raising=False)
    else:
        monkeypatch.setenv("SUPERBILL_WORKER_IDLE_POLL_MS", env)
    broker = dramatiq_queue.build_broker(redis_url)
    dramatiq.set_broker(broker)
    worker = Worker(broker, worker_threads=1)  # dramatiq's default idle timeout is 1000 ms
    worker.start()
    try:
        assert worker.worker_timeout == expected
        assert len(worker.consumers) == 2 * len(dramatiq_queue.QUEUES)  # each queue and its delay queue
        polls = {name: c.worker_timeout for name, c in worker.consumers.items()}
        assert {polls[q] for q in dramatiq_queue.QUEUES} == {expected}
        assert {polls[f"{q}.DQ"] for q in dramatiq_queue.QUEUES} == {dramatiq_queue.DELAY_QUEUE_IDLE_POLL_MS}
        assert {t.timeout for t in worker.workers} == {expected / 1000}
    finally:
        worker.stop()
        broker.close()


def test_queue_stats_count_ready_delayed_and_in_progress_messages_without_scanning(redis_url: str) -> None:
    from pipeline.adapters.queue_stats import queue_stats

    broker = fresh_broker(redis_url)
    for i in range(3):
        dramatiq_queue.send_step("validate", f"c{i}")
    dramatiq_queue.send_step("assemble", "c9", delay_ms=60_000)
    broker.client.set("sb:claim:x", "1")  # other keys: never read
    consumer = broker.consume("validate", prefetch=1, timeout=100)
    taken = next(consumer)  # fetched, not acknowledged: in progress for this worker
    assert taken is not None
    calls: list[str] = []
    real = broker.client.execute_command

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(str(args[0]).upper())
        return real(*args, **kwargs)

    broker.client.execute_command = recording  # type: ignore[method-assign]
    try:
        rows = {row["queue"]: row for row in queue_stats(broker.client)}
    finally:
        broker.client.execute_command = real  # type: ignore[method-assign]
        consumer.close()
        broker.close()
    assert rows["validate"]["ready"] == 2 and rows["validate"]["in_progress"] == 1
    assert rows["validate"]["oldest_ready_age_s"] is not None
    assert rows["assemble"]["delayed"] == 1 and rows["assemble"]["ready"] == 0
    assert rows["route"] == {"queue": "route", "ready": 0, "delayed": 0, "in_progress": 0, "dead": 0,
                             "oldest_ready_age_s": None, "workers": 1}  # the consumer that fetched: a worker
    assert not any(c in ("SCAN", "KEYS") for c in calls)


def test_steps_queued_while_no_worker_runs_are_counted_for_ops(redis_url: str) -> None:
    """The overview and `superbill status` say when steps wait and no worker takes them (a resubmitted claim
    would otherwise sit in `received` with nothing to say why): a worker whose heartbeat is long silent is gone."""
    import time

    from pipeline.adapters.dramatiq_queue import NAMESPACE
    from pipeline.adapters.queue_stats import LIVE_MS, queue_stats
    from pipeline.application.ops import waiting_without_worker

    broker = fresh_broker(redis_url)
    try:
        dramatiq_queue.send_step("validate", "c1")
        dramatiq_queue.send_step("assemble", "c2", delay_ms=60_000)
        now_ms = time.time() * 1000
        # the sender here is a broker too (the pipeline's own senders queue through the ledger's scripts, which
        # write no heartbeat): only a worker that stopped long ago is left
        broker.client.delete(f"{NAMESPACE}:__heartbeats__")
        broker.client.zadd(f"{NAMESPACE}:__heartbeats__", {"gone-worker": now_ms - LIVE_MS - 1000})
        rows = queue_stats(broker.client, now_ms=now_ms)
        assert {row["workers"] for row in rows} == {0}
        assert waiting_without_worker(rows) == 2
        broker.client.zadd(f"{NAMESPACE}:__heartbeats__", {"live-worker": now_ms - 1000})
        rows = queue_stats(broker.client, now_ms=now_ms)
        assert {row["workers"] for row in rows} == {1} and waiting_without_worker(rows) == 0
    finally:
        broker.close()


def test_the_reconciler_leaves_alone_claims_a_queued_delayed_or_running_message_covers(redis_url: str) -> None:
    from config.practice import load_practice
    from pipeline.adapters.queue_stats import claims_in_flight
    from pipeline.adapters.redis_ledger import Ledger
    from pipeline.application import reconciler
    from pipeline.application.stages import Deps

    broker = fresh_broker(redis_url)
    ledger = Ledger(broker.client)
    ids = ["queued", "delayed", "running", "lost", "alerted"]
    for cid in ids:
        ledger.ingest(claim_id=cid, event_id=f"evt_{cid}", session_id=cid, event_doc={}, index={})
    dramatiq_queue.send_step("validate", "running")
    consumer = broker.consume("validate", prefetch=1, timeout=100)
    assert next(consumer) is not None  # fetched by a worker, not acknowledged: running
    dramatiq_queue.send_step("validate", "queued")
    dramatiq_queue.send_step("validate", "delayed", delay_ms=600_000)
    dramatiq_queue.send_step("alert", "alerted")  # an alert does not move a claim on
    exhausted = {"queue_name": "submit_direct", "actor_name": "submit_direct", "args": ["exhausted"]}
    broker.enqueue(dramatiq.Message(queue_name="submit_direct", actor_name="submission_failed",
                                    args=(exhausted, {"retries": 12}), kwargs={}, options={}))
    assert claims_in_flight(broker.client) == {"queued", "delayed", "running", "exhausted"}

    sent: list[tuple[str, str]] = []
    deps = Deps(ledger=ledger, practice=load_practice(), in_flight=lambda: claims_in_flight(broker.client),
                send=lambda step, cid, delay_ms=None: sent.append((step, cid)))
    later = max(c.updated_at for c in ledger.get_many(ids)) + 3600
    try:
        assert sorted(reconciler.reconcile_once(deps, older_than_s=60, now=later)) == ["alerted", "lost"]
    finally:
        consumer.close()
        broker.close()
    assert sorted(sent) == [("validate", "alerted"), ("validate", "lost")]


def test_a_new_claim_and_its_first_step_are_queued_in_one_script_a_worker_can_run(redis_url: str) -> None:
    import json

    from pipeline.adapters.redis_ledger import Ledger
    from pipeline.application.ingest import receive

    broker = fresh_broker(redis_url)
    ledger = Ledger(broker.client, outbox=dramatiq_queue.outbox_entry)
    body = example_path("va_direct").read_bytes()
    sent: list[str] = []
    outcome = receive(ledger, body, lambda step, cid, delay_ms=None: sent.append(step), source="test")
    again = receive(ledger, body, lambda step, cid, delay_ms=None: sent.append(step), source="test")
    assert (outcome.http_status, again.http_status) == (202, 200) and sent == []  # queued by the ledger
    consumer = broker.consume("validate", prefetch=1, timeout=100)
    try:
        message = next(consumer)
        assert message is not None
        assert (message.actor_name, message.args, message.queue_name) == ("validate", ("ses_va_direct",), "validate")
        consumer.ack(message)
        assert next(consumer) is None  # one message, not two
        assert broker.client.hlen("superbill:validate.msgs") == 0
    finally:
        consumer.close()
        broker.close()
    plain = Ledger(broker.client)  # without the outbox, the caller sends the step
    doc = json.loads(body)
    doc["event_id"], doc["session"]["session_id"] = "evt_other", "ses_other"
    assert receive(plain, json.dumps(doc).encode(), lambda step, cid, delay_ms=None: sent.append(step),
                   source="test").http_status == 202
    assert sent == ["validate"]


def test_a_step_moves_its_claim_on_and_queues_the_next_step_in_one_write_only_when_it_moved(redis_url: str) -> None:
    from pipeline.adapters.redis_ledger import Ledger

    broker = fresh_broker(redis_url)
    ledger = Ledger(broker.client, outbox=dramatiq_queue.outbox_entry)
    ledger.ingest(claim_id="c1", event_id="evt_c1", session_id="c1", event_doc={}, index={})
    assert ledger.advance("c1", "received", "validated", then="assemble", kind="validated") == (True, True)
    assert ledger.advance("c1", "received", "validated", then="assemble", kind="validated") == (False, False)
    assert Ledger(broker.client).advance("c1", "validated", "assembled", then="route",
                                         kind="assembled") == (True, False)  # no outbox: the caller sends
    consumer = broker.consume("assemble", prefetch=5, timeout=100)
    try:
        message = next(consumer)
        assert message is not None and (message.actor_name, message.args) == ("assemble", ("c1",))
        assert next(consumer) is None
    finally:
        consumer.close()
        broker.close()
    assert broker.client.llen("superbill:route") == 0


def test_queueing_a_step_pushes_a_bounded_wake_token_for_its_queue_only_when_it_is_due_now(redis_url: str) -> None:
    from pipeline.adapters.redis_ledger import Ledger

    broker = fresh_broker(redis_url)
    r = broker.client
    wake = dramatiq_queue.wake_key
    dramatiq_queue.send_step("route", "c1", delay_ms=60_000)  # a delayed message wakes nobody
    assert r.llen(wake("route")) == 0 and r.llen(wake("route.DQ")) == 0
    for i in range(3 * dramatiq_queue.WAKE_TOKENS):
        dramatiq_queue.send_step("route", f"c{i}")
    assert r.llen(wake("route")) == dramatiq_queue.WAKE_TOKENS  # bounded
    ledger = Ledger(r, outbox=dramatiq_queue.outbox_entry)
    ledger.ingest(claim_id="w1", event_id="evt_w1", session_id="w1", event_doc={}, index={}, first_step="validate")
    assert r.llen(wake("validate")) == 1
    assert ledger.advance("w1", "received", "validated", then="assemble", kind="validated") == (True, True)
    assert ledger.advance("w1", "received", "validated", then="assemble", kind="validated") == (False, False)
    assert r.llen(wake("assemble")) == 1  # once, by the move that queued it
    broker.close()


def test_the_ledgers_scripts_keep_a_wake_list_to_the_senders_bound(redis_url: str) -> None:
    from pipeline.adapters.redis_ledger import Ledger

    broker = fresh_broker(redis_url)
    r = broker.client
    wake = dramatiq_queue.wake_key
    ledger = Ledger(r, outbox=dramatiq_queue.outbox_entry)
    many = 2 * dramatiq_queue.WAKE_TOKENS + 1
    for i in range(many):  # a new claim queues its first step
        ledger.ingest(claim_id=f"b{i}", event_id=f"evt_b{i}", session_id=f"b{i}", event_doc={}, index={},
                      first_step="validate")
    assert r.llen("superbill:validate") == many
    assert r.llen(wake("validate")) == dramatiq_queue.WAKE_TOKENS
    for i in range(many):  # a move queues the claim's next step
        assert ledger.advance(f"b{i}", "received", "validated", then="assemble", kind="validated") == (True, True)
    assert r.llen(wake("assemble")) == dramatiq_queue.WAKE_TOKENS
    broker.close()


def test_an_idle_consumer_waits_on_its_wake_list_and_a_delay_queue_consumer_does_not(redis_url: str) -> None:
    broker = fresh_broker(redis_url)
    r = broker.client
    wake = dramatiq_queue.wake_key("submit_direct")
    r.lpush(wake, "1")
    delayed = broker.consume("submit_direct.DQ", prefetch=1, timeout=50)
    assert next(delayed) is None and r.llen(wake) == 1  # polled and slept: the token is still there
    ready = broker.consume("submit_direct", prefetch=1, timeout=50)
    assert next(ready) is None and r.llen(wake) == 0  # its wait took the token
    dramatiq_queue.send_step("submit_direct", "c1")
    message = next(ready)  # the message the token announced
    assert message is not None and message.args == ("c1",)
    ready.ack(message)
    for consumer in (ready, delayed):
        consumer.close()
    broker.close()


def test_a_message_due_now_is_queued_with_its_wake_token_in_one_round_trip(redis_url: str, trips: Counter[str]) -> None:
    broker = fresh_broker(redis_url)
    r = broker.client
    dramatiq_queue.send_step("route", "warm")  # the broker's script loaded, a connection open
    before = trips["sent"]
    dramatiq_queue.send_step("route", "c1")
    assert trips["sent"] - before == 1
    assert r.llen("superbill:route") == 2 and r.llen(dramatiq_queue.wake_key("route")) == 2
    before = trips["sent"]
    dramatiq_queue.send_step("route", "c2", delay_ms=60_000)  # no token for a delayed message
    assert trips["sent"] - before == 1 and r.llen(dramatiq_queue.wake_key("route")) == 2
    broker.close()


def test_a_fetch_leaves_no_more_wake_tokens_than_messages_left_and_an_idle_wait_fetches_in_the_same_trip(
        redis_url: str, trips: Counter[str]) -> None:
    broker = fresh_broker(redis_url)
    r = broker.client
    wake = dramatiq_queue.wake_key("assemble")
    for i in range(3):
        dramatiq_queue.send_step("assemble", f"c{i}")
    assert r.llen(wake) == 3
    consumer = broker.consume("assemble", prefetch=2, timeout=50)
    before = trips["sent"]
    taken = [next(consumer), next(consumer)]  # one fetch of two
    assert trips["sent"] - before == 1 and [m.args for m in taken if m] == [("c0",), ("c1",)]
    assert r.llen(wake) == 1  # one message left, one token: the two taken no longer wake anyone
    for message in taken:
        assert message is not None
        consumer.ack(message)
    last = next(consumer)  # the fetch that empties the queue drops its token
    assert last is not None and last.args == ("c2",) and r.llen(wake) == 0
    consumer.ack(last)
    assert consumer.drained
    dramatiq_queue.send_step("assemble", "c3")
    before = trips["sent"]
    woken = next(consumer)  # the queue was empty: it waits for the token and fetches in one round trip
    assert woken is not None and woken.args == ("c3",) and trips["sent"] - before == 1
    consumer.ack(woken)
    consumer.close()
    broker.close()


def test_a_consumer_whose_server_lost_its_scripts_sends_them_again(redis_url: str) -> None:
    broker = fresh_broker(redis_url)
    r = broker.client
    consumer = broker.consume("route", prefetch=1, timeout=50)
    assert next(consumer) is None and consumer.drained  # scripts loaded, the queue empty
    dramatiq_queue.send_step("route", "c1")
    r.script_flush()  # a restarted (or failed-over) server
    message = next(consumer)  # waited and fetched: the fetch found no script, and is sent again with it
    assert message is not None and message.args == ("c1",)
    consumer.ack(message)
    r.script_flush()
    dramatiq_queue.send_step("route", "c2")
    message = next(consumer)
    assert message is not None and message.args == ("c2",)
    consumer.ack(message)
    assert r.llen("superbill:route") == 0 and r.hlen("superbill:route.msgs") == 0
    consumer.close()
    broker.close()


def test_a_fetch_keeps_its_messages_when_only_the_wake_script_is_missing(redis_url: str) -> None:
    broker = fresh_broker(redis_url)
    r = broker.client
    r.script_flush()
    broker.do_fetch("route.DQ", 1)  # dramatiq's own script loaded (a delay queue polled), the wake script not
    for i in range(2):
        dramatiq_queue.send_step("route", f"c{i}")
    consumer = broker.consume("route", prefetch=1, timeout=50)
    first = next(consumer)  # fetched, and the trim that failed with it did not lose it
    assert first is not None and first.args == ("c0",)
    consumer.ack(first)
    second = next(consumer)
    assert second is not None and second.args == ("c1",)
    consumer.ack(second)
    assert r.llen("superbill:route") == 0 and r.hlen("superbill:route.msgs") == 0
    assert not any(r.smembers(k) for k in r.keys("superbill:__acks__.*"))  # nothing stranded in a worker's hands
    consumer.close()
    broker.close()
