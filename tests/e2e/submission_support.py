"""Helpers for the submission end-to-end tests: events, polling with deadlines, the CLI, the sandbox's records."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from pipeline.entrypoints.demo import Stack
from schemas.claim import FINAL_STATUSES, Claim
from tests.e2e.conftest import body, example, logs_of

# The fixture events' patient data: none of it may appear in a log line.
PATIENT_MARKERS = ("John", "Doe", "1970-01-01", "19700101", "456 Oak", "123456789", "XYZ123456789",
                   "john@example.com", "217-555-0100")


# events ------------------------------------------------------------------------------------------------
def _variant(fixture: str, kind: str, n: int, tag: str) -> dict[str, Any]:
    """The fixture event as session `ses_{tag}_{kind}{n}`, with an event id of its own."""
    doc = copy.deepcopy(example(fixture))
    doc["event_id"] = f"evt_{tag}_{kind}{n:03d}"
    doc["session"]["session_id"] = f"ses_{tag}_{kind}{n:03d}"
    return doc


def va_event(n: int, *, tag: str = "e2e") -> dict[str, Any]:
    """A VA session with a referral of its own."""
    doc = _variant("va_direct", "va", n, tag)
    doc["va_referral"]["referral_number"] = f"VA{9_000_000_000 + n:010d}"
    return doc


def courtesy_event(n: int, *, tag: str = "e2e") -> dict[str, Any]:
    return _variant("commercial_courtesy", "cs", n, tag)


def statement_event(n: int, *, tag: str = "e2e") -> dict[str, Any]:
    return _variant("commercial_statement", "st", n, tag)


def post_all(stack: Stack, documents: Iterable[dict[str, Any]]) -> list[str]:
    """Post each event through the signed webhook; every one must be taken (202)."""
    ids = []
    for doc in documents:
        response = stack.post_event(body(doc))
        assert response.status_code == 202, response.text
        ids.append(response.json()["claim_id"])
    assert len(set(ids)) == len(ids)
    return ids


# waiting -----------------------------------------------------------------------------------------------
def wait_for(stack: Stack, claim_ids: list[str], timeout_s: float, *,
             statuses: Iterable[str] = FINAL_STATUSES) -> dict[str, Claim]:
    """Poll the ledger until every claim is in one of `statuses`; fail with where each one is, if not."""
    wanted = set(statuses)
    ledger = stack.ledger()
    deadline = time.monotonic() + timeout_s
    while True:
        claims = {c.claim_id: c for c in ledger.get_many(claim_ids)}
        if len(claims) == len(claim_ids) and all(c.status in wanted for c in claims.values()):
            return claims
        if time.monotonic() > deadline:
            where = {cid: (c.status, c.last_error) for cid, c in claims.items() if c.status not in wanted}
            raise AssertionError(f"not in {sorted(wanted)} after {timeout_s:g} s: {where}\n"
                                 f"--- logs (tail) ---\n{logs_of(stack)[-4000:]}")
        time.sleep(0.2)


def wait_until(predicate: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:g} s")
        time.sleep(0.1)


# the CLI and the sandbox -------------------------------------------------------------------------------
def superbill(stack: Stack, *args: str, timeout_s: float = 60,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `superbill ARGS` as its own process against the stack (`env` overrides its environment)."""
    return subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *args], env={**stack.env(), **(env or {})},
                          capture_output=True, text=True, timeout=timeout_s, check=False)


def set_faults(stack: Stack, spec: str) -> None:
    response = requests.put(stack.sandbox_url + "/_sandbox/faults", json={"spec": spec}, timeout=10)
    assert response.status_code == 200, response.text


def submissions(stack: Stack) -> dict[str, Any]:
    return dict(requests.get(stack.sandbox_url + "/_sandbox/submissions", timeout=30).json())


def keys_by_claim(stack: Stack) -> dict[str, list[str]]:
    taken = submissions(stack)
    out: dict[str, list[str]] = {}
    for record in [*taken["clearinghouse"], *taken["billing_service"]]:
        out.setdefault(record["claim_id"], []).append(record["idempotency_key"])
    return out


def assert_one_receipt_each(stack: Stack, claim_ids: list[str]) -> None:
    receipts = stack.receipts()
    got = {cid: receipts.get(cid, 0) for cid in claim_ids}
    assert got == dict.fromkeys(claim_ids, 1), f"receipts per claim: {got}"
    keys = keys_by_claim(stack)
    got_keys = {cid: keys.get(cid) for cid in claim_ids}
    assert got_keys == {cid: [f"{cid}-1"] for cid in claim_ids}, f"keys taken per claim: {got_keys}"


def worker_log_lines(stack: Stack) -> list[dict[str, Any]]:
    """The JSON lines of every worker log of the stack (dramatiq's own plain lines are skipped)."""
    lines = []
    for path in sorted(stack.workdir.glob("worker*.log")):
        for line in path.read_text(errors="replace").splitlines():
            start = line.find("{")
            if start < 0:
                continue
            try:
                lines.append(json.loads(line[start:]))
            except ValueError:
                continue
    return lines


# X12 ---------------------------------------------------------------------------------------------------
def segments(x12: str) -> list[list[str]]:
    """The interchange's segments split into elements, reading the delimiters from the ISA."""
    text = x12.lstrip()
    element, terminator = text[3], text[105]
    return [s.strip().split(element) for s in text.split(terminator) if s.strip()]


def first(segs: list[list[str]], seg_id: str, *qualifiers: str) -> list[str]:
    for seg in segs:
        if seg[0] == seg_id and tuple(seg[1:1 + len(qualifiers)]) == qualifiers:
            return seg
    raise AssertionError(f"no {seg_id}{'*' if qualifiers else ''}{'*'.join(qualifiers)} segment")


def check_837p(x12: str, *, claim_id: str, referral: str) -> int:
    """Assert the file is valid (pyx12), names the claim and its referral, adds up; returns its ISA13."""
    from pipeline.documents.x12_validation import validate_837p

    report = validate_837p(x12)
    assert report.ok, report.errors
    segs = segments(x12)
    isa13 = int(first(segs, "ISA")[13])
    assert int(first(segs, "IEA")[2]) == isa13, "IEA02 differs from ISA13"
    clm = first(segs, "CLM")
    assert clm[1] == claim_id, f"CLM01 {clm[1]!r} is not the claim id {claim_id!r}"
    lines = [Decimal(s[2]) for s in segs if s[0] == "SV1"]
    assert lines, "no service line"
    assert Decimal(clm[2]) == sum(lines), f"CLM02 {clm[2]} is not the sum of SV102 {lines}"
    assert clm[5].split(":")[1:] == ["B", "1"], f"CLM05 {clm[5]!r} is not an original claim (frequency 1)"
    assert first(segs, "REF", "9F")[2] == referral, f"REF*9F is not the referral {referral}"
    return isa13


def check_every_837p(stack: Stack, referrals: dict[str, str]) -> dict[str, int]:
    """Check every 837P the sandbox took; returns ISA13 by idempotency key."""
    control = {}
    taken = submissions(stack)
    assert not [r for r in taken["refused"] if r["peer"] == "clearinghouse"], taken["refused"]
    for record in taken["clearinghouse"]:
        cid = record["claim_id"]
        assert cid in referrals, f"the clearinghouse took an unexpected claim {cid}"
        control[record["idempotency_key"]] = check_837p(record["x12"], claim_id=cid, referral=referrals[cid])
    assert len(set(control.values())) == len(control), f"repeated ISA13: {Counter(control.values())}"
    return control


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
