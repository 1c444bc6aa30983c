"""The ops API (/v1/ops/*) and /metrics against a running pipeline: real Redis, dramatiq workers, the web
app under uvicorn and the sandbox peers, all talking over loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from pipeline.application.steps import QUEUES
from pipeline.entrypoints.demo import Stack
from tests.e2e.opskit import (
    FAST_FAIL_ENV,
    PRESCRIPTION,
    event,
    heal,
    on_day,
    ops,
    ops_json,
    post,
    snapshot,
    statuses,
    stop_worker,
    timeline_kinds,
    wait_final,
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.e2e
StartStack = Callable[..., Stack]


def parked_courtesy(stack: Stack, tag: str) -> str:
    """A courtesy submission without its prescription: parked in needs_attention for prescription_missing."""
    claim_id = post(stack, event("commercial_courtesy", tag, prescription=None))
    wait_status(stack, [claim_id], "needs_attention")
    return claim_id


def test_amend_a_parked_courtesy_claim_and_resubmit_it(start_stack: StartStack) -> None:
    stack = start_stack()
    claim_id = parked_courtesy(stack, "api_amend")
    shown = ops_json(stack, "GET", f"/claims/{claim_id}")
    assert shown["route"] == "needs_attention"
    assert [p["code"] for p in shown["problems"]] == ["prescription_missing"]

    # invalid data: refused field by field, nothing stored
    before = snapshot(stack)
    bad = {**PRESCRIPTION, "issued_on": "someday", "diagnosis_codes": "M54.50"}
    del bad["physician"]
    response = ops(stack, "POST", f"/claims/{claim_id}/amend", json={"prescription": bad})
    assert response.status_code == 422, response.text
    paths = {e["path"] for e in response.json()["errors"]}
    assert {"prescription.physician", "prescription.issued_on", "prescription.diagnosis_codes"} <= paths
    response = ops(stack, "POST", f"/claims/{claim_id}/amend", json={"claim_id": "other", "event_id": "x"})
    assert response.status_code == 422
    assert {e["path"] for e in response.json()["errors"]} == {"claim_id", "event_id"}
    assert snapshot(stack) == before

    response = ops(stack, "POST", "/claims/no_such_claim/amend", json={"prescription": PRESCRIPTION})
    assert response.status_code == 404

    # a prescription attached, then resubmitted: accepted by the billing service, once
    amended = ops_json(stack, "POST", f"/claims/{claim_id}/amend", json={"prescription": PRESCRIPTION})
    assert amended["ok"] is True and amended["changed"] == ["prescription"]
    assert stack.ledger().event_document(claim_id)["prescription"] == PRESCRIPTION
    assert statuses(stack, [claim_id]) == {claim_id: "needs_attention"}  # nothing moves until resubmitted

    result = ops_json(stack, "POST", "/resubmit", json={"claim_ids": [claim_id]})
    assert result["resubmitted"] == [claim_id] and result["skipped"] == []
    wait_status(stack, [claim_id], "accepted")
    shown = ops_json(stack, "GET", f"/claims/{claim_id}")
    assert shown["route"] == "courtesy_submission" and shown["problems"] == []
    assert shown["submission_no"] == 2
    kinds = [e["kind"] for e in shown["timeline"]]
    assert kinds.index("needs_attention") < kinds.index("amended") < kinds.index("resubmitted") \
        < kinds.index("accepted")
    amended_entry = next(e for e in shown["timeline"] if e["kind"] == "amended")
    assert amended_entry["changed"] == ["prescription"] and amended_entry["source"] == "api"
    assert stack.receipts() == {claim_id: 1}
    latency = _metrics(stack)
    assert _sample(latency, "superbill_submission_latency_seconds_count", peer="billing_service") == 1

    # an accepted claim cannot be amended or resubmitted: 409 / skipped, nothing changed
    before = snapshot(stack)
    other = {**PRESCRIPTION, "prescription_id": "rx_other"}
    response = ops(stack, "POST", f"/claims/{claim_id}/amend", json={"prescription": other})
    assert response.status_code == 409, response.text
    assert response.json()["ok"] is False and "accepted" in response.json()["message"]
    result = ops_json(stack, "POST", "/resubmit", json={"claim_ids": [claim_id]})
    assert result["resubmitted"] == [] and result["skipped"] == [{"claim_id": claim_id, "reason": "status is accepted"}]
    assert snapshot(stack) == before
    assert stack.receipts() == {claim_id: 1}


def test_everything_failed_then_bulk_resubmitted_once_each(start_stack: StartStack) -> None:
    stack = start_stack(faults="error_rate=1", extra_env=FAST_FAIL_ENV)
    ids = [post(stack, event("va_direct", f"api_fail_{n}")) for n in range(3)]
    ids.append(post(stack, event("commercial_courtesy", "api_fail_cs")))
    wait_status(stack, ids, "failed")
    for claim in stack.ledger().get_many(ids):
        assert claim.last_error and ("answered" in claim.last_error or "connect" in claim.last_error)
    summary = ops_json(stack, "GET", "/summary")
    assert summary["claims"]["by_status"]["failed"] == 4
    assert summary["last_24h"]["failed"] == 4
    dead = {q["queue"]: q["dead"] for q in summary["queues"]}
    assert dead["submit_direct"] >= 1 and dead["submit_courtesy"] >= 1
    listed = ops_json(stack, "GET", "/claims", params={"status": "failed"})["claims"]
    assert sorted(c["claim_id"] for c in listed) == sorted(ids)

    heal(stack)
    before = snapshot(stack)
    result = ops_json(stack, "POST", "/resubmit", json={"status": "failed", "dry_run": True})
    assert result["dry_run"] is True and sorted(result["resubmitted"]) == sorted(ids)
    result = ops_json(stack, "POST", "/resubmit", json={"filter": {"status": "failed"}, "dry_run": True})
    assert sorted(result["resubmitted"]) == sorted(ids)
    response = ops(stack, "POST", "/resubmit", json={"status": "accepted"})
    assert response.status_code == 422  # accepted claims are not resubmittable
    response = ops(stack, "POST", "/resubmit", json={"claim_ids": ids[0]})
    assert response.status_code == 422
    assert snapshot(stack) == before

    first, rest = ids[0], ids[1:]
    result = ops_json(stack, "POST", "/resubmit", json={"claim_ids": [first, first, "nope"]})
    assert result["resubmitted"] == [first]
    assert result["skipped"] == [{"claim_id": "nope", "reason": "no such claim"}]
    result = ops_json(stack, "POST", "/resubmit", json={"status": "failed"})
    assert sorted(result["resubmitted"]) == sorted(rest) and result["skipped"] == []
    wait_status(stack, ids, "accepted")
    assert stack.receipts() == dict.fromkeys(ids, 1)
    for cid in ids:
        kinds = timeline_kinds(stack, cid)
        assert kinds.count("resubmitted") == 1 and kinds.count("accepted") == 1, (cid, kinds)
    metrics = _metrics(stack)  # only answered submissions have a latency
    assert _sample(metrics, "superbill_submission_latency_seconds_count", peer="clearinghouse") == 3
    assert _sample(metrics, "superbill_submission_latency_seconds_count", peer="billing_service") == 1
    assert ops_json(stack, "GET", "/claims", params={"status": "failed"})["claims"] == []


def _every_ops_request(stack: Stack, claim_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("GET", "/summary", {}),
        ("GET", "/claims", {}),
        ("GET", "/claims", {"params": {"status": "needs_attention"}}),
        ("GET", f"/claims/{claim_id}", {}),
        ("GET", f"/claims/{claim_id}/statement", {}),
        ("POST", f"/claims/{claim_id}/amend", {"json": {"prescription": PRESCRIPTION}}),
        ("POST", "/resubmit", {"json": {"claim_ids": [claim_id]}}),
        ("POST", "/resubmit", {"json": {"status": "needs_attention"}}),
        ("POST", "/resubmit", {"data": b"{not json", "headers": {"Content-Type": "application/json"}}),
        ("GET", "/refused", {}),
        ("GET", "/refused/ref_000001", {}),
        ("POST", "/refused/ref_000001/replay", {}),
    ]


def test_ops_endpoints_refuse_a_missing_or_wrong_token_and_change_nothing(start_stack: StartStack) -> None:
    stack = start_stack()
    claim_id = parked_courtesy(stack, "api_auth")
    refused = stack.post_event(b'{"event_id": "evt_bad"}')
    assert refused.status_code == 422
    before = snapshot(stack)
    wrong = [None, "", "not-the-token", stack.ops_token[:-1], stack.ops_token + "x", stack.ops_token.upper()]
    for method, path, kwargs in _every_ops_request(stack, claim_id):
        for token in wrong:
            response = ops(stack, method, path, token=token, **kwargs)
            assert response.status_code == 401, (method, path, token, response.status_code, response.text)
            assert response.headers.get("www-authenticate", "").startswith("Bearer")
        for header in (f"Basic {stack.ops_token}", stack.ops_token, f"Token {stack.ops_token}"):
            extra = {k: v for k, v in kwargs.items() if k != "headers"}
            headers = {**kwargs.get("headers", {}), "Authorization": header}
            response = ops(stack, method, path, token=None, headers=headers, **extra)
            assert response.status_code == 401, (method, path, header, response.status_code)
    assert snapshot(stack) == before
    # the right token works
    assert ops_json(stack, "GET", f"/claims/{claim_id}")["status"] == "needs_attention"
    assert len(ops_json(stack, "GET", "/refused")["refused"]) == 1


def test_with_no_token_configured_every_ops_request_is_refused(start_stack: StartStack) -> None:
    stack = start_stack(extra_env={"SUPERBILL_OPS_TOKEN": ""})
    claim_id = parked_courtesy(stack, "api_notoken")
    before = snapshot(stack)
    for method, path, kwargs in _every_ops_request(stack, claim_id):
        for token in (stack.ops_token, "", "anything", None):
            response = ops(stack, method, path, token=token, **kwargs)
            assert response.status_code == 401, (method, path, token, response.status_code)
    # nor can anyone get into the ops page with the token: it is no password, and no header lets them in
    for token in ("", stack.ops_token):
        response = requests.post(stack.web_url + "/ops/login", data={"token": token}, timeout=10,
                                 allow_redirects=False)
        assert response.status_code == 403 and "superbill_ops" not in response.cookies
        page = requests.get(stack.web_url + "/ops", headers={"Authorization": f"Bearer {token}"}, timeout=10,
                            allow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/ops/login"
    page = requests.get(stack.web_url + "/ops", cookies={"superbill_ops": ""}, timeout=10, allow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/ops/login"
    assert snapshot(stack) == before
    assert statuses(stack, [claim_id]) == {claim_id: "needs_attention"}


def _metrics(stack: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = requests.get(stack.web_url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def _sample(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    assert key in metrics, f"no sample {name}{labels}; have {sorted(k for k in metrics if k[0] == name)}"
    return metrics[key]


def test_summary_claims_filters_and_metrics(start_stack: StartStack) -> None:
    stack = start_stack()
    stop_worker(stack)  # messages wait in their queue until a worker runs
    docs = {
        "va_nov": event("va_direct", "va_nov"),
        "va_oct": event("va_direct", "va_oct", **on_day("2026-10-15")),
        "statement": event("commercial_statement", "statement"),
        "self_pay": event("self_pay", "self_pay", **on_day("2026-10-16")),
        "no_referral": event("va_missing_referral", "no_referral"),
        "no_rx": event("commercial_courtesy", "no_rx", prescription=None, coverage__payer_name="Aetna",
                       **on_day("2026-11-02")),
    }
    ids = {name: post(stack, doc) for name, doc in docs.items()}
    assert stack.post_event(b"{}").status_code == 422

    def validate_queue() -> dict[str, Any]:
        return next(q for q in ops_json(stack, "GET", "/summary")["queues"] if q["queue"] == "validate")

    queued = wait_for(validate_queue, lambda q: q["ready"] == 6 and (q["oldest_ready_age_s"] or 0) >= 1,
                      timeout_s=15, what="six validate messages, the oldest a second old")
    assert queued["delayed"] == 0 and queued["dead"] == 0
    summary = ops_json(stack, "GET", "/summary")
    assert [q["queue"] for q in summary["queues"]] == list(QUEUES)
    assert summary["claims"]["by_status"]["received"] == 6 and summary["refused_events"] == 1
    metrics = _metrics(stack)
    assert _sample(metrics, "superbill_queue_messages", queue="validate", state="ready") == 6
    assert _sample(metrics, "superbill_claims", status="received") == 6

    stack.start_worker("worker2")
    wait_final(stack, ids.values())
    summary = ops_json(stack, "GET", "/summary")
    assert {s: n for s, n in summary["claims"]["by_status"].items() if n} == {
        "accepted": 2, "statement_ready": 2, "needs_attention": 2}
    assert summary["claims"]["by_route"] == {"direct_billing": 2, "statement_only": 2, "needs_attention": 2}
    assert summary["needs_attention"] == 2
    assert all(q["ready"] == 0 and q["oldest_ready_age_s"] is None for q in summary["queues"]), summary["queues"]

    def found(**params: str) -> set[str]:
        rows = ops_json(stack, "GET", "/claims", params=params)["claims"]
        for row in rows:
            assert {"claim_id", "session_id", "route", "status", "problems"} <= set(row)
            assert all(isinstance(p, str) for p in row["problems"])
        return {row["claim_id"] for row in rows}

    def named(*names: str) -> set[str]:
        return {ids[n] for n in names}

    assert found() == set(ids.values())
    assert found(status="accepted") == named("va_nov", "va_oct")
    assert found(route="statement_only") == named("statement", "self_pay")
    assert found(payer="blue cross") == named("statement")
    assert found(problem="prescription_missing") == named("no_rx")
    assert found(since="2026-11-01") == named("va_nov", "statement", "no_referral", "no_rx")
    assert found(since="2026-10-01", until="2026-10-31") == named("va_oct", "self_pay")
    assert found(status="needs_attention", payer="va ccn") == named("no_referral")
    assert ops(stack, "GET", "/claims", params={"status": "lost"}).status_code == 422
    assert ops(stack, "GET", "/claims", params={"since": "yesterday"}).status_code == 422
    assert ops(stack, "GET", "/claims/nope").status_code == 404
    refused = ops_json(stack, "GET", "/refused")["refused"]
    assert len(refused) == 1 and refused[0]["http_status"] == 422

    metrics = _metrics(stack)
    for status, n in (("accepted", 2), ("statement_ready", 2), ("needs_attention", 2), ("received", 0)):
        assert _sample(metrics, "superbill_claims", status=status) == n
    assert _sample(metrics, "superbill_queue_messages", queue="validate", state="ready") == 0
    assert _sample(metrics, "superbill_submission_latency_seconds_count", peer="clearinghouse") == 2
    assert _sample(metrics, "superbill_submission_latency_seconds_bucket", peer="clearinghouse", le="+Inf") == 2
    # the worker counts a message once its actor has returned, just after the claim's status was stored
    counted = ("dramatiq_messages_total", (("actor_name", "submit_direct"),))
    metrics = wait_for(lambda: _metrics(stack), lambda m: m.get(counted, 0) >= 2, timeout_s=10,
                       what="the submit_direct messages counted")
    assert _sample(metrics, "dramatiq_messages_total", actor_name="validate") >= 6
    assert _sample(metrics, "dramatiq_messages_total", actor_name="submit_direct") >= 2
