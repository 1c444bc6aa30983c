"""The OpenAPI document tells the truth: schemathesis generates requests from `/openapi.json` for every
operation (valid and invalid data, with and without the ops token) and checks that each answer is documented
(status code, content type, body schema), that no input gives a 5xx, and that what the document calls invalid
is refused. The web app runs in this process (ASGI) on a real Redis server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from pipeline.adapters.redis_server import embedded_redis
from tests.web_app import web_app_on

TOKEN = "ops-token-for-the-conformance-run"
EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with embedded_redis(Path(tmp_path_factory.mktemp("redis"))) as url, \
            web_app_on(url, ops_token=TOKEN, webhook_secret="webhook-secret-for-the-conformance-run",
                       SUPERBILL_STEDI_WEBHOOK_TOKEN="stedi-token-for-the-conformance-run") as app:
        yield app


def _in_order(case: Any) -> bool:
    """A period's `to` is not before its `from` (422 naming `to`): a rule between two parameters, which the
    document states in words only, JSON Schema having no way to."""
    query = case.query or {}
    first, last = query.get("from"), query.get("to")
    return not (isinstance(first, str) and isinstance(last, str) and last < first)


def _not_ahead(case: Any) -> bool:
    """An `as_of` day is not after today (422 naming `as_of`): what is owed on a day to come is not known yet,
    a rule against the clock that the document states in words only."""
    day = (case.query or {}).get("as_of")
    return not (isinstance(day, str) and day > datetime.now(UTC).date().isoformat())


def _exercise(app: Any, headers: dict[str, str], modes: tuple[GenerationMode, ...]) -> dict[str, str]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in modes:
            strategy = operation.as_strategy(generation_mode=mode)
            @given(strategy.filter(_in_order).filter(_not_ahead) if mode == GenerationMode.POSITIVE else strategy)
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            def run(case: Any) -> None:
                case.call_and_validate(headers=headers)

            try:
                run()
            except Unsatisfiable:
                continue  # nothing to make invalid (no parameters, no body)
            except BaseException as exc:
                failures[f"{operation.label} ({mode.value})"] = str(exc)[:1500]
    return failures


def test_every_answer_is_documented_and_none_is_a_server_error(app: Any) -> None:
    failures = _exercise(app, {"Authorization": f"Bearer {TOKEN}"},
                         (GenerationMode.POSITIVE, GenerationMode.NEGATIVE))
    assert failures == {}, "\n\n".join(f"{k}: {v}" for k, v in failures.items())


def test_without_the_token_every_answer_is_still_documented(app: Any) -> None:
    assert _exercise(app, {}, (GenerationMode.POSITIVE,)) == {}
