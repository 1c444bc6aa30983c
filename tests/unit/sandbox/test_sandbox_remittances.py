"""The sandbox clearinghouse's remittances: an 835 per accepted claim, valid per pyx12, outcomes by fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pipeline.documents.x12_validation import validate_837p
from pipeline.sandbox import create_app, parse_faults
from pipeline.sandbox.x12 import segments

SAMPLE = (Path(__file__).parents[2] / "fixtures" / "sample_837p.x12").read_text()
AUTH = {"Authorization": "Bearer sandbox"}


def client_for(spec: str) -> TestClient:
    return TestClient(create_app(parse_faults(spec)))


def submit(client: TestClient, claim_id: str, *, frequency: str = "1") -> None:
    x12 = SAMPLE.replace("ses_1001", claim_id)
    if frequency != "1":
        x12 = x12.replace(":B:1*", f":B:{frequency}*").replace("REF*9F*", "REF*F8*PCN1~REF*9F*", 1)
        count = next(s.strip() for s in x12.split("~") if s.strip().startswith("SE*"))
        x12 = x12.replace(count, f"SE*{int(count.split('*')[1]) + 1}*0001")
    response = client.post("/clearinghouse/v1/claims", content=x12.encode(),
                           headers={**AUTH, "Idempotency-Key": f"{claim_id}-{frequency}"})
    assert response.status_code == 202, response.text


def feed(client: TestClient, after: str | None = None) -> Any:
    response = client.get("/clearinghouse/v1/remittances", params={"after": after} if after else {}, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def clps(x12: str) -> list[list[str]]:
    return [s for s in segments(x12) if s[0] == "CLP"]


def test_each_accepted_claim_gets_one_valid_835_paid_in_full() -> None:
    with client_for("remit_delay_ms=0") as client:
        submit(client, "ses_a")
        submit(client, "ses_b")
        first = feed(client)
        assert len(first["remittances"]) == 1
        x12 = first["remittances"][0]["x12"]
        report = validate_837p(x12)
        assert report.ok, report.errors
        assert "GS*HP*" in x12 and "005010X221A1" in x12
        assert [(c[1], c[2], c[3], c[4]) for c in clps(x12)] == [("ses_a", "1", "260", "260"),
                                                                  ("ses_b", "1", "260", "260")]
        assert "REF*6R*ses_a-1~" in x12 and "REF*6R*ses_b-2~" in x12
        # the cursor moves on: nothing new, nothing twice
        again = feed(client, first["cursor"])
        assert again["remittances"] == [] and again["cursor"] == first["cursor"]


def test_remittance_waits_for_its_delay() -> None:
    with client_for("remit_delay_ms=60000") as client:
        submit(client, "ses_a")
        assert feed(client)["remittances"] == []


def test_denials_carry_a_carc_and_rarc_and_pay_nothing() -> None:
    with client_for("remit_delay_ms=0,deny_rate=1,seed=3") as client:
        submit(client, "ses_d")
        x12 = feed(client)["remittances"][0]["x12"]
        assert validate_837p(x12).ok
        clp = clps(x12)[0]
        assert clp[2] == "4" and clp[4] == "0"
        cas = [s for s in segments(x12) if s[0] == "CAS"]
        assert cas and all(s[1] in ("CO", "PR") and s[2] in ("50", "197", "96", "16") for s in cas)
        assert any(s[0] == "LQ" and s[1] == "HE" for s in segments(x12))
        assert "BPR*H*0*C*NON" in x12


def test_underpayment_is_co_45_and_balances() -> None:
    with client_for("remit_delay_ms=0,underpay_rate=1") as client:
        submit(client, "ses_u")
        x12 = feed(client)["remittances"][0]["x12"]
        assert validate_837p(x12).ok
        assert "CLP*ses_u*1*260*208*" in x12
        assert "CAS*CO*45*28~" in x12 and "CAS*CO*45*24~" in x12


def test_reversal_on_request_and_replacement_claims() -> None:
    with client_for("remit_delay_ms=0") as client:
        submit(client, "ses_r")
        cursor = feed(client)["cursor"]
        assert client.post("/_sandbox/remittances/reverse", json={"claim_id": "ses_r"}).status_code == 202
        reversal = feed(client, cursor)
        x12 = reversal["remittances"][0]["x12"]
        assert validate_837p(x12).ok, validate_837p(x12).errors
        assert [(c[1], c[2], c[3], c[4]) for c in clps(x12)] == [("ses_r", "22", "-260", "-260")]
        assert client.post("/_sandbox/remittances/reverse", json={"claim_id": "ses_r"}).status_code == 404
        # a replacement of a paid claim: the old payment back, the new one paid
        submit(client, "ses_s")
        cursor = feed(client, reversal["cursor"])["cursor"]
        submit(client, "ses_s", frequency="7")
        x12 = feed(client, cursor)["remittances"][0]["x12"]
        assert validate_837p(x12).ok
        assert [(c[1], c[2], c[9]) for c in clps(x12)] == [("ses_s", "22", "1"), ("ses_s", "1", "7")]


def test_redelivery_puts_the_same_835_under_a_new_cursor() -> None:
    with client_for("remit_delay_ms=0") as client:
        submit(client, "ses_a")
        first = feed(client)["remittances"][0]
        assert client.post("/_sandbox/remittances/redeliver",
                           json={"remittance_id": first["remittance_id"]}).status_code == 202
        again = feed(client, first["cursor"])["remittances"]
        assert [(r["remittance_id"], r["x12"]) for r in again] == [(first["remittance_id"], first["x12"])]


def test_the_feed_needs_a_token() -> None:
    with client_for("") as client:
        assert client.get("/clearinghouse/v1/remittances").status_code == 401


def test_a_cursor_of_an_earlier_feed_reads_a_restarted_sandbox_from_its_start() -> None:
    with client_for("remit_delay_ms=0") as earlier:
        for claim_id in ("ses_1", "ses_2", "ses_3"):
            submit(earlier, claim_id)
            feed(earlier)
        kept = feed(earlier)["cursor"]  # what a ledger keeps: three 835s in
    with client_for("remit_delay_ms=0") as restarted:  # a new process: a new feed, in memory
        submit(restarted, "ses_new")
        taken = feed(restarted, kept)
        assert [clp[1] for r in taken["remittances"] for clp in clps(r["x12"])] == ["ses_new"]
        assert taken["cursor"] != kept and not taken["has_more"]
        assert feed(restarted, taken["cursor"])["remittances"] == []


def test_after_a_reset_a_kept_cursor_reads_the_new_feed_from_its_start() -> None:
    with client_for("remit_delay_ms=0") as client:
        submit(client, "ses_1")
        kept = feed(client)["cursor"]
        assert client.post("/_sandbox/reset").status_code == 200
        submit(client, "ses_2")
        assert [clp[1] for r in feed(client, kept)["remittances"] for clp in clps(r["x12"])] == ["ses_2"]


@pytest.mark.parametrize("cursor", ["garbage", "x:y", "-1", "a b:1", "1.5", "abc:٣"])
def test_a_cursor_no_feed_gave_is_refused(cursor: str) -> None:
    with client_for("") as client:
        answer = client.get("/clearinghouse/v1/remittances", params={"after": cursor}, headers=AUTH)
        assert (answer.status_code, answer.json()) == (400, {"error": "cursor must be one the feed gave"})
