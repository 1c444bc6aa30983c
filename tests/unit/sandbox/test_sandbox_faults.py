"""Fault injection in the sandbox peers, in process: the spec, errors, latency, run-time changes (hangs over a
real socket: tests/integration/sandbox/test_sandbox_over_loopback.py)."""

from __future__ import annotations

import base64
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pipeline.sandbox import Faults, create_app, parse_faults
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
