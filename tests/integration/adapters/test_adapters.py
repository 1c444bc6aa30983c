"""The HTTP adapters (HttpClearinghouse, HttpBillingService over PeerClient) against the real sandbox peers
served on loopback: retries of 5xx/429 with Retry-After, timeouts answered from the idempotency replay,
refusals, and lookups by idempotency key."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from pipeline.adapters.billing_service_http import HttpBillingService
from pipeline.adapters.clearinghouse_http import HttpClearinghouse
from pipeline.adapters.http_peer import PeerClient, RetryPolicy
from pipeline.application.errors import PeerRefused, PeerUnavailable
from pipeline.application.ports import PeerAnswer
from pipeline.sandbox import SandboxServer
from pipeline.sandbox.billing import REJECT_REASONS
from pipeline.sandbox.clearinghouse import REJECT_REASONS_277CA

SAMPLE_837P = (Path(__file__).parents[2] / "fixtures" / "sample_837p.x12").read_text()
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
QUICK = RetryPolicy(attempts=3, total_s=15.0, initial_s=0.05, max_wait_s=0.2)


# the sandbox, and what the adapters send it -----------------------------------------------------------
@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(sandbox: SandboxServer) -> None:
    requests.post(sandbox.url + "/_sandbox/reset", timeout=10).raise_for_status()


def set_faults(sandbox: SandboxServer, spec: str) -> None:
    requests.put(sandbox.url + "/_sandbox/faults", json={"spec": spec}, timeout=10).raise_for_status()


def receipts(sandbox: SandboxServer) -> dict[str, int]:
    return dict(requests.get(sandbox.url + "/_sandbox/receipts", timeout=10).json())


def x12_for(claim_id: str) -> str:
    return SAMPLE_837P.replace("ses_1001", claim_id)


def superbill_for(claim_id: str) -> dict[str, Any]:
    return {
        "claim_id": claim_id,
        "document_number": "SB-000042",
        "superbill": {
            "diagnosis_codes": ["M54.50"],
            "lines": [{"cpt": "97140", "units": 2, "charge": "140.00"},
                      {"cpt": "97124", "units": 2, "charge": "120.00"}],
            "total_charge": "260.00",
        },
        "provider": {"npi": "1245319599"},
        "coverage": {"payer_name": "Blue Cross Blue Shield of Illinois"},
        "pdf_base64": base64.b64encode(PDF).decode(),
    }


class RecordingSession(requests.Session):
    """A real requests session that records every call and its outcome, and can act after the n-th one."""

    def __init__(self, after: Callable[[int], None] | None = None) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []
        self.after = after

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        call: dict[str, Any] = {"method": method, "url": url, "at": time.monotonic(),
                                "key": (kwargs.get("headers") or {}).get("Idempotency-Key")}
        self.calls.append(call)
        try:
            response = super().request(method, url, *args, **kwargs)
            call.update(status=response.status_code, retry_after=response.headers.get("Retry-After"))
            return response
        except requests.RequestException as exc:
            call.update(error=type(exc).__name__)
            raise
        finally:
            call["done"] = time.monotonic()
            if self.after:
                self.after(len(self.calls))


@dataclass
class Peer:
    """One adapter under test, with how to make its document and read its reference."""

    name: str
    make: Callable[[PeerClient], Any]
    path: str
    document: Callable[[str], Any]
    reference_of: Callable[[PeerAnswer], str | None]
    reject_reasons: tuple[str, ...]


CLEARINGHOUSE = Peer("clearinghouse", HttpClearinghouse, "/clearinghouse", x12_for,
                     lambda a: a.raw.get("submission_id"), tuple(f"277CA: {r}" for r in REJECT_REASONS_277CA))
BILLING = Peer("billing_service", HttpBillingService, "/billing", superbill_for,
               lambda a: a.reference, REJECT_REASONS)
BOTH = pytest.mark.parametrize("peer", [CLEARINGHOUSE, BILLING], ids=["clearinghouse", "billing_service"])


def adapter(sandbox: SandboxServer, peer: Peer, *, session: requests.Session | None = None,
            timeout_s: float = 2.0, policy: RetryPolicy = QUICK, token: str = "sandbox",
            base_url: str | None = None) -> Any:
    client = PeerClient(name=peer.name, base_url=base_url or sandbox.url + peer.path, token=token,
                        timeout_s=timeout_s, policy=policy, session=session)
    return peer.make(client)


def faults_after(sandbox: SandboxServer, n: int, spec: str) -> Callable[[int], None]:
    """An `after` hook: once the n-th call is done, the sandbox's faults become `spec`."""
    state = sandbox.app.state.sandbox

    def hook(count: int) -> None:
        if count == n:
            from pipeline.sandbox import parse_faults

            state.set_faults(parse_faults(spec))

    return hook


# retries of 5xx and 429 -------------------------------------------------------------------------------
@BOTH
def test_5xx_and_429_are_retried_under_the_same_key_until_the_peer_takes_it(
        sandbox: SandboxServer, peer: Peer) -> None:
    set_faults(sandbox, "error_rate=1")
    session = RecordingSession(after=faults_after(sandbox, 2, ""))

    answer = adapter(sandbox, peer, session=session).submit(peer.document("cl_retry"), idempotency_key="cl_retry-1")

    assert answer.outcome == "accepted"
    statuses = [c["status"] for c in session.calls]
    assert len(statuses) == 3 and set(statuses[:2]) <= {500, 503, 429}, statuses
    assert statuses[2] in (201, 202)
    assert {c["key"] for c in session.calls} == {"cl_retry-1"}
    assert receipts(sandbox) == {"cl_retry": 1}


@BOTH
def test_when_the_peer_keeps_failing_the_adapter_gives_up_after_its_attempts(
        sandbox: SandboxServer, peer: Peer) -> None:
    set_faults(sandbox, "error_rate=1")
    session = RecordingSession()

    with pytest.raises(PeerUnavailable) as raised:
        adapter(sandbox, peer, session=session).submit(peer.document("cl_down"), idempotency_key="cl_down-1")

    assert raised.value.peer == peer.name
    assert "answered" in str(raised.value)
    assert len(session.calls) == QUICK.attempts
    assert receipts(sandbox) == {}


def test_retry_after_from_the_peer_replaces_the_backoff(sandbox: SandboxServer) -> None:
    # the sandbox's 503s and 429s come with or without `Retry-After: 0`; the seed makes this run's mix fixed
    set_faults(sandbox, "error_rate=1,seed=7")
    backoff_s = 1.0
    session = RecordingSession(after=faults_after(sandbox, 4, ""))
    policy = RetryPolicy(attempts=5, total_s=30.0, initial_s=backoff_s, max_wait_s=backoff_s)

    answer = adapter(sandbox, CLEARINGHOUSE, session=session, policy=policy).submit(
        x12_for("cl_after"), idempotency_key="cl_after-1")

    assert answer.outcome == "accepted"
    gaps = [(c["retry_after"], nxt["at"] - c["done"]) for c, nxt in zip(session.calls, session.calls[1:],
                                                                          strict=False)]
    assert len(gaps) == 4
    with_header = [gap for header, gap in gaps if header == "0"]
    without = [gap for header, gap in gaps if header is None]
    assert with_header and without, f"seed 7 no longer gives both kinds of answer: {gaps}"
    assert all(gap < 0.5 for gap in with_header), gaps
    assert all(gap >= backoff_s * 0.95 for gap in without), gaps


def test_a_retry_after_of_seconds_is_waited_for(sandbox: SandboxServer) -> None:
    class Busy(RecordingSession):
        """The first call is answered 429 with `Retry-After: 1` before it reaches the sandbox."""

        def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
            if self.calls:
                return super().request(method, url, *args, **kwargs)
            now = time.monotonic()
            self.calls.append({"at": now, "done": now, "status": 429})
            response = requests.Response()
            response.status_code, response.headers["Retry-After"], response._content = 429, "1", b"{}"
            return response

    session = Busy()
    answer = adapter(sandbox, BILLING, session=session).submit(superbill_for("cl_wait"),
                                                               idempotency_key="cl_wait-1")

    assert answer.outcome == "accepted"
    assert len(session.calls) == 2
    assert session.calls[1]["at"] - session.calls[0]["done"] >= 0.95
    assert receipts(sandbox) == {"cl_wait": 1}


# timeouts -----------------------------------------------------------------------------------------------
@BOTH
def test_a_timeout_is_retried_and_answered_from_the_idempotency_replay(sandbox: SandboxServer, peer: Peer) -> None:
    # the first call is taken, then held past the client's timeout; the retry gets the first answer again
    set_faults(sandbox, "timeout_rate=1,hang_ms=4000")
    session = RecordingSession(after=faults_after(sandbox, 1, ""))

    answer = adapter(sandbox, peer, session=session, timeout_s=1.5).submit(
        peer.document("cl_slow"), idempotency_key="cl_slow-1")

    assert [c.get("error") for c in session.calls] == ["ReadTimeout", None]
    assert answer.outcome == "accepted"
    taken = requests.get(sandbox.url + "/_sandbox/submissions", timeout=10).json()[peer.name]
    assert len(taken) == 1
    assert peer.reference_of(answer) == (taken[0].get("submission_id") or taken[0].get("reference"))
    assert receipts(sandbox) == {"cl_slow": 1}


@BOTH
def test_timeouts_to_the_end_raise_and_the_peer_then_answers_for_the_key(sandbox: SandboxServer,
                                                                         peer: Peer) -> None:
    set_faults(sandbox, "timeout_rate=1,hang_ms=1200")
    session = RecordingSession()
    slow = adapter(sandbox, peer, session=session, timeout_s=0.4)

    with pytest.raises(PeerUnavailable, match="no answer within"):
        slow.submit(peer.document("cl_hang"), idempotency_key="cl_hang-1")

    assert len(session.calls) == QUICK.attempts
    assert {c.get("error") for c in session.calls} == {"ReadTimeout"}
    assert receipts(sandbox) == {"cl_hang": 1}  # taken once, whatever the client saw
    set_faults(sandbox, "")
    answer = adapter(sandbox, peer).lookup("cl_hang-1")
    assert answer is not None and answer.outcome == "accepted"
    assert adapter(sandbox, peer).submit(peer.document("cl_hang"), idempotency_key="cl_hang-1") == answer
    assert receipts(sandbox) == {"cl_hang": 1}


def test_a_peer_nobody_listens_on_is_unavailable(sandbox: SandboxServer) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    session = RecordingSession()

    with pytest.raises(PeerUnavailable, match="cannot connect"):
        adapter(sandbox, CLEARINGHOUSE, session=session, base_url=f"http://127.0.0.1:{port}/clearinghouse").submit(
            x12_for("cl_gone"), idempotency_key="cl_gone-1")
    assert len(session.calls) == QUICK.attempts


# refusals and rejections --------------------------------------------------------------------------------
@BOTH
def test_a_4xx_other_than_429_is_refused_with_the_peers_reasons_and_not_retried(
        sandbox: SandboxServer, peer: Peer) -> None:
    session = RecordingSession()
    with pytest.raises(PeerRefused) as refused:
        adapter(sandbox, peer, session=session, token="").submit(peer.document("cl_auth"),
                                                                 idempotency_key="cl_auth-1")
    assert (refused.value.status, refused.value.reasons) == (401, ["missing or invalid bearer token"])
    assert len(session.calls) == 1

    session = RecordingSession()
    with pytest.raises(PeerRefused) as refused:
        adapter(sandbox, peer, session=session).submit(peer.document("cl_key"), idempotency_key="k" * 300)
    assert refused.value.status == 400
    assert refused.value.reasons and "Idempotency-Key" in refused.value.reasons[0]
    assert len(session.calls) == 1
    assert receipts(sandbox) == {}


def test_an_837p_the_999_rejects_is_a_rejected_answer_with_its_errors(sandbox: SandboxServer) -> None:
    broken = x12_for("cl_999").replace("NM1*PR*2*VA CCN OPTUM*****PI*VACCN~", "")

    answer = adapter(sandbox, CLEARINGHOUSE).submit(broken, idempotency_key="cl_999-1")

    assert (answer.outcome, answer.file_accepted) == ("rejected", False)
    assert answer.reasons and all(r.startswith("999: ") for r in answer.reasons)
    assert receipts(sandbox) == {}
    assert adapter(sandbox, CLEARINGHOUSE).lookup("cl_999-1") is None  # not taken: the key stays free


def test_a_superbill_the_billing_service_cannot_take_is_a_rejected_answer_with_its_reasons(
        sandbox: SandboxServer) -> None:
    request = superbill_for("cl_bad")
    request["superbill"]["total_charge"] = "999.00"

    answer = adapter(sandbox, BILLING).submit(request, idempotency_key="cl_bad-1")

    assert (answer.outcome, answer.file_accepted) == ("rejected", False)
    assert any("total_charge" in r for r in answer.reasons)
    assert receipts(sandbox) == {}


@BOTH
def test_a_claim_the_payer_rejects_carries_the_reasons(sandbox: SandboxServer, peer: Peer) -> None:
    set_faults(sandbox, "reject_rate=1")

    answer = adapter(sandbox, peer).submit(peer.document("cl_no"), idempotency_key="cl_no-1")

    assert (answer.outcome, answer.file_accepted) == ("rejected", True)
    assert answer.reasons and all(r in peer.reject_reasons for r in answer.reasons)
    assert adapter(sandbox, peer).lookup("cl_no-1") == answer
    assert receipts(sandbox) == {"cl_no": 1}


# lookups ------------------------------------------------------------------------------------------------
@BOTH
def test_lookup_knows_only_the_keys_the_peer_took(sandbox: SandboxServer, peer: Peer) -> None:
    client = adapter(sandbox, peer)

    assert client.lookup("never-sent-1") is None
    sent = client.submit(peer.document("cl_look"), idempotency_key="cl_look/1 ?")
    found = client.lookup("cl_look/1 ?")

    assert found is not None
    assert (found.outcome, found.reference, found.reasons) == (sent.outcome, sent.reference, sent.reasons)
    assert found.outcome == "accepted" and found.reference
    assert client.lookup("cl_look-2") is None


def test_a_pending_277ca_is_decided_by_a_later_lookup(sandbox: SandboxServer) -> None:
    set_faults(sandbox, "ack_mode=poll")
    client = adapter(sandbox, CLEARINGHOUSE)

    sent = client.submit(x12_for("cl_poll"), idempotency_key="cl_poll-1")
    found = client.lookup("cl_poll-1")

    assert (sent.outcome, sent.file_accepted) == ("pending", True)
    assert found is not None and found.outcome == "accepted"
    assert found.reference and found.reference.startswith("PCN")


def test_remittances_are_fetched_by_cursor_as_raw_835_text(sandbox: SandboxServer) -> None:
    set_faults(sandbox, "remit_delay_ms=0")
    ch = adapter(sandbox, CLEARINGHOUSE)
    ch.submit(x12_for("cl_remit"), idempotency_key="cl_remit-1")
    first = ch.remittances(None)
    assert [f.source_id for f in first.files] == ["ERA-000001"] and not first.has_more
    assert first.files[0].x12.startswith("ISA") and "CLP*cl_remit*1*" in first.files[0].x12
    assert first.cursor == first.files[0].cursor and first.cursor.endswith(":1")  # <feed id>:<position>
    again = ch.remittances(first.cursor)
    assert again.files == [] and again.cursor == first.cursor


def test_a_remittance_feed_that_is_not_json_is_unavailable(sandbox: SandboxServer) -> None:
    ch = adapter(sandbox, CLEARINGHOUSE, base_url=sandbox.url + "/_sandbox/receipts-not-a-feed")
    with pytest.raises(PeerRefused):  # a 404: the clearinghouse has no such feed
        ch.remittances(None)

    class Garbage:
        def request(self, *args: Any, **kwargs: Any) -> Any:
            class Answer:
                status_code = 200

                def json(self) -> Any:
                    return {"remittances": [{"no_x12": True}]}
            return Answer()

    with pytest.raises(PeerUnavailable, match="could not read"):
        HttpClearinghouse(Garbage()).remittances(None)  # type: ignore[arg-type]
