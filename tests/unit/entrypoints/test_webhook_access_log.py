"""One log line per webhook request: uvicorn's access line only where the ingest path logged nothing."""

from __future__ import annotations

import logging

import pytest

from pipeline.entrypoints.web.webhook import WebhookAccessLog


def _access(method: str, path: str, status: int) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                             ("127.0.0.1:5000", method, path, "1.1", status), None)


@pytest.mark.parametrize(("method", "path", "status", "kept"), [
    ("POST", "/v1/events", 202, False),   # event.received says it
    ("POST", "/v1/events", 200, False),   # a duplicate: event.received too
    ("POST", "/v1/events", 422, False),   # event.refused says it
    ("POST", "/v1/events", 401, True),    # a bad signature: nothing else logs it
    ("POST", "/v1/events", 503, True),
    ("GET", "/v1/ops/summary", 200, True),
    ("POST", "/v1/ops/resubmit", 200, True),
])
def test_the_access_line_is_kept_only_when_nothing_else_logs_the_request(
        method: str, path: str, status: int, kept: bool) -> None:
    assert WebhookAccessLog().filter(_access(method, path, status)) is kept
