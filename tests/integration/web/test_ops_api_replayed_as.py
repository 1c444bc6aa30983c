"""`replayed_as` on the ops API is what CONTRACT.md §3.3 promises: null, or the JSON *text* of the replay's
answer (a string, never an object), in the list (whole or paged), in one refused event and in the OpenAPI
document."""

from __future__ import annotations

import json

import redis
from fastapi.testclient import TestClient

from pipeline.adapters.redis_ledger import Ledger
from tests.examples import example
from tests.web_app import web_app_on

TOKEN = "ops-token-for-replayed-as"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_replayed_as_is_the_json_text_of_the_replays_answer(redis_url: str) -> None:
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    refused_id = Ledger(r).keep_refused(body=b'{"event_type": "session.completed"}', http_status=422,
                                        errors=[{"path": "session", "message": "is required"}], source="test")
    with web_app_on(redis_url, ops_token=TOKEN, webhook_secret="secret-for-replayed-as") as app:
        client = TestClient(app)
        before = client.get(f"/v1/ops/refused/{refused_id}", headers=AUTH).json()
        assert before["replayed_as"] is None
        answer = client.post(f"/v1/ops/refused/{refused_id}/replay", content=json.dumps(example("va_direct")),
                             headers=AUTH)
        assert answer.status_code == 202, answer.text
        rows = [client.get("/v1/ops/refused", headers=AUTH).json()["refused"][0],
                client.get("/v1/ops/refused", params={"limit": 5}, headers=AUTH).json()["refused"][0],
                client.get(f"/v1/ops/refused/{refused_id}", headers=AUTH).json()]
        for row in rows:
            assert row["refused_id"] == refused_id
            assert isinstance(row["replayed_as"], str), row
            assert json.loads(row["replayed_as"]) == answer.json()  # {"http_status": 202, "claim_id", ...}
        schema = client.get("/openapi.json").json()["components"]["schemas"]["RefusedRow"]["properties"]
        assert {t.get("type") for t in schema["replayed_as"]["anyOf"]} == {"string", "null"}
        assert "JSON text" in schema["replayed_as"]["description"]
