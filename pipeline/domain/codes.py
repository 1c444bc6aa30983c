"""The fixed vocabulary of CONTRACT.md section 2: routes, problem codes and warning codes."""

from __future__ import annotations

from typing import Final

from schemas.decision import Route

DIRECT_BILLING: Final[Route] = "direct_billing"
COURTESY_SUBMISSION: Final[Route] = "courtesy_submission"
STATEMENT_ONLY: Final[Route] = "statement_only"
NEEDS_ATTENTION: Final[Route] = "needs_attention"

ROUTES: Final[tuple[Route, ...]] = (DIRECT_BILLING, COURTESY_SUBMISSION, STATEMENT_ONLY, NEEDS_ATTENTION)

# Problems: they decide the route.
THERAPIST_UNKNOWN: Final = "therapist_unknown"
THERAPIST_NPI_INVALID: Final = "therapist_npi_invalid"
PRESCRIPTION_MISSING: Final = "prescription_missing"
PRESCRIPTION_UNSIGNED: Final = "prescription_unsigned"
PRESCRIPTION_NOT_YET_VALID: Final = "prescription_not_yet_valid"
PRESCRIPTION_EXPIRED: Final = "prescription_expired"
PHYSICIAN_NPI_INVALID: Final = "physician_npi_invalid"
DIAGNOSIS_MISSING: Final = "diagnosis_missing"
DIAGNOSIS_INVALID: Final = "diagnosis_invalid"
DIAGNOSIS_NOT_BILLABLE: Final = "diagnosis_not_billable"
PROCEDURE_NOT_PRESCRIBED: Final = "procedure_not_prescribed"
VA_REFERRAL_MISSING: Final = "va_referral_missing"
VA_REFERRAL_NUMBER_INVALID: Final = "va_referral_number_invalid"
VA_OUT_OF_NETWORK: Final = "va_out_of_network"
VA_REFERRAL_NOT_APPROVED_BEFORE_SERVICE: Final = "va_referral_not_approved_before_service"
VA_REFERRAL_OUTSIDE_WINDOW: Final = "va_referral_outside_window"
VA_VISITS_EXHAUSTED: Final = "va_visits_exhausted"
VA_PROCEDURE_NOT_AUTHORIZED: Final = "va_procedure_not_authorized"
NCCI_SAME_REGION: Final = "ncci_same_region"
NO_BILLABLE_TIME: Final = "no_billable_time"
# An extension of the contract's table: VA data that an 837P cannot carry as sent (a member id with an
# X12 separator, a state that is not a two-letter code, a ZIP that is not 5 or 9 digits).
CLAIM_DATA_INVALID: Final = "claim_data_invalid"

# Warnings: reported, but they do not decide the route.
CARRIER_EXCLUDES_MASSAGE: Final = "carrier_excludes_massage"
COURTESY_NOT_REQUESTED: Final = "courtesy_not_requested"
ZERO_UNIT_LINE: Final = "zero_unit_line"
CODE_GOAL_MISMATCH: Final = "code_goal_mismatch"
# An extension of the contract's table: a place of service other than the office (11) or the client's home (12).
PLACE_OF_SERVICE_UNUSUAL: Final = "place_of_service_unusual"
BALANCE_DUE: Final = "balance_due"
VA_PAYMENT_COLLECTED: Final = "va_payment_collected"

PROBLEM_ORDER: Final[tuple[str, ...]] = (
    THERAPIST_UNKNOWN,
    THERAPIST_NPI_INVALID,
    PRESCRIPTION_MISSING,
    PRESCRIPTION_UNSIGNED,
    PRESCRIPTION_NOT_YET_VALID,
    PRESCRIPTION_EXPIRED,
    PHYSICIAN_NPI_INVALID,
    DIAGNOSIS_MISSING,
    DIAGNOSIS_INVALID,
    DIAGNOSIS_NOT_BILLABLE,
    PROCEDURE_NOT_PRESCRIBED,
    VA_REFERRAL_MISSING,
    VA_REFERRAL_NUMBER_INVALID,
    VA_OUT_OF_NETWORK,
    VA_REFERRAL_NOT_APPROVED_BEFORE_SERVICE,
    VA_REFERRAL_OUTSIDE_WINDOW,
    VA_VISITS_EXHAUSTED,
    VA_PROCEDURE_NOT_AUTHORIZED,
    NCCI_SAME_REGION,
    NO_BILLABLE_TIME,
    CLAIM_DATA_INVALID,
)

WARNING_ORDER: Final[tuple[str, ...]] = (
    CARRIER_EXCLUDES_MASSAGE,
    COURTESY_NOT_REQUESTED,
    ZERO_UNIT_LINE,
    CODE_GOAL_MISMATCH,
    PLACE_OF_SERVICE_UNUSUAL,
    BALANCE_DUE,
    VA_PAYMENT_COLLECTED,
)

PROBLEM_CODES: Final[frozenset[str]] = frozenset(PROBLEM_ORDER)
# the problem codes a claim can carry: the rules' own, and a stored event that no longer passes validation
FILTERABLE_PROBLEMS: Final[tuple[str, ...]] = (*PROBLEM_ORDER, "input_invalid")
WARNING_CODES: Final[frozenset[str]] = frozenset(WARNING_ORDER)

# Every code in the order of the contract's table: the order findings are reported in.
CODE_ORDER: Final[tuple[str, ...]] = PROBLEM_ORDER + WARNING_ORDER

# The codes that are problems only when a prescription is needed, and warnings otherwise.
PRESCRIPTION_CODES: Final[frozenset[str]] = frozenset(
    {
        PRESCRIPTION_MISSING,
        PRESCRIPTION_UNSIGNED,
        PRESCRIPTION_NOT_YET_VALID,
        PRESCRIPTION_EXPIRED,
        PHYSICIAN_NPI_INVALID,
        DIAGNOSIS_MISSING,
        DIAGNOSIS_INVALID,
        DIAGNOSIS_NOT_BILLABLE,
        PROCEDURE_NOT_PRESCRIBED,
    }
)
