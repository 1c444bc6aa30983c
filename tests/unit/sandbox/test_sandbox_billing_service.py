"""The sandbox billing service: superbill validation, claim-level answers, idempotency, receipts."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pipeline.sandbox import create_app, parse_faults

SUPERBILLS = "/billing/v1/superbills"
SAMPLE_837P = (Path(__file__).parents[2] / "fixtures" / "sample_837p.x12").read_text()
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

LOOKUP_AUTH = {"Authorization": "Bearer sandbox"}  # the token the sandbox requires by default


def superbill_request(claim_id: str = "ses_2001") -> dict[str, Any]:
    return {
        "claim_id": claim_id,
        "document_number": "SB-000001",
        "superbill": {
            "date_of_service": "2026-11-20",
            "place_of_service": "11",
            "diagnosis_codes": ["M54.50", "M62.830"],
            "lines": [
                {
                    "cpt": "97140",
                    "modifiers": ["XS"],
                    "minutes": 30,
                    "units": 2,
                    "charge": "140.00",
                    "diagnosis_pointers": [1, 2],
                },
                {
                    "cpt": "97124",
                    "modifiers": [],
                    "minutes": 30,
                    "units": 2,
                    "charge": "120.00",
                    "diagnosis_pointers": [1, 2],
                },
            ],
            "total_charge": "260.00",
            "amount_paid": "260.00",
            "balance_due": "0.00",
        },
        "provider": {"npi": "1245319599", "rendering_npi": "1003000126"},
        "coverage": {"kind": "commercial", "payer_name": "Blue Cross Blue Shield of Illinois"},
        "pdf_base64": base64.b64encode(PDF).decode(),
    }


def headers(key: str | None = "key-1", token: str | None = "sandbox") -> dict[str, str]:
    out = {}
    if token is not None:
        out["Authorization"] = f"Bearer {token}"
    if key is not None:
        out["Idempotency-Key"] = key
    return out


def client_for(spec: str = "") -> TestClient:
    return TestClient(create_app(parse_faults(spec)))


@pytest.fixture
def client() -> Iterator[TestClient]:
    with client_for() as c:
        yield c


def submit(client: TestClient, payload: dict[str, Any] | None = None, key: str = "key-1") -> Any:
    return client.post(
        SUPERBILLS, json=payload if payload is not None else superbill_request(), headers=headers(key)
    )


def test_valid_superbill_is_accepted_with_a_reference(client: TestClient) -> None:
    response = submit(client)

    assert response.status_code == 201
    assert response.json() == {
        "status": "accepted",
        "reasons": [],
        "reference": "BS-000001",
        "claim_id": "ses_2001",
        "idempotency_key": "key-1",
    }
    assert client.get("/_sandbox/receipts").json() == {"ses_2001": 1}


def test_replayed_key_returns_the_first_answer_and_is_not_counted_again(client: TestClient) -> None:
    first = submit(client)
    same_json_other_key_order = json.dumps(dict(reversed(list(superbill_request().items()))))
    again = client.post(SUPERBILLS, content=same_json_other_key_order, headers=headers("key-1"))

    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert client.get("/_sandbox/receipts").json() == {"ses_2001": 1}


def test_replayed_key_with_a_different_body_is_refused(client: TestClient) -> None:
    submit(client)
    changed = superbill_request()
    changed["document_number"] = "SB-000002"

    response = submit(client, changed)

    assert response.status_code == 422
    assert response.json() == {"error": "idempotency key reused with a different body"}
    assert client.get("/_sandbox/receipts").json() == {"ses_2001": 1}


def _without_diagnoses(r: dict[str, Any]) -> None:
    r["superbill"]["diagnosis_codes"] = []


def _without_lines(r: dict[str, Any]) -> None:
    r["superbill"]["lines"] = []


def _wrong_total(r: dict[str, Any]) -> None:
    r["superbill"]["total_charge"] = "250.00"


def _float_charge(r: dict[str, Any]) -> None:
    r["superbill"]["lines"][0]["charge"] = 140.0


def _not_a_pdf(r: dict[str, Any]) -> None:
    r["pdf_base64"] = base64.b64encode(b"<html>statement</html>").decode()


def _not_base64(r: dict[str, Any]) -> None:
    r["pdf_base64"] = "%%% not base64 %%%"


def _without_claim_id(r: dict[str, Any]) -> None:
    del r["claim_id"]


@pytest.mark.parametrize(
    ("breaks", "reason"),
    [
        (_without_diagnoses, "diagnosis missing"),
        (_without_lines, "no service lines"),
        (_wrong_total, "does not equal the sum of line charges 260.00"),
        (_float_charge, "line 1: charge must be a decimal string"),
        (_not_a_pdf, "pdf_base64 is not a PDF document"),
        (_not_base64, "pdf_base64 is not a PDF document"),
        (_without_claim_id, "claim_id missing"),
    ],
    ids=["no-diagnosis", "no-lines", "wrong-total", "float-charge", "not-a-pdf", "not-base64", "no-claim-id"],
)
def test_invalid_superbill_is_rejected_with_the_reason_and_not_counted(
    client: TestClient, breaks: Callable[[dict[str, Any]], None], reason: str
) -> None:
    payload = superbill_request()
    breaks(payload)

    response = submit(client, payload)

    assert response.status_code == 422
    body = response.json()
    assert body["status"] == "rejected"
    assert any(reason in r for r in body["reasons"]), body["reasons"]
    assert client.get("/_sandbox/receipts").json() == {}
    assert client.get(f"{SUPERBILLS}/by-key/key-1", headers=LOOKUP_AUTH).status_code == 404


def test_every_reason_is_given_at_once(client: TestClient) -> None:
    payload = superbill_request()
    _without_diagnoses(payload)
    _wrong_total(payload)
    _not_a_pdf(payload)

    reasons = submit(client, payload).json()["reasons"]

    assert len(reasons) == 3


def test_a_key_whose_request_was_invalid_stays_free_for_the_fixed_request(client: TestClient) -> None:
    payload = superbill_request()
    _without_diagnoses(payload)
    submit(client, payload)

    response = submit(client)

    assert response.status_code == 201
    assert client.get("/_sandbox/receipts").json() == {"ses_2001": 1}


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe"], ids=["broken", "list", "binary"])
def test_a_body_that_is_not_a_json_object_is_a_bad_request(client: TestClient, content: bytes) -> None:
    response = client.post(SUPERBILLS, content=content, headers=headers())

    assert response.status_code == 400
    assert client.get("/_sandbox/receipts").json() == {}


@pytest.mark.parametrize(
    ("request_headers", "status"),
    [(headers(token=None), 401), (headers(token=" "), 401), (headers(key=None), 400)],
    ids=["no-auth", "blank-token", "no-key"],
)
def test_post_without_bearer_token_or_idempotency_key_is_refused_and_not_counted(
    client: TestClient, request_headers: dict[str, str], status: int
) -> None:
    response = client.post(SUPERBILLS, json=superbill_request(), headers=request_headers)

    assert response.status_code == status
    assert client.get("/_sandbox/receipts").json() == {}


def test_reject_rate_one_takes_the_superbill_and_rejects_it_with_reasons() -> None:
    with client_for("reject_rate=1") as client:
        response = submit(client)

        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "rejected"
        assert body["reasons"]
        assert body["reference"] == "BS-000001"
        assert client.get("/_sandbox/receipts").json() == {"ses_2001": 1}
        assert client.get(f"{SUPERBILLS}/by-key/key-1", headers=LOOKUP_AUTH).json() == body
        replay = submit(client)
        assert (replay.status_code, replay.json()) == (200, body)


def test_status_by_key_is_404_for_an_unknown_key_and_the_first_answer_for_a_taken_one(
    client: TestClient,
) -> None:
    unknown = client.get(f"{SUPERBILLS}/by-key/nope", headers=LOOKUP_AUTH)
    assert (unknown.status_code, unknown.json()) == (404, {"error": "unknown key"})

    first = submit(client)
    known = client.get(f"{SUPERBILLS}/by-key/key-1", headers=LOOKUP_AUTH)

    assert known.status_code == 200
    assert known.json() == first.json()


def test_submissions_keep_the_superbill_without_the_pdf(client: TestClient) -> None:
    submit(client)

    [entry] = client.get("/_sandbox/submissions").json()["billing_service"]

    assert entry["idempotency_key"] == "key-1"
    assert entry["claim_id"] == "ses_2001"
    assert entry["superbill"] == superbill_request()["superbill"]
    assert "pdf_base64" not in entry


def test_receipts_count_keys_across_both_peers(client: TestClient) -> None:
    submit(client, superbill_request("ses_1001"), key="bs-1")
    client.post(
        "/clearinghouse/v1/claims",
        content=SAMPLE_837P.encode(),
        headers={**headers("ch-1"), "Content-Type": "application/edi-x12"},
    )
    submit(client, superbill_request("ses_3003"), key="bs-2")

    assert client.get("/_sandbox/receipts").json() == {"ses_1001": 2, "ses_3003": 1}
