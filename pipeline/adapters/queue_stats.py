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


class RedisDeadLetters:
    """dramatiq's dead letters as its RedisBroker keeps them: per queue a sorted set `<ns>:<queue>.XQ` of message
    ids scored by when they died (ms), and the messages in the hash `<ns>:<queue>.XQ.msgs` (the broker drops
    both after its dead-message TTL)."""

    def __init__(self, client: redis.Redis) -> None:
        self.r = client

    def counts(self) -> dict[str, int]:
        pipe = self.r.pipeline(transaction=False)
        for q in QUEUES:
            pipe.zcard(f"{NAMESPACE}:{q}.XQ")
        return {q: int(n) for q, n in zip(QUEUES, pipe.execute(), strict=True)}

    def page(self, queue: str, *, limit: int,
             after: tuple[float, str] | None = None) -> list[tuple[str, float, dict[str, Any]]]:
        key = f"{NAMESPACE}:{queue}.XQ"
        found: list[tuple[str, float]] = []
        low: str | float = "-inf" if after is None else after[0]
        offset = 0
        while len(found) < limit:  # members of one score come in the order of their ids, as a cursor counts them
            batch = self.r.zrangebyscore(key, low, "+inf", start=offset, num=limit + 16, withscores=True)
            for raw, score in batch:
                mid = raw.decode()
                if after is None or (score, mid) > after:
                    found.append((mid, score))
            if len(batch) < limit + 16:
                break
            offset += len(batch)
        found = found[:limit]
        raws = self.r.hmget(f"{key}.msgs", [mid for mid, _ in found]) if found else []
        return [(mid, score, _message(raw)) for (mid, score), raw in zip(found, raws, strict=True)]

    def get(self, queue: str, message_id: str) -> tuple[float, dict[str, Any]] | None:
        key = f"{NAMESPACE}:{queue}.XQ"
        pipe = self.r.pipeline(transaction=False)
        pipe.zscore(key, message_id)
        pipe.hget(f"{key}.msgs", message_id)
        score, raw = pipe.execute()
        return None if score is None else (float(score), _message(raw))

    def drop(self, queue: str, message_ids: list[str] | None = None) -> int:
        """Clear dead letters of a queue (these ids, or all). The claims stay in the ledger, which the reconciler
        re-drives; a dead letter is only the record of a message that gave up."""
        if queue not in QUEUES:
            return 0
        base = f"{NAMESPACE}:{queue}.XQ"
        ids = message_ids if message_ids is not None else [x.decode() for x in self.r.zrange(base, 0, -1)]
        if not ids:
            return 0
        pipe = self.r.pipeline(transaction=True)
        pipe.zrem(base, *ids)
        pipe.hdel(f"{base}.msgs", *ids)
        removed, _ = pipe.execute()
        return int(removed)


def _message(raw: bytes | None) -> dict[str, Any]:
    try:
        message = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}
