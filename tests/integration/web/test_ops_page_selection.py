"""README: on the ops page's overview every failed, rejected and needs-attention claim has a Resubmit button
"or select several": the selected claims, and only they, are resubmitted. The web app runs in this process on
a real Redis server; the claims were made by the pipeline's own steps. Mary signs in with her own account;
the claims still miss their referral, so they are resubmitted "anyway" (an unfixed claim is otherwise
skipped)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from config.settings import load_settings
from pipeline.adapters.redis_client import connect
from pipeline.adapters.redis_server import embedded_redis
from pipeline.adapters.redis_staff import RedisStaffStore
from pipeline.application import staff
from pipeline.entrypoints import runtime
from pipeline.entrypoints.web.app import build_web_app
from tests.integration.application.harness import InlinePipeline

TOKEN = "ops-page-token"
ORIGIN = "https://testserver"
PASSWORD = "front desk password 1"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


@contextmanager
def mary_signed_in(url: str, mp: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The web app on the Redis at `url`, with Mary's account, signed in to the ops page: its client."""
    mp.setenv("REDIS_URL", url)
    mp.setenv("SUPERBILL_OPS_TOKEN", TOKEN)
    mp.setenv("SUPERBILL_WEBHOOK_SECRET", "secret")
    runtime.reset()
    try:
        staff.add_user(RedisStaffStore(connect(url)), "mary", "Mary Front", password=PASSWORD)
        client = TestClient(build_web_app(load_settings()), base_url=ORIGIN, headers={"Origin": ORIGIN})
        form = client.get("/ops/login")
        signed = client.post("/ops/login", follow_redirects=False,
                             data={"csrf": csrf_of(form.text), "username": "mary", "password": PASSWORD})
        assert signed.status_code == 303 and signed.headers["location"] == "/ops"
        yield client
    finally:
        runtime.reset()


def hidden_fields(html: str, start: str) -> dict[str, str]:
    """The CSRF token and claim version of the form that begins at `start` on the page."""
    form = html[html.index(start):]
    form = form[:form.index("</form>")]
    return dict(re.findall(r'name="(csrf|based_on)" value="([^"]*)"', form))


@pytest.fixture
def page(tmp_path: Path) -> Iterator[tuple[TestClient, InlinePipeline]]:
    with embedded_redis(tmp_path / "redis") as url, pytest.MonkeyPatch.context() as mp:
        pipeline = InlinePipeline(url)
        for n in (1, 2, 3):
            pipeline.park(f"ses_sel{n}")
        with mary_signed_in(url, mp) as client:
            yield client, pipeline


def test_the_overview_offers_each_claim_that_needs_a_person_for_selection(
        page: tuple[TestClient, InlinePipeline]) -> None:
    client, _ = page
    html = client.get("/ops").text
    boxes = re.findall(r'<input type="checkbox" name="claim_id" value="([^"]+)"', html)
    assert sorted(boxes) == ["ses_sel1", "ses_sel2", "ses_sel3"]


def test_resubmitting_a_selection_resubmits_exactly_the_selected_claims(
        page: tuple[TestClient, InlinePipeline]) -> None:
    client, pipeline = page
    answer = client.post("/ops/resubmit", data={"claim_id": ["ses_sel1", "ses_sel3"], "anyway": "1",
                                                "csrf": csrf_of(client.get("/ops").text)})
    assert answer.status_code == 200
    assert "Resubmitted 2 claim(s)." in answer.text
    claims = {cid: pipeline.claim(cid) for cid in ("ses_sel1", "ses_sel2", "ses_sel3")}
    assert {cid: (c.status, c.submission_no) for cid, c in claims.items()} == {
        "ses_sel1": ("received", 2), "ses_sel2": ("needs_attention", 1), "ses_sel3": ("received", 2)}


def test_a_claim_selected_twice_is_resubmitted_once(page: tuple[TestClient, InlinePipeline]) -> None:
    client, pipeline = page
    answer = client.post("/ops/resubmit", data={"claim_id": ["ses_sel2", "ses_sel2"], "anyway": "1",
                                                "csrf": csrf_of(client.get("/ops").text)})
    assert "Resubmitted 1 claim(s)." in answer.text
    assert pipeline.claim("ses_sel2").submission_no == 2


@pytest.mark.parametrize(("query", "said"), [
    ({"status": "needs_attenton"}, "status: 'needs_attenton' is not one of"),
    ({"since": "2026-13-45"}, "since: '2026-13-45' is not a date (YYYY-MM-DD)"),
    ({"until": "20261130"}, "until: '20261130' is not a date (YYYY-MM-DD)"),
    ({"since": "2026-11-30", "until": "2026-11-01"}, "until: 2026-11-01 is before since (2026-11-30)"),
])
def test_a_filter_the_page_cannot_read_lists_and_resubmits_nothing(
        page: tuple[TestClient, InlinePipeline], query: dict[str, str], said: str) -> None:
    """A mistyped or edited link is said, as the ops API's 422 says it: never dropped quietly, which would list
    every claim and make "Resubmit all matching" resubmit more than was asked for."""
    client, pipeline = page
    listed = client.get("/ops/claims", params={**query, "problem": "va_referral_missing"})
    assert listed.status_code == 422
    assert said in listed.text.replace("&#x27;", "'")
    assert 'data-claim="' not in listed.text and "Resubmit all matching" not in listed.text
    assert 'name="problem" value="va_referral_missing"' in listed.text  # the filter as typed, to correct
    answer = client.post("/ops/resubmit", data={**query, "all_matching": "1", "anyway": "1", "back": "claims",
                                                "csrf": csrf_of(client.get("/ops").text)})
    assert answer.status_code == 422 and "Nothing resubmitted: the filter cannot be used" in answer.text
    assert {pipeline.claim(f"ses_sel{n}").submission_no for n in (1, 2, 3)} == {1}


@pytest.mark.parametrize(("code", "said"), [
    ("va_referal_missing", "problem: unknown problem code 'va_referal_missing' (known: "),
    ("balance_due", "problem: balance_due is a warning code, not a problem"),
])
def test_a_problem_filter_that_is_no_problem_code_is_said_with_the_known_codes(
        page: tuple[TestClient, InlinePipeline], code: str, said: str) -> None:
    """As the CLI's usage error and the API's 422: a mistyped code lists nothing as if no claim had it."""
    client, pipeline = page
    listed = client.get("/ops/claims", params={"status": "needs_attention", "problem": code})
    assert listed.status_code == 422
    text = listed.text.replace("&#x27;", "'")
    assert 'id="bad-filter"' in text and said in text and "va_referral_missing" in text.split(said, 1)[1]
    assert 'data-claim="' not in text and f'name="problem" value="{code}"' in text
    answer = client.post("/ops/resubmit", data={"status": "needs_attention", "problem": code, "all_matching": "1",
                                                "anyway": "1", "back": "claims",
                                                "csrf": csrf_of(client.get("/ops").text)})
    assert answer.status_code == 422 and "Nothing resubmitted: the filter cannot be used" in answer.text
    assert {pipeline.claim(f"ses_sel{n}").submission_no for n in (1, 2, 3)} == {1}
    known = client.get("/ops/claims", params={"problem": "va_referral_missing"})
    assert known.status_code == 200 and known.text.count('data-claim="') >= 3


def test_the_audit_log_names_the_claims_resubmitted_in_words_not_as_a_python_list(
        page: tuple[TestClient, InlinePipeline]) -> None:
    client, _ = page
    client.post("/ops/resubmit", data={"claim_id": ["ses_sel1", "ses_sel3"], "anyway": "1",
                                       "csrf": csrf_of(client.get("/ops").text)})
    audit = client.get("/ops/audit").text
    assert '<span class="muted">claim ids:</span> ses_sel1; ses_sel3' in audit
    assert "[&#x27;ses_sel1&#x27;" not in audit and "['ses_sel1'" not in audit
