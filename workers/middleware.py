"""Per-message log context: every line a step logs carries `claim_id`, `actor` and `message_id`."""

from __future__ import annotations

import threading
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
    """Per-actor message counts, errors and processing time, kept in Redis for the web's /metrics.

    A message costs no Redis call of its own: the counts are added up in the process and written in one
    round trip every `FLUSH_EVERY_S` by a background thread (and once more when the worker stops).
    """

    FLUSH_EVERY_S = 0.25

    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._counts: dict[str, tuple[int, int, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        if self._flusher is None:
            self._flusher = threading.Thread(target=self._flush_periodically, name="metrics-flush", daemon=True)
            self._flusher.start()

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        self._stop.set()
        self.flush()

    def before_process_message(self, broker: Any, message: Any) -> None:
        self._started[message.message_id] = time.monotonic()

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        started = self._started.pop(message.message_id, None)
        if started is None:
            return
        seconds = time.monotonic() - started
        with self._lock:
            total, errors, spent = self._counts.get(message.actor_name, (0, 0, 0.0))
            self._counts[message.actor_name] = (total + 1, errors + (exception is not None), spent + seconds)
        if self._flusher is None:  # not in a worker (a test, a script): write at once
            self.flush()

    def after_skip_message(self, broker: Any, message: Any) -> None:
        self._started.pop(message.message_id, None)

    def flush(self) -> None:
        with self._lock:
            counts, self._counts = self._counts, {}
        if not counts:
            return
        try:
            metrics = runtime.deps().metrics
            if metrics is not None:
                metrics.record_messages(counts)
        except Exception:  # metrics never break a step
            structlog.get_logger(__name__).warning("metrics.record_failed", actors=sorted(counts))

    def _flush_periodically(self) -> None:
        while not self._stop.wait(self.FLUSH_EVERY_S):
            self.flush()
