"""Fault injection in the sandbox peers: the spec, errors, hangs, latency, run-time changes."""

from __future__ import annotations

import base64
import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient

from pipeline.sandbox import Faults, SandboxServer, create_app, parse_faults
from pipeline.sandbox.faults import Dice

ROOT = Path(__file__).parents[3]
SAMPLE_837P = (ROOT / "tests" / "fixtures" / "sample_837p.x12").read_text()
CLAIMS = "/clearinghouse/v1/claims"
SUPERBILLS = "/billing/v1/superbills"
AUTH = {"Authorization": "Bearer sandbox"}

LOOKUP_AUTH = {"Authorization": "Bearer sandbox"}  # the token the sandbox requires by default


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


def post_claim(http: Any, base: str = "", key: str = "key-1", **kwargs: Any) -> Any:
    """POST the sample 837P with a TestClient, a requests session or the requests module."""
    body = {"content" if isinstance(http, TestClient) else "data": SAMPLE_837P.encode()}
    return http.post(
        base + CLAIMS,
        headers={**AUTH, "Idempotency-Key": key, "Content-Type": "application/edi-x12"},
        **body,
        **kwargs,
    )


def post_superbill(client: TestClient, key: str = "key-1") -> Any:
    return client.post(SUPERBILLS, json=superbill_request(), headers={**AUTH, "Idempotency-Key": key})


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Faults())) as c:
        yield c


# -- the spec ---------------------------------------------------------------------------------


def test_full_spec_is_parsed() -> None:
    faults = parse_faults("error_rate=0.3,timeout_rate=0.1,reject_rate=0,latency_ms=50,hang_ms=3000")

    assert faults == Faults(error_rate=0.3, timeout_rate=0.1, reject_rate=0.0, latency_ms=50, hang_ms=3000)


def test_empty_spec_means_no_faults() -> None:
    faults = parse_faults("")

    assert faults == Faults()
    assert (faults.error_rate, faults.timeout_rate, faults.reject_rate, faults.latency_ms) == (0, 0, 0, 0)
    assert faults.hang_ms == 3000
    assert faults.effective_ack_mode == "immediate"


def test_spaces_and_trailing_commas_are_tolerated() -> None:
    assert parse_faults(" error_rate = 1 , seed=7 ,") == Faults(error_rate=1.0, seed=7)


def test_ack_mode_defaults_to_mixed_when_the_277ca_is_delayed() -> None:
    assert parse_faults("ack_delay_ms=500").effective_ack_mode == "mixed"
    assert parse_faults("ack_delay_ms=500,ack_mode=immediate").effective_ack_mode == "immediate"
    assert parse_faults("ack_mode=poll").effective_ack_mode == "poll"


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("bogus=1", "bogus"),
        ("error_rate=abc", "error_rate"),
        ("error_rate=1.5", "error_rate"),
        ("reject_rate=-0.1", "reject_rate"),
        ("timeout_rate=nan", "timeout_rate"),
        ("latency_ms=-5", "latency_ms"),
        ("hang_ms=1.5", "hang_ms"),
        ("seed=x", "seed"),
        ("ack_mode=later", "ack_mode"),
        ("error_rate", "error_rate"),
        ("latency_ms=1,latency_ms=2", "latency_ms"),
    ],
)
def test_a_bad_spec_raises_value_error_naming_the_key(spec: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        parse_faults(spec)


def test_faults_are_frozen_and_round_trip_through_their_spec() -> None:
    faults = parse_faults("error_rate=0.25,latency_ms=10,ack_mode=poll,seed=4")

    with pytest.raises(dataclasses.FrozenInstanceError):
        faults.error_rate = 1.0  # type: ignore[misc]
    assert parse_faults(faults.to_spec()) == faults
    assert Faults().to_spec() == ""


def test_a_seeded_random_source_repeats_itself() -> None:
    first, second = Dice(11), Dice(11)

    assert [first.roll(0.5) for _ in range(50)] == [second.roll(0.5) for _ in range(50)]
    assert not any(Dice().roll(0.0) for _ in range(100))
    assert all(Dice().roll(1.0) for _ in range(100))


# -- error_rate -------------------------------------------------------------------------------


def test_error_rate_one_answers_5xx_or_429_and_takes_nothing() -> None:
    with TestClient(create_app(parse_faults("error_rate=1,seed=1"))) as client:
        answers = [post_claim(client, key=f"k{n}") for n in range(30)]
        answers += [post_superbill(client, key=f"b{n}") for n in range(10)]
        by_key = client.get(f"{CLAIMS}/by-key/k1", headers=LOOKUP_AUTH)

        statuses = {a.status_code for a in answers}
        assert statuses <= {500, 503, 429}
        assert len(statuses) > 1, "the failures are a mix"
        assert any(a.headers.get("Retry-After") == "0" for a in answers)
        assert any("Retry-After" not in a.headers for a in answers)
        assert by_key.status_code in {500, 503, 429}
        assert client.get("/_sandbox/receipts").json() == {}
        submissions = client.get("/_sandbox/submissions").json()
        assert submissions["clearinghouse"] == submissions["billing_service"] == []


def test_control_endpoints_are_never_faulted() -> None:
    spec = "error_rate=1,timeout_rate=1,latency_ms=300,hang_ms=300"
    with TestClient(create_app(parse_faults(spec))) as client:
        started = time.monotonic()
        for path in ("/_sandbox/receipts", "/_sandbox/submissions", "/_sandbox/faults", "/healthz"):
            assert client.get(path).status_code == 200
        assert client.post("/_sandbox/reset").status_code == 200

    assert time.monotonic() - started < 0.5


def test_faults_can_be_changed_at_run_time_to_fail_everything_then_recover(client: TestClient) -> None:
    failing = client.put("/_sandbox/faults", json={"spec": "error_rate=1"})
    assert failing.status_code == 200
    assert failing.json()["spec"] == "error_rate=1"
    assert client.get("/_sandbox/faults").json()["faults"]["error_rate"] == 1.0
    assert post_claim(client).status_code >= 429

    client.put("/_sandbox/faults", json={"spec": ""})
    recovered = post_claim(client)

    assert recovered.status_code == 202
    assert client.get("/_sandbox/receipts").json() == {"ses_1001": 1}


def test_a_bad_spec_at_run_time_is_refused_and_changes_nothing(client: TestClient) -> None:
    response = client.put("/_sandbox/faults", json={"spec": "error_rate=2"})

    assert response.status_code == 422
    assert "error_rate" in response.json()["error"]
    assert client.get("/_sandbox/faults").json()["spec"] == ""


def test_reset_restores_the_faults_the_peers_started_with() -> None:
    with TestClient(create_app(parse_faults("reject_rate=1"))) as client:
        client.put("/_sandbox/faults", json={"spec": "error_rate=1"})

        assert client.post("/_sandbox/reset").json()["spec"] == "reject_rate=1"


# -- latency_ms -------------------------------------------------------------------------------


def test_latency_delays_every_peer_call() -> None:
    with TestClient(create_app(parse_faults("latency_ms=200"))) as client:
        started = time.monotonic()
        post_claim(client)
        client.get(f"{CLAIMS}/by-key/key-1", headers=LOOKUP_AUTH)

    assert time.monotonic() - started >= 0.4


# -- reject_rate ------------------------------------------------------------------------------


def test_reject_rate_rolls_once_per_key_and_a_replay_does_not_reroll() -> None:
    with TestClient(create_app(parse_faults("reject_rate=0.5,seed=5"))) as client:
        first = [post_superbill(client, key=f"k{n}").json()["status"] for n in range(20)]
        replayed = [post_superbill(client, key=f"k{n}").json()["status"] for n in range(20)]

    assert set(first) == {"accepted", "rejected"}
    assert replayed == first


# -- timeout_rate, over a real server ---------------------------------------------------------


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


# -- serve(), the `superbill sandbox` entry point, in its own process -------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_both_peers_with_the_faults_spec() -> None:
    port = _free_port()
    code = f"from pipeline.sandbox import serve; serve(port={port}, faults_spec='reject_rate=1')"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, "the sandbox exited"
            assert time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.1)

        answer = post_claim(requests, base, key="proc", timeout=5)
        faults = requests.get(base + "/_sandbox/faults", timeout=5).json()
        receipts = requests.get(base + "/_sandbox/receipts", timeout=5).json()
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert answer.status_code == 202
    assert answer.json()["ack277ca"]["status"] == "rejected"
    assert faults["spec"] == "reject_rate=1"
    assert receipts == {"ses_1001": 1}
