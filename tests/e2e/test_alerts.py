"""Alerts: a claim that ends needs_attention (or failed/rejected) POSTs a short notice without patient data."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.conftest import body, example

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    calls = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            calls["n"] += 1
            data = self.rfile.read(int(self.headers["Content-Length"]))
            if calls["n"] == 1:  # the first delivery fails: the alert must be retried
                self.send_response(503)
                self.end_headers()
                return
            received.append(json.loads(data))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", received
    server.shutdown()


def test_needs_attention_claim_posts_an_alert_without_patient_data(start_stack: Any, receiver: Any) -> None:
    url, received = receiver
    stack = start_stack(extra_env={"SUPERBILL_ALERT_URL": url})
    assert stack.post_event(body(example("va_missing_referral"))).status_code == 202
    deadline = time.monotonic() + 60
    while not received and time.monotonic() < deadline:
        time.sleep(0.2)
    assert received, "no alert arrived"
    notice = received[0]
    assert notice["claim_id"] == "S8efbae59a1a29165b99"
    assert notice["route"] == "needs_attention" and notice["status"] == "needs_attention"
    assert notice["reason_codes"] == ["va_referral_missing"]
    text = json.dumps(notice)
    for secret in ("John", "Doe", "1970-01-01", "123456789", "Oak"):
        assert secret not in text
    timeline = [e["kind"] for e in stack.ledger().timeline(notice["claim_id"])]
    assert "alert.sent" in timeline

    result = subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", "daily-summary", "--post",
                             "--json"],
                            env=stack.env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["open_needing_a_person"]["needs_attention"] == 1
    deadline = time.monotonic() + 10
    while len(received) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert received[-1]["type"] == "daily_summary"
