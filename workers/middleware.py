"""Per-message log context: every line a step logs carries `claim_id`, `actor` and `message_id`."""

from __future__ import annotations

import time
from typing import Any

import structlog
from dramatiq import Middleware

from pipeline.entrypoints import runtime


class LogContext(Middleware):
    def before_process_message(self, broker: Any, message: Any) -> None:
        claim_id = message.args[0] if message.args and isinstance(message.args[0], str) else None
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            claim_id=claim_id, actor=message.actor_name, message_id=message.message_id,
            retries=message.options.get("retries", 0),
        )

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        structlog.contextvars.clear_contextvars()

    after_skip_message = after_process_message


class RedisMetrics(Middleware):
    """Per-actor message counts, errors and processing time, kept in Redis for the web's /metrics."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def before_process_message(self, broker: Any, message: Any) -> None:
        self._started[message.message_id] = time.monotonic()

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        started = self._started.pop(message.message_id, None)
        if started is None:
            return
        try:
            metrics = runtime.deps().metrics
            if metrics is not None:
                metrics.record_message(message.actor_name, seconds=time.monotonic() - started,
                                       error=exception is not None)
        except Exception:  # metrics never break a step
            structlog.get_logger(__name__).warning("metrics.record_failed", actor=message.actor_name)

    def after_skip_message(self, broker: Any, message: Any) -> None:
        self._started.pop(message.message_id, None)
