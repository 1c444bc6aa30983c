"""`GET /v1/ops/claims` and `/v1/ops/refused` with `limit`/`cursor`, and the ops page's pages, on a real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from config.settings import load_settings
from pipeline.adapters.redis_server import embedded_redis
from pipeline.entrypoints import runtime
from pipeline.entrypoints.web.app import build_web_app

TOKEN = "ops-token-for-paging"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with embedded_redis(Path(tmp_path_factory.mktemp("redis"))) as url, pytest.MonkeyPatch.context() as env:
        env.setenv("REDIS_URL", url)
        env.setenv("SUPERBILL_OPS_TOKEN", TOKEN)
        env.setenv("SUPERBILL_WEBHOOK_SECRET", "secret-for-paging")
        runtime.reset()
        ledger = runtime.deps().ledger
        ledger.r.flushdb()
        for i in range(12):
            ledger.ingest(claim_id=f"p{i:02d}", event_id=f"evt_p{i}", session_id=f"p{i:02d}", event_doc={},
                          index={"payer": "Aetna" if i % 2 else "VA CCN"})
            ledger.transition(f"p{i:02d}", "received", "failed", kind="claim.failed", fields={"last_error": "x"})
        for n in range(3):
            ledger.keep_refused(body=f"nope {n}".encode(), http_status=400, errors=[], source="test")
        yield TestClient(build_web_app(load_settings()))
        runtime.reset()


def _pages(client: TestClient, path: str, key: str, **params: Any) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        answer = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}, headers=AUTH)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append([row["claim_id" if key == "claims" else "refused_id"] for row in body[key]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_the_api_gives_every_claim_once_a_page_at_a_time(client: TestClient) -> None:
    everything = client.get("/v1/ops/claims", headers=AUTH).json()
    assert everything["next_cursor"] is None and len(everything["claims"]) == 12
    pages = _pages(client, "/v1/ops/claims", "claims", limit=5)
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [cid for p in pages for cid in p] == [row["claim_id"] for row in everything["claims"]]
    aetna = _pages(client, "/v1/ops/claims", "claims", limit=4, payer="aetna", status="failed")
    assert [cid for p in aetna for cid in p] == [f"p{i:02d}" for i in range(1, 12, 2)]
    assert [len(p) for p in _pages(client, "/v1/ops/refused", "refused", limit=2)] == [2, 1]


def test_a_bad_cursor_or_limit_is_a_422_naming_it(client: TestClient) -> None:
    answer = client.get("/v1/ops/claims", params={"limit": 5, "cursor": "garbage"}, headers=AUTH)
    assert answer.status_code == 422 and answer.json()["errors"][0]["path"].endswith("cursor")
    assert client.get("/v1/ops/refused", params={"limit": 0}, headers=AUTH).status_code == 422


def test_the_ops_page_shows_a_page_and_links_the_next(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.entrypoints.web import ops_page

    page = client.get("/ops/claims", params={"status": "failed"}, headers=AUTH)  # the token as a bearer header
    assert page.status_code == 200 and "Next page" not in page.text and "p11" in page.text
    monkeypatch.setattr(ops_page, "PAGE_ROWS", 5)
    # the router reads PAGE_ROWS when it answers: a new app sees the smaller page
    small = TestClient(build_web_app(load_settings()))
    first = small.get("/ops/claims", params={"status": "failed"}, headers=AUTH)
    assert "Next page" in first.text and "p00" in first.text and "p05" not in first.text
