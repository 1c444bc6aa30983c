"""Prometheus metrics, read from Redis at scrape time so every worker and web process agrees.

Workers record per-actor counts and durations (their metrics middleware) and submission latencies per
peer (`LedgerMetrics`, the `MetricsPort`); queue depths and claim counts are read live.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from redis import RedisError

from pipeline.adapters.queue_stats import queue_stats
from pipeline.adapters.redis_ledger import Ledger

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


def _key(ledger: Ledger, *parts: str) -> str:
    return ledger.prefix + "metrics:" + ":".join(parts)


# One observation in one round trip: the `once` guard, the buckets it falls in, count, sum, the peer.
_RECORD_LATENCY = """
if KEYS[1] ~= '' and not redis.call('SET', KEYS[1], 1, 'NX', 'EX', 7776000) then return 0 end
for i = 3, #ARGV do redis.call('HINCRBY', KEYS[2], ARGV[i], 1) end
redis.call('HINCRBY', KEYS[2], 'count', 1)
redis.call('HINCRBYFLOAT', KEYS[2], 'sum', ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
return 1
"""


def record_latency(ledger: Ledger, peer: str, seconds: float, *, once: str | None = None) -> None:
    """One observation; with `once` (e.g. "<claim id>:<submission no>") at most one per such key."""
    buckets = [f"le:{bound}" for bound in LATENCY_BUCKETS if seconds <= bound]
    script = ledger.r.register_script(_RECORD_LATENCY)  # sent once, then called by its SHA
    script(keys=[_key(ledger, "latency_seen", once) if once is not None else "", _key(ledger, "latency", peer),
                 _key(ledger, "latency_peers")], args=[repr(seconds), peer, *buckets])


def record_message(ledger: Ledger, actor: str, *, seconds: float, error: bool) -> None:
    record_messages(ledger, {actor: (1, int(error), seconds)})


def record_messages(ledger: Ledger, counts: dict[str, tuple[int, int, float]]) -> None:
    """Messages processed per actor since the last call, (count, errors, seconds) each: one round trip."""
    pipe = ledger.r.pipeline(transaction=False)
    for actor, (total, errors, seconds) in counts.items():
        key = _key(ledger, "actor", actor)
        pipe.hincrby(key, "total", total)
        if errors:
            pipe.hincrby(key, "errors", errors)
        pipe.hincrbyfloat(key, "seconds", seconds)
    pipe.sadd(_key(ledger, "actors"), *counts)
    pipe.execute()


class LedgerMetrics:
    """The `MetricsPort` on the ledger's Redis: a metric never fails a step."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def record_latency(self, peer: str, seconds: float, *, once: str | None = None) -> None:
        try:
            record_latency(self.ledger, peer, seconds, once=once)
        except RedisError:
            structlog.get_logger(__name__).warning("metrics.latency_failed", peer=peer)

    def record_message(self, actor: str, *, seconds: float, error: bool) -> None:
        try:
            record_message(self.ledger, actor, seconds=seconds, error=error)
        except RedisError:
            structlog.get_logger(__name__).warning("metrics.record_failed", actor=actor)

    def record_messages(self, counts: dict[str, tuple[int, int, float]]) -> None:
        if not counts:
            return
        try:
            record_messages(self.ledger, counts)
        except RedisError:
            structlog.get_logger(__name__).warning("metrics.record_failed", actors=sorted(counts))


class _LedgerCollector:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def collect(self) -> Iterator[Any]:
        ledger, r = self.ledger, self.ledger.r
        ready = GaugeMetricFamily("superbill_queue_messages", "Messages per dramatiq queue and state",
                                  labels=["queue", "state"])
        dead = GaugeMetricFamily("superbill_queue_dead_messages", "Dead-lettered messages", labels=["queue"])
        age = GaugeMetricFamily("superbill_queue_oldest_message_age_seconds", "Age of the oldest ready message",
                                labels=["queue"])
        for q in queue_stats(r):
            for state in ("ready", "delayed", "in_progress"):
                ready.add_metric([q["queue"], state], q[state])
            dead.add_metric([q["queue"]], q["dead"])
            age.add_metric([q["queue"]], q["oldest_ready_age_s"] or 0.0)
        yield from (ready, dead, age)

        by_status = GaugeMetricFamily("superbill_claims", "Claims per status", labels=["status"])
        for status, n in ledger.count_by_status().items():
            by_status.add_metric([status], n)
        by_route = GaugeMetricFamily("superbill_claims_by_route", "Claims per route", labels=["route"])
        for route, n in ledger.count_by_route().items():
            by_route.add_metric([route], n)
        refused = GaugeMetricFamily("superbill_refused_events", "Refused inbound events kept for ops")
        refused.add_metric([], ledger.count_refused())
        emails = GaugeMetricFamily("superbill_statement_emails_unfinished",
                                   "Statement e-mails to clients queued, being sent or waiting for a retry")
        emails.add_metric([], ledger.count_unfinished_deliveries())
        yield from (by_status, by_route, refused, emails)
        yield from _money_metrics(ledger)

        latency = HistogramMetricFamily("superbill_submission_latency_seconds",
                                        "From preparing a submission to the peer's final answer", labels=["peer"])
        for peer in sorted(p.decode() for p in r.smembers(_key(ledger, "latency_peers"))):
            h = {k.decode(): v.decode() for k, v in r.hgetall(_key(ledger, "latency", peer)).items()}
            buckets = [(str(b), int(h.get(f"le:{b}", 0))) for b in LATENCY_BUCKETS]
            buckets.append(("+Inf", int(h.get("count", 0))))
            latency.add_metric([peer], buckets, sum_value=float(h.get("sum", 0.0)))
        yield latency

        total = CounterMetricFamily("dramatiq_messages", "Messages processed per actor", labels=["actor_name"])
        errors = CounterMetricFamily("dramatiq_message_errors", "Messages that raised, per actor",
                                     labels=["actor_name"])
        seconds = CounterMetricFamily("dramatiq_message_duration_seconds", "Time spent processing, per actor",
                                      labels=["actor_name"])
        for actor in sorted(a.decode() for a in r.smembers(_key(ledger, "actors"))):
            h = {k.decode(): v.decode() for k, v in r.hgetall(_key(ledger, "actor", actor)).items()}
            total.add_metric([actor], int(h.get("total", 0)))
            errors.add_metric([actor], int(h.get("errors", 0)))
            seconds.add_metric([actor], float(h.get("seconds", 0.0)))
        yield from (total, errors, seconds)


def _money_metrics(ledger: Ledger) -> Iterator[Any]:
    """What the payers' remittances posted: claims paid and denied, and their amounts (read live)."""
    from decimal import Decimal

    paid = ledger.get_many(ledger.claim_ids(status="paid"))
    denied = ledger.get_many(ledger.claim_ids(status="denied"))
    voided = ledger.get_many(ledger.claim_ids(status="voided"))
    counts = GaugeMetricFamily("superbill_remitted_claims", "Claims the payer paid, denied (835) or voided",
                               labels=["outcome"])
    counts.add_metric(["paid"], len(paid))
    counts.add_metric(["denied"], len(denied))
    counts.add_metric(["voided"], len(voided))
    amounts = GaugeMetricFamily("superbill_remitted_amount_dollars",
                                "Money on paid, denied and voided claims: paid, adjusted, patient responsibility, "
                                "recovered (PLB), charges denied, charges voided", labels=["kind"])

    def total(values: Iterator[Decimal | None]) -> float:
        return float(sum((v or Decimal(0) for v in values), Decimal(0)))

    amounts.add_metric(["paid"], total(c.paid_amount for c in paid))
    amounts.add_metric(["adjusted"], total(c.adjusted_amount for c in paid))
    amounts.add_metric(["patient_responsibility"], total(c.patient_responsibility for c in paid))
    # what the payer's provider-level recoveries (PLB) took back of those payments
    amounts.add_metric(["recovered"], total(c.recovered_amount for c in paid))
    def charges(claims: list[Any]) -> float:
        return total(Decimal(str((c.superbill or {}).get("total_charge") or 0)) for c in claims)

    amounts.add_metric(["denied"], charges(denied))
    amounts.add_metric(["voided"], charges(voided))
    remits = GaugeMetricFamily("superbill_remittance_files", "Remittance files (835) received, by status",
                               labels=["status"])
    r = ledger.r
    statuses: dict[str, int] = {}
    pipe = r.pipeline(transaction=False)
    for rid in r.zrange(ledger.prefix + "remits", 0, -1):
        pipe.hget(ledger.prefix + "remit:" + rid.decode(), "status")
    for status in pipe.execute():
        key = status.decode() if status else "received"
        statuses[key] = statuses.get(key, 0) + 1
    for status in ("received", "posted", "partly_posted", "invalid"):
        remits.add_metric([status], statuses.get(status, 0))
    yield from (counts, amounts, remits)


def render_metrics(ledger: Ledger) -> tuple[bytes, str]:
    registry = CollectorRegistry()
    registry.register(_LedgerCollector(ledger))  # type: ignore[arg-type]
    return generate_latest(registry), CONTENT_TYPE_LATEST
