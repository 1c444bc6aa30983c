"""The ops API refuses what it cannot read exactly, with the one error shape, before it changes anything: unknown
keys, a selection it would have to guess, bodies that are not JSON or too large, bad paging cursors, date ranges
that end before they start. The web app runs in this process on a real Redis server; the claims were made by the
pipeline's own steps (each misses its VA referral: `needs_attention`, resubmittable)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pipeline.adapters.redis_server import embedded_redis
from pipeline.application.ingest import MAX_BODY_BYTES
from tests.integration.application.harness import InlinePipeline
from tests.web_app import web_app_on

TOKEN = "ops-token-for-input"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CLAIMS = ("ses_in1", "ses_in2")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, InlinePipeline]]:
    with embedded_redis(Path(tmp_path_factory.mktemp("redis"))) as url:
        pipeline = InlinePipeline(url)
        for claim_id in CLAIMS:
            pipeline.park(claim_id)
        with web_app_on(url, ops_token=TOKEN, webhook_secret="secret-for-input") as web:
            yield TestClient(web), pipeline


@pytest.fixture
def client(app: tuple[TestClient, InlinePipeline]) -> TestClient:
    return app[0]


def _nothing_resubmitted(pipeline: InlinePipeline) -> bool:
    return all(pipeline.ledger.get(c).submission_no == 1 and  # type: ignore[union-attr]
               not any(e["kind"] == "resubmitted" for e in pipeline.ledger.timeline(c)) for c in CLAIMS)


def _paths(answer: Any) -> list[str]:
    return [e["path"] for e in answer.json()["errors"]]


# resubmit: exactly what was asked, or nothing -----------------------------------------------------------------
@pytest.mark.parametrize("body, path", [
    ({"claim_id": ["ses_in1"]}, "claim_id"),                      # a misspelled key
    ({"client": {"last_name": "x" * 1000}}, "client"),           # not a resubmit body at all
    ({"filter": {"statuss": "failed"}}, "filter.statuss"),        # a misspelled filter key
    ({"dry_run": True}, "(body)"),                                # no selection: never "everything"
    ({}, "(body)"),
    ({"claim_ids": ["ses_in1"], "filter": {"status": "failed"}}, "claim_ids"),  # both: refused, like the CLI
    ({"claim_ids": ["ses_in1"], "status": "failed"}, "claim_ids"),
    ({"filter": {}, "status": "failed"}, "filter"),
    ({"claim_ids": ["ses_in1"], "dry_run": "yes"}, "dry_run"),    # strict booleans
    ({"claim_ids": ["ses_in1"], "anyway": 1}, "anyway"),
    ({"claim_ids": []}, "claim_ids"),
])
def test_a_resubmit_body_it_cannot_read_exactly_is_refused_and_resubmits_nothing(
        app: tuple[TestClient, InlinePipeline], body: dict[str, Any], path: str) -> None:
    client, pipeline = app
    answer = client.post("/v1/ops/resubmit", json=body, headers=AUTH)
    assert answer.status_code == 422, answer.text
    assert path in _paths(answer)
    assert _nothing_resubmitted(pipeline)


def test_every_resubmittable_claim_needs_an_explicit_empty_filter(client: TestClient) -> None:
    everything = client.post("/v1/ops/resubmit", json={"filter": {}, "dry_run": True}, headers=AUTH)
    assert everything.status_code == 200, everything.text
    assert sorted(everything.json()["skipped"][i]["claim_id"] for i in range(2)) == list(CLAIMS)
    by_status = client.post("/v1/ops/resubmit", json={"status": "needs_attention", "dry_run": True}, headers=AUTH)
    assert by_status.status_code == 200 and by_status.json()["dry_run"] is True
    by_id = client.post("/v1/ops/resubmit", json={"claim_ids": ["ses_in1"], "dry_run": True}, headers=AUTH)
    assert by_id.status_code == 200 and [s["claim_id"] for s in by_id.json()["skipped"]] == ["ses_in1"]


# bodies that are not JSON, too large, or say nothing ----------------------------------------------------------
@pytest.mark.parametrize("path", ["/v1/ops/resubmit", "/v1/ops/claims/ses_in1/amend", "/v1/ops/claims/ses_in1/correct"])
def test_a_body_that_is_not_json_is_400_on_every_json_route(client: TestClient, path: str) -> None:
    answer = client.post(path, content=b"{bad", headers={**AUTH, "Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"errors": [{"path": "(body)", "message": "is not JSON"}]}


def test_a_json_body_without_a_content_type_is_read_and_a_form_type_is_415(
        app: tuple[TestClient, InlinePipeline]) -> None:
    client, pipeline = app
    body = json.dumps({"claim_ids": ["ses_in1"], "dry_run": True}).encode()
    bare = client.post("/v1/ops/resubmit", content=body, headers=AUTH)
    assert bare.status_code == 200, bare.text
    form = client.post("/v1/ops/resubmit", content=body,
                       headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415 and _paths(form) == ["Content-Type"]
    assert _nothing_resubmitted(pipeline)


@pytest.mark.parametrize("path", ["/v1/ops/resubmit", "/v1/ops/claims/ses_in1/amend", "/v1/ops/claims/ses_in1/correct"])
def test_a_body_over_the_limit_is_413_and_changes_nothing(app: tuple[TestClient, InlinePipeline], path: str) -> None:
    client, pipeline = app
    before = pipeline.ledger.event_document("ses_in1")
    huge = {"client": {"last_name": "x" * (MAX_BODY_BYTES + 1)}}
    answer = client.post(path, json=huge, headers=AUTH)
    assert answer.status_code == 413, answer.text
    assert _paths(answer) == ["(body)"]
    assert pipeline.ledger.event_document("ses_in1") == before and _nothing_resubmitted(pipeline)


def test_an_amendment_is_held_to_an_events_bounds_and_changes_nothing_when_refused(
        app: tuple[TestClient, InlinePipeline]) -> None:
    client, pipeline = app
    before = pipeline.ledger.event_document("ses_in2")
    for section, key in (("client", "last_name"), ("coverage", "payer_name")):  # each under the body limit
        answer = client.post("/v1/ops/claims/ses_in2/amend", json={section: {key: "x" * (MAX_BODY_BYTES // 2)}},
                             headers=AUTH)
        assert answer.status_code == 422, answer.text
        assert _paths(answer) == [f"{section}.{key}"]
    assert pipeline.ledger.event_document("ses_in2") == before


def test_an_empty_amendment_is_refused(app: tuple[TestClient, InlinePipeline]) -> None:
    client, pipeline = app
    answer = client.post("/v1/ops/claims/ses_in1/amend", json={}, headers=AUTH)
    assert answer.status_code == 422, answer.text
    assert answer.json()["ok"] is False and _paths(answer) == ["(body)"]
    assert not any(e["kind"] == "amended" for e in pipeline.ledger.timeline("ses_in1"))


def test_an_amendment_the_claim_already_has_records_nothing(app: tuple[TestClient, InlinePipeline]) -> None:
    client, pipeline = app
    patch = {"client": {"phone": "+1-217-555-0199"}}
    first = client.post("/v1/ops/claims/ses_in1/amend", json=patch, headers=AUTH)
    assert first.status_code == 200 and first.json()["changed"] == ["client"], first.text
    timeline = pipeline.ledger.timeline("ses_in1")
    again = client.post("/v1/ops/claims/ses_in1/amend", json=patch, headers=AUTH)
    assert again.status_code == 200, again.text
    assert (again.json()["ok"], again.json()["changed"], again.json()["message"]) == (
        True, [], "nothing changed: the claim already has these values")
    assert pipeline.ledger.timeline("ses_in1") == timeline


def test_an_amendment_made_from_an_older_version_of_the_claims_event_is_409_and_stores_nothing(
        app: tuple[TestClient, InlinePipeline]) -> None:
    """Extension: `?based_on=` the `event_version` the change was made from, as the ops page's forms do."""
    client, pipeline = app
    version = client.get("/v1/ops/claims/ses_in2", headers=AUTH).json()["event_version"]
    first = client.post("/v1/ops/claims/ses_in2/amend", params={"based_on": version},
                        json={"coverage": {"member_id": "111111111"}}, headers=AUTH)
    assert first.status_code == 200 and first.json()["changed"] == ["coverage"], first.text
    now = client.get("/v1/ops/claims/ses_in2", headers=AUTH).json()["event_version"]
    assert now != version
    stale = client.post("/v1/ops/claims/ses_in2/amend", params={"based_on": version},
                        json={"coverage": {"member_id": "222222222"}}, headers=AUTH)
    assert stale.status_code == 409, stale.text
    assert _paths(stale) == ["based_on"] and "amended since the version given" in stale.json()["message"]
    assert pipeline.ledger.event_document("ses_in2")["coverage"]["member_id"] == "111111111"
    assert [e["kind"] for e in pipeline.ledger.timeline("ses_in2")].count("amended") == 1
    bad = client.post("/v1/ops/claims/ses_in2/amend", params={"based_on": "yesterday"},
                      json={"coverage": {"member_id": "222222222"}}, headers=AUTH)
    assert bad.status_code == 422 and _paths(bad) == ["based_on"]
    fresh = client.post("/v1/ops/claims/ses_in2/amend", params={"based_on": now},
                        json={"coverage": {"member_id": "222222222"}}, headers=AUTH)
    assert fresh.status_code == 200, fresh.text


def test_a_dry_run_previews_what_each_claim_would_become(app: tuple[TestClient, InlinePipeline]) -> None:
    client, pipeline = app
    answer = client.post("/v1/ops/resubmit", json={"claim_ids": ["ses_in2"], "dry_run": True, "anyway": True},
                         headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert answer.json()["previews"] == {"ses_in2": {"route": "needs_attention", "problems": ["va_referral_missing"]}}
    assert _nothing_resubmitted(pipeline)
    done = client.post("/v1/ops/resubmit", json={"claim_ids": ["nope"]}, headers=AUTH)
    assert "previews" not in done.json()  # only a dry run looks ahead


# query parameters ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/v1/ops/claims", "/v1/ops/refused"])
@pytest.mark.parametrize("cursor", ["nan:x", "inf:x", "-inf:x", "1e999:x", "garbage", "1.5"])
def test_a_cursor_that_is_not_a_position_is_422_naming_cursor(client: TestClient, path: str, cursor: str) -> None:
    answer = client.get(path, params={"cursor": cursor, "limit": 2}, headers=AUTH)
    assert answer.status_code == 422, answer.text
    assert _paths(answer) == ["cursor"]


@pytest.mark.parametrize("path", ["/ops/claims", "/ops/refused"])
def test_the_ops_page_starts_over_on_a_cursor_that_is_not_a_position(client: TestClient, path: str) -> None:
    assert client.get(path, params={"cursor": "nan:x"}, headers=AUTH).status_code == 200


def test_a_well_formed_cursor_is_a_position_in_the_list(client: TestClient) -> None:
    everything = client.get("/v1/ops/claims", headers=AUTH).json()["claims"]
    first = everything[0]
    after_first = client.get("/v1/ops/claims", params={"cursor": f"{first['updated_at'] - 1e6}:zzz", "limit": 5},
                             headers=AUTH)
    assert after_first.status_code == 200 and [r["claim_id"] for r in after_first.json()["claims"]] == list(CLAIMS)
    beyond = client.get("/v1/ops/claims", params={"cursor": "4102444800.5:nonexistent", "limit": 5},
                        headers=AUTH)
    assert beyond.status_code == 200 and beyond.json() == {"claims": [], "next_cursor": None}


def test_every_bad_query_parameter_is_named_by_its_name_at_once(client: TestClient) -> None:
    answer = client.get("/v1/ops/claims", params={"status": "bogus", "route": "nowhere", "since": "0",
                                                  "until": "x"}, headers=AUTH)
    assert answer.status_code == 422
    assert sorted(_paths(answer)) == ["route", "since", "status", "until"]
    assert _paths(client.get("/v1/ops/claims", params={"limit": 0}, headers=AUTH)) == ["limit"]
    assert _paths(client.get("/v1/ops/export", params={"from": "2026-11-01"}, headers=AUTH)) == ["to"]


@pytest.mark.parametrize("path, extra", [("/v1/ops/export", {}), ("/v1/ops/statements", {"client": "cli_1"})])
def test_a_range_that_ends_before_it_starts_is_422_naming_to(client: TestClient, path: str,
                                                             extra: dict[str, str]) -> None:
    answer = client.get(path, params={**extra, "from": "2026-11-30", "to": "2026-11-01"}, headers=AUTH)
    assert answer.status_code == 422, answer.text
    assert _paths(answer) == ["to"]


# unknown query parameters: refused, never ignored ------------------------------------------------------------
@pytest.mark.parametrize("path, known", [
    ("/v1/ops/claims", "status, route, payer, therapist, since, until, problem, limit, cursor, q"),
    ("/v1/ops/refused", "limit, cursor"),
    ("/v1/ops/ar", "as_of, warn_days"),
    ("/v1/ops/summary", "none"),
    ("/v1/ops/claims/ses_in1", "none"),
    ("/v1/ops/remittances", "none"),
])
def test_a_query_parameter_a_route_does_not_know_is_422_naming_it(client: TestClient, path: str,
                                                                  known: str) -> None:
    answer = client.get(path, params={"stauts": "failed", "colour": "red"}, headers=AUTH)
    assert answer.status_code == 422, answer.text
    assert sorted(_paths(answer)) == ["colour", "stauts"]
    assert all(e["message"].endswith(f"known: {known})") for e in answer.json()["errors"]), answer.text


def test_a_post_with_an_unknown_query_parameter_changes_nothing(app: tuple[TestClient, InlinePipeline]) -> None:
    client, pipeline = app
    answer = client.post("/v1/ops/resubmit", params={"dry_run": "true"}, json={"claim_ids": list(CLAIMS)},
                         headers=AUTH)
    assert answer.status_code == 422, answer.text
    assert _paths(answer) == ["dry_run"]
    assert _nothing_resubmitted(pipeline)


def test_unknown_and_bad_query_parameters_are_named_together(client: TestClient) -> None:
    answer = client.get("/v1/ops/claims", params={"stauts": "failed", "status": "bogus", "limit": "abc"},
                        headers=AUTH)
    assert answer.status_code == 422, answer.text
    assert sorted(_paths(answer)) == ["limit", "status", "stauts"]


@pytest.mark.parametrize("path, params, bad", [
    ("/v1/ops/export", {"from": "x", "to": "y", "format": "xml"}, ["format", "from", "to"]),
    ("/v1/ops/claims", {"limit": "abc", "cursor": "nan:x"}, ["cursor", "limit"]),
    ("/v1/ops/refused", {"limit": "0", "cursor": "garbage"}, ["cursor", "limit"]),
    ("/v1/ops/statements", {"client": "", "from": "0", "to": "2026-13-01"}, ["client", "from", "to"]),
    ("/v1/ops/ar", {"as_of": "today", "warn_days": "-1"}, ["as_of", "warn_days"]),
])
def test_every_bad_query_parameter_of_a_request_is_named_at_once(client: TestClient, path: str,
                                                                 params: dict[str, str], bad: list[str]) -> None:
    answer = client.get(path, params=params, headers=AUTH)
    assert answer.status_code == 422, answer.text
    assert sorted(_paths(answer)) == bad


def test_an_export_format_it_does_not_write_names_the_ones_it_does(client: TestClient) -> None:
    answer = client.get("/v1/ops/export", params={"from": "2026-11-01", "to": "2026-11-30", "format": "xml"},
                        headers=AUTH)
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"path": "format", "message": "must be one of csv, jsonl"}]


@pytest.mark.parametrize(("path", "params"), [("/ops/export", {}), ("/ops/statement", {"client": "cli_204"})])
@pytest.mark.parametrize("day", ["20261101", "2026-W44-7", ""])
def test_the_ops_page_reads_a_period_as_the_api_does(client: TestClient, path: str, params: dict[str, str],
                                                     day: str) -> None:
    page = client.get(path, params={**params, "from": day, "to": "2026-11-30"}, headers=AUTH)
    assert "both dates (YYYY-MM-DD)" in page.text, page.text[:300]


@pytest.mark.parametrize(("path", "params"), [("/ops/export", {"format": "jsonl"}),
                                               ("/ops/statement", {"client": "cli_204"})])
def test_the_ops_page_refuses_a_period_that_ends_before_it_starts(client: TestClient, path: str,
                                                                   params: dict[str, str]) -> None:
    """A date picked the wrong way round is said, as the API's 422 and the CLI's usage error say it, with what was
    typed kept in the form: never an empty export that looks like a quiet month."""
    page = client.get(path, params={**params, "from": "2026-11-30", "to": "2026-11-01"}, headers=AUTH)
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "ends (2026-11-01) before it starts (2026-11-30)" in page.text
    assert 'name="from" required value="2026-11-30"' in page.text
    assert 'name="to" required value="2026-11-01"' in page.text
    assert 'value="jsonl" selected' in page.text or 'value="cli_204"' in page.text


def test_the_ops_page_still_takes_parameters_of_its_own(client: TestClient) -> None:
    page = client.get("/ops/claims", params={"status": "needs_attention", "flash": "done", "colour": "red"},
                      headers=AUTH)
    assert page.status_code == 200 and 'data-claim="ses_in1"' in page.text


# one answer for a claim that does not exist ------------------------------------------------------------------
@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/ops/claims/nope"), ("GET", "/v1/ops/claims/nope/statement"),
    ("POST", "/v1/ops/claims/nope/statement/send"), ("POST", "/v1/ops/claims/nope/amend"),
    ("POST", "/v1/ops/claims/nope/correct"), ("POST", "/v1/ops/claims/nope/void"),
])
def test_no_such_claim_is_one_answer_on_every_route(client: TestClient, method: str, path: str) -> None:
    answer = client.request(method, path, json={"client": {"phone": "5035550100"}} if "amend" in path else None,
                            headers=AUTH)
    assert answer.status_code == 404, answer.text
    assert answer.json()["errors"] == [{"path": "claim_id", "message": "no claim nope"}]
    assert answer.json().get("message", "no claim nope") == "no claim nope"  # where the answer has a message


def test_a_statement_that_cannot_be_sent_is_409_with_the_error_shape(client: TestClient) -> None:
    answer = client.post("/v1/ops/claims/ses_in1/statement/send", headers=AUTH)
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert (body["ok"], body["claim_id"]) == (False, "ses_in1")  # the keys it always had stay
    assert body["errors"] == [{"path": "claim_id", "message": body["message"]}]
    assert "statement_ready" in body["message"]


@pytest.mark.parametrize(("method", "path", "status", "said"), [
    ("GET", "/ops/no-such-page", 404, "There is no page at this address."),
    ("GET", "/ops/claims/ses_in1/amend", 405, "This address takes a form's answer"),
])
def test_an_error_of_the_ops_page_is_a_page_a_person_can_read_never_the_apis_json(
        client: TestClient, method: str, path: str, status: int, said: str) -> None:
    page = client.request(method, path, headers=AUTH)
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html") and said in page.text
    assert '<a href="/ops">Back to the overview</a>' in page.text and '"errors"' not in page.text
    assert page.headers["cache-control"] == "no-store"
    api = client.get("/v1/ops/no-such-route", headers=AUTH)  # the API keeps its one error shape
    assert api.status_code == 404 and api.json()["errors"][0]["path"] == "(path)"


def test_a_form_field_too_large_to_read_is_said_on_a_page(client: TestClient) -> None:
    page = client.post("/ops/login", files={"password": (None, "x" * (1024 * 1024 + 10))})
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "The request could not be read" in page.text and "maximum size" in page.text


# a problem filter that can never match is said, not answered with an empty list -------------------------------
@pytest.mark.parametrize("problem", ["balance_due", "prescription_mising"])
def test_a_problem_filter_that_is_no_problem_code_is_refused(app: tuple[TestClient, InlinePipeline],
                                                              problem: str) -> None:
    client, pipeline = app
    listed = client.get("/v1/ops/claims", params={"problem": problem}, headers=AUTH)
    assert listed.status_code == 422 and _paths(listed) == ["problem"], listed.text
    assert problem in listed.json()["errors"][0]["message"]
    resubmitted = client.post("/v1/ops/resubmit", json={"filter": {"problem": problem}}, headers=AUTH)
    assert resubmitted.status_code == 422 and _nothing_resubmitted(pipeline), resubmitted.text
    parked = client.get("/v1/ops/claims", params={"problem": "va_referral_missing"}, headers=AUTH)
    assert parked.status_code == 200 and sorted(c["claim_id"] for c in parked.json()["claims"]) == sorted(CLAIMS)
