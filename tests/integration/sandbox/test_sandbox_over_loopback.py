"""The sandbox peers over loopback: a real uvicorn server on a socket (`SandboxServer`) and `superbill sandbox`
in its own process. Their in-process behaviour is tested in tests/unit/sandbox."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from pipeline.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = (ROOT / "tests" / "fixtures" / "sample_837p.x12").read_text()
CLAIMS = "/clearinghouse/v1/claims"
SUPERBILLS = "/billing/v1/superbills"
AUTH = {"Authorization": "Bearer sandbox"}  # the token the sandbox requires by default
LOOKUP_AUTH = AUTH


def headers(key: str, content_type: str = "application/json") -> dict[str, str]:
    return {**AUTH, "Idempotency-Key": key, "Content-Type": content_type}


def superbill_request() -> dict[str, Any]:
    return {
        "claim_id": "ses_2001",
        "document_number": "SB-000001",
        "superbill": {
            "diagnosis_codes": ["M54.50"],
            "lines": [{"cpt": "97124", "units": 2, "charge": "120.00"}],
            "total_charge": "120.00",
        },
        "provider": {},
        "coverage": {},
        "pdf_base64": base64.b64encode(b"%PDF-1.7\n%%EOF\n").decode(),
    }


def post_claim(http: Any, base: str, key: str, **kwargs: Any) -> Any:
    return http.post(base + CLAIMS, data=SAMPLE.encode(), headers=headers(key, "application/edi-x12"), **kwargs)


def test_real_server_over_loopback_accepts_and_replays() -> None:
    payload = superbill_request()
    with SandboxServer() as server, requests.Session() as http:
        url = server.url + SUPERBILLS
        first = http.post(url, json=payload, headers=headers("loop"), timeout=5)
        again = http.post(url, json=payload, headers=headers("loop"), timeout=5)
        by_key = http.get(f"{url}/by-key/loop", timeout=5, headers=LOOKUP_AUTH)
        receipts = http.get(server.url + "/_sandbox/receipts", timeout=5).json()

    assert (first.status_code, again.status_code, by_key.status_code) == (201, 201, 200)
    assert first.json() == again.json() == by_key.json()
    assert receipts == {"ses_2001": 1}


def test_concurrent_posts_with_one_key_take_the_superbill_once() -> None:
    payload = superbill_request()
    with SandboxServer("latency_ms=20") as server:
        url = server.url + SUPERBILLS

        def post(_: int) -> tuple[int, Any]:
            response = requests.post(url, json=payload, headers=headers("race"), timeout=5)
            return response.status_code, response.json()

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(post, range(16)))
        receipts = requests.get(server.url + "/_sandbox/receipts", timeout=5).json()

    assert {status for status, _ in answers} == {201}
    assert all(body == answers[0][1] for _, body in answers)
    assert receipts == {"ses_2001": 1}


def test_real_server_over_loopback_takes_replays_and_reports_by_key() -> None:
    with SandboxServer() as server, requests.Session() as http:
        url = server.url + CLAIMS
        first = http.post(url, data=SAMPLE.encode(), headers=headers("loop-1", "application/edi-x12"), timeout=5)
        again = http.post(url, data=SAMPLE.encode(), headers=headers("loop-1", "application/edi-x12"), timeout=5)
        by_key = http.get(f"{url}/by-key/loop-1", timeout=5, headers=LOOKUP_AUTH)
        receipts = http.get(server.url + "/_sandbox/receipts", timeout=5)

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert by_key.json() == first.json()
    assert receipts.json() == {"ses_1001": 1}


def test_timeout_rate_one_takes_the_submission_then_hangs_past_the_client_timeout() -> None:
    with SandboxServer("timeout_rate=1,hang_ms=300") as server, requests.Session() as http:
        with pytest.raises(requests.exceptions.ReadTimeout):
            post_claim(http, server.url, key="hung", timeout=0.1)

        http.put(server.url + "/_sandbox/faults", json={"spec": ""}, timeout=5).raise_for_status()
        # the client gave up while the peer may still be validating: the key is known once it is taken
        deadline = time.monotonic() + 10
        lookup = f"{server.url}{CLAIMS}/by-key/hung"
        while (by_key := http.get(lookup, timeout=5, headers=LOOKUP_AUTH)).status_code == 404 \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        receipts = http.get(server.url + "/_sandbox/receipts", timeout=5).json()
        retried = post_claim(http, server.url, key="hung", timeout=5)
        receipts_after_retry = http.get(server.url + "/_sandbox/receipts", timeout=5).json()

    assert by_key.status_code == 200
    assert by_key.json()["ack999"]["status"] == "accepted"
    assert receipts == {"ses_1001": 1}
    assert retried.status_code == 202
    assert retried.json()["submission_id"] == by_key.json()["submission_id"]
    assert receipts_after_retry == {"ses_1001": 1}


def test_timeout_rate_one_answers_a_patient_client_after_the_hang() -> None:
    with SandboxServer("timeout_rate=1,hang_ms=200") as server, requests.Session() as http:
        started = time.monotonic()
        response = http.post(
            server.url + SUPERBILLS,
            json=superbill_request(),
            headers={**AUTH, "Idempotency-Key": "k"},
            timeout=5,
        )
        elapsed = time.monotonic() - started

    assert response.status_code == 201
    assert elapsed >= 0.2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_superbill_sandbox_serves_both_peers_with_the_faults_and_the_configured_tokens() -> None:
    port = _free_port()
    env = {**os.environ, "SUPERBILL_CLEARINGHOUSE_TOKEN": "ch-configured", "SUPERBILL_BILLING_SERVICE_TOKEN": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.entrypoints.cli", "sandbox", "--port", str(port), "--faults", "reject_rate=1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    configured = {"Authorization": "Bearer ch-configured", "Content-Type": "application/edi-x12"}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, "the sandbox exited"
            assert time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.1)

        default_token = post_claim(requests, base, key="proc", timeout=5)  # "sandbox": not this peer's token
        answer = requests.post(base + CLAIMS, data=SAMPLE.encode(), timeout=5,
                               headers={**configured, "Idempotency-Key": "proc"})
        billing = requests.post(base + SUPERBILLS, json=superbill_request(), timeout=5,
                                headers={**AUTH, "Idempotency-Key": "bs"})  # empty variable: the default
        faults = requests.get(base + "/_sandbox/faults", timeout=5).json()
        receipts = requests.get(base + "/_sandbox/receipts", timeout=5).json()
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert default_token.status_code == 401
    assert answer.status_code == 202
    assert answer.json()["ack277ca"]["status"] == "rejected"
    assert (billing.status_code, billing.json()["status"]) == (200, "rejected")  # taken, then rejected
    assert faults["spec"] == "reject_rate=1"
    assert receipts == {"ses_1001": 1, "ses_2001": 1}
