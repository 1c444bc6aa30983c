"""The `StepSender` port on dramatiq's Redis broker, and the broker's settings, chosen on purpose.

Any process can queue a step without the actors being imported: a message names its actor and queue
(`pipeline.application.steps.QUEUE_OF`), and the worker processes (`workers/`) run the actors.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable
from typing import Any

import dramatiq
import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff, current_millis, dq_name
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

from pipeline.adapters.redis_client import connect
from pipeline.application.steps import QUEUE_OF, QUEUES

NAMESPACE = "superbill"

# A killed worker's unacked messages go back to their queue only when (a) its heartbeat is older than
# `heartbeat_timeout` and (b) a maintenance pass runs, on `maintenance_chance` in 1,000,000 broker
# commands, for the queue named in that command. dramatiq's defaults (60 s, 0.1 %) can leave a message
# stranded for many minutes on a quiet queue. A worker's consumers fetch (and so heartbeat) about once a
# second even while its threads are busy, so 5 s is a safe timeout. Maintenance runs for the queue a consumer
# fetches from; each queue's consumer fetches about once a second, so at 50 % a dead worker's message on any
# queue is requeued within a few seconds of its heartbeat running out, for a few Redis operations per fetch.
# With the 5 s renewed submission lease, a
# claim in flight in a SIGKILLed worker is taken up again in about 8 s. A message requeued from a worker
# that was only slow is harmless: steps are idempotent and the lease keeps the peer call single. The
# ledger's reconciler is the second line of defence: it re-drives claims that sit too long in a
# non-final status.
HEARTBEAT_TIMEOUT_MS = 5_000
MAINTENANCE_CHANCE = 500_000  # out of dramatiq's MAINTENANCE_SCALE of 1,000,000
# Dead letters are kept 30 days instead of 7 for post-mortems; ops never needs them to recover a claim,
# because the ledger records every failure and drives resubmission.
DEAD_MESSAGE_TTL_MS = 30 * 24 * 3600 * 1000
# The Redis broker polls: a consumer that found its queue empty sleeps with a growing backoff up to the
# worker's timeout (dramatiq's default 1 s) before it looks again, so each hop of a claim through a quiet
# queue waited up to a second. 100 ms caps that wait for about ten cheap fetches a second per idle queue.
IDLE_POLL_MS = 100
# A delay queue's consumer takes its messages long before they are due and holds them until then: it can
# keep dramatiq's one-second idle poll, so half of a worker's consumers poll (and write their heartbeat,
# an append-only write of Redis) ten times less often.
DELAY_QUEUE_IDLE_POLL_MS = 1000


# A consumer that found its queue empty does not sleep blind: it waits on its queue's wake list (BLPOP, at
# most `WAKE_WAIT_MS`), and whoever queues a message for that queue pushes a token on it in the same round trip
# (`WakingRedisBroker.do_enqueue`, and the ledger's scripts that queue a claim's next step), so an idle worker
# takes a new message in about a round trip instead of after its poll interval. The list keeps at most
# `WAKE_TOKENS` tokens, and never more than the messages still in the queue: the fetch that takes messages
# drops the tokens left over (`_TRIM_WAKE`, in the fetch's own round trip), so a consumer is not woken for a
# message another one already took. A consumer whose fetch emptied its queue waits on the wake list next (any
# message queued since comes with a token), with its next fetch sent in the same round trip: Redis runs it
# as soon as the wait ends, with a token or without one.
WAKE_TOKENS = 8
# How long an idle consumer waits on its wake list at most: a queued step wakes it at once, so this only bounds
# the wait for a message queued without a token (one requeued from a dead worker) and sets how often an idle
# queue is fetched from (which also writes the worker's heartbeat and runs the broker's maintenance): about
# once a second, ten times less often than a consumer that had to poll for new work every `IDLE_POLL_MS`.
WAKE_WAIT_MS = 1000

# Run with the fetch, in its transaction: the queue's wake list keeps no more tokens than the queue has messages
# (none once it is empty). KEYS: the queue, its wake list.
_TRIM_WAKE = """
local left = redis.call('LLEN', KEYS[1])
if left == 0 then redis.call('DEL', KEYS[2]) else redis.call('LTRIM', KEYS[2], 0, left - 1) end
return left
"""


def wake_key(queue_name: str) -> str:
    """The list a queue's idle consumers wait on (never a delay queue's: those are polled)."""
    return f"{NAMESPACE}:{queue_name}.wake"


def _is_delay_queue(queue_name: str) -> bool:
    return queue_name == dq_name(queue_name)


class _WakingConsumer(_RedisConsumer):
    """dramatiq's Redis consumer (2.x, `_RedisConsumer.__next__`), waiting on the wake list (up to
    `WAKE_WAIT_MS`) when its queue is empty instead of sleeping; a delay queue's consumer, or one with all its
    prefetched messages still running, sleeps as before (up to the idle poll)."""

    broker: WakingRedisBroker

    def __init__(self, broker: WakingRedisBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)
        self.wake_key = None if _is_delay_queue(queue_name) else wake_key(queue_name)
        # The last fetch took fewer messages than it asked for: the queue was empty then, and its wake list too.
        self.drained = False

    def __next__(self) -> MessageProxy | None:
        try:
            while True:
                if self.message_cache:
                    data = self.message_cache.pop(0)
                    if data is None:
                        continue
                    self.misses = 0
                    message = Message.decode(data)
                    self.queued_message_ids.add(message.message_id)
                    return MessageProxy(message)
                room = self.prefetch - self.outstanding_message_count
                if room > 0 and self.wake_key is not None:
                    if self.drained:  # wait for a token, then fetch: one round trip
                        messages = self.broker.wait_and_fetch(self.queue_name, room, max(self.timeout, WAKE_WAIT_MS))
                    else:
                        messages = self.broker.fetch_waking(self.queue_name, room)
                    self.message_cache = messages
                    self.drained = len(messages) < room
                    if messages:
                        continue
                    return None
                if room > 0:  # a delay queue: polled, as dramatiq does
                    self.message_cache = self.broker.do_fetch(self.queue_name, room)
                    if self.message_cache:
                        continue
                # a delay queue found empty, or all its prefetched messages still running
                self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
                time.sleep(backoff_ms / 1000)
                return None
        except redis.ConnectionError as e:
            raise ConnectionClosed(e) from None


class WakingRedisBroker(RedisBroker):
    """dramatiq's Redis broker whose idle consumers are woken by a message queued for them."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._trim_wake = self.client.register_script(_TRIM_WAKE)

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return _WakingConsumer

    def _dispatch_args(self, command: str, queue_name: str, *args: Any) -> list[Any]:
        """The arguments of dramatiq's dispatch script, as `RedisBroker._dispatch` passes them (2.x)."""
        return [command, current_millis(), queue_name, self.broker_id, self.heartbeat_timeout,
                self.dead_message_ttl, self._should_do_maintenance(command), self._max_unpack_size(), *args]

    def _load_scripts(self) -> None:
        for script in (self.scripts["dispatch"], self._trim_wake):
            script.sha = self.client.script_load(script.script)

    def fetch_waking(self, queue_name: str, count: int) -> list[bytes]:
        """dramatiq's fetch of up to `count` messages, and the queue's wake list trimmed to the messages left,
        in one round trip. The messages fetched are returned even if the trim failed (they are this worker's
        now: dropping them would strand them until the worker stops)."""
        for attempt in (1, 2):
            pipe = self.client.pipeline(transaction=True)
            pipe.evalsha(self.scripts["dispatch"].sha, 1, self.namespace,
                         *self._dispatch_args("fetch", queue_name, count))
            pipe.evalsha(self._trim_wake.sha, 2, f"{self.namespace}:{queue_name}", wake_key(queue_name))
            messages, trimmed = pipe.execute(raise_on_error=False)
            if isinstance(messages, redis.exceptions.NoScriptError) or isinstance(
                    trimmed, redis.exceptions.NoScriptError):
                self._load_scripts()
            if isinstance(messages, redis.exceptions.NoScriptError) and attempt == 1:
                continue  # nothing was fetched: fetch again, with the script
            if isinstance(messages, Exception):
                raise messages
            return list(messages)
        raise AssertionError("unreachable")

    def wait_and_fetch(self, queue_name: str, count: int, wait_ms: int) -> list[bytes]:
        """Wait for a token on the queue's wake list (up to `wait_ms`), then `fetch_waking`, in one round trip
        (a pipeline: Redis runs the fetch when the wait ends). The wait stays well under the connection's socket
        timeout, if it has one, so that a fetch Redis ran is never lost to a timeout on our side."""
        wait_s = wait_ms / 1000
        socket_timeout = self.client.connection_pool.connection_kwargs.get("socket_timeout")
        if socket_timeout:
            wait_s = min(wait_s, socket_timeout / 2)
        pipe = self.client.pipeline(transaction=False)
        pipe.blpop([wake_key(queue_name)], timeout=wait_s)
        pipe.evalsha(self.scripts["dispatch"].sha, 1, self.namespace, *self._dispatch_args("fetch", queue_name, count))
        pipe.evalsha(self._trim_wake.sha, 2, f"{self.namespace}:{queue_name}", wake_key(queue_name))
        _, messages, trimmed = pipe.execute(raise_on_error=False)
        if isinstance(messages, redis.exceptions.NoScriptError):  # nothing fetched: send the scripts, fetch again
            self._load_scripts()
            return self.fetch_waking(queue_name, count)
        if isinstance(trimmed, redis.exceptions.NoScriptError):  # the messages fetched are kept all the same
            self._load_scripts()
        if isinstance(messages, Exception):
            raise messages
        return list(messages)

    def do_enqueue(self, queue_name: str, message_id: str, data: bytes) -> None:
        """dramatiq's enqueue (`RedisBroker.enqueue` calls it) and, for a message due now, a wake token for its
        queue, in one round trip."""
        if _is_delay_queue(queue_name):
            self.scripts["dispatch"](keys=[self.namespace], args=self._dispatch_args("enqueue", queue_name,
                                                                                     message_id, data))
            return

        for attempt in (1, 2):
            pipe = self.client.pipeline(transaction=True)
            pipe.evalsha(self.scripts["dispatch"].sha, 1, self.namespace,
                         *self._dispatch_args("enqueue", queue_name, message_id, data))
            pipe.lpush(wake_key(queue_name), "1")
            pipe.ltrim(wake_key(queue_name), 0, WAKE_TOKENS - 1)
            queued, *_ = pipe.execute(raise_on_error=False)
            if isinstance(queued, redis.exceptions.NoScriptError) and attempt == 1:
                self._load_scripts()  # nothing was queued (a token was: it costs one fetch): queue it again
                continue
            if isinstance(queued, Exception):
                raise queued
            return


class IdlePoll(dramatiq.Middleware):
    """Sets how long an idle consumer waits before it polls its queue again: `idle_poll_ms` for the
    queues, `DELAY_QUEUE_IDLE_POLL_MS` for their delay queues."""

    def __init__(self, idle_poll_ms: int) -> None:
        self.idle_poll_ms = idle_poll_ms

    def before_worker_boot(self, broker: Any, worker: Any) -> None:
        # the consumers are created after this hook, each with the worker's timeout at that moment
        worker.worker_timeout = self.idle_poll_ms
        add_consumer = worker._add_consumer

        def add_with_its_poll(queue_name: str, delay: bool = False) -> None:
            worker.worker_timeout = max(DELAY_QUEUE_IDLE_POLL_MS, self.idle_poll_ms) if delay else self.idle_poll_ms
            try:
                add_consumer(queue_name, delay=delay)
            finally:
                worker.worker_timeout = self.idle_poll_ms

        worker._add_consumer = add_with_its_poll


def idle_poll_ms() -> int:
    """`SUPERBILL_WORKER_IDLE_POLL_MS`, else `IDLE_POLL_MS`."""
    raw = os.environ.get("SUPERBILL_WORKER_IDLE_POLL_MS", "").strip()
    return max(5, int(raw)) if raw.isdigit() else IDLE_POLL_MS


def build_broker(url: str, middleware: Iterable[dramatiq.Middleware] = ()) -> RedisBroker:
    """The Redis broker with the pipeline's settings and queues, plus any extra middleware."""
    broker = WakingRedisBroker(
        client=connect(url),
        namespace=NAMESPACE,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=MAINTENANCE_CHANCE,
        dead_message_ttl=DEAD_MESSAGE_TTL_MS,
    )
    broker.add_middleware(IdlePoll(idle_poll_ms()))
    for extra in middleware:
        broker.add_middleware(extra)
    for queue in QUEUES:
        broker.declare_queue(queue)
    return broker


def outbox_entry(step: str, claim_id: str) -> tuple[str, str, str, str, str]:
    """What `send_step` would write to Redis for this step, for a script that queues it itself:
    (queue list key, queue messages key, wake list key, message id, encoded message), as dramatiq's Redis
    broker enqueues a message (a fresh `redis_message_id` in its options; list of ids plus a hash of
    messages), and the queue's wake list that script pushes a token on (`WAKE_TOKENS` at most)."""
    queue = QUEUE_OF[step]
    redis_message_id = str(uuid.uuid4())
    message: dramatiq.Message[None] = dramatiq.Message(
        queue_name=queue, actor_name=step, args=(claim_id,), kwargs={},
        options={"redis_message_id": redis_message_id})
    return (f"{NAMESPACE}:{queue}", f"{NAMESPACE}:{queue}.msgs", wake_key(queue), redis_message_id,
            message.encode().decode())


def send_step(step: str, claim_id: str, delay_ms: int | None = None) -> None:
    """Queue `step` for the claim on the process's broker (set once by its composition root)."""
    message: dramatiq.Message[None] = dramatiq.Message(
        queue_name=QUEUE_OF[step], actor_name=step, args=(claim_id,), kwargs={}, options={})
    dramatiq.get_broker().enqueue(message, delay=delay_ms or None)
