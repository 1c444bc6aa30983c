"""Checks of the VA CCN referral (authorization), judged against the date of service."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from pipeline.domain import codes
from pipeline.domain.superbill import unlisted_procedures
from schemas.decision import Finding
from schemas.event import VaReferral

# The three forms of a VA referral number, sent exactly as they are.
REFERRAL_NUMBER_FORMATS: tuple[re.Pattern[str], ...] = (
    re.compile(r"[0-9]{3}-[0-9]{6}-[0-9]{2}"),
    re.compile(r"[0-9]{3}-PC-[0-9]{7}"),
    re.compile(r"VA[0-9]{10}"),
)
REFERRAL_NUMBER_FORMS = "NNN-NNNNNN-NN, NNN-PC-NNNNNNN or VA followed by 10 digits"
IN_NETWORK_ADMINISTRATORS = frozenset({"optum"})


def referral_number_is_valid(number: str) -> bool:
    return any(form.fullmatch(number) for form in REFERRAL_NUMBER_FORMATS)


@dataclass(frozen=True)
class ReferralContext:
    referral: VaReferral
    date_of_service: date
    billed_cpts: tuple[str, ...]
    visits_used: int


Check = Callable[[ReferralContext], Finding | None]


def missing_referral() -> Finding:
    return Finding(
        code=codes.VA_REFERRAL_MISSING,
        message="a VA CCN client needs an approved referral, and none is on file",
    )


def _number(ctx: ReferralContext) -> Finding | None:
    if referral_number_is_valid(ctx.referral.referral_number):
        return None
    return Finding(
        code=codes.VA_REFERRAL_NUMBER_INVALID,
        message=f"the referral number is not in a VA format ({REFERRAL_NUMBER_FORMS}, with nothing else)",
    )


def _network(ctx: ReferralContext) -> Finding | None:
    administrator = ctx.referral.administrator
    if administrator in IN_NETWORK_ADMINISTRATORS:
        return None
    region = f" (region {ctx.referral.region})" if ctx.referral.region is not None else ""
    return Finding(
        code=codes.VA_OUT_OF_NETWORK,
        message=(
            f"the referral is administered by {administrator}{region}; "
            "the practice is in network only with optum"
        ),
    )


def _approved(ctx: ReferralContext) -> Finding | None:
    approved = ctx.referral.approved_on
    if approved <= ctx.date_of_service:
        return None
    return Finding(
        code=codes.VA_REFERRAL_NOT_APPROVED_BEFORE_SERVICE,
        message=f"the referral was approved on {approved}, after the date of service {ctx.date_of_service}",
    )


def _window(ctx: ReferralContext) -> Finding | None:
    start, end = ctx.referral.valid_from, ctx.referral.valid_until
    if start <= ctx.date_of_service <= end:
        return None
    return Finding(
        code=codes.VA_REFERRAL_OUTSIDE_WINDOW,
        message=f"the date of service {ctx.date_of_service} is outside the referral window {start} to {end}",
    )


def _visits(ctx: ReferralContext) -> Finding | None:
    authorized = ctx.referral.visits_authorized
    this_visit = ctx.visits_used + 1
    if this_visit <= authorized:
        return None
    return Finding(
        code=codes.VA_VISITS_EXHAUSTED,
        message=(
            f"this session would be visit {this_visit} on a referral that authorises {authorized} "
            f"({ctx.visits_used} already billed)"
        ),
    )


def _procedures(ctx: ReferralContext) -> Finding | None:
    unlisted = unlisted_procedures(ctx.referral.procedures, ctx.billed_cpts)
    if unlisted is None:
        return None
    missing, listed = unlisted
    return Finding(
        code=codes.VA_PROCEDURE_NOT_AUTHORIZED,
        message=f"billed but not authorised on the referral: {', '.join(missing)} (authorised: {listed})",
    )


CHECKS: tuple[Check, ...] = (_number, _network, _approved, _window, _visits, _procedures)


def referral_findings(
    referral: VaReferral | None,
    date_of_service: date,
    billed_cpts: Sequence[str],
    visits_used: int = 0,
) -> list[Finding]:
    """Every problem with the referral of a VA CCN session.

    `visits_used` is the number of other sessions already billed on this referral (this session
    not included).
    """
    if visits_used < 0:
        raise ValueError(f"visits_used must not be negative, got {visits_used}")
    if referral is None:
        return [missing_referral()]
    ctx = ReferralContext(referral, date_of_service, tuple(dict.fromkeys(billed_cpts)), visits_used)
    return [finding for check in CHECKS if (finding := check(ctx)) is not None]
