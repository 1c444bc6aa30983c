"""The ops page's security, in this process (ASGI) on a real Redis server: named accounts with argon2
passwords, server-side sessions that expire and end when the account is disabled, the CSRF token and the
Origin check on every form, no redirect taken from the request, named bearer tokens for the ops API, and an
audit log and timeline that name the person."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from config.settings import load_settings
from pipeline.adapters.dramatiq_queue import NAMESPACE
from pipeline.adapters.queue_stats import claims_in_flight
from pipeline.adapters.redis_ledger import Ledger
from pipeline.adapters.redis_server import embedded_redis
from pipeline.adapters.redis_staff import RedisStaffStore
from pipeline.application import amend_forms, staff, stages
from pipeline.domain.signature import sign
from pipeline.entrypoints import runtime
from pipeline.entrypoints.web.app import build_web_app
from tests.examples import example

SECRET = "page-security-secret"
TOKEN = "shared-ops-token"
ORIGIN = "http://testserver"
PASSWORD = "correct horse battery"


class Env:
    def __init__(self, url: str) -> None:
        self.url = url
        self.r = redis.Redis.from_url(url)
        self.store = RedisStaffStore(self.r)
        self.ledger = Ledger(self.r)

    def client(self, base_url: str = ORIGIN, **env: str) -> TestClient:
        with pytest.MonkeyPatch.context() as mp:
            for k, v in env.items():
                mp.setenv(k, v)
            return TestClient(build_web_app(load_settings()), base_url=base_url, follow_redirects=False)

    def parked_va_claim(self, tag: str) -> str:
        """A VA claim without its referral: needs attention with va_referral_missing."""
        doc = example("va_direct")
        doc["event_id"], doc["session"]["session_id"] = f"evt_{tag}", f"ses_{tag}"
        doc.pop("va_referral")
        body = json.dumps(doc).encode()
        answer = self.client().post("/v1/events", content=body,
                                    headers={"X-Signature": sign(SECRET, body, int(time.time()))})
        assert answer.status_code == 202, answer.text
        deps = runtime.deps()
        for step in (stages.validate, stages.assemble, stages.route, stages.dispatch):
            step(deps, f"ses_{tag}")
        claim = self.ledger.get(f"ses_{tag}")
        assert claim is not None and claim.status == "needs_attention"
        return claim.claim_id

    def adjudicated_va_claim(self, tag: str, status: str) -> str:
        """A VA claim the payer adjudicated (`paid` or `denied`) and numbered, as its remittance leaves it."""
        doc = example("va_direct")
        doc["event_id"], doc["session"]["session_id"] = f"evt_{tag}", f"ses_{tag}"
        body = json.dumps(doc).encode()
        answer = self.client().post("/v1/events", content=body,
                                    headers={"X-Signature": sign(SECRET, body, int(time.time()))})
        assert answer.status_code == 202, answer.text
        deps = runtime.deps()
        for step in (stages.validate, stages.assemble, stages.route):
            step(deps, f"ses_{tag}")
        assert self.ledger.transition(f"ses_{tag}", "routed", status, kind=f"remittance.{status}", fields={
            "payer_claim_number": f"PCN{tag}", "remittance_ids": ["rem_000001"],
            "paid_amount": "260.00" if status == "paid" else "0.00"})
        return f"ses_{tag}"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with embedded_redis(Path(tmp_path_factory.mktemp("redis"))) as url, pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDIS_URL", url)
        mp.setenv("SUPERBILL_OPS_TOKEN", TOKEN)
        mp.setenv("SUPERBILL_WEBHOOK_SECRET", SECRET)
        runtime._broker = None  # this module's own broker, on this module's Redis (and none left behind)
        runtime.reset()
        e = Env(url)
        staff.add_user(e.store, "mary", "Mary Front", password=PASSWORD)
        yield e
        runtime.reset()
        runtime._broker = None


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client: TestClient, username: str = "mary", password: str = PASSWORD) -> Any:
    form = client.get("/ops/login")
    return client.post("/ops/login", data={"csrf": csrf_of(form.text), "username": username, "password": password},
                       headers={"Origin": ORIGIN})


def flash(client: TestClient, path: str) -> str:
    page = client.get(path)
    match = re.search(r'class="flash[^"]*"[^>]*>([^<]+)', page.text)
    return match.group(1) if match else ""


def test_passwords_are_stored_as_argon2id_hashes_never_as_given(env: Env) -> None:
    raw = env.r.hget("sb:staff:user:mary", "password_hash")
    assert raw is not None and raw.decode().startswith("$argon2id$") and PASSWORD not in raw.decode()
    with pytest.raises(staff.StaffError, match="at least 12"):
        staff.add_user(env.store, "shorty", "S", password="short")
    with pytest.raises(staff.StaffError, match="exists already"):
        staff.add_user(env.store, "mary", "Another Mary", password=PASSWORD)


def test_sign_in_sets_a_server_side_session_in_a_strict_httponly_cookie(env: Env) -> None:
    client = env.client()
    wrong = sign_in(client, password="not the password")
    assert wrong.status_code == 401 and "do not match" in wrong.text
    assert "superbill_ops" not in client.cookies
    good = sign_in(client)
    assert good.status_code == 303 and good.headers["location"] == "/ops"
    cookie = next(c for c in good.headers.get_list("set-cookie") if c.startswith("superbill_ops="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ops" in cookie
    assert "Secure" not in cookie  # plain http here; see the HTTPS test
    token = cookie.split(";")[0].split("=", 1)[1]
    assert token != TOKEN and env.r.exists(f"sb:staff:session:{staff.digest(token)}")
    assert env.r.keys(f"*{token}*") == []  # only its SHA-256 is stored
    page = client.get("/ops")
    assert page.status_code == 200 and "Mary Front" in page.text
    policy = page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in policy
    nonce = re.search(r"script-src 'nonce-([^']+)'", policy)
    assert nonce and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert " onsubmit=" not in page.text and " onclick=" not in page.text  # no inline handlers to allow
    assert page.text.count("<script") == page.text.count(f'<script nonce="{nonce.group(1)}"')
    audit = env.store.audit_log(10)
    assert {"sign_in", "sign_in.failed"} <= {e["action"] for e in audit}


def test_the_old_token_sign_in_and_a_forged_cookie_are_refused(env: Env) -> None:
    client = env.client()
    assert client.post("/ops/login", data={"token": TOKEN}, headers={"Origin": ORIGIN}).status_code == 403
    assert client.get("/ops", cookies={"superbill_ops": TOKEN}).headers["location"] == "/ops/login"
    # the shared token still works as a bearer header (the contract's "behind the same token")
    assert client.get("/ops", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_form_from_another_origin_or_without_the_csrf_token_changes_nothing(env: Env) -> None:
    claim_id = env.parked_va_claim("csrf")
    client = env.client()
    sign_in(client)
    csrf = csrf_of(client.get(f"/ops/claims/{claim_id}").text)
    timeline = len(env.ledger.timeline(claim_id))
    attempts = [
        ({"csrf": csrf, "claim_id": claim_id, "anyway": "1"}, {"Origin": "http://127.0.0.1:9999"}),
        ({"csrf": csrf, "claim_id": claim_id, "anyway": "1"}, {"Origin": "null"}),
        ({"csrf": csrf, "claim_id": claim_id, "anyway": "1"}, {"Referer": "http://evil.example/page"}),
        ({"csrf": csrf, "claim_id": claim_id, "anyway": "1"}, {}),  # neither Origin nor Referer
        ({"claim_id": claim_id, "anyway": "1"}, {"Origin": ORIGIN}),  # no token
        ({"csrf": "guessed", "claim_id": claim_id, "anyway": "1"}, {"Origin": ORIGIN}),
    ]
    for data, headers in attempts:
        answer = client.post("/ops/resubmit", data=data, headers=headers)
        assert answer.status_code == 403, (data, headers)
    assert len(env.ledger.timeline(claim_id)) == timeline
    claim = env.ledger.get(claim_id)
    assert claim is not None and claim.status == "needs_attention"
    # the same form from the page's own origin, with its token, is taken
    assert client.post("/ops/resubmit", data={"csrf": csrf, "claim_id": claim_id, "anyway": "1"},
                       headers={"Referer": f"{ORIGIN}/ops/claims/{claim_id}"}).status_code == 303
    assert env.ledger.timeline(claim_id)[-1]["by"] == "Mary Front (mary)"
    refused = [e for e in env.store.audit_log(50) if e["action"] == "form.refused"]
    assert len(refused) >= len(attempts)


def test_nothing_selected_redirects_to_a_fixed_page_never_the_referer(env: Env) -> None:
    client = env.client()
    sign_in(client)
    csrf = csrf_of(client.get("/ops").text)
    for back in ("", "overview", "https://evil.example/", "//evil.example"):
        answer = client.post("/ops/resubmit", data={"csrf": csrf, "back": back},
                             headers={"Origin": ORIGIN, "Referer": f"{ORIGIN}//evil.example/x"})
        assert answer.status_code == 303 and answer.headers["location"] == "/ops", back
    answer = client.post("/ops/resubmit", data={"csrf": csrf, "back": "claims", "status": "failed", "q": "x"},
                         headers={"Origin": ORIGIN})
    assert answer.headers["location"].startswith("/ops/claims?")


def test_an_unchanged_needs_attention_claim_is_not_resubmitted_without_anyway(env: Env) -> None:
    claim_id = env.parked_va_claim("same")
    client = env.client()
    sign_in(client)
    csrf = csrf_of(client.get(f"/ops/claims/{claim_id}").text)
    client.post("/ops/resubmit", data={"csrf": csrf, "claim_id": claim_id}, headers={"Origin": ORIGIN})
    message = flash(client, f"/ops/claims/{claim_id}")
    assert "still needs attention for the same reasons: va_referral_missing" in message
    claim = env.ledger.get(claim_id)
    assert claim is not None and claim.status == "needs_attention" and claim.submission_no == 1
    api = client.post("/v1/ops/resubmit", json={"claim_ids": [claim_id]}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert api.json()["resubmitted"] == [] and api.json()["skipped"][0]["unchanged"] == "va_referral_missing"


def test_the_referral_form_previews_keeps_typed_input_on_error_and_saves(env: Env) -> None:
    claim_id = env.parked_va_claim("form")
    client = env.client()
    sign_in(client)
    page = client.get(f"/ops/claims/{claim_id}").text
    assert "No VA referral on file" in page and 'data-form="va_referral"' in page
    assert "John Doe" in page and "1970-01-01" in page and "123456789" in page  # who it is for
    csrf = csrf_of(page)
    form = {"csrf": csrf, "section": "va_referral", "action": "preview", "referral_number": "VA0012345678",
            "administrator": "optum", "approved_on": "2026-09-28", "valid_from": "2026-10-01",
            "valid_until": "2026-09-01", "visits_authorized": "12", "procedures": ["97124", "97140"]}
    preview = client.post(f"/ops/claims/{claim_id}/amend", data=form, headers={"Origin": ORIGIN})
    assert preview.status_code == 200
    assert re.search(r'id="preview-route">needs_attention<', preview.text)
    assert "Session outside the referral" in preview.text
    assert 'value="2026-09-01"' in preview.text  # what was typed, not the stored event
    bad = client.post(f"/ops/claims/{claim_id}/amend", data={**form, "action": "save", "approved_on": "soon"},
                      headers={"Origin": ORIGIN})
    assert bad.status_code == 422 and 'value="soon"' in bad.text
    # the error beside its field, marked invalid, and named by the field's label above the form (no JSON path)
    beside = re.search(r'name="approved_on" value="soon" id="va_referral-approved_on" required aria-invalid="true" '
                       r'aria-describedby="va_referral-approved_on-error"><span id="va_referral-approved_on-error">'
                       r'<span class="field-error" role="alert">([^<]+)</span>', bad.text)
    assert beside and "date" in beside.group(1).lower(), bad.text[-4000:]
    assert f"<li>Approved on: {beside.group(1)}</li>" in bad.text and "va_referral.approved_on" not in bad.text
    assert "amended" not in [e["kind"] for e in env.ledger.timeline(claim_id)]
    form["valid_until"] = "2026-12-30"
    good = client.post(f"/ops/claims/{claim_id}/amend", data=form, headers={"Origin": ORIGIN})
    assert re.search(r'id="preview-route">direct_billing<', good.text) and "Save amendment" in good.text
    saved = client.post(f"/ops/claims/{claim_id}/amend", data={**form, "action": "save"}, headers={"Origin": ORIGIN})
    assert saved.status_code == 303
    assert env.ledger.event_document(claim_id)["va_referral"]["visits_authorized"] == 12
    # the page says the reasons shown are those of the data before the amendment, and what the rules give now
    after = client.get(f"/ops/claims/{claim_id}").text
    note = re.search(r'<p class="flash" id="since-amended">(.*?)</p>', after)
    assert note and "amended after these reasons were found" in note.group(1)
    assert "no problems: it would go to <b>direct_billing</b>" in note.group(1)
    amended = [e for e in env.ledger.timeline(claim_id) if e["kind"] == "amended"]
    assert amended[-1]["by"] == "Mary Front (mary)" and amended[-1]["changed"] == ["va_referral"]
    assert any(e["action"] == "claim.amended" and e["claim_id"] == claim_id and e["name"] == "Mary Front"
               for e in env.store.audit_log(20))


def based_on_of(html: str, section: str) -> str:
    form = re.search(rf'data-section="{section}">(.*?)</form>', html, re.S)
    assert form, f"no {section} form on the page"
    match = re.search(r'name="based_on" value="([^"]+)"', form.group(1))
    assert match, f"the {section} form does not say which version of the claim it was opened at"
    return match.group(1)


def test_two_tabs_on_one_claim_never_overwrite_each_other_silently(env: Env) -> None:
    """Tab A and tab B open the same claim; A saves a referral; B, still showing the old data, saves its own
    referral: B is refused (409) with what it typed kept and a way to see A's change; nothing of A's is lost.
    A preview in between does not move the form onto the newer data."""
    claim_id = env.parked_va_claim("tabs")
    client = env.client()
    sign_in(client)
    tab_a, tab_b = client.get(f"/ops/claims/{claim_id}").text, client.get(f"/ops/claims/{claim_id}").text
    referral = {"section": "va_referral", "administrator": "optum", "approved_on": "2026-09-28",
                "valid_from": "2026-10-01", "valid_until": "2026-12-30", "procedures": ["97124", "97140"]}
    saved = client.post(f"/ops/claims/{claim_id}/amend", headers={"Origin": ORIGIN}, data={
        **referral, "csrf": csrf_of(tab_a), "based_on": based_on_of(tab_a, "va_referral"), "action": "save",
        "referral_number": "VA0012345678", "visits_authorized": "12"})
    assert saved.status_code == 303
    stale = {**referral, "csrf": csrf_of(tab_b), "based_on": based_on_of(tab_b, "va_referral"),
             "referral_number": "VA0099999999", "visits_authorized": "6"}
    preview = client.post(f"/ops/claims/{claim_id}/amend", data={**stale, "action": "preview"},
                          headers={"Origin": ORIGIN})
    assert based_on_of(preview.text, "va_referral") == based_on_of(tab_b, "va_referral")  # still tab B's version
    refused = client.post(f"/ops/claims/{claim_id}/amend", data={**stale, "action": "save"}, headers={"Origin": ORIGIN})
    assert refused.status_code == 409
    assert "amended after you opened it" in refused.text and 'value="VA0099999999"' in refused.text
    assert env.ledger.event_document(claim_id)["va_referral"]["referral_number"] == "VA0012345678"
    assert len([e for e in env.ledger.timeline(claim_id) if e["kind"] == "amended"]) == 1
    # reloaded, tab B sees A's referral and may change it
    tab_b = client.get(f"/ops/claims/{claim_id}").text
    assert 'value="VA0012345678"' in tab_b
    again = client.post(f"/ops/claims/{claim_id}/amend", headers={"Origin": ORIGIN}, data={
        **stale, "csrf": csrf_of(tab_b), "based_on": based_on_of(tab_b, "va_referral"), "action": "save"})
    assert again.status_code == 303
    assert env.ledger.event_document(claim_id)["va_referral"]["visits_authorized"] == 6
    # tab A resubmits it and it is on its way to the clearinghouse; tab B, still showing the forms, saves once
    # more: not saved, and the page says so (it has no form left to say it beside)
    tab_b = client.get(f"/ops/claims/{claim_id}").text
    client.post("/ops/resubmit", data={"csrf": csrf_of(tab_b), "claim_id": claim_id}, headers={"Origin": ORIGIN})
    flash(client, f"/ops/claims/{claim_id}")  # tab A reads "Resubmitted 1 claim(s)."
    for step in (stages.validate, stages.assemble, stages.route):
        step(runtime.deps(), claim_id)
    assert env.ledger.get(claim_id).status == "routed"  # type: ignore[union-attr]
    moved_on = client.post(f"/ops/claims/{claim_id}/amend", headers={"Origin": ORIGIN}, data={
        **stale, "csrf": csrf_of(tab_b), "based_on": based_on_of(tab_b, "va_referral"), "action": "save",
        "visits_authorized": "7"})
    assert moved_on.status_code == 303
    said = flash(client, f"/ops/claims/{claim_id}")
    assert said.startswith("Not saved: a claim in status routed cannot be amended in place"), said
    assert env.ledger.event_document(claim_id)["va_referral"]["visits_authorized"] == 6


def section_form(html: str, section: str) -> str:
    form = re.search(rf'data-section="{section}">(.*?)</form>', html, re.S)
    assert form, f"no {section} form on the page"
    return form.group(1)


def test_a_claim_the_payer_paid_is_corrected_in_the_section_forms(env: Env) -> None:
    """A paid claim's page has the same forms as an amendment, each sending a corrected claim (frequency 7) once
    its preview is good, never an amendment in place; a mistyped field is said beside it and nothing is sent; the
    corrected claim names the person on the timeline and the audit log; a page left open after it was sent sends
    nothing more."""
    claim_id = env.adjudicated_va_claim("corr", "paid")
    client = env.client()
    sign_in(client)
    page = client.get(f"/ops/claims/{claim_id}").text
    assert 'id="correct-here"' in page and "Void this claim" in page and 'aria-label="correction"' not in page
    coverage = section_form(page, "coverage")
    assert "Save amendment" not in page and "Send as a corrected claim</button>" not in coverage  # preview first
    document = env.ledger.event_document(claim_id)
    typed = {**amend_forms.form_values("coverage", document), "member_id": "987654321", "section": "coverage",
             "based_on": based_on_of(page, "coverage"), "csrf": csrf_of(page)}
    preview = client.post(f"/ops/claims/{claim_id}/amend", data={**typed, "action": "preview"},
                          headers={"Origin": ORIGIN})
    assert preview.status_code == 200 and re.search(r'id="preview-route">direct_billing<', preview.text)
    coverage = section_form(preview.text, "coverage")
    assert (f'formaction="/ops/claims/{claim_id}/correct#fix" data-confirm="Send a corrected claim that replaces '
            f'payer claim PCNcorr?">Send as a corrected claim</button>') in coverage
    assert "Save amendment" not in preview.text and 'value="987654321"' in coverage
    assert "Nothing is saved until you press Send as a corrected claim." in coverage

    # a date of birth typed wrong in the client form: said beside the field, nothing sent
    client_form = {**amend_forms.form_values("client", document), "date_of_birth": "soon", "section": "client",
                   "based_on": typed["based_on"], "csrf": typed["csrf"], "action": "correct"}
    bad = client.post(f"/ops/claims/{claim_id}/correct", data=client_form, headers={"Origin": ORIGIN})
    assert bad.status_code == 422
    said = section_form(bad.text, "client")
    assert 'id="correction-errors">Not sent:' in said and 'value="soon"' in said
    assert re.search(r'name="date_of_birth" value="soon" id="client-date_of_birth" required aria-invalid="true"', said)
    assert env.ledger.get(claim_id).status == "paid"  # type: ignore[union-attr]

    sent = client.post(f"/ops/claims/{claim_id}/correct", data={**typed, "action": "correct"},
                       headers={"Origin": ORIGIN})
    assert sent.status_code == 303 and sent.headers["location"] == f"/ops/claims/{claim_id}"
    assert flash(client, sent.headers["location"]).startswith(
        "A corrected claim of payer claim PCNcorr is on its way (submission #2)")
    after = env.ledger.get(claim_id)
    assert after is not None and (after.status, after.frequency_code, after.submission_no) == ("received", "7", 2)
    assert env.ledger.event_document(claim_id)["coverage"]["member_id"] == "987654321"
    [amended] = [e for e in env.ledger.timeline(claim_id) if e["kind"] == "amended"]
    [resent] = [e for e in env.ledger.timeline(claim_id) if e["kind"] == "resubmitted"]
    assert amended["by"] == resent["by"] == "Mary Front (mary)" and amended["changed"] == ["coverage"]
    assert any(e["action"] == "claim.corrected" and e["claim_id"] == claim_id and e["name"] == "Mary Front"
               and e["changed"] == ["coverage"] for e in env.store.audit_log(20))
    # the same form, sent again from the page left open: the claim is on its way, nothing more is sent
    again = client.post(f"/ops/claims/{claim_id}/correct", data={**typed, "action": "correct"},
                        headers={"Origin": ORIGIN})
    assert again.status_code == 303
    assert flash(client, f"/ops/claims/{claim_id}") == ("Not sent: a claim in status received cannot be corrected; "
                                                        "only paid, denied, accepted claims can.")
    assert [e["kind"] for e in env.ledger.timeline(claim_id)].count("resubmitted") == 1
    # without the CSRF token: refused, nothing changed
    forged = client.post(f"/ops/claims/{claim_id}/correct", data={k: v for k, v in typed.items() if k != "csrf"},
                         headers={"Origin": ORIGIN})
    assert forged.status_code == 403


def test_a_corrected_claim_from_a_tab_opened_before_an_amendment_is_not_sent(env: Env) -> None:
    """A denied claim can be amended (then resubmitted) or sent as a corrected claim: tab A saves an amendment;
    tab B, opened before it, sends a corrected claim with its own data: refused (409), what it typed kept, nothing
    sent; reloaded, it sends the corrected claim with A's amendment in it."""
    claim_id = env.adjudicated_va_claim("corr2", "denied")
    client = env.client()
    sign_in(client)
    tab_a, tab_b = client.get(f"/ops/claims/{claim_id}").text, client.get(f"/ops/claims/{claim_id}").text
    document = env.ledger.event_document(claim_id)
    coverage = amend_forms.form_values("coverage", document)
    saved = client.post(f"/ops/claims/{claim_id}/amend", headers={"Origin": ORIGIN}, data={
        **coverage, "member_id": "111111111", "section": "coverage", "based_on": based_on_of(tab_a, "coverage"),
        "csrf": csrf_of(tab_a), "action": "save"})
    assert saved.status_code == 303
    stale = {**amend_forms.form_values("session", document), "therapist_id": "thr_lee", "section": "session",
             "based_on": based_on_of(tab_b, "session"), "csrf": csrf_of(tab_b)}
    preview = client.post(f"/ops/claims/{claim_id}/amend", data={**stale, "action": "preview"},
                          headers={"Origin": ORIGIN})
    assert "Save amendment" in preview.text and "Send as a corrected claim</button>" in section_form(preview.text,
                                                                                                     "session")
    refused = client.post(f"/ops/claims/{claim_id}/correct", data={**stale, "action": "correct"},
                          headers={"Origin": ORIGIN})
    assert refused.status_code == 409
    said = section_form(refused.text, "session")
    assert "Not sent:" in said and "amended after you opened it" in said and 'value="thr_lee"' in said
    claim = env.ledger.get(claim_id)
    assert claim is not None and (claim.status, claim.submission_no) == ("denied", 1)
    assert env.ledger.event_document(claim_id)["session"]["therapist_id"] == document["session"]["therapist_id"]
    tab_b = client.get(f"/ops/claims/{claim_id}").text
    assert 'value="111111111"' in section_form(tab_b, "coverage")
    sent = client.post(f"/ops/claims/{claim_id}/correct", headers={"Origin": ORIGIN}, data={
        **stale, "based_on": based_on_of(tab_b, "session"), "csrf": csrf_of(tab_b), "action": "correct"})
    assert sent.status_code == 303
    stored = env.ledger.event_document(claim_id)
    assert (stored["coverage"]["member_id"], stored["session"]["therapist_id"]) == ("111111111", "thr_lee")
    claim = env.ledger.get(claim_id)
    assert claim is not None and (claim.status, claim.frequency_code) == ("received", "7")


def test_search_finds_a_claim_by_client_name_member_id_and_date(env: Env) -> None:
    claim_id = env.parked_va_claim("find")
    client = env.client()
    sign_in(client)
    for query in ("doe", "John Doe", "123456789", "2026-11-20", "11/20/2026", claim_id):
        page = client.get("/ops/claims", params={"q": query}).text
        assert f'data-claim="{claim_id}"' in page, query
    assert f'data-claim="{claim_id}"' not in client.get("/ops/claims", params={"q": "Smithers"}).text
    assert client.get("/ops/claims", params={"q": "doe"}, follow_redirects=False).status_code == 200
    assert env.client().get("/ops/claims", params={"q": "doe"}).status_code == 303  # not signed in: no data
    api = env.client().get("/v1/ops/claims", params={"q": "john doe 11/20/2026"},
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert claim_id in [row["claim_id"] for row in api.json()["claims"]]


def test_disabling_a_person_ends_their_sessions_and_tokens_at_once(env: Env) -> None:
    staff.add_user(env.store, "june", "June Desk", password=PASSWORD)
    client = env.client()
    assert sign_in(client, "june").status_code == 303
    token = staff.issue_api_token(env.store, "june", label="scripts")
    api = env.client()
    assert api.get("/v1/ops/summary", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/ops").status_code == 200
    ended = staff.disable_user(env.store, "june")
    assert ended == {"sessions_ended": 1, "tokens_revoked": 1}
    assert client.get("/ops").headers["location"] == "/ops/login"
    assert api.get("/v1/ops/summary", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert sign_in(env.client(), "june").status_code == 401


def test_sign_out_ends_the_session_on_the_server(env: Env) -> None:
    client = env.client()
    answer = sign_in(client)
    token = answer.cookies.get("superbill_ops") or client.cookies.get("superbill_ops")
    csrf = csrf_of(client.get("/ops").text)
    assert client.post("/ops/logout", data={"csrf": csrf}, headers={"Origin": ORIGIN}).status_code == 303
    assert not env.r.exists(f"sb:staff:session:{staff.digest(token)}")
    replayed = env.client()
    assert replayed.get("/ops", cookies={"superbill_ops": token}).headers["location"] == "/ops/login"


def test_an_idle_session_expires(env: Env) -> None:
    client = env.client(SUPERBILL_OPS_SESSION_IDLE_MINUTES="0.02")  # 1.2 s
    token = sign_in(client).cookies["superbill_ops"]
    key = f"sb:staff:session:{staff.digest(token)}"
    assert client.get("/ops").status_code == 200
    assert 0 < env.r.pttl(key) <= 1200  # each request pushes the idle expiry back by 1.2 s
    deadline = time.monotonic() + 10
    while env.r.exists(key):  # watched without a request, which would keep it alive
        assert time.monotonic() < deadline, "the idle session never expired"
        time.sleep(0.1)
    assert client.get("/ops").headers["location"] == "/ops/login"


def test_an_overview_left_open_does_not_keep_its_session_alive(env: Env) -> None:
    """The overview fetches /ops/live every 15 s by itself: that is not the person at the desk, so a screen left
    open still signs out after the idle time (and its script then leaves the page for the sign-in page, taking the
    clients' names off the screen)."""
    client = env.client(SUPERBILL_OPS_SESSION_IDLE_MINUTES="0.05")  # 3 s
    token = sign_in(client).cookies["superbill_ops"]
    key = f"sb:staff:session:{staff.digest(token)}"
    overview = client.get("/ops")
    assert "location.replace('/ops/login')" in overview.text  # what the page does with a 401 from /ops/live
    env.r.pexpire(key, 1000)  # as if the person last did something 2 s ago
    live = client.get("/ops/live")
    assert live.status_code == 200 and 0 < env.r.pttl(key) <= 1000  # served, the idle expiry not pushed back
    deadline = time.monotonic() + 10
    while env.r.exists(key):
        assert time.monotonic() < deadline, "the idle session never expired"
        time.sleep(0.1)
    assert (client.get("/ops/live").status_code, client.get("/ops").headers["location"]) == (401, "/ops/login")


def test_behind_https_the_cookie_is_secure_and_only_that_origin_may_post(env: Env) -> None:
    # the proxy in front terminates TLS and passes the request on; the page's public address is set
    client = env.client("https://ops.practice.example", SUPERBILL_PUBLIC_URL="https://ops.practice.example")
    form = client.get("/ops/login")
    answer = client.post("/ops/login", data={"csrf": csrf_of(form.text), "username": "mary", "password": PASSWORD},
                         headers={"Origin": ORIGIN})
    assert answer.status_code == 403  # the page is served as https://ops.practice.example
    answer = client.post("/ops/login", data={"csrf": csrf_of(form.text), "username": "mary", "password": PASSWORD},
                         headers={"Origin": "https://ops.practice.example"})
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("superbill_ops="))
    assert answer.status_code == 303 and "Secure" in cookie


def test_too_many_failed_sign_ins_lock_the_name_for_a_while(env: Env) -> None:
    staff.add_user(env.store, "guessme", "Guess Me", password=PASSWORD)
    client = env.client()
    for _ in range(staff.FAILED_SIGN_INS_ALLOWED):
        assert sign_in(client, "guessme", "wrong password!!").status_code == 401
    locked = sign_in(client, "guessme")
    assert locked.status_code == 401 and "Too many failed attempts" in locked.text


def test_named_bearer_tokens_for_the_ops_api_record_who_did_it(env: Env) -> None:
    claim_id = env.parked_va_claim("api")
    staff.add_user(env.store, "sync", "Billing sync", password=None, kind="service")
    token = staff.issue_api_token(env.store, "sync")
    api = env.client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/v1/ops/summary", headers={"Authorization": "Bearer sbo_made_up"}).status_code == 401
    referral = example("va_direct")["va_referral"]
    answer = api.post(f"/v1/ops/claims/{claim_id}/amend", json={"va_referral": referral}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert env.ledger.timeline(claim_id)[-1]["by"] == "Billing sync (sync)"
    # a service account cannot sign in to the page
    assert sign_in(env.client(), "sync", "").status_code == 401


def test_a_refused_event_is_read_corrected_and_replayed_from_the_page(env: Env) -> None:
    doc = example("self_pay")
    doc["event_id"], doc["session"]["session_id"] = "evt_refpage", "ses_refpage"
    doc["session"]["services"][0]["cpt"] = "97110"
    body = json.dumps(doc).encode()
    refused = env.client().post("/v1/events", content=body,
                                headers={"X-Signature": sign(SECRET, body, int(time.time()))})
    assert refused.status_code == 422
    refused_id = refused.json()["refused_id"]
    client = env.client()
    sign_in(client)
    assert f'href="/ops/refused/{refused_id}"' in client.get("/ops/refused").text
    page = client.get(f"/ops/refused/{refused_id}").text
    assert "session.services[0].cpt" in page and "97110" in page
    csrf = csrf_of(page)
    again = client.post(f"/ops/refused/{refused_id}/replay", data={"csrf": csrf}, headers={"Origin": ORIGIN})
    assert again.headers["location"] == f"/ops/refused/{refused_id}"
    assert "Still refused (HTTP 422" in flash(client, f"/ops/refused/{refused_id}")
    doc["session"]["services"][0]["cpt"] = "97124"
    fixed = client.post(f"/ops/refused/{refused_id}/replay", data={"csrf": csrf, "body": json.dumps(doc)},
                        headers={"Origin": ORIGIN})
    assert fixed.headers["location"] == "/ops/claims/ses_refpage"
    assert env.ledger.get("ses_refpage") is not None
    assert any(e["action"] == "refused.replayed" and e["refused_id"] == refused_id and e.get("corrected")
               for e in env.store.audit_log(20))
    # the list and the event say what the replay became in words, the claim a link: never the raw answer
    replayed_as = 'replayed as claim <a href="/ops/claims/ses_refpage">ses_refpage</a>'
    listed, shown = client.get("/ops/refused").text, client.get(f"/ops/refused/{refused_id}").text
    assert replayed_as in listed and f'<p id="last-replay">Last replay: {replayed_as}</p>' in shown
    assert '"http_status"' not in listed and "&quot;http_status&quot;" not in listed + shown

    # replayed once as a claim: from the page, a second replay says so and sends nothing
    twice = client.post(f"/ops/refused/{refused_id}/replay", data={"csrf": csrf}, headers={"Origin": ORIGIN})
    assert twice.headers["location"] == "/ops/claims/ses_refpage"
    assert f"{refused_id} was already replayed as this claim" in flash(client, "/ops/claims/ses_refpage")
    # the API answers 409 naming the claim, and replays it on purpose with ?again=true
    staff.add_user(env.store, "replayer", "Replay sync", password=None, kind="service")
    headers = {"Authorization": f"Bearer {staff.issue_api_token(env.store, 'replayer')}"}
    api = env.client()
    answer = api.post(f"/v1/ops/refused/{refused_id}/replay", content=json.dumps(doc), headers=headers)
    assert (answer.status_code, answer.json()["status"], answer.json()["claim_id"]) == (
        409, "already_replayed", "ses_refpage")
    answer = api.post(f"/v1/ops/refused/{refused_id}/replay?again=true", content=json.dumps(doc), headers=headers)
    assert answer.status_code in (200, 202) and answer.json()["claim_id"] == "ses_refpage", answer.text


def test_dead_letters_are_listed_and_cleared_and_the_overview_refreshes_its_lists(env: Env) -> None:
    queue = "submit_direct"
    message = {"queue_name": queue, "actor_name": "submit_direct", "args": ["ses_deadone"], "kwargs": {},
               "options": {"retries": 12}, "message_id": "m-dead-1", "message_timestamp": 1}
    env.r.zadd(f"{NAMESPACE}:{queue}.XQ", {"m-dead-1": time.time() * 1000})
    env.r.hset(f"{NAMESPACE}:{queue}.XQ.msgs", "m-dead-1", json.dumps(message))
    parked = env.parked_va_claim("deadlive")  # a claim to resubmit: the refreshed lists carry their forms
    client = env.client()
    sign_in(client)
    overview = client.get("/ops").text
    assert f'href="/ops/dead/{queue}"' in overview and "refreshes itself every 15 s" in overview
    live = client.get("/ops/live")
    assert live.status_code == 200 and 'id="failed"' in live.text and f'href="/ops/dead/{queue}"' in live.text
    assert parked in live.text and csrf_of(live.text)  # its forms work after a refresh
    assert env.client().get("/ops/live").status_code == 401
    page = client.get(f"/ops/dead/{queue}").text
    assert "m-dead-1" in page and 'href="/ops/claims/ses_deadone"' in page
    cleared = client.post(f"/ops/dead/{queue}/clear", data={"csrf": csrf_of(page)}, headers={"Origin": ORIGIN})
    assert cleared.status_code == 303
    assert env.r.zcard(f"{NAMESPACE}:{queue}.XQ") == 0 and not env.r.hexists(f"{NAMESPACE}:{queue}.XQ.msgs", "m-dead-1")
    assert "Cleared 1 dead letter(s)" in flash(client, "/ops")
    assert "dead_letters.cleared" in client.get("/ops/audit").text
    # a queue that does not exist is said so, and clearing it writes nothing in the audit log
    assert client.get("/ops/dead/no_such_queue").status_code == 404
    before = len(env.store.audit_log(200))
    refused = client.post("/ops/dead/no_such_queue/clear", data={"csrf": csrf_of(client.get("/ops").text)},
                          headers={"Origin": ORIGIN})
    assert refused.status_code == 303 and "There is no queue no_such_queue" in flash(client, "/ops")
    assert len(env.store.audit_log(200)) == before


def test_dead_letters_are_retried_from_the_page_only_where_the_claim_still_needs_the_step(env: Env) -> None:
    parked = env.parked_va_claim("deadparked")  # needs attention: needs no step
    doc = example("va_direct")
    doc["event_id"], doc["session"]["session_id"] = "evt_deadwaiting", "ses_deadwaiting"
    body = json.dumps(doc).encode()
    assert env.client().post("/v1/events", content=body, headers={
        "X-Signature": sign(SECRET, body, int(time.time()))}).status_code == 202
    env.r.delete(f"{NAMESPACE}:validate", f"{NAMESPACE}:validate.msgs")  # its validate message is lost: dead
    for n, claim_id in enumerate(("ses_deadwaiting", parked)):
        message = {"queue_name": "validate", "actor_name": "validate", "args": [claim_id], "kwargs": {},
                   "options": {"retries": 20}, "message_id": f"m-v{n}", "message_timestamp": 1}
        env.r.zadd(f"{NAMESPACE}:validate.XQ", {f"m-v{n}": time.time() * 1000 + n})
        env.r.hset(f"{NAMESPACE}:validate.XQ.msgs", f"m-v{n}", json.dumps(message))
    client = env.client()
    sign_in(client)
    page = client.get("/ops/dead/validate").text
    assert 'action="/ops/dead/validate/retry" data-confirm=' in page and "Retry them" in page
    retried = client.post("/ops/dead/validate/retry", data={"csrf": csrf_of(page)}, headers={"Origin": ORIGIN})
    assert (retried.status_code, retried.headers["location"]) == (303, "/ops/dead/validate")
    said = flash(client, "/ops/dead/validate")
    assert "Retried 1 dead letter(s) of validate; skipped 1" in said and "the claim is needs_attention" in said
    assert env.r.zrange(f"{NAMESPACE}:validate.XQ", 0, -1) == [b"m-v1"]  # the skipped one is kept
    assert "ses_deadwaiting" in claims_in_flight(env.r)  # its validate is queued on the broker again
    entry = next(e for e in env.store.audit_log(20) if e["action"] == "dead_letters.retried")
    assert entry["message_ids"] == ["m-v0"] and entry["skipped"] == 1 and entry["name"] == "Mary Front"
    env.r.delete(f"{NAMESPACE}:validate", f"{NAMESPACE}:validate.msgs", f"{NAMESPACE}:validate.XQ",
                 f"{NAMESPACE}:validate.XQ.msgs")


def test_every_page_asks_to_sign_in_and_every_form_is_refused_without_a_session(env: Env) -> None:
    client = env.client()
    pages = ["/ops", "/ops/claims?status=failed", "/ops/export", "/ops/claims/ses_x", "/ops/claims/ses_x/statement",
             "/ops/statement", "/ops/remittances", "/ops/remittances/rem_x", "/ops/ar", "/ops/refused",
             "/ops/refused/ref_x", "/ops/dead/validate", "/ops/audit"]
    forms = ["/ops/logout", "/ops/claims/ses_x/statement/send", "/ops/claims/ses_x/amend", "/ops/claims/ses_x/correct",
             "/ops/claims/ses_x/void", "/ops/resubmit", "/ops/refused/ref_x/replay", "/ops/dead/validate/clear",
             "/ops/dead/validate/retry"]
    for path in pages:
        answer = client.get(path)
        assert (answer.status_code, answer.headers.get("location")) == (303, "/ops/login"), path
    live = client.get("/ops/live")
    assert (live.status_code, live.text) == (401, "sign in first")  # the overview's fragment: no redirect
    for path in forms:  # a page left open past its session: a page that says nothing was taken, and the way back
        answer = client.post(path, data={"csrf": "x"}, headers={"Origin": ORIGIN})
        assert answer.status_code == 401, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert "Sign in first: nothing was changed." in answer.text, path
        assert 'href="/ops/login"' in answer.text and 'action="/ops/logout"' not in answer.text, path
    # signed in, a form without its token is refused with the page that says why, and audited
    sign_in(client)
    assert client.get("/ops/claims/ses_x").status_code == 404
    before = len([e for e in env.store.audit_log(200) if e["action"] == "form.refused"])
    answer = client.post("/ops/dead/validate/clear", data={}, headers={"Origin": ORIGIN})
    assert answer.status_code == 403 and "Nothing was changed." in answer.text
    assert '<a class="btn" href="/ops">Back to the overview</a>' in answer.text  # not a dead end
    assert len([e for e in env.store.audit_log(200) if e["action"] == "form.refused"]) == before + 1


def test_a_void_from_a_page_opened_before_an_amendment_is_not_sent(env: Env) -> None:
    """The void button carries the version of the claim its page shows: pressed on a page opened before someone
    amended the claim, nothing is sent and the page says why; reloaded, the void goes."""
    claim_id = env.adjudicated_va_claim("void2", "denied")
    client = env.client()
    sign_in(client)
    tab_a, tab_b = client.get(f"/ops/claims/{claim_id}").text, client.get(f"/ops/claims/{claim_id}").text
    document = env.ledger.event_document(claim_id)
    saved = client.post(f"/ops/claims/{claim_id}/amend", headers={"Origin": ORIGIN}, data={
        **amend_forms.form_values("coverage", document), "member_id": "111111111", "section": "coverage",
        "based_on": based_on_of(tab_a, "coverage"), "csrf": csrf_of(tab_a), "action": "save"})
    assert saved.status_code == 303 and flash(client, f"/ops/claims/{claim_id}").startswith("Amended (coverage)")
    void_form = re.search(rf'<form method="post" action="/ops/claims/{claim_id}/void"[^>]*>(.*?)</form>', tab_b, re.S)
    assert void_form, "no void button on the page"
    stale = dict(re.findall(r'name="(\w+)" value="([^"]*)"', void_form.group(1)))
    assert stale.get("based_on") == based_on_of(tab_b, "coverage")
    refused = client.post(f"/ops/claims/{claim_id}/void", data={**stale, "csrf": csrf_of(tab_b)},
                          headers={"Origin": ORIGIN})
    assert refused.status_code == 303
    said = flash(client, f"/ops/claims/{claim_id}")
    assert said.startswith("Not sent: this claim&#x27;s data was amended after you opened it") and said.endswith(
        "then void it if it should still go."), said
    claim = env.ledger.get(claim_id)
    assert claim is not None and (claim.status, claim.submission_no) == ("denied", 1)
    # the API's void takes the same `?based_on=`
    api = env.client().post(f"/v1/ops/claims/{claim_id}/void", params={"based_on": stale["based_on"]},
                            headers={"Authorization": f"Bearer {TOKEN}"})
    assert api.status_code == 409 and api.json()["errors"][0]["path"] == "based_on", api.text
    claim = env.ledger.get(claim_id)
    assert claim is not None and (claim.status, claim.submission_no) == ("denied", 1)
    fresh = client.get(f"/ops/claims/{claim_id}").text
    void_form = re.search(rf'<form method="post" action="/ops/claims/{claim_id}/void"[^>]*>(.*?)</form>', fresh, re.S)
    assert void_form
    sent = client.post(f"/ops/claims/{claim_id}/void", headers={"Origin": ORIGIN}, data={
        **dict(re.findall(r'name="(\w+)" value="([^"]*)"', void_form.group(1))), "csrf": csrf_of(fresh)})
    assert sent.status_code == 303
    claim = env.ledger.get(claim_id)
    assert claim is not None and (claim.status, claim.frequency_code, claim.submission_no) == ("received", "8", 2)
