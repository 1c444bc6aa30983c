"""dramatiq's queues as Redis holds them: ready, delayed, in progress and dead messages, oldest age."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from pipeline.adapters.dramatiq_queue import HEARTBEAT_TIMEOUT_MS, NAMESPACE
from pipeline.application.steps import ALERT, QUEUE_OF, QUEUES


def claims_in_flight(client: redis.Redis) -> set[str]:
    """The claim ids of every step message queued, delayed or being run (dramatiq keeps a message in its
    queue's `.msgs` hash from enqueue to acknowledgement); alerts and dead letters do not count. Costs the
    number of messages in flight, not the size of the ledger."""
    pipe = client.pipeline(transaction=False)
    queues = [q for q in QUEUES if q != QUEUE_OF[ALERT]]
    for q in queues:
        pipe.hvals(f"{NAMESPACE}:{q}.msgs")
        pipe.hvals(f"{NAMESPACE}:{q}.DQ.msgs")
    found: set[str] = set()
    for values in pipe.execute():
        for raw in values:
            try:
                args = json.loads(raw).get("args") or []
            except (ValueError, AttributeError):
                continue
            first = args[0] if args else None
            if isinstance(first, dict):  # submission_failed carries the message whose retries ran out
                inner = first.get("args") or []
                first = inner[0] if inner else None
            if isinstance(first, str):
                found.add(first)
    return found


# A worker's consumers fetch, and so write its heartbeat, about once a second even while it is busy; one silent for
# the broker's heartbeat timeout is taken for dead by the broker itself (its messages go back to their queues).
# A process that only sends (the web process resubmitting) also writes one as it sends, for that moment.
LIVE_MS = HEARTBEAT_TIMEOUT_MS


def queue_stats(client: redis.Redis, now_ms: float | None = None) -> list[dict[str, Any]]:
    """Per dramatiq queue: ready, delayed, in progress and dead messages, the oldest ready one's age, and the worker
    processes running to take them (every worker takes every queue).

    Costs the number of queues times the number of worker processes, never the size of the keyspace: the
    messages in progress are in dramatiq's per-(worker, queue) ack sets, and the workers are the members
    of its heartbeat set (a dead worker stays there until the broker requeues its messages).
    """
    r, now_ms = client, (time.time() * 1000 if now_ms is None else now_ms)
    workers = [w.decode() for w in r.zrange(f"{NAMESPACE}:__heartbeats__", 0, -1)]
    alive = int(r.zcount(f"{NAMESPACE}:__heartbeats__", now_ms - LIVE_MS, "+inf"))
    pipe = r.pipeline(transaction=False)
    for q in QUEUES:
        base = f"{NAMESPACE}:{q}"
        pipe.llen(base)
        pipe.llen(f"{base}.DQ")
        pipe.zcard(f"{base}.XQ")
        pipe.lindex(base, 0)
        for w in workers:
            pipe.scard(f"{NAMESPACE}:__acks__.{w}.{q}")
            pipe.scard(f"{NAMESPACE}:__acks__.{w}.{q}.DQ")
    answers = iter(pipe.execute())
    rows, oldest = [], {}
    for q in QUEUES:
        ready, delayed, dead, first = next(answers), next(answers), next(answers), next(answers)
        in_progress = sum(int(next(answers)) for _ in range(2 * len(workers)))
        if first is not None:
            oldest[q] = first
        rows.append({"queue": q, "ready": int(ready), "delayed": int(delayed), "in_progress": in_progress,
                     "dead": int(dead), "oldest_ready_age_s": None, "workers": alive})
    if oldest:
        pipe = r.pipeline(transaction=False)
        for q, first in oldest.items():
            pipe.hget(f"{NAMESPACE}:{q}.msgs", first)
        for q, raw in zip(oldest, pipe.execute(), strict=True):
            if raw:
                age = round((now_ms - json.loads(raw).get("message_timestamp", now_ms)) / 1000, 1)
                next(row for row in rows if row["queue"] == q)["oldest_ready_age_s"] = age
    return rows


def dead_letters(client: redis.Redis, queue: str, limit: int = 200) -> list[dict[str, Any]]:
    """The dead-lettered messages of a queue, newest first: message id, actor, claim id, when, retries."""
    if queue not in QUEUES:
        return []
    base = f"{NAMESPACE}:{queue}.XQ"
    rows = []
    for raw_id, score in client.zrevrange(base, 0, limit - 1, withscores=True):
        message_id = raw_id.decode()
        raw = client.hget(f"{base}.msgs", message_id)
        message = json.loads(raw) if raw else {}
        args = message.get("args") or []
        options = message.get("options") or {}
        rows.append({"message_id": message_id, "actor": message.get("actor_name"),
                     "claim_id": args[0] if args and isinstance(args[0], str) else None,
                     "dead_since": score / 1000, "retries": options.get("retries", 0)})
    return rows


def drop_dead_letters(client: redis.Redis, queue: str, message_ids: list[str] | None = None) -> int:
    """Clear dead letters of a queue (these ids, or all). The claims stay in the ledger, which the reconciler
    re-drives; a dead letter is only the record of a message that gave up."""
    if queue not in QUEUES:
        return 0
    base = f"{NAMESPACE}:{queue}.XQ"
    ids = message_ids if message_ids is not None else [x.decode() for x in client.zrange(base, 0, -1)]
    if not ids:
        return 0
    pipe = client.pipeline(transaction=True)
    pipe.zrem(base, *ids)
    pipe.hdel(f"{base}.msgs", *ids)
    removed, _ = pipe.execute()
    return int(removed)
