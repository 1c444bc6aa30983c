"""Where a later event for a session differs from the claim's event: paths only, never values."""

from __future__ import annotations

import copy

from pipeline.application.event_changes import differing_paths
from tests.examples import example


def test_the_paths_that_differ_are_named_and_the_delivery_fields_are_not() -> None:
    own = example("va_direct")
    later = copy.deepcopy(own)
    later["event_id"], later["occurred_at"] = "evt_again", "2026-11-20T16:00:00-06:00"
    assert differing_paths(own, later) == []
    later["session"]["services"][0]["minutes"] = 45
    later["client"]["last_name"] = "Doe-Smith"
    later["prescription"]["diagnosis_codes"].append("M79.18")
    later.pop("va_referral")
    paths = differing_paths(own, later)
    assert paths == ["session.services[0].minutes", "client.last_name", "prescription.diagnosis_codes",
                     "va_referral"]
    assert not any("Doe" in p or "45" in p for p in paths)


def test_a_value_of_another_type_differs_even_when_python_calls_it_equal() -> None:
    own = example("va_direct")
    later = copy.deepcopy(own)
    later["session"]["services"][0]["minutes"] = 30.0
    later["prescription"]["signed"] = 1
    assert differing_paths(own, later) == ["session.services[0].minutes", "prescription.signed"]
