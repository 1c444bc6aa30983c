"""Helpers for the ops end-to-end tests: events, the `superbill` console script, the ops API, polling,
and a snapshot of the ledger to prove that a refused request changed nothing."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import requests

from pipeline.entrypoints.demo import Stack
from tests.e2e.conftest import body, example

T = TypeVar("T")

# Few, fast submission retries so that a peer that always fails yields `failed` within seconds.
FAST_FAIL_ENV = {
    "SUPERBILL_SUBMIT_MAX_RETRIES": "1",
    "SUPERBILL_SUBMIT_MIN_BACKOFF_MS": "100",
    "SUPERBILL_SUBMIT_MAX_BACKOFF_MS": "300",
}
PRESCRIPTION: dict[str, Any] = example("commercial_courtesy")["prescription"]


def event(name: str, tag: str, **changes: Any) -> dict[str, Any]:
    """A bundled example under a new event id and session id (at most 20 characters: the claim id)."""
    doc = example(name)
    doc["event_id"] = f"evt_{tag}"
    doc["session"]["session_id"] = f"ses_{tag}"
    for path, value in changes.items():
        target = doc
        *parents, leaf = path.split("__")
        for part in parents:
            target = target[part]
        if value is None:
            target.pop(leaf, None)
        else:
            target[leaf] = value
    return doc


def on_day(day: str) -> dict[str, str]:
    """`event(..., **on_day("2026-10-15"))`: the session held on that day."""
    return {"session__started_at": f"{day}T14:00:00-06:00", "session__ended_at": f"{day}T15:00:00-06:00"}


def post(stack: Stack, doc: dict[str, Any]) -> str:
    response = stack.post_event(body(doc))
    assert response.status_code == 202, response.text
    return str(response.json()["claim_id"])


def heal(stack: Stack, spec: str = "") -> None:
    response = requests.put(stack.sandbox_url + "/_sandbox/faults", json={"spec": spec}, timeout=10)
    assert response.status_code == 200, response.text


# polling ---------------------------------------------------------------------------------------------------
def wait_for(probe: Callable[[], T], done: Callable[[T], bool], *, timeout_s: float, what: str) -> T:
    deadline = time.monotonic() + timeout_s
    value = probe()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout_s:g} s; last seen: {value!r}")
        time.sleep(0.2)
        value = probe()
    return value


def statuses(stack: Stack, claim_ids: Iterable[str]) -> dict[str, str]:
    return {c.claim_id: c.status for c in stack.ledger().get_many(claim_ids)}


def wait_status(stack: Stack, claim_ids: Iterable[str], status: str, *, timeout_s: float = 45) -> None:
    ids = list(claim_ids)
    wait_for(lambda: statuses(stack, ids), lambda seen: seen == dict.fromkeys(ids, status),
             timeout_s=timeout_s, what=f"{ids} all {status}")


def wait_final(stack: Stack, claim_ids: Iterable[str], *, timeout_s: float = 45) -> dict[str, str]:
    ids = list(claim_ids)
    assert stack.wait_final(ids, timeout_s), f"not final within {timeout_s:g} s: {statuses(stack, ids)}"
    return statuses(stack, ids)


def stop_worker(stack: Stack, name: str = "worker") -> None:
    proc = stack.procs[name]
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


# the console script ------------------------------------------------------------------------------------------
def superbill(stack: Stack, *args: str, timeout_s: float = 60,
              input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("superbill")
    assert script.exists(), f"the console script is not installed at {script}"
    return subprocess.run([str(script), *args], env=stack.env(), capture_output=True, text=True,
                          timeout=timeout_s, check=False, input=input_text)


def superbill_json(stack: Stack, *args: str) -> Any:
    done = superbill(stack, *args, "--json")
    assert done.returncode == 0, f"superbill {' '.join(args)} exited {done.returncode}: {done.stderr}"
    return json.loads(done.stdout)


# the ops API -------------------------------------------------------------------------------------------------
def ops(stack: Stack, method: str, path: str, *, token: str | None = "stack", **kwargs: Any) -> requests.Response:
    """A request to /v1/ops/...; token "stack" means the stack's own token, None no header."""
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {stack.ops_token if token == 'stack' else token}"
    return requests.request(method, stack.web_url + "/v1/ops" + path, headers=headers, timeout=30, **kwargs)


def ops_json(stack: Stack, method: str, path: str, **kwargs: Any) -> Any:
    response = ops(stack, method, path, **kwargs)
    assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
    return response.json()


# the ops page, signed in ------------------------------------------------------------------------------------
PAGE_PASSWORD = "front desk password 1"


class OpsPage:
    """A person signed in on the ops page over HTTP: a named account (`superbill users add`), its session
    cookie, and form posts carrying the session's CSRF token from the page's own origin."""

    def __init__(self, stack: Stack, username: str = "desk", name: str = "Front Desk") -> None:
        self.url = stack.web_url
        self.username = username
        added = superbill(stack, "users", "add", username, "--name", name, "--password-stdin",
                          input_text=PAGE_PASSWORD + "\n")
        assert added.returncode == 0 or "exists already" in added.stderr, added.stderr
        self.http = requests.Session()
        form = self.http.get(self.url + "/ops/login", timeout=30)
        signed = self.http.post(self.url + "/ops/login", timeout=30, allow_redirects=False,
                                headers={"Origin": self.url},
                                data={"csrf": csrf_of(form.text), "username": username, "password": PAGE_PASSWORD})
        assert signed.status_code == 303 and signed.headers["location"] == "/ops", signed.text
        self.csrf = csrf_of(self.get("/ops").text)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.url + path, timeout=30, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> requests.Response:
        return self.http.post(self.url + path, data={**(data or {}), "csrf": self.csrf}, timeout=30,
                              headers={"Origin": self.url}, allow_redirects=False, **kwargs)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


# what the ledger holds -----------------------------------------------------------------------------------------
def snapshot(stack: Stack) -> dict[str, Any]:
    """Every claim's stored fields, event, timeline length; the refused events; the queued messages.

    Taken once the queues are drained, so a follow-up message (an alert) still on its way is not mistaken
    for a change made by the request under test.
    """
    ledger = stack.ledger()
    r = ledger.r
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(
            r.llen(k) for k in r.scan_iter(match="superbill:*") if r.type(k) == b"list"):
        time.sleep(0.1)
    claims = {}
    for cid in ledger.claim_ids():
        claims[cid] = {
            "fields": {k.decode(): v for k, v in r.hgetall(ledger.claim_key(cid)).items()},
            "long_fields": {k.decode(): v for k, v in r.hgetall(ledger.long_key(cid)).items()},
            "event": ledger.event_document(cid),
            "timeline": len(ledger.timeline(cid)),
        }
    queued = {k.decode(): r.llen(k) for k in r.scan_iter(match="superbill:*") if r.type(k) == b"list"}
    return {"claims": claims, "refused": ledger.count_refused(), "queued": queued}


def timeline_kinds(stack: Stack, claim_id: str) -> list[str]:
    return [e["kind"] for e in stack.ledger().timeline(claim_id)]
