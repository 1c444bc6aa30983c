"""dramatiq's queues as Redis holds them: ready, delayed, in progress and dead messages, oldest age."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from pipeline.adapters.dramatiq_queue import NAMESPACE
from pipeline.application.steps import QUEUES


def queue_stats(client: redis.Redis, now_ms: float | None = None) -> list[dict[str, Any]]:
    """Per dramatiq queue: ready, delayed, in progress and dead messages, and the oldest ready one's age."""
    r, now_ms = client, (time.time() * 1000 if now_ms is None else now_ms)
    ack_keys = [k.decode() for k in r.scan_iter(match=f"{NAMESPACE}:__acks__.*", count=500)]
    rows = []
    for q in QUEUES:
        base = f"{NAMESPACE}:{q}"
        oldest_age_s = None
        first = r.lindex(base, 0)
        if first is not None:
            raw = r.hget(f"{base}.msgs", first)
            if raw:
                oldest_age_s = round((now_ms - json.loads(raw).get("message_timestamp", now_ms)) / 1000, 1)
        in_progress = sum(int(r.scard(k)) for k in ack_keys if k.endswith(f".{q}") or k.endswith(f".{q}.DQ"))
        rows.append({
            "queue": q, "ready": int(r.llen(base)), "delayed": int(r.llen(f"{base}.DQ")),
            "in_progress": in_progress, "dead": int(r.zcard(f"{base}.XQ")), "oldest_ready_age_s": oldest_age_s,
        })
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
