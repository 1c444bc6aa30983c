"""The logs of a full run (web, worker, sandbox peers) carry claim ids but never the patient's data."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from pipeline.domain.signature import sign
from pipeline.entrypoints.demo import Stack
from tests.e2e.conftest import EXAMPLES, body, example, logs_of

pytestmark = pytest.mark.e2e

FINAL_WAIT_S = 75.0

# The example patient's data, as it appears in the bundled events.
PATIENT_DATA = {
    "first name": re.compile(r"\bJohn\b"),
    "last name": re.compile(r"\bDoe\b"),
    "date of birth": re.compile(re.escape("1970-01-01")),
    "commercial member id": re.compile(re.escape("XYZ123456789")),
    "VA member id": re.compile(r"(?<![\w.])123456789\b"),
    "street address": re.compile(re.escape("456 Oak Ave")),
    "email": re.compile(re.escape("john@example.com"), re.IGNORECASE),
    "group number": re.compile(re.escape("G-7781")),
}


def renamed(doc: dict[str, Any], tag: str) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    doc["event_id"] = f"{doc['event_id']}_{tag}"
    doc["session"]["session_id"] = f"{doc['session']['session_id']}_{tag}"
    return doc


def leaks(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        for what, pattern in PATIENT_DATA.items():
            if pattern.search(line):
                found.setdefault(what, []).append(line[:300])
    return found


def test_the_patient_filter_finds_patient_data_when_it_is_there() -> None:
    assert set(leaks((EXAMPLES / "commercial_courtesy.json").read_text())) == {
        "first name", "last name", "date of birth", "commercial member id", "street address", "email",
        "group number"}
    assert set(leaks((EXAMPLES / "va_direct.json").read_text())) >= {"VA member id"}
    assert leaks('{"at": 1764186123.123456789, "ein": "12-3456789", "event": "Does not apply"}') == {}


def test_logs_of_a_full_run_name_claims_but_no_patient_data(start_stack: Callable[..., Stack]) -> None:
    # Peer errors and rejections make the workers log retries, exceptions and the peers' reasons too.
    stack = start_stack(faults="error_rate=0.3,reject_rate=0.3,seed=11")
    names = sorted(p.stem for p in EXAMPLES.glob("*.json"))
    claim_ids: list[str] = []
    for name in names:
        response = stack.post_event(body(example(name)))
        assert response.status_code in (202, 422), (name, response.text)
        if response.status_code == 202:
            claim_ids.append(response.json()["claim_id"])

    # Every other way an event with patient data can come in: a second copy of the same session, a
    # duplicate, and refusals whose offending values are the patient's own data.
    va = renamed(example("va_direct"), "log")
    claim_ids.append(stack.post_event(body(va)).json()["claim_id"])
    assert stack.post_event(body(va)).status_code == 200
    assert stack.post_event(body({**va, "event_id": va["event_id"] + "_2"})).status_code == 202
    wrong = renamed(example("commercial_courtesy"), "bad")
    wrong["client"]["date_of_birth"] = "1970-01-01T00:00:00"
    wrong["client"]["sex"] = "John Doe"
    wrong["client"]["email"] = 42
    wrong["coverage"]["member_id"] = ["XYZ123456789"]
    wrong["coverage"]["group_number"] = {"number": "G-7781"}
    wrong["client"]["address"]["line1"] = None
    assert stack.post_event(body(wrong)).status_code == 422
    assert stack.post_event(b'{"client": {"first_name": "John", "last_name": "Doe", ').status_code == 400
    stale = body(renamed(example("self_pay"), "stale"))
    answer = requests.post(stack.web_url + "/v1/events", data=stale, timeout=10,
                           headers={"X-Signature": sign(stack.secret, stale, int(time.time()) - 360)})
    assert answer.status_code == 401

    assert stack.wait_final(claim_ids, FINAL_WAIT_S), {
        c.claim_id: c.status for c in stack.ledger().get_many(claim_ids)}
    submitted = [c.claim_id for c in stack.ledger().get_many(claim_ids)
                 if c.route in ("direct_billing", "courtesy_submission")]
    assert submitted

    logs = {p.stem: p.read_text(errors="replace") for p in stack.workdir.glob("*.log")}
    assert {"web", "worker", "sandbox"} <= set(logs)
    assert leaks(logs_of(stack)) == {}
    for claim_id in claim_ids:
        assert re.search(rf"\b{re.escape(claim_id)}\b", logs["worker"]), claim_id
        assert re.search(rf"\b{re.escape(claim_id)}\b", logs["web"]), claim_id
    assert all(re.search(rf"\b{re.escape(cid)}\b", logs["sandbox"]) for cid in submitted)

    # every line a step logs carries the claim, the actor and the message it belongs to
    step_lines = [line for line in map(json_or_none, logs["worker"].splitlines())
                  if line and str(line.get("logger", "")).startswith(("pipeline.application", "pipeline.adapters"))]
    assert len(step_lines) >= len(claim_ids)
    missing = [line for line in step_lines if not (line.get("actor") and line.get("message_id") and "claim_id" in line)]
    assert missing == []
    assert {line["actor"] for line in step_lines} >= {"route", "submit_direct", "submit_courtesy"}


def json_or_none(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
