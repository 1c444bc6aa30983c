"""The sandbox's Stedi shape over HTTP: its answers, idempotency, page tokens, and 277CAs valid per pyx12."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from pipeline.documents.x12_validation import _run_pyx12
from pipeline.sandbox import SandboxServer

SAMPLE_837P = (Path(__file__).parents[2] / "fixtures" / "sample_837p.x12").read_text()
SUBMIT = "/stedi/healthcare/2024-04-01/change/medicalnetwork/professionalclaims/v3/raw-x12-submission"
POLL = "/stedi/core/2023-08-01/polling/transactions"
KEY = {"Authorization": "test_key"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(sandbox: SandboxServer) -> None:
    requests.post(sandbox.url + "/_sandbox/reset", timeout=10).raise_for_status()


def submit(sandbox: SandboxServer, x12: str, key: str | None, auth: str = "test_key") -> requests.Response:
    headers = {"Authorization": auth, **({"Idempotency-Key": key} if key else {})}
    return requests.post(sandbox.url + SUBMIT, json={"x12": x12}, headers=headers, timeout=30)


def test_a_taken_claim_is_answered_like_stedi_and_replayed_under_its_key(sandbox: SandboxServer) -> None:
    first = submit(sandbox, SAMPLE_837P, "k-1")
    assert first.status_code == 200
    body = first.json()
    assert body["status"] == "SUCCESS" and body["httpStatusCode"] == "200 OK"
    assert body["claimReference"]["patientControlNumber"] == "ses_1001"
    assert body["x12"].startswith("ISA") and "NM1*AY*2*STEDI INC" in body["x12"]
    assert submit(sandbox, SAMPLE_837P, "k-1").json() == body
    assert submit(sandbox, SAMPLE_837P.replace("BHT*0019*00*0001", "BHT*0019*00*0009"), "k-1").status_code == 422
    assert requests.get(sandbox.url + "/_sandbox/receipts", timeout=10).json() == {"ses_1001": 1}


def test_keys_and_authorization_are_checked(sandbox: SandboxServer) -> None:
    assert submit(sandbox, SAMPLE_837P, "k-2", auth="Bearer test_key").status_code == 401
    assert submit(sandbox, SAMPLE_837P, "k-2", auth="Key test_key").status_code == 200
    assert submit(sandbox, SAMPLE_837P.replace("*0*T*:~", "*0*P*:~", 1), "k-3").status_code == 403
    assert submit(sandbox, SAMPLE_837P, "x" * 256).status_code == 400
    refused = submit(sandbox, SAMPLE_837P.replace("CLM*ses_1001*", "CLM*ses_1001*X", 1), "k-4")
    assert refused.status_code == 400 and refused.json()["status"] == "ERROR" and refused.json()["errors"]


def test_the_poll_pages_oldest_first_and_every_277ca_is_valid(sandbox: SandboxServer) -> None:
    requests.put(sandbox.url + "/_sandbox/faults", json={"spec": "reject_rate=0.5,seed=3,remit_delay_ms=600000"},
                 timeout=10)
    for n in range(3):
        assert submit(sandbox, SAMPLE_837P.replace("ses_1001", f"ses_{n}"), f"k-{n}").status_code == 200
    headers = {"Authorization": "test_key"}
    assert requests.get(sandbox.url + POLL, headers=headers, timeout=10).status_code == 400  # no token, no start
    page = requests.get(sandbox.url + POLL, params={"startDateTime": "2026-01-01T00:00:00Z", "pageSize": 4},
                        headers=headers, timeout=10).json()
    items = page["items"]
    token = page["nextPageToken"]
    while True:
        more = requests.get(sandbox.url + POLL, params={"pageToken": token, "pageSize": 4}, headers=headers,
                            timeout=10).json()
        items += more["items"]
        assert more["nextPageToken"]  # always a token, even on an empty page
        if not more["items"]:
            break
        token = more["nextPageToken"]
    assert len(items) == 6 and len({i["transactionId"] for i in items}) == 6
    for item in items:
        assert item["direction"] == "INBOUND" and item["mode"] == "test"
        url = requests.get(sandbox.url + f"/stedi/core/2023-08-01/transactions/{item['transactionId']}/input-url",
                           headers=headers, timeout=10).json()["documentDownloadUrl"]
        x12 = requests.get(url, timeout=10).text
        report = _run_pyx12(x12)
        assert report.ok, report.errors


def test_a_new_transaction_stays_out_of_the_poll_for_list_delay_ms(sandbox: SandboxServer) -> None:
    requests.put(sandbox.url + "/_sandbox/faults", json={"spec": "list_delay_ms=1500,remit_delay_ms=600000"},
                 timeout=10)
    assert submit(sandbox, SAMPLE_837P, "k-late").status_code == 200
    start = "2000-01-01T00:00:00Z"
    first = requests.get(sandbox.url + POLL, params={"startDateTime": start}, headers=KEY, timeout=10).json()
    assert first["items"] == []  # Stedi's own 277CA is processed, not listed yet
    listed: list[dict[str, object]] = []
    deadline = time.monotonic() + 10
    while not listed and time.monotonic() < deadline:
        time.sleep(0.1)
        page = requests.get(sandbox.url + POLL, params={"pageToken": first["nextPageToken"]}, headers=KEY,
                            timeout=10).json()
        listed = page["items"]
    assert [item["x12"]["metadata"]["transaction"]["transactionSetIdentifier"] for item in listed] == ["277", "277"]
