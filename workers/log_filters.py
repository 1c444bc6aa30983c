"""A peer that is down for a moment is expected: dramatiq's "unhandled exception" error with a traceback
becomes one warning line for a TransientError (the step is retried; the claim's timeline has the detail)."""

from __future__ import annotations

import logging

from pipeline.application.errors import TransientError
from pipeline.application.reason_codes import error_code

WORKER_LOGGER = "dramatiq.worker.WorkerThread"


class ExpectedRetries(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, TransientError):
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "step.retry_scheduled: %s (%s)", (type(exc).__name__, error_code(str(exc)))
        return True


def install() -> None:
    logger = logging.getLogger(WORKER_LOGGER)
    if not any(isinstance(f, ExpectedRetries) for f in logger.filters):
        logger.addFilter(ExpectedRetries())
