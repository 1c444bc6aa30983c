"""Where a later event for a session differs from the claim's event: paths only, never values."""

from __future__ import annotations

import copy

from pipeline.application.event_changes import changed_sections, differing_paths, pending_event
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


# the booking system's update waiting on a claim ----------------------------------------------------------


def _event(**sections: object) -> dict[str, object]:
    base: dict[str, object] = {"event_id": "evt_1", "occurred_at": "2026-11-20T10:00:00Z",
                               "session": {"session_id": "ses_1", "services": [{"cpt": "97124", "minutes": 30}]},
                               "client": {"first_name": "Ann", "email": "ann@example.org"},
                               "coverage": {"kind": "va_ccn"}}
    return {**base, **sections}


def _kept(event: dict[str, object], at: float = 100.0) -> dict[str, object]:
    return {"at": at, "kind": "event.kept_for_review", "event_id": event["event_id"], "event": event}


def test_changed_sections_group_the_paths_by_section() -> None:
    later = _event(event_id="evt_2", prescription={"issued_on": "2026-11-01"},
                   session={"session_id": "ses_1", "services": [{"cpt": "97124", "minutes": 25}]})
    assert changed_sections(_event(), later) == {"session": ["session.services[0].minutes"],
                                                 "prescription": ["prescription"]}


def test_the_latest_kept_event_waits_until_an_amendment_applies_it() -> None:
    own = _event()
    first = _event(event_id="evt_2", prescription={"issued_on": "2026-11-01"})
    second = _event(event_id="evt_3", va_referral={"referral_number": "VA0012345678"})
    waiting = pending_event(own, [{"at": 1, "kind": "received"}, _kept(first), _kept(second, 200.0)])
    assert waiting is not None and waiting.event_id == "evt_3" and waiting.received_at == 200.0
    assert waiting.sections == ["va_referral"] and waiting.applicable == ["va_referral"]
    assert waiting.patch() == {"va_referral": {"referral_number": "VA0012345678"}}
    applied = {"at": 300, "kind": "amended", "changed": ["va_referral"], "applied_event": "evt_3"}
    assert pending_event(own, [_kept(second), applied]) is None
    other_amendment = {"at": 300, "kind": "amended", "changed": ["client"]}
    assert pending_event(own, [_kept(second), other_amendment]) is not None


def test_nothing_waits_when_the_claim_already_says_what_the_event_says() -> None:
    same = _event(event_id="evt_2", occurred_at="2026-11-21T09:00:00Z")  # only the delivery differs
    assert pending_event(_event(), [_kept(same)]) is None
    assert pending_event(_event(), [{"at": 1, "kind": "received"}]) is None


def test_the_patch_removes_what_the_event_no_longer_has_and_leaves_out_what_cannot_be_amended() -> None:
    own = _event(prescription={"issued_on": "2026-11-01"})
    later = _event(event_id="evt_2", event_type="session.other", client={"first_name": "Anne"})
    later.pop("prescription", None)
    waiting = pending_event(own, [_kept(later)])
    assert waiting is not None
    assert waiting.sections == ["client", "prescription", "event_type"]
    assert waiting.applicable == ["client", "prescription"]
    assert waiting.patch() == {"client": {"first_name": "Anne", "email": None}, "prescription": None}
    shown = waiting.as_dict()
    assert "now" not in shown["sections"][0] and shown["received_at"] == "1970-01-01T00:01:40+00:00"
    assert waiting.as_dict(with_values=True)["sections"][0]["update"] == {"first_name": "Anne"}


def test_a_section_a_person_amended_after_the_event_arrived_is_shown_but_not_applied() -> None:
    own = _event()
    later = _event(event_id="evt_2", client={"first_name": "Ann"}, prescription={"issued_on": "2026-11-01"})
    by_hand = {"at": 150, "kind": "amended", "changed": ["client"], "by": "Dana"}
    waiting = pending_event(own, [_kept(later), by_hand])
    assert waiting is not None and waiting.sections == ["client", "prescription"]
    assert waiting.applicable == ["prescription"] and waiting.patch() == {"prescription": {"issued_on": "2026-11-01"}}
    assert "amended by a person" in waiting.as_dict()["sections"][0]["why_not"]
