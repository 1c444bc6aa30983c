"""The 837P pre-flight: before a claim is routed to direct billing, its 837P is rendered and validated
against the 005010X222A1 map, so a claim a clearinghouse would reject never leaves for one.

`preflight_837p` returns what is wrong as "<field path>: <why>" lines that name fields and X12 elements,
never their values: they become the `claim_data_invalid` problem that ops reads and fixes by amendment.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from config.practice import Practice
from pipeline.documents.x12_837p import render_837p
from pipeline.documents.x12_validation import ElementError, is_code, validate_837p
from schemas.decision import Decision
from schemas.event import SessionCompleted

# pyx12 names each segment and element of the map; where one is filled from the event, its field path.
FIELD_OF_ELEMENT = {
    ("Subscriber Name", "NM103"): "client.last_name",
    ("Subscriber Name", "NM104"): "client.first_name",
    ("Subscriber Name", "NM109"): "coverage.member_id",
    ("Subscriber Address", "N301"): "client.address.line1",
    ("Subscriber Address", "N302"): "client.address.line2",
    ("Subscriber City, State, ZIP Code", "N401"): "client.address.city",
    ("Subscriber City, State, ZIP Code", "N402"): "client.address.state",
    ("Subscriber City, State, ZIP Code", "N403"): "client.address.postal_code",
    ("Subscriber Demographic Information", "DMG02"): "client.date_of_birth",
    ("Subscriber Demographic Information", "DMG03"): "client.sex",
    ("Claim Information", "CLM05"): "session.place_of_service",
    ("Prior Authorization", "REF02"): "va_referral.referral_number",
    ("Referral Number", "REF02"): "va_referral.referral_number",
    ("Referring Provider Name", "NM103"): "prescription.physician.last_name",
    ("Referring Provider Name", "NM104"): "prescription.physician.first_name",
    ("Referring Provider Name", "NM109"): "prescription.physician.npi",
    ("Health Care Diagnosis Code", "HI01"): "prescription.diagnosis_codes",
}

# What an element error code of a 999 (IK403) means.
ELEMENT_ERROR = {
    "1": "is required and missing", "2": "is conditionally required and missing", "3": "has too many elements",
    "4": "is too short", "5": "is too long", "6": "has a character X12 cannot carry", "7": "is not a valid code",
    "8": "is not a valid date", "9": "is not a valid time", "10": "breaks an exclusion condition",
    "12": "repeats too often", "13": "has too many components",
    "I6": "is a code this implementation does not use", "I9": "is required here and missing",
    "I10": "is present where it is not used", "I12": "does not match its pattern",
}


def _where(error: ElementError) -> str:
    field = FIELD_OF_ELEMENT.get((error.segment_name, error.element))
    element = f"{error.element} ({error.element_name})" if error.element_name else error.element
    why = ELEMENT_ERROR.get(error.code, f"fails check {error.code}")
    if field:
        return f"{field}: {element} {why}"
    return f"837P {error.segment_name or error.segment} {element}: {why}"


def code_list_problems(event: SessionCompleted) -> list[str]:
    """Codes the 837P takes from a code list: the client's state and the place of service."""
    problems = []
    state = event.client.address.state.strip().upper()
    if len(state) == 2 and not is_code("states", state):
        problems.append("client.address.state: not a US state or territory code (N402)")
    place = event.session.place_of_service
    if not is_code("pos", place):
        problems.append("session.place_of_service: not a CMS place-of-service code (CLM05-1)")
    return problems


def preflight_837p(event: SessionCompleted, practice: Practice, decision: Decision) -> list[str]:
    """Render and validate the 837P of a `direct_billing` decision; what stops it, by field. Empty: it passes."""
    problems = code_list_problems(event)
    if problems:
        return problems
    try:
        x12 = render_837p(event, practice, decision, interchange_control_number=1, group_control_number=1,
                          created_at=datetime.combine(event.date_of_service, time(12), tzinfo=UTC))
    except ValueError as exc:  # the renderer's messages name fields, never values
        return [f"837P: {exc}"]
    report = validate_837p(x12)
    if report.ok:
        return []
    located = list(dict.fromkeys(_where(e) for e in report.element_errors))
    return located or ["837P: the 005010X222A1 map rejects the interchange (see the claim's 837P in `check --x12`)"]
