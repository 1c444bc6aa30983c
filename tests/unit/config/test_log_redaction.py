"""The logging processor keeps patient data out of every line, nested or in pydantic error text."""

from __future__ import annotations

import io
import json
import logging

import structlog

from config.logging import REDACTED, configure_logging, drop_patient_data


def test_patient_keys_are_redacted_at_any_depth() -> None:
    line = drop_patient_data(None, "info", {
        "event": "claim.routed", "claim_id": "ses_1", "first_name": "John",
        "detail": {"client": {"last_name": "Doe"}, "member_id": "XYZ", "codes": ["M54.50"]},
        "items": [{"date_of_birth": "1970-01-01"}, {"address": {"line1": "456 Oak Ave"}}],
    })
    text = json.dumps(line)
    for secret in ("John", "Doe", "XYZ", "1970-01-01", "456 Oak Ave"):
        assert secret not in text
    assert line["claim_id"] == "ses_1" and line["detail"]["codes"] == ["M54.50"]
    assert line["first_name"] == REDACTED


def test_pydantic_input_values_are_redacted_from_messages() -> None:
    line = drop_patient_data(None, "error", {
        "event": "boom", "error": "1 validation error\n  Input should be a valid date [input_value='John Doe']"})
    assert "John" not in line["error"] and REDACTED in line["error"]


def test_standard_library_loggers_go_through_the_same_redaction() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    try:
        logging.getLogger("dramatiq.worker").info("message", extra={"member_id": "XYZ123456789"})
        structlog.get_logger("t").info("claim.final", claim_id="ses_9", last_name="Doe")
    finally:
        configure_logging("WARNING", json=True)
    out = stream.getvalue()
    assert "ses_9" in out
    assert "Doe" not in out
    lines = [json.loads(x) for x in out.splitlines()]
    assert lines[-1]["last_name"] == REDACTED


def test_access_lines_lose_their_query_string_which_may_hold_a_search_for_a_client() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET",
                                             "/ops/claims?q=John+Doe&status=failed", "1.1", 200)
    logging.getLogger("other").info("%s %s %s", "a", "b", "keep?this")
    text = stream.getvalue()
    assert "John" not in text and "/ops/claims?[redacted]" in text and "keep?this" in text
