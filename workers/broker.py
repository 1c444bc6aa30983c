"""The worker processes' broker: the pipeline's Redis broker plus the workers' middleware."""

from __future__ import annotations

from dramatiq.brokers.redis import RedisBroker

from pipeline.adapters import dramatiq_queue
from workers.middleware import LogContext, RedisMetrics


def build_broker(url: str) -> RedisBroker:
    return dramatiq_queue.build_broker(url, middleware=(LogContext(), RedisMetrics()))
