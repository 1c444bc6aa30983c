"""An expected, retried peer failure is one warning line in the worker log, not an error with a traceback."""

from __future__ import annotations

import logging
import sys

from pipeline.application.errors import PeerRefused, PeerUnavailable
from workers.log_filters import ExpectedRetries


def _record(exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        info = sys.exc_info()
    return logging.LogRecord("dramatiq.worker.WorkerThread", logging.ERROR, __file__, 1,
                             "Failed to process message %s with unhandled exception.", ("msg",), info)


def test_a_peer_that_is_down_for_a_moment_is_one_warning_without_a_traceback() -> None:
    record = _record(PeerUnavailable("clearinghouse", "answered 503"))
    assert ExpectedRetries().filter(record)
    assert (record.levelno, record.exc_info) == (logging.WARNING, None)
    assert record.getMessage() == "step.retry_scheduled: PeerUnavailable (clearinghouse:http_503)"


def test_any_other_failure_keeps_its_level_and_traceback() -> None:
    for exc in (PeerRefused("clearinghouse", 422, ["no"]), KeyError("x")):
        record = _record(exc)
        assert ExpectedRetries().filter(record)
        assert record.levelno == logging.ERROR and record.exc_info is not None
