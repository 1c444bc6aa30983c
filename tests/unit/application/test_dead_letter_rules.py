"""What a dead letter shows (never the error's text) and when a retry sends its step again."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.application.dead_letters import error_kind, letter_of, needed_step, why_not_retried
from schemas.claim import Claim

TRACEBACK = '''Traceback (most recent call last):
  File "/srv/pipeline/application/stages.py", line 40, in validate
    raise PeerUnavailable(name, detail)
    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
pipeline.application.errors.PeerUnavailable: clearinghouse: Jane Doe 1980-01-02 answered 503
'''


def claim(status: str, route: str | None = None, **more: Any) -> Claim:
    return Claim(claim_id="ses_1", session_id="ses_1", event_id="evt_1", status=status, route=route,  # type: ignore[arg-type]
                 **more)


def test_the_error_kind_is_the_exception_class_and_never_its_text() -> None:
    assert error_kind(TRACEBACK) == "pipeline.application.errors.PeerUnavailable"
    assert error_kind("Traceback (most recent call last):\n  File \"x\", line 1, in f\nKeyError\n") == "KeyError"
    chained = TRACEBACK + "\nDuring handling of the above exception, another exception occurred:\n\n" + \
        'Traceback (most recent call last):\n  File "y", line 2, in g\n    boom()\nValueError: born 1980\n'
    assert error_kind(chained) == "ValueError"
    assert error_kind(None) is None and error_kind("") is None and error_kind(42) is None
    assert error_kind("Traceback (most recent call last):\n  File \"x\", line 1\n: no class\n") is None


def test_a_failure_callback_stands_for_the_step_whose_retries_ran_out() -> None:
    inner = {"actor_name": "submit_direct", "args": ["ses_9"], "options": {"retries": 12}}
    letter = letter_of("submit_direct", "m1", 1_700_000_000_000, {
        "actor_name": "submission_failed", "args": [inner, {}], "options": {"retries": 2, "traceback": TRACEBACK},
        "message_timestamp": 1_699_999_999_000})
    assert (letter.actor, letter.step, letter.claim_id, letter.retries) == (
        "submission_failed", "submit_direct", "ses_9", 2)
    assert letter.dead_since == 1_700_000_000 and letter.enqueued_at == 1_699_999_999
    assert letter.error_kind == "pipeline.application.errors.PeerUnavailable"
    assert "Jane" not in str(letter.as_dict())
    empty = letter_of("validate", "m2", 0, {})
    assert (empty.step, empty.claim_id, empty.retries, empty.error_kind) == (None, None, 0, None)


@pytest.mark.parametrize(("status", "route", "more", "step"), [
    ("received", None, {}, "validate"),
    ("validated", None, {}, "assemble"),
    ("assembled", None, {}, "route"),
    ("routed", "direct_billing", {}, "submit_direct"),
    ("routed", "statement_only", {}, "make_statement"),
    ("routed", "needs_attention", {}, None),
    ("submitting", "courtesy_submission", {}, "submit_courtesy"),
    ("submitted", "direct_billing", {}, "submit_direct"),
    ("statement_ready", "statement_only", {"statement_delivery": "retrying"}, "send_statement"),
    ("statement_ready", "statement_only", {"statement_delivery": "sent"}, None),
    ("accepted", "direct_billing", {}, None),
    ("failed", "direct_billing", {}, None),
])
def test_the_step_a_claim_needs_follows_its_status(status: str, route: str | None, more: dict[str, Any],
                                                   step: str | None) -> None:
    assert needed_step(claim(status, route, **more)) == step


def test_a_retry_sends_the_step_only_where_the_claim_still_needs_it_and_nothing_covers_it() -> None:
    letter = letter_of("submit_direct", "m1", 0, {"actor_name": "submit_direct", "args": ["ses_1"]})
    assert why_not_retried(letter, claim("submitting", "direct_billing"), set()) is None
    assert why_not_retried(letter, claim("submitting", "direct_billing"), {"ses_1"}) == (
        "a message for it is already queued or running (submit_direct)")
    assert why_not_retried(letter, claim("accepted", "direct_billing"), set()) == (
        "the claim is accepted: it needs no step any more")
    assert why_not_retried(letter, claim("received"), set()) == (
        "the claim is received: it needs validate now, not submit_direct")
    assert why_not_retried(letter, None, set()) == "there is no claim ses_1"
    alert = letter_of("alerts", "m2", 0, {"actor_name": "alert", "args": ["ses_1"]})
    assert why_not_retried(alert, claim("failed"), set()) is not None
    remittances = letter_of("remittances", "m3", 0, {"actor_name": "fetch_remittances", "args": [""]})
    assert why_not_retried(remittances, None, set()) is None
