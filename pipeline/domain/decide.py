"""The decision about one completed session (CONTRACT.md section 2), in stages and composed.

    assembly = assemble(event, practice)                         # superbill draft + line warnings
    problems, warnings = findings(event, practice, assembly, visits_used)
    route = choose_route(event, practice, problems)
    warnings += payment_warnings(event, route, assembly.superbill)
    superbill = finalize_superbill(assembly.superbill, route)    # balance due depends on the route

`decide` runs them all and puts the findings in the contract's order, each code once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from config.practice import Practice
from pipeline.domain import codes
from pipeline.domain.claim_ids import claim_id_for
from pipeline.domain.diagnoses import is_billable
from pipeline.domain.identifiers import npi_is_valid
from pipeline.domain.modifiers import modifiers_by_cpt, ncci_same_region_finding
from pipeline.domain.prescription import missing_prescription, prescription_findings
from pipeline.domain.referral import referral_findings
from pipeline.domain.superbill import (
    MergedLine,
    billed_lines,
    build_superbill,
    finalize_superbill,
    merge_service_lines,
    minutes_by_cpt,
    unique_codes,
    zero_unit_warning,
)
from pipeline.domain.units import UnitRule, units_by_cpt
from pipeline.domain.x12_rules import x12_field_problems
from schemas.decision import Decision, Finding, Route, Superbill
from schemas.event import SessionCompleted


@dataclass(frozen=True)
class Assembly:
    """The session's lines under the payer's unit rule, and the superbill draft.

    `superbill` is None when the therapist is unknown or no line has units; its `balance_due` is
    the one of a route other than `direct_billing` until `finalize_superbill` is applied.
    """

    unit_rule: UnitRule
    lines: tuple[MergedLine, ...]
    units: Mapping[str, int]
    superbill: Superbill | None
    warnings: tuple[Finding, ...] = field(default=())

    @property
    def billed(self) -> tuple[MergedLine, ...]:
        return tuple(billed_lines(self.lines, self.units))

    @property
    def billed_cpts(self) -> tuple[str, ...]:
        return tuple(line.cpt for line in self.billed)

    @property
    def billed_regions(self) -> dict[str, list[str]]:
        return {line.cpt: list(line.body_regions) for line in self.billed}


# --- facts about the coverage -------------------------------------------------------------------


def carrier_excluded(event: SessionCompleted, practice: Practice) -> bool:
    """A commercial carrier on the practice's "does not cover massage" list."""
    coverage = event.coverage
    return coverage.kind == "commercial" and practice.carrier_excludes_massage(coverage.payer_name)


def courtesy_wanted(event: SessionCompleted) -> bool:
    return event.coverage.kind == "commercial" and event.coverage.courtesy_submission


def prescription_needed(event: SessionCompleted, practice: Practice) -> bool:
    """Needed for a VA claim and for a courtesy submission to a carrier that covers massage."""
    if event.coverage.kind == "va_ccn":
        return True
    return courtesy_wanted(event) and not carrier_excluded(event, practice)


def superbill_diagnoses(event: SessionCompleted, practice: Practice) -> list[str]:
    """The prescription's codes in the physician's order; only the billable ones when it is not needed."""
    if event.prescription is None:
        return []
    diagnoses = unique_codes(event.prescription.diagnosis_codes)
    if prescription_needed(event, practice):
        return diagnoses
    return [code for code in diagnoses if is_billable(code)]


# --- stage 1: assemble --------------------------------------------------------------------------


def assemble(event: SessionCompleted, practice: Practice) -> Assembly:
    rules = practice.payer_rules(event.coverage.kind)
    lines = tuple(merge_service_lines(event.session.services))
    units = units_by_cpt(minutes_by_cpt(lines), rules.unit_rule)
    billed = billed_lines(lines, units)
    modifiers = modifiers_by_cpt(
        {line.cpt: list(line.body_regions) for line in billed},
        gp_modifier=rules.gp_modifier,
        ncci_modifier=practice.coding.ncci_modifier,
        ncci_modifier_on=practice.coding.ncci_modifier_on,
    )
    fees: dict[str, Decimal] = dict(practice.fees.items())
    superbill = None
    if practice.therapist(event.session.therapist_id) is not None:
        superbill = build_superbill(
            date_of_service=event.date_of_service,
            place_of_service=event.session.place_of_service,
            diagnosis_codes=superbill_diagnoses(event, practice),
            lines=lines,
            units=units,
            modifiers=modifiers,
            fees=fees,
            amount_paid=event.payment.amount_collected,
        )
    # every line left out with 0 units is named, also when none is billed (then `no_billable_time` too)
    zero = zero_unit_warning(lines, units, rules.unit_rule)
    warnings: list[Finding] = [zero] if zero is not None else []
    return Assembly(rules.unit_rule, lines, units, superbill, tuple(warnings))


# --- stage 2: findings --------------------------------------------------------------------------


def therapist_findings(event: SessionCompleted, practice: Practice) -> list[Finding]:
    therapist_id = event.session.therapist_id
    therapist = practice.therapist(therapist_id)
    if therapist is None:
        return [
            Finding(
                code=codes.THERAPIST_UNKNOWN,
                message=f"therapist {therapist_id} is not in the practice profile",
            )
        ]
    if not npi_is_valid(therapist.npi):
        return [
            Finding(
                code=codes.THERAPIST_NPI_INVALID,
                message=f"therapist {therapist_id} has the NPI {therapist.npi}, which fails the NPI check",
            )
        ]
    return []


def _why_prescription_needed(event: SessionCompleted) -> str:
    return "a VA CCN claim" if event.coverage.kind == "va_ccn" else "a courtesy submission"


def prescription_split(
    event: SessionCompleted, practice: Practice, billed_cpts: Iterable[str]
) -> tuple[list[Finding], list[Finding]]:
    """(problems, warnings) about the prescription: problems only when one is needed."""
    needed = prescription_needed(event, practice)
    if event.prescription is None:
        return ([missing_prescription(_why_prescription_needed(event))] if needed else []), []
    found = prescription_findings(event.prescription, event.date_of_service, list(billed_cpts))
    return (found, []) if needed else ([], found)


def no_billable_time(assembly: Assembly) -> Finding | None:
    if assembly.billed:
        return None
    named = ", ".join(f"{line.cpt} ({line.minutes} min)" for line in assembly.lines)
    return Finding(
        code=codes.NO_BILLABLE_TIME,
        message=f"no line reaches 1 unit under the {assembly.unit_rule.upper()} rule: {named}",
    )


def coverage_warnings(event: SessionCompleted, practice: Practice) -> list[Finding]:
    out: list[Finding] = []
    if carrier_excluded(event, practice):
        out.append(
            Finding(
                code=codes.CARRIER_EXCLUDES_MASSAGE,
                message=(
                    f"{(event.coverage.payer_name or '').strip()} is on the practice's list of carriers "
                    "that do not cover massage: the client gets the statement"
                ),
            )
        )
    if event.coverage.kind == "commercial" and not event.coverage.courtesy_submission:
        out.append(
            Finding(
                code=codes.COURTESY_NOT_REQUESTED,
                message="the client did not ask for a courtesy submission: the client gets the statement",
            )
        )
    return out


def goal_warning(event: SessionCompleted, billed_cpts: Iterable[str]) -> Finding | None:
    """`code_goal_mismatch`: a functional goal billed as 97124 only, or a relaxation goal with 97140."""
    billed = set(billed_cpts)
    goal = event.session.goal
    if goal == "functional" and billed == {"97124"}:
        return Finding(
            code=codes.CODE_GOAL_MISMATCH,
            message="the goal is functional but only 97124 (massage) is billed; functional work is 97140",
        )
    if goal == "relaxation" and "97140" in billed:
        return Finding(
            code=codes.CODE_GOAL_MISMATCH,
            message="the goal is relaxation but 97140 (manual therapy) is billed; relaxation is 97124",
        )
    return None


MASSAGE_PLACES = frozenset({"11", "12"})  # the office, the client's home
TELEHEALTH_PLACES = frozenset({"02", "10"})


def place_warning(event: SessionCompleted) -> Finding | None:
    """`place_of_service_unusual`: a session billed at a place other than the office (11) or the client's
    home (12), where massage is given; telehealth (02, 10) above all, which a hands-on service never is."""
    place = event.session.place_of_service
    if place in MASSAGE_PLACES:
        return None
    if place in TELEHEALTH_PLACES:
        message = (f"place of service {place} is telehealth, which a hands-on massage cannot be: insurers deny "
                   "it; the practice gives massage at 11 (the office) or 12 (the client's home)")
    else:
        message = (f"place of service {place} is neither 11 (the office) nor 12 (the client's home), where the "
                   "practice gives massage: insurers may deny it; check the session's place of service")
    return Finding(code=codes.PLACE_OF_SERVICE_UNUSUAL, message=message)


def findings(
    event: SessionCompleted, practice: Practice, assembly: Assembly, visits_used: int = 0,
    data_problems: Sequence[str] = (),
) -> tuple[list[Finding], list[Finding]]:
    """(problems, warnings) that do not depend on the route, in the contract's order.

    `visits_used` is the number of other sessions already billed on the VA referral; `data_problems` what
    the 837P pre-flight found (field: why), reported with the data checks as `claim_data_invalid`.
    """
    billed = assembly.billed_cpts
    problems = therapist_findings(event, practice)
    warnings = coverage_warnings(event, practice)

    rx_problems, rx_warnings = prescription_split(event, practice, billed)
    problems += rx_problems
    warnings += rx_warnings

    if event.coverage.kind == "va_ccn":
        problems += referral_findings(event.va_referral, event.date_of_service, billed, visits_used)
        unfit = list(dict.fromkeys([*x12_field_problems(event), *data_problems]))
        if unfit:
            problems.append(Finding(code=codes.CLAIM_DATA_INVALID,
                                    message="the 837P cannot carry this data as sent: " + "; ".join(unfit)))

    for problem in (ncci_same_region_finding(assembly.billed_regions), no_billable_time(assembly)):
        if problem is not None:
            problems.append(problem)
    warnings += list(assembly.warnings)
    for warning in (goal_warning(event, billed), place_warning(event)):
        if warning is not None:
            warnings.append(warning)
    return ordered(problems), ordered(warnings)


# --- stage 3: route -----------------------------------------------------------------------------


def choose_route(event: SessionCompleted, practice: Practice, problems: Sequence[Finding]) -> Route:
    """Any problem needs a person; otherwise VA bills directly, a covering carrier asked for gets
    the courtesy submission, and everyone else gets the statement."""
    if problems:
        return codes.NEEDS_ATTENTION
    if event.coverage.kind == "va_ccn":
        return codes.DIRECT_BILLING
    if courtesy_wanted(event) and not carrier_excluded(event, practice):
        return codes.COURTESY_SUBMISSION
    return codes.STATEMENT_ONLY


def payment_warnings(event: SessionCompleted, route: Route, superbill: Superbill | None) -> list[Finding]:
    """`balance_due` off direct billing, `va_payment_collected` on it."""
    paid = event.payment.amount_collected
    if route == codes.DIRECT_BILLING:
        if paid > 0:
            return [
                Finding(
                    code=codes.VA_PAYMENT_COLLECTED,
                    message=f"{paid:.2f} was collected from a VA CCN client, who is never charged: refund it",
                )
            ]
        return []
    total = superbill.total_charge if superbill is not None else Decimal("0")
    if paid < total:
        due = f"paid {paid:.2f} of {total:.2f}: {total - paid:.2f} is due"
        if event.coverage.kind == "va_ccn":  # owed only while the claim cannot go to the VA
            due += " (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)"
        return [Finding(code=codes.BALANCE_DUE, message=due)]
    return []


# --- composed -----------------------------------------------------------------------------------


_RANK = {code: index for index, code in enumerate(codes.CODE_ORDER)}


def ordered(items: Iterable[Finding]) -> list[Finding]:
    """Each code once (its first finding), in the order of the contract's table."""
    first: dict[str, Finding] = {}
    for item in items:
        first.setdefault(item.code, item)
    return sorted(first.values(), key=lambda f: (_RANK.get(f.code, len(_RANK)), f.code))


def decide(event: SessionCompleted, practice: Practice, visits_used: int = 0,
           data_problems: Sequence[str] = ()) -> Decision:
    """The route, problems, warnings and superbill of one session.

    `visits_used` is the number of other sessions already billed on the VA referral (0 for a dry run);
    `data_problems` what the 837P pre-flight found wrong with a VA claim's data, by field.
    """
    assembly = assemble(event, practice)
    problems, warnings = findings(event, practice, assembly, visits_used, data_problems)
    route = choose_route(event, practice, problems)
    warnings = ordered([*warnings, *payment_warnings(event, route, assembly.superbill)])
    superbill = finalize_superbill(assembly.superbill, route) if assembly.superbill is not None else None
    session_id = event.session.session_id
    return Decision(
        claim_id=claim_id_for(session_id),
        session_id=session_id,
        route=route,
        problems=problems,
        warnings=warnings,
        superbill=superbill,
    )
