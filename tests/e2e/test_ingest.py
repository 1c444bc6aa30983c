"""The signed webhook end to end: bundled examples to their final status, every webhook answer, and the
refused-event tooling (`superbill refused list/show/replay`) against the same running pipeline."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from pipeline.domain.signature import sign
from pipeline.entrypoints.demo import Stack
from tests.e2e.conftest import body, example

pytestmark = pytest.mark.e2e

FINAL_WAIT_S = 60.0

# example -> (route, final status, problem codes, statuses the claim passes through in order)
EXPECTED = {
    "va_direct": ("direct_billing", "accepted", [],
                  ["received", "validated", "assembled", "routed", "submitting", "submitted", "accepted"]),
    "commercial_courtesy": ("courtesy_submission", "accepted", [],
                            ["received", "validated", "assembled", "routed", "submitting", "submitted",
                             "accepted"]),
    "commercial_statement": ("statement_only", "statement_ready", [],
                             ["received", "validated", "assembled", "routed", "statement_ready"]),
    "self_pay": ("statement_only", "statement_ready", [],
                 ["received", "validated", "assembled", "routed", "statement_ready"]),
    "va_missing_referral": ("needs_attention", "needs_attention", ["va_referral_missing"],
                            ["received", "validated", "assembled", "routed", "needs_attention"]),
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One pipeline for this module; each test uses its own event and session ids."""
    running = Stack(tmp_path_factory.mktemp("ingest"))
    try:
        yield running.start()
    finally:
        running.stop()


def fresh(name: str) -> dict[str, Any]:
    """An example with new event and session ids, so it is a new claim in a shared pipeline."""
    doc = example(name)
    tag = uuid.uuid4().hex[:8]
    doc["event_id"] = f"evt_{tag}"
    doc["session"]["session_id"] = f"ses_{tag}"
    return doc


def post_signed(stack: Stack, raw: bytes, *, signature: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Signature"] = signature
    return requests.post(stack.web_url + "/v1/events", data=raw, headers=headers, timeout=30)


def wait_final(stack: Stack, claim_ids: list[str]) -> dict[str, Any]:
    assert stack.wait_final(claim_ids, FINAL_WAIT_S), {
        c.claim_id: c.status for c in stack.ledger().get_many(claim_ids)}
    return {c.claim_id: c for c in stack.ledger().get_many(claim_ids)}


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *args], env=stack.env(),
                          capture_output=True, text=True, timeout=60)


def cli_json(stack: Stack, *args: str) -> dict[str, Any]:
    done = cli(stack, *args, "--json")
    assert done.returncode in (0, 2), done.stderr
    return dict(json.loads(done.stdout))


def stored_counts(stack: Stack) -> tuple[int, int]:
    ledger = stack.ledger()
    return len(ledger.claim_ids()), ledger.count_refused()


# the bundled examples ----------------------------------------------------------------------------------
def test_bundled_examples_end_in_their_route_and_final_status(stack: Stack) -> None:
    claim_of: dict[str, str] = {}
    for name in EXPECTED:
        response = stack.post_event(body(example(name)))
        assert response.status_code == 202, (name, response.text)
        assert response.json()["status"] == "accepted"
        claim_of[name] = response.json()["claim_id"]

    claims = wait_final(stack, list(claim_of.values()))
    receipts = stack.receipts()
    ledger = stack.ledger()
    for name, (route, status, problems, path) in EXPECTED.items():
        claim = claims[claim_of[name]]
        assert (claim.route, claim.status) == (route, status), name
        assert [p.code for p in claim.problems] == problems, name
        timeline = ledger.timeline(claim.claim_id)
        assert [e["kind"] for e in timeline][:4] == ["received", "validated", "assembled", "routed"], name
        assert [e["to"] for e in timeline if e.get("to")] == path, name
        stamps = [e["at"] for e in timeline]
        assert stamps == sorted(stamps), name
        expected_receipts = 1 if route in ("direct_billing", "courtesy_submission") else 0
        assert receipts.get(claim.claim_id, 0) == expected_receipts, name


def test_unsupported_cpt_example_is_refused_with_its_field_path(stack: Stack) -> None:
    claims_before, _ = stored_counts(stack)
    response = stack.post_event(body(example("refused_unsupported_cpt")))
    assert response.status_code == 422
    answer = response.json()
    assert [e["path"] for e in answer["errors"]] == ["session.services[0].cpt"]
    kept = stack.ledger().get_refused(answer["refused_id"])
    assert kept is not None
    assert kept.body == body(example("refused_unsupported_cpt"))
    assert stored_counts(stack)[0] == claims_before


# webhook answers ---------------------------------------------------------------------------------------
def test_healthz_says_ok(stack: Stack) -> None:
    response = requests.get(stack.web_url + "/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_duplicate_event_id_answers_200_and_keeps_one_claim(stack: Stack) -> None:
    doc = fresh("va_direct")
    first = stack.post_event(body(doc))
    assert first.status_code == 202
    claim_id = first.json()["claim_id"]
    wait_final(stack, [claim_id])

    again = stack.post_event(body(doc))
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["claim_id"] == claim_id

    ledger = stack.ledger()
    assert [c for c in ledger.claim_ids() if c == claim_id] == [claim_id]
    assert [e["kind"] for e in ledger.timeline(claim_id)].count("received") == 1
    assert stack.receipts()[claim_id] == 1


def test_a_second_event_for_the_same_session_is_kept_on_the_claim_not_applied(stack: Stack) -> None:
    doc = fresh("va_direct")
    claim_id = stack.post_event(body(doc)).json()["claim_id"]
    before = wait_final(stack, [claim_id])[claim_id]
    ledger = stack.ledger()
    claims_before = len(ledger.claim_ids())
    event_before = ledger.event_document(claim_id)

    other = json.loads(json.dumps(doc))
    other["event_id"] = f"{doc['event_id']}_b"
    other["session"]["services"] = [{"cpt": "97124", "minutes": 45, "body_region": "thoracic"}]
    response = stack.post_event(body(other))
    assert response.status_code == 202
    assert response.json()["status"] == "kept_for_review"
    assert response.json()["claim_id"] == claim_id

    after = ledger.get(claim_id)
    assert after is not None
    assert len(ledger.claim_ids()) == claims_before
    assert ledger.event_document(claim_id) == event_before
    unchanged = ("status", "route", "event_id", "superbill", "problems", "submission_no", "peer_reference")
    assert {f: getattr(after, f) for f in unchanged} == {f: getattr(before, f) for f in unchanged}
    kept = [e for e in ledger.timeline(claim_id) if e["kind"] == "event.kept_for_review"]
    assert len(kept) == 1
    assert kept[0]["event_id"] == other["event_id"]
    assert stack.receipts()[claim_id] == 1


@pytest.mark.parametrize("signature", [
    pytest.param(lambda secret, raw: sign("not-the-secret", raw, int(time.time())), id="wrong-secret"),
    pytest.param(lambda secret, raw: sign(secret, raw + b" ", int(time.time())), id="other-body"),
    pytest.param(lambda secret, raw: None, id="missing"),
    pytest.param(lambda secret, raw: "v1=deadbeef", id="no-timestamp"),
    pytest.param(lambda secret, raw: sign(secret, raw, int(time.time()) - 360), id="six-minutes-old"),
    pytest.param(lambda secret, raw: sign(secret, raw, int(time.time()) + 360), id="six-minutes-ahead"),
])
def test_unsigned_or_badly_signed_events_get_401_and_nothing_is_stored(stack: Stack, signature: Any) -> None:
    before = stored_counts(stack)
    for raw in (body(fresh("va_direct")), b"{not json"):
        response = post_signed(stack, raw, signature=signature(stack.secret, raw))
        assert response.status_code == 401, response.text
        assert response.json()["status"] == "unauthorized"
    assert stored_counts(stack) == before


def test_malformed_json_gets_400_and_is_kept_verbatim(stack: Stack) -> None:
    raw = b'\xff\xfe{"event_id": "evt_broken", "session": {'
    response = stack.post_event(raw)
    assert response.status_code == 400
    kept = stack.ledger().get_refused(response.json()["refused_id"])
    assert kept is not None
    assert (kept.http_status, kept.body) == (400, raw)


def test_body_over_256_kib_gets_413_and_is_kept(stack: Stack) -> None:
    doc = fresh("self_pay")
    doc["padding"] = "x" * (256 * 1024)
    raw = body(doc)
    claims_before, _ = stored_counts(stack)
    response = stack.post_event(raw)
    assert response.status_code == 413
    kept = stack.ledger().get_refused(response.json()["refused_id"])
    assert kept is not None
    assert (kept.http_status, kept.body) == (413, raw)
    assert stored_counts(stack)[0] == claims_before


def test_a_body_of_exactly_256_kib_is_accepted(stack: Stack) -> None:
    doc = fresh("self_pay")
    doc["padding"] = ""
    doc["padding"] = "x" * (256 * 1024 - len(body(doc)))
    raw = body(doc)
    assert len(raw) == 256 * 1024
    response = stack.post_event(raw)
    assert response.status_code == 202, response.text
    claim = wait_final(stack, [response.json()["claim_id"]])[response.json()["claim_id"]]
    assert claim.status == "statement_ready"


def test_input_errors_get_422_with_every_field_path_at_once(stack: Stack) -> None:
    doc = fresh("va_direct")
    doc["event_type"] = "session.started"
    doc["session"]["services"][0]["minutes"] = -5
    del doc["client"]["first_name"]
    doc["client"]["sex"] = "X"
    doc["coverage"]["kind"] = "medicare"
    doc["payment"]["amount_collected"] = "1.234"
    doc["payment"]["method"] = "bitcoin"
    claims_before, _ = stored_counts(stack)

    response = stack.post_event(body(doc))

    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert paths == {"event_type", "session.services[0].minutes", "client.first_name", "client.sex",
                     "coverage.kind", "payment.amount_collected", "payment.method"}
    assert all(e["message"] for e in response.json()["errors"])
    assert stored_counts(stack)[0] == claims_before


# refused events: listed, shown verbatim, replayed --------------------------------------------------------
def test_refused_events_are_listed_shown_verbatim_and_replayable(stack: Stack, tmp_path: Path) -> None:
    good = fresh("va_direct")
    bad = json.loads(json.dumps(good))
    bad["session"]["services"][0]["cpt"] = "97110"
    bad["client"]["sex"] = "X"
    bad_raw = json.dumps(bad, indent=1).encode()  # the exact bytes sent, whitespace and all
    sent = {
        400: b'{"event_id": "evt_cut", "session": {"session_id": "ses_cut", ',
        413: body({**fresh("self_pay"), "padding": "y" * (300 * 1024)}),
        422: bad_raw,
    }
    refused = {status: stack.post_event(raw) for status, raw in sent.items()}
    assert {status: r.status_code for status, r in refused.items()} == {400: 400, 413: 413, 422: 422}

    listed = {r["refused_id"]: r for r in cli_json(stack, "refused", "list")["refused"]}
    for status, response in refused.items():
        row = listed[response.json()["refused_id"]]
        assert row["http_status"] == status
        assert row["errors"] == response.json()["errors"]
        assert row["source"] == "webhook"
        assert row["replayed_as"] is None

    for status, response in refused.items():
        shown = cli_json(stack, "refused", "show", response.json()["refused_id"])
        assert shown["http_status"] == status
        assert shown["body"].encode() == sent[status]
    assert {e["path"] for e in refused[422].json()["errors"]} == {"session.services[0].cpt", "client.sex"}

    refused_id = refused[422].json()["refused_id"]

    corrected = tmp_path / "corrected.json"
    corrected.write_bytes(body(good))
    done = cli(stack, "refused", "replay", refused_id, "--file", str(corrected), "--json")
    assert done.returncode == 0, done.stderr
    replayed = json.loads(done.stdout)
    assert replayed["http_status"] == 202
    claim_id = replayed["claim_id"]

    claim = wait_final(stack, [claim_id])[claim_id]
    assert (claim.route, claim.status) == ("direct_billing", "accepted")
    assert claim.session_id == good["session"]["session_id"]
    assert stack.receipts()[claim_id] == 1
    row = {r["refused_id"]: r for r in cli_json(stack, "refused", "list")["refused"]}[refused_id]
    assert row["replayed_as"] and json.loads(row["replayed_as"])["claim_id"] == claim_id


def test_replaying_a_refused_event_unchanged_is_refused_again(stack: Stack) -> None:
    response = stack.post_event(body({**fresh("self_pay"), "event_type": "session.cancelled"}))
    assert response.status_code == 422
    claims_before, _ = stored_counts(stack)
    done = cli(stack, "refused", "replay", response.json()["refused_id"], "--json")
    assert done.returncode == 2, done.stdout
    assert json.loads(done.stdout)["http_status"] == 422
    assert stored_counts(stack)[0] == claims_before
