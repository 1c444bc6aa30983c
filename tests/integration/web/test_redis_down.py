"""With Redis stopped, the ops API answers `503` with the one error shape and `Retry-After`, and the ops page a
readable `503` page, never a bare `500`: the app runs in this process against a real Redis server that is then
stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline.adapters.redis_server import start_embedded, stop_embedded
from tests.web_app import web_app_on

TOKEN = "ops-token-for-redis-down"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = Path(tmp_path_factory.mktemp("redis"))
    url = start_embedded(data)
    with web_app_on(url, ops_token=TOKEN, webhook_secret="secret-for-redis-down") as web:
        try:
            app = TestClient(web, raise_server_exceptions=False)
            assert app.get("/v1/ops/summary", headers=AUTH).status_code == 200  # up: it answers
            stop_embedded(data)
            yield app
        finally:
            stop_embedded(data)


@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/ops/summary"), ("GET", "/v1/ops/claims"), ("GET", "/v1/ops/claims/ses_1"),
    ("GET", "/v1/ops/refused"), ("GET", "/v1/ops/claims?limit=2"), ("POST", "/v1/ops/resubmit"),
    ("GET", "/v1/ops/dead"), ("GET", "/v1/ops/dead/validate"), ("POST", "/v1/ops/dead/validate/retry"),
])
def test_the_ops_api_answers_503_with_the_error_shape(client: TestClient, method: str, path: str) -> None:
    sent = {"claim_ids": ["ses_1"]} if path.endswith("resubmit") else {"all": True}
    answer = client.request(method, path, headers=AUTH, json=sent if method == "POST" else None)
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"].isdigit()
    body = answer.json()
    assert body["status"] == "unavailable" and [e["path"] for e in body["errors"]] == ["(service)"]
    assert "Redis" in body["errors"][0]["message"]


@pytest.mark.parametrize("path", ["/ops", "/ops/claims"])
def test_the_ops_page_answers_a_readable_503_page(client: TestClient, path: str) -> None:
    answer = client.get(path, headers=AUTH)
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("text/html") and answer.headers["Retry-After"].isdigit()
    assert "<h1>" in answer.text and "Redis" in answer.text


def test_health_still_says_unhealthy(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 503
