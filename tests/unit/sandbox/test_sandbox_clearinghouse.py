"""The sandbox clearinghouse: 999 and 277CA answers, idempotency, receipts, status by key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from pipeline.sandbox import create_app, parse_faults

SAMPLE = (Path(__file__).parents[2] / "fixtures" / "sample_837p.x12").read_text()
CLAIMS = "/clearinghouse/v1/claims"

LOOKUP_AUTH = {"Authorization": "Bearer sandbox"}  # the token the sandbox requires by default


def x12_for(claim_id: str) -> str:
    """The sample 837P with another CLM01 (and line ids)."""
    return SAMPLE.replace("ses_1001", claim_id)


def headers(key: str | None = "key-1", token: str | None = "sandbox") -> dict[str, str]:
    out = {"Content-Type": "application/edi-x12"}
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


def submit(client: TestClient, x12: str = SAMPLE, key: str = "key-1") -> Any:
    return client.post(CLAIMS, content=x12.encode(), headers=headers(key))


def test_valid_837p_is_taken_with_accepted_999_and_277ca(client: TestClient) -> None:
    response = submit(client)

    assert response.status_code == 202
    body = response.json()
    assert body["submission_id"] == "CH-000001"
    assert body["claim_id"] == "ses_1001"
    assert body["idempotency_key"] == "key-1"
    assert body["ack999"] == {"status": "accepted", "errors": []}
    assert body["ack277ca"]["status"] == "accepted"
    assert body["ack277ca"]["reasons"] == []
    assert body["ack277ca"]["payer_claim_number"].startswith("PCN")
    assert client.get("/_sandbox/receipts").json() == {"ses_1001": 1}


def test_replayed_key_returns_the_first_answer_and_is_not_counted_again(client: TestClient) -> None:
    first = submit(client)
    again = submit(client)
    with_crlf = submit(client, SAMPLE.replace("\n", "\r\n"))

    assert again.status_code == first.status_code == with_crlf.status_code == 202
    assert again.json() == first.json() == with_crlf.json()
    assert client.get("/_sandbox/receipts").json() == {"ses_1001": 1}
    assert len(client.get("/_sandbox/submissions").json()["clearinghouse"]) == 1


def test_replayed_key_with_a_different_body_is_refused(client: TestClient) -> None:
    submit(client, key="k")
    response = submit(client, x12_for("ses_2002"), key="k")

    assert response.status_code == 422
    assert response.json() == {"error": "idempotency key reused with a different body"}
    assert client.get("/_sandbox/receipts").json() == {"ses_1001": 1}


def test_a_second_key_for_the_same_claim_counts_a_second_receipt(client: TestClient) -> None:
    submit(client, key="ses_1001:1")
    submit(client, key="ses_1001:2")
    submit(client, x12_for("ses_2002"), key="ses_2002:1")

    assert client.get("/_sandbox/receipts").json() == {"ses_1001": 2, "ses_2002": 1}


@pytest.mark.parametrize(
    ("request_headers", "status"),
    [
        (headers(token=None), 401),
        (headers(token=""), 401),
        ({**headers(), "Authorization": "Basic c2VjcmV0"}, 401),
        (headers(key=None), 400),
        (headers(key=""), 400),
        (headers(key="x" * 300), 400),
    ],
    ids=["no-auth", "empty-token", "basic-auth", "no-key", "empty-key", "key-too-long"],
)
def test_post_without_bearer_token_or_idempotency_key_is_refused_and_not_counted(
    client: TestClient, request_headers: dict[str, str], status: int
) -> None:
    response = client.post(CLAIMS, content=SAMPLE.encode(), headers=request_headers)

    assert response.status_code == status
    assert "error" in response.json()
    assert client.get("/_sandbox/receipts").json() == {}


def test_broken_837p_gets_a_rejected_999_naming_the_errors_and_is_not_taken(client: TestClient) -> None:
    broken = SAMPLE.replace("CLM*ses_1001*260*", "CLM*ses_1001*ABC*")

    response = submit(client, broken, key="broken")

    assert response.status_code == 422
    body = response.json()
    assert body["claim_id"] == "ses_1001"
    assert body["submission_id"] == "CH-000001"
    assert body["ack999"]["status"] == "rejected"
    assert any("CLM02" in error for error in body["ack999"]["errors"])
    assert "ack277ca" not in body
    assert client.get("/_sandbox/receipts").json() == {}
    assert client.get(f"{CLAIMS}/by-key/broken", headers=LOOKUP_AUTH).status_code == 404
    submissions = client.get("/_sandbox/submissions").json()
    assert submissions["clearinghouse"] == []
    assert submissions["refused"][0]["idempotency_key"] == "broken"


def test_a_key_refused_by_the_999_stays_free_for_the_corrected_file(client: TestClient) -> None:
    submit(client, SAMPLE.replace("CLM*ses_1001*260*", "CLM*ses_1001*ABC*"), key="k")

    response = submit(client, SAMPLE, key="k")

    assert response.status_code == 202
    assert client.get("/_sandbox/receipts").json() == {"ses_1001": 1}


@pytest.mark.parametrize(
    "payload", [b"", b"not x12 at all", b"\xff\xfe\x00garbage"], ids=["empty", "text", "binary"]
)
def test_something_that_is_not_an_interchange_gets_a_rejected_999(client: TestClient, payload: bytes) -> None:
    response = client.post(CLAIMS, content=payload, headers=headers("junk"))

    assert response.status_code == 422
    assert response.json()["ack999"]["status"] == "rejected"
    assert response.json()["ack999"]["errors"]
    assert client.get("/_sandbox/receipts").json() == {}


def test_status_by_key_is_404_for_an_unknown_key_and_the_answer_for_a_taken_one(client: TestClient) -> None:
    unknown = client.get(f"{CLAIMS}/by-key/never-sent", headers=LOOKUP_AUTH)
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "unknown key"}

    first = submit(client, key="ses_1001/1")
    known = client.get(f"{CLAIMS}/by-key/ses_1001%2F1", headers=LOOKUP_AUTH)

    assert known.status_code == 200
    assert known.json() == first.json()


def test_reject_rate_one_takes_the_file_and_rejects_the_claim_in_the_277ca() -> None:
    with client_for("reject_rate=1") as client:
        response = submit(client)

        assert response.status_code == 202
        body = response.json()
        assert body["ack999"]["status"] == "accepted"
        assert body["ack277ca"]["status"] == "rejected"
        assert body["ack277ca"]["payer_claim_number"] is None
        [reason] = body["ack277ca"]["reasons"]
        category, _, rest = reason.partition(":")
        assert category.startswith("A") and rest.split(" ", 1)[0].isdigit()
        assert client.get("/_sandbox/receipts").json() == {"ses_1001": 1}
        assert submit(client).json() == body


def test_poll_mode_keeps_the_277ca_pending_until_the_first_status_poll() -> None:
    with client_for("ack_mode=poll,reject_rate=1") as client:
        posted = submit(client)
        assert posted.json()["ack277ca"] == {"status": "pending", "reasons": [], "payer_claim_number": None}

        polled = client.get(f"{CLAIMS}/by-key/key-1", headers=LOOKUP_AUTH).json()

        assert polled["ack277ca"]["status"] == "rejected"
        assert {k: v for k, v in polled.items() if k != "ack277ca"} == {
            k: v for k, v in posted.json().items() if k != "ack277ca"
        }
        assert submit(client).json() == posted.json(), "a replay still returns the first answer"
        assert client.get(f"{CLAIMS}/by-key/key-1", headers=LOOKUP_AUTH).json() == polled


def test_a_pending_277ca_stays_pending_until_the_ack_delay_has_passed() -> None:
    with client_for("ack_mode=poll,ack_delay_ms=60000") as client:
        submit(client)

        assert client.get(f"{CLAIMS}/by-key/key-1", headers=LOOKUP_AUTH).json()["ack277ca"]["status"] == "pending"


def test_with_an_ack_delay_about_half_the_277cas_are_pending_on_the_post() -> None:
    with client_for("ack_delay_ms=1,seed=3") as client:
        statuses = [
            submit(client, x12_for(f"c{n}"), key=f"c{n}").json()["ack277ca"]["status"] for n in range(12)
        ]

    assert set(statuses) == {"pending", "accepted"}


def test_submissions_keep_the_837p_as_received(client: TestClient) -> None:
    submit(client)

    [entry] = client.get("/_sandbox/submissions").json()["clearinghouse"]

    assert entry["idempotency_key"] == "key-1"
    assert entry["claim_id"] == "ses_1001"
    assert entry["x12"] == SAMPLE


def test_reset_forgets_every_submission(client: TestClient) -> None:
    submit(client)

    assert client.post("/_sandbox/reset").status_code == 200

    assert client.get("/_sandbox/receipts").json() == {}
    assert client.get(f"{CLAIMS}/by-key/key-1", headers=LOOKUP_AUTH).status_code == 404
    assert submit(client).json()["submission_id"] == "CH-000001"


def test_log_lines_carry_claim_ids_and_keys_but_no_patient_data() -> None:
    broken = SAMPLE.replace("N3*456 OAK AVE~", "N3*456 OAK AVE*APT 1*EXTRA~")
    with capture_logs() as logs, client_for("ack_mode=poll") as client:
        submit(client, key="ok")
        submit(client, key="ok")
        client.get(f"{CLAIMS}/by-key/ok", headers=LOOKUP_AUTH)
        submit(client, broken, key="bad")

    assert {entry["event"] for entry in logs} >= {
        "sandbox.clearinghouse.taken",
        "sandbox.clearinghouse.replayed",
        "sandbox.clearinghouse.ack277ca_decided",
        "sandbox.clearinghouse.rejected_999",
    }
    printed = repr(logs).upper()
    for patient_data in ("DOE", "JOHN", "XYZ123456789", "19700101", "OAK AVE", "M5450"):
        assert patient_data not in printed
    assert "SES_1001" in printed
