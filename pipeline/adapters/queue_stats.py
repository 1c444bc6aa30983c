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
