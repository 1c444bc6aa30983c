"""The event's statement fields: `client.statement_opt_out` and `client.statement_schedule` (CONTRACT.md 1.2)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.domain.intake import InputRejected, parse_event
from tests.examples import example

EVENT = example("commercial_statement")


def parsed(**client: Any) -> Any:
    doc = json.loads(json.dumps(EVENT))
    doc["client"].update(client)
    return parse_event(json.dumps(doc).encode())


def test_left_out_or_null_they_take_their_defaults() -> None:
    event = parsed()
    assert event.client.statement_opt_out is False and event.client.statement_schedule is None
    event = parsed(statement_opt_out=None, statement_schedule=None)
    assert event.client.statement_opt_out is False and event.client.statement_schedule is None


def test_they_are_taken_as_sent() -> None:
    event = parsed(statement_opt_out=True, statement_schedule="monthly")
    assert event.client.statement_opt_out is True and event.client.statement_schedule == "monthly"


@pytest.mark.parametrize(("field", "value"), [
    ("statement_opt_out", "yes"), ("statement_opt_out", 1), ("statement_schedule", "weekly"),
    ("statement_schedule", True),
])
def test_a_wrong_value_is_an_input_error_named_by_its_path(field: str, value: Any) -> None:
    with pytest.raises(InputRejected) as caught:
        parsed(**{field: value})
    assert [e.path for e in caught.value.errors] == [f"client.{field}"]
