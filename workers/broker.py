"""The dramatiq Redis broker, configured on purpose."""

from __future__ import annotations

from dramatiq.brokers.redis import RedisBroker

from workers.middleware import LogContext, RedisMetrics

NAMESPACE = "superbill"
QUEUES = ("validate", "assemble", "route", "submit_direct", "submit_courtesy", "statements", "alerts")

# A killed worker's unacked messages go back to their queue only when (a) its heartbeat is older than
# `heartbeat_timeout` and (b) a maintenance pass runs, on `maintenance_chance` in 1,000,000 broker
# commands, for the queue named in that command. dramatiq's defaults (60 s, 0.1 %) can leave a message
# stranded for many minutes on a quiet queue. Workers poll (and so heartbeat) about once a second, so 20 s
# is a safe timeout, and 5 % maintenance costs a few extra Redis operations per fetch. The ledger's
# reconciler is the second line of defence: it re-drives claims that sit too long in a non-final status.
HEARTBEAT_TIMEOUT_MS = 20_000
MAINTENANCE_CHANCE = 50_000  # out of dramatiq's MAINTENANCE_SCALE of 1,000,000
# Dead letters are kept 30 days instead of 7 for post-mortems; ops never needs them to recover a claim,
# because the ledger records every failure and drives resubmission.
DEAD_MESSAGE_TTL_MS = 30 * 24 * 3600 * 1000


def build_broker(url: str) -> RedisBroker:
    broker = RedisBroker(
        url=url,
        namespace=NAMESPACE,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=MAINTENANCE_CHANCE,
        dead_message_ttl=DEAD_MESSAGE_TTL_MS,
    )
    broker.add_middleware(LogContext())
    broker.add_middleware(RedisMetrics())
    for queue in QUEUES:
        broker.declare_queue(queue)
    return broker
