"""Every code the front desk can meet has a plain explanation, a next step and a resubmit hint, in one table."""

from __future__ import annotations

import pytest

from pipeline.application import explanations
from pipeline.application.amend_forms import FORMS
from pipeline.application.explanations import (
    EXPLANATIONS,
    UNKNOWN,
    claim_explanations,
    explain,
    explain_error,
    explain_reason,
)
from pipeline.domain import codes
from pipeline.sandbox.clearinghouse import REJECT_REASONS_277CA


@pytest.mark.parametrize("code", [*codes.PROBLEM_ORDER, "input_invalid", *codes.WARNING_ORDER])
def test_every_problem_and_warning_code_has_its_own_entry(code: str) -> None:
    entry = EXPLANATIONS[code]
    assert entry.title and entry.meaning.endswith(".") and entry.next_step
    assert entry.resubmit in ("after_fix", "yes", "no")
    assert entry.form is None or entry.form in FORMS


def test_problems_say_resubmitting_helps_only_after_a_fix_and_warnings_need_none() -> None:
    assert all(EXPLANATIONS[c].resubmit == "after_fix" for c in codes.PROBLEM_ORDER)
    assert all(EXPLANATIONS[c].resubmit == "no" for c in codes.WARNING_ORDER)
    assert EXPLANATIONS[codes.VA_REFERRAL_MISSING].form == "va_referral"
    assert EXPLANATIONS[codes.PRESCRIPTION_MISSING].form == "prescription"


@pytest.mark.parametrize("reason", [f"277CA: {r}" for r in REJECT_REASONS_277CA])
def test_every_277ca_reason_the_clearinghouse_gives_has_a_specific_entry(reason: str) -> None:
    entry = explain_reason(reason)
    assert entry is not UNKNOWN and entry.code.startswith("277CA:A")


def test_codes_fall_back_to_their_family() -> None:
    assert explain("277CA:A7:999").code == "277CA:A7"
    assert explain("277CA:ZZ:1").code == "277CA"
    assert explain_reason("999: IK3 segment N4 has an error").code == "999"
    assert explain("CARC:16").resubmit == "after_fix"
    assert explain("CARC:4242").title == "Payment adjustment"
    assert explain("no_such_code") is UNKNOWN
    assert explain("clearinghouse:http_503").code == "http_5xx"  # the code an alert or the summary gives
    assert explain("billing_service:no_answer").code == "no_answer"


@pytest.mark.parametrize(("error", "family", "resubmit"), [
    ("clearinghouse: answered 503", "http_5xx", "yes"),
    ("billing_service: answered 500", "http_5xx", "yes"),
    ("clearinghouse: answered 429", "http_busy", "yes"),
    ("clearinghouse: answered 401", "http_4xx", "yes"),
    ("clearinghouse: no answer within 2 s", "no_answer", "yes"),
    ("billing_service: ConnectionError", "connection", "yes"),
    ("the 837P could not be built: client.address.state", "document", "after_fix"),
    ("retries exhausted", "retries_exhausted", "yes"),
])
def test_a_last_error_says_whether_to_resubmit_as_it_is(error: str, family: str, resubmit: str) -> None:
    entry = explain_error(error)
    assert (entry.code, entry.resubmit) == (family, resubmit)


def test_a_claims_reasons_come_in_order_each_once() -> None:
    found = explanations.claim_explanations(["va_referral_missing"], ["balance_due"], [], None)
    assert [code for code, _ in found] == ["va_referral_missing", "balance_due"]
    found = explanations.claim_explanations([], [], ["277CA: A7:562 Entity's member id invalid"] * 2, "x")
    assert [code for code, _ in found] == ["277CA:A7:562"]
    found = explanations.claim_explanations([], [], [], "clearinghouse: answered 500")
    assert [(code, e.code) for code, e in found] == [("clearinghouse:http_500", "http_5xx")]


def test_a_denial_reason_reads_from_the_x12_code_list_with_the_front_desk_step() -> None:
    from pipeline.domain import adjustment_codes

    denied = explain("CO-197")
    assert denied.title == "No authorisation" and denied.form == "va_referral"
    assert adjustment_codes.CARC["197"] in denied.meaning.lower() and "contractual obligation" in denied.meaning
    assert explain("CARC:16").meaning.lower().startswith(adjustment_codes.CARC["16"])
    assert explain("PR-4242").title == "Payment adjustment" and "patient responsibility" in explain("PR-4242").meaning
    remark = explain("N54")
    assert remark.title == "Remark from the payer" and adjustment_codes.RARC["N54"] in remark.meaning.lower()
    found = claim_explanations([], [], [], None, denial_codes=["CO-197", "N54"])
    assert [code for code, _ in found] == ["CO-197", "N54"]


def test_a_voided_claim_says_so_first_and_that_resubmitting_does_not_help() -> None:
    found = claim_explanations([], [], [], None, ["CO-45"], status="voided")
    assert [code for code, _ in found] == ["voided", "CO-45"]
    assert found[0][1].title == "Claim voided" and found[0][1].resubmit == "no"
    assert [code for code, _ in claim_explanations([], [], [], None, status="accepted")] == []


@pytest.mark.parametrize("code", ["CARC:45", "CARC:4242", "CO-197", "PR-4242", "N54", "RARC:ZZZ9", "", "voided"])
def test_every_entry_made_on_the_fly_reads_as_a_sentence_with_its_next_step(code: str) -> None:
    entry = explain(code)
    assert entry.meaning[:1].isupper() and entry.meaning.endswith(".")
    assert entry.next_step and entry.resubmit in ("after_fix", "yes", "no")
    assert explain("CO-197").next_step == explain("CARC:197").next_step  # a group's code: the CARC's advice


def test_a_balance_due_never_tells_the_front_desk_to_collect_from_a_veteran() -> None:
    """A veteran is never charged (DOMAIN): the balance of a VA claim that needs attention is owed only if the
    claim is never billed to the VA, so the advice is to fix and resubmit it first."""
    entry = explain("balance_due")
    assert "from a veteran, do not" in entry.next_step
    assert "resubmit it first" in entry.next_step and "refunded" in entry.next_step


def test_a_submission_being_retried_says_to_wait_not_to_resubmit() -> None:
    """A claim still `submitting` whose last try met an outage: the worker retries it by itself and `resubmit`
    refuses a claim in that status, so the step is to wait; once `failed`, the same error says to resubmit."""
    [(code, retrying)] = claim_explanations([], [], [], "clearinghouse: answered 503", status="submitting")
    assert code == "clearinghouse:http_503" and retrying.resubmit == "no"
    assert "tries again by itself" in retrying.meaning and "Nothing to do now" in retrying.next_step
    [(_, failed)] = claim_explanations([], [], [], "clearinghouse: answered 503", status="failed")
    assert failed.code == "http_5xx" and failed.resubmit == "yes"


def test_only_the_problems_of_a_claim_being_run_again_are_those_of_its_last_run() -> None:
    """Resubmitting clears the peer's reasons and the last error, and keeps the problems until the claim is
    routed again: a `submitting` claim's error is its current try's, not its last run's."""
    problems = [{"code": "va_referral_missing", "message": "none on file"}]
    assert explanations.from_last_run({"status": "received", "problems": problems})
    assert not explanations.from_last_run({"status": "submitting", "problems": [],
                                           "last_error": "clearinghouse: answered 503"})
    assert not explanations.from_last_run({"status": "needs_attention", "problems": problems})


def test_a_balance_on_a_claim_that_is_not_a_veterans_says_nothing_of_veterans() -> None:
    """The front desk of a self-pay or commercial client reads what to do for that client; the VA advice is kept
    for a VA claim (and when the coverage is not known)."""
    plain = explanations.explain_warning(codes.BALANCE_DUE, "self_pay")
    assert "veteran" not in (plain.meaning + plain.next_step).lower()
    assert "Client payments" in plain.next_step
    assert explanations.explain_warning(codes.BALANCE_DUE, "commercial") == plain
    assert "veteran" in explanations.explain_warning(codes.BALANCE_DUE, "va_ccn").next_step
    assert explanations.explain_warning(codes.BALANCE_DUE, None) == explanations.explain(codes.BALANCE_DUE)
    found = dict(explanations.claim_explanations([], [codes.BALANCE_DUE], [], None, coverage_kind="self_pay"))
    assert found[codes.BALANCE_DUE] == plain
