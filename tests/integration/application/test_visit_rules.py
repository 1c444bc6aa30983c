"""The VA visit count as the README and CONTRACT.md 2.6 state it, checked in the ledger after each step.

- a session uses a visit when its claim is routed to `direct_billing`;
- a session whose claim ends `needs_attention` uses none (its visit is released);
- a `rejected` or `failed` claim keeps its visit;
- an amendment that changes the referral number moves the visit to the new referral on resubmission;
- when two sessions race for the last visit exactly one gets it, and one whose claim does not go to direct
  billing never takes it from one that does, whenever their steps interleave.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from pipeline.adapters.redis_ledger import Ledger
from tests.integration.application.harness import InlinePipeline, example

REFERRAL = "VA0012345678"  # the va_direct example's referral
OTHER_REFERRAL = "VA0099999999"


@pytest.fixture
def pipeline(redis_url: str) -> InlinePipeline:
    return InlinePipeline(redis_url)


def test_a_session_routed_to_direct_billing_uses_one_visit(pipeline: InlinePipeline) -> None:
    claim_id = pipeline.post(example("va_direct"))
    claim = pipeline.claim(claim_id)
    assert (claim.route, claim.status) == ("direct_billing", "accepted")
    assert pipeline.sessions_on(REFERRAL) == {"ses_va_direct"}
    assert pipeline.ledger.visits_used(REFERRAL) == 1


def test_a_rejected_claim_keeps_its_visit(pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "rejected"
    claim_id = pipeline.post(example("va_direct"))
    assert pipeline.claim(claim_id).status == "rejected"
    assert pipeline.sessions_on(REFERRAL) == {"ses_va_direct"}


def test_a_failed_claim_keeps_its_visit(pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "unreachable"
    claim_id = pipeline.post(example("va_direct"))
    pipeline.retries_run_out(claim_id)
    assert pipeline.claim(claim_id).status == "failed"
    assert pipeline.sessions_on(REFERRAL) == {"ses_va_direct"}


def test_a_session_whose_claim_ends_needs_attention_releases_its_visit(pipeline: InlinePipeline) -> None:
    # The session holds a visit (routed to direct billing, rejected by the payer) ...
    pipeline.clearinghouse.outcome = "rejected"
    claim_id = pipeline.post(example("va_direct"))
    assert pipeline.sessions_on(REFERRAL) == {"ses_va_direct"}
    # ... then an amendment leaves it with a problem: on resubmission it needs attention and uses none.
    rx = example("va_direct")["prescription"]
    pipeline.amend(claim_id, {"prescription": {**rx, "signed": False}})
    pipeline.resubmit(claim_id)
    claim = pipeline.claim(claim_id)
    assert (claim.route, claim.status) == ("needs_attention", "needs_attention")
    assert [p.code for p in claim.problems] == ["prescription_unsigned"]
    assert pipeline.sessions_on(REFERRAL) == set()
    assert pipeline.ledger.visits_used(REFERRAL) == 0


def test_a_released_visit_can_be_used_by_another_session(pipeline: InlinePipeline) -> None:
    one_visit = example("va_direct")
    one_visit["va_referral"]["visits_authorized"] = 1
    pipeline.clearinghouse.outcome = "rejected"
    first = pipeline.post(one_visit)
    pipeline.amend(first, {"prescription": None})  # now it needs attention: prescription_missing
    pipeline.resubmit(first)
    assert pipeline.claim(first).status == "needs_attention"

    pipeline.clearinghouse.outcome = "accepted"
    second_doc = example("va_direct")
    second_doc["va_referral"]["visits_authorized"] = 1
    second_doc["event_id"], second_doc["session"]["session_id"] = "evt_second", "ses_second"
    second = pipeline.post(second_doc)
    assert (pipeline.claim(second).route, pipeline.claim(second).status) == ("direct_billing", "accepted")
    assert pipeline.sessions_on(REFERRAL) == {"ses_second"}


def test_an_amendment_that_changes_the_referral_number_moves_the_visit(pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "rejected"
    claim_id = pipeline.post(example("va_direct"))
    assert pipeline.sessions_on(REFERRAL) == {"ses_va_direct"}

    pipeline.clearinghouse.outcome = "accepted"
    referral = example("va_direct")["va_referral"]
    pipeline.amend(claim_id, {"va_referral": {**referral, "referral_number": OTHER_REFERRAL}})
    # the amendment alone moves nothing: it takes effect at the next resubmission
    assert pipeline.sessions_on(REFERRAL) == {"ses_va_direct"}
    pipeline.resubmit(claim_id)
    claim = pipeline.claim(claim_id)
    assert (claim.route, claim.status) == ("direct_billing", "accepted")
    assert pipeline.sessions_on(REFERRAL) == set()
    assert pipeline.sessions_on(OTHER_REFERRAL) == {"ses_va_direct"}
    assert "REF*9F*VA0099999999~" in pipeline.clearinghouse.taken["ses_va_direct-2"]


def test_an_amendment_moving_the_session_to_a_full_referral_frees_the_old_visit(pipeline: InlinePipeline) -> None:
    full = example("va_direct")
    full["event_id"], full["session"]["session_id"] = "evt_other", "ses_other"
    full["va_referral"].update(referral_number=OTHER_REFERRAL, visits_authorized=1)
    assert pipeline.claim(pipeline.post(full)).status == "accepted"

    pipeline.clearinghouse.outcome = "rejected"
    claim_id = pipeline.post(example("va_direct"))
    referral = example("va_direct")["va_referral"]
    pipeline.amend(claim_id, {"va_referral": {**referral, "referral_number": OTHER_REFERRAL,
                                              "visits_authorized": 1}})
    pipeline.resubmit(claim_id)
    claim = pipeline.claim(claim_id)
    assert [p.code for p in claim.problems] == ["va_visits_exhausted"]
    assert pipeline.sessions_on(REFERRAL) == set()
    assert pipeline.sessions_on(OTHER_REFERRAL) == {"ses_other"}


def test_a_session_holding_the_last_visit_keeps_it_when_resubmitted(pipeline: InlinePipeline) -> None:
    one_visit = example("va_direct")
    one_visit["va_referral"]["visits_authorized"] = 1
    pipeline.clearinghouse.outcome = "rejected"
    claim_id = pipeline.post(one_visit)
    pipeline.clearinghouse.outcome = "accepted"
    pipeline.resubmit(claim_id)  # its own visit is not counted against it
    assert (pipeline.claim(claim_id).route, pipeline.claim(claim_id).status) == ("direct_billing", "accepted")
    assert pipeline.sessions_on(REFERRAL) == {"ses_va_direct"}


def test_a_session_that_loses_the_race_for_the_last_visit_needs_attention(
        pipeline: InlinePipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    one_visit = example("va_direct")
    one_visit["va_referral"]["visits_authorized"] = 1
    first = pipeline.post(one_visit)
    assert pipeline.claim(first).status == "accepted"
    # the second session read the count before the first took the visit: the atomic reservation decides
    monkeypatch.setattr(pipeline.ledger, "visits_used", lambda referral, excluding=None: 0)
    second_doc = example("va_direct")
    second_doc["va_referral"]["visits_authorized"] = 1
    second_doc["event_id"], second_doc["session"]["session_id"] = "evt_late", "ses_late"
    second = pipeline.post(second_doc)
    claim = pipeline.claim(second)
    assert (claim.route, claim.status) == ("needs_attention", "needs_attention")
    assert [p.code for p in claim.problems] == ["va_visits_exhausted"]
    assert pipeline.sessions_on(REFERRAL) == {"ses_va_direct"}
    assert pipeline.clearinghouse.sent == 1


def test_a_session_on_a_full_referral_is_told_so_before_its_837p_is_judged(pipeline: InlinePipeline) -> None:
    one_visit = example("va_direct")
    one_visit["va_referral"]["visits_authorized"] = 1
    pipeline.post(one_visit)
    late = example("va_direct")
    late["va_referral"]["visits_authorized"] = 1
    late["event_id"], late["session"]["session_id"] = "evt_late", "ses_late"
    late["client"]["address"]["state"] = "ZZ"  # and its data an 837P cannot carry
    claim = pipeline.claim(pipeline.post(late))
    # the 837P pre-flight runs only for a claim that would otherwise be billed directly (CONTRACT.md 2.3)
    assert [p.code for p in claim.problems] == ["va_visits_exhausted"]
    assert pipeline.sessions_on(REFERRAL) == {"ses_va_direct"}


def _another_session_decided_at(pipeline: InlinePipeline, call_no: int, run: Callable[[], str]) -> list[str]:
    """Make `run` happen just before the pipeline's `call_no`-th call to its ledger (any method): another
    worker deciding its claim at that moment. Returns what `run` returned, once it has run."""
    calls = 0
    ran: list[str] = []

    def at_moment(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == call_no and not ran:
                ran.append(run())
            return real(*args, **kwargs)
        return call

    for name, _ in inspect.getmembers(Ledger, inspect.isfunction):
        if not name.startswith("_"):
            setattr(pipeline.ledger, name, at_moment(getattr(pipeline.ledger, name)))
    return ran


def test_a_session_that_needs_attention_never_takes_the_last_visit_from_one_billed_directly(
        redis_url: str) -> None:
    needs_attention = example("va_direct")
    needs_attention["va_referral"]["visits_authorized"] = 1
    needs_attention["prescription"]["signed"] = False
    billed = example("va_direct")
    billed["va_referral"]["visits_authorized"] = 1
    billed["event_id"], billed["session"]["session_id"] = "evt_billed", "ses_billed"

    moment = 0
    while True:  # the billed session decided at each moment of the other one's steps, one after another
        moment += 1
        first, other_worker = InlinePipeline(redis_url), InlinePipeline(redis_url)
        ran = _another_session_decided_at(first, moment, functools.partial(other_worker.post, billed))
        unbilled = first.post(needs_attention)
        if not ran:
            break  # past the last ledger call of its steps: every moment was tried
        claim = other_worker.claim(ran[0])
        assert (claim.route, claim.status, moment) == ("direct_billing", "accepted", moment)
        assert first.claim(unbilled).status == "needs_attention"
        assert first.sessions_on(REFERRAL) == {"ses_billed"}
    assert moment > 5
