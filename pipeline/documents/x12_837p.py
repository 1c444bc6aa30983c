"""The X12 837P (005010X222A1) professional claim for a `direct_billing` decision (DOMAIN.md section 5).

Pure: everything, including the creation time and the control numbers, comes in as arguments.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from config.practice import Practice, Therapist
from pipeline.domain.x12_rules import (
    ADDRESS_LINE,
    CITY,
    COMPONENT_SEPARATOR,
    ELEMENT_SEPARATOR,
    ISA_ID,
    MEMBER_ID,
    ORGANIZATION_NAME,
    PERSON_FIRST_NAME,
    PERSON_LAST_NAME,
    REFERRAL_NUMBER,
    REPETITION_SEPARATOR,
    SEGMENT_TERMINATOR,
    SUBMITTER_ID,
    digits_of,
    identifier,
    limited_identifier,
    phone,
    required_text,
    state_code,
    zip_code,
)
from schemas.decision import Decision, Superbill, SuperbillLine
from schemas.event import SessionCompleted

VERSION = "005010X222A1"
ISA_LENGTH = 106
MAX_DIAGNOSES = 12
MAX_POINTERS = 4
MAX_MODIFIERS = 4
MAX_CONTROL_NUMBER = 999_999_999
MAX_CLAIM_ID_LENGTH = 20
SUPPORTED_FREQUENCY_CODES = ("1", "7", "8")  # original, replacement of a prior claim, void of a prior claim
PAYER_CLAIM_NUMBER = 50  # REF02 of REF*F8
TRANSACTION_SET_CONTROL_NUMBER = "0001"

def format_amount(amount: Decimal) -> str:
    """X12 decimal (R): `140.00` -> `140`, `260.50` -> `260.5`, never an exponent."""
    if amount < 0:
        raise ValueError(f"amount {amount} is negative")
    text = f"{amount.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _optional_line(value: str | None, what: str) -> str:
    return required_text(value, what, ADDRESS_LINE) if value and value.strip() else ""


def _ymd(day: date) -> str:
    return day.strftime("%Y%m%d")


def _control_number(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONTROL_NUMBER:
        raise ValueError(f"{what} must be a whole number from 1 to {MAX_CONTROL_NUMBER}, not {value!r}")
    return value


def _segment(*elements: str) -> str:
    parts = list(elements)
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return ELEMENT_SEPARATOR.join(parts)


def _composite(*components: str) -> str:
    parts = list(components)
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return COMPONENT_SEPARATOR.join(parts)


def _isa_id(explicit: str | None, fallback: str, what: str) -> str:
    """ISA06/ISA08: the explicit id, else the clearinghouse id; never cut (the profile is checked at load)."""
    return limited_identifier(explicit or fallback, what, ISA_ID).ljust(ISA_ID.max_length)


def _rendering_taxonomy(therapist: Therapist, practice: Practice) -> str:
    extra = therapist.model_extra or {}
    taxonomy = extra.get("taxonomy")
    return identifier(
        taxonomy if isinstance(taxonomy, str) and taxonomy else practice.practice.taxonomy,
        "rendering provider taxonomy",
        max_length=10,
    )


def _line_segments(
    number: int, line: SuperbillLine, superbill: Superbill, claim_id: str, diagnosis_count: int
) -> list[str]:
    if line.units < 1:
        raise ValueError(
            f"line {number} ({line.cpt}) has {line.units} units: only billed lines belong on a claim"
        )
    if len(line.modifiers) > MAX_MODIFIERS:
        raise ValueError(f"line {number} ({line.cpt}) has more than {MAX_MODIFIERS} modifiers")
    pointers = line.diagnosis_pointers
    if not 1 <= len(pointers) <= MAX_POINTERS:
        raise ValueError(f"line {number} ({line.cpt}) must point to 1 to {MAX_POINTERS} diagnoses")
    if any(not 1 <= p <= diagnosis_count for p in pointers):
        raise ValueError(f"line {number} ({line.cpt}) points to a diagnosis that is not on the claim")
    procedure = _composite(
        "HC",
        identifier(line.cpt, f"line {number} procedure code", max_length=48),
        *(identifier(m, f"line {number} modifier", max_length=2) for m in line.modifiers),
    )
    return [
        _segment("LX", str(number)),
        _segment(
            "SV1",
            procedure,
            format_amount(line.charge),
            "UN",
            str(line.units),
            "",
            "",
            _composite(*(str(p) for p in pointers)),
        ),
        _segment("DTP", "472", "D8", _ymd(superbill.date_of_service)),
        _segment("REF", "6R", f"{claim_id}-{number}"),
    ]


def render_837p(
    event: SessionCompleted,
    practice: Practice,
    decision: Decision,
    *,
    interchange_control_number: int,
    group_control_number: int,
    created_at: datetime,
    frequency_code: str = "1",
    payer_claim_number: str | None = None,
    usage: str | None = None,
) -> str:
    """One interchange holding one 837P claim for a `direct_billing` decision.

    A replacement (`frequency_code` 7) or a void (8) of a claim the payer adjudicated carries the payer's
    claim control number (CLP07 of its 835) in `REF*F8`; an original (1) carries none.

    Raises ValueError when the decision is not `direct_billing`, has no superbill, or when the
    data cannot make a well-formed claim (for example a missing referral or prescription).
    """
    if decision.route != "direct_billing":
        raise ValueError(f"an 837P is only rendered for direct_billing, not {decision.route}")
    superbill = decision.superbill
    if superbill is None:
        raise ValueError("the decision has no superbill")
    if frequency_code not in SUPPORTED_FREQUENCY_CODES:
        raise ValueError(
            f"claim frequency code {frequency_code!r} is not supported (only "
            f"{', '.join(SUPPORTED_FREQUENCY_CODES)}: original, replacement, void)"
        )
    if frequency_code == "1" and payer_claim_number:
        raise ValueError("an original claim (frequency code 1) carries no payer claim number")
    if frequency_code != "1" and not payer_claim_number:
        raise ValueError(f"a claim with frequency code {frequency_code} needs the payer claim number (REF*F8)")
    isa13 = _control_number(interchange_control_number, "interchange control number")
    gs06 = _control_number(group_control_number, "group control number")
    usage_indicator = practice.clearinghouse.usage if usage is None else usage
    if usage_indicator not in ("T", "P"):
        raise ValueError(f"usage indicator must be 'T' or 'P', not {usage_indicator!r}")

    referral = event.va_referral
    if referral is None:
        raise ValueError("a VA claim needs the referral number: the event has no va_referral")
    prescription = event.prescription
    if prescription is None:
        raise ValueError("a VA claim needs the referring physician: the event has no prescription")
    therapist = practice.therapist(event.session.therapist_id)
    if therapist is None:
        raise ValueError(f"therapist {event.session.therapist_id!r} is not in the practice profile")
    payer = practice.payers.va_ccn
    payer_name = required_text(payer.payer_name, "payers.va_ccn.payer_name", ORGANIZATION_NAME)
    payer_id = identifier(payer.payer_id, "payers.va_ccn.payer_id")

    claim_id = identifier(decision.claim_id, "claim id", max_length=MAX_CLAIM_ID_LENGTH)
    diagnoses = [
        identifier(code.replace(".", ""), "diagnosis code", 30) for code in superbill.diagnosis_codes
    ]
    if not 1 <= len(diagnoses) <= MAX_DIAGNOSES:
        raise ValueError(f"a claim needs 1 to {MAX_DIAGNOSES} diagnoses, not {len(diagnoses)}")
    if not superbill.lines:
        raise ValueError("the superbill has no lines")
    total = sum((line.charge for line in superbill.lines), Decimal(0))
    if total != superbill.total_charge:
        raise ValueError(
            f"the superbill total {superbill.total_charge} is not the sum of its lines ({total})"
        )
    place_of_service = identifier(superbill.place_of_service, "place of service", max_length=2)

    clearinghouse = practice.clearinghouse
    sender_id = _isa_id(
        clearinghouse.interchange_sender_id, clearinghouse.submitter_id, "interchange sender id"
    )
    receiver_id = _isa_id(
        clearinghouse.interchange_receiver_id, clearinghouse.receiver_id, "interchange receiver id"
    )
    submitter_id = limited_identifier(clearinghouse.submitter_id, "clearinghouse.submitter_id", SUBMITTER_ID)
    receiver_nm1_id = limited_identifier(clearinghouse.receiver_id, "clearinghouse.receiver_id", SUBMITTER_ID)
    gs_sender = sender_id.strip()
    gs_receiver = receiver_id.strip()

    info = practice.practice
    legal_name = required_text(info.legal_name, "practice legal name", ORGANIZATION_NAME)
    client = event.client
    physician = prescription.physician

    isa = _segment(
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        "ZZ",
        sender_id,
        "ZZ",
        receiver_id,
        created_at.strftime("%y%m%d"),
        created_at.strftime("%H%M"),
        REPETITION_SEPARATOR,
        "00501",
        f"{isa13:09d}",
        "0",
        usage_indicator,
        COMPONENT_SEPARATOR,
    )
    gs = _segment(
        "GS",
        "HC",
        gs_sender,
        gs_receiver,
        created_at.strftime("%Y%m%d"),
        created_at.strftime("%H%M"),
        str(gs06),
        "X",
        VERSION,
    )

    body: list[str] = [
        _segment("ST", "837", TRANSACTION_SET_CONTROL_NUMBER, VERSION),
        _segment(
            "BHT",
            "0019",
            "00",
            f"{claim_id}-{isa13}",
            created_at.strftime("%Y%m%d"),
            created_at.strftime("%H%M"),
            "CH",
        ),
        # 1000A submitter, 1000B receiver
        _segment("NM1", "41", "2", legal_name, "", "", "", "", "46", submitter_id),
        _segment("PER", "IC", legal_name, "TE", phone(info.phone)),
        _segment(
            "NM1",
            "40",
            "2",
            required_text(clearinghouse.receiver_name, "receiver name", ORGANIZATION_NAME),
            "",
            "",
            "",
            "",
            "46",
            receiver_nm1_id,
        ),
        # 2000A / 2010AA billing provider
        _segment("HL", "1", "", "20", "1"),
        _segment("PRV", "BI", "PXC", identifier(info.taxonomy, "practice taxonomy", 10)),
        _segment(
            "NM1", "85", "2", legal_name, "", "", "", "", "XX", identifier(info.npi, "practice NPI", 10)
        ),
        _segment(
            "N3",
            required_text(info.address.line1, "practice address line 1", ADDRESS_LINE),
            _optional_line(info.address.line2, "practice address line 2"),
        ),
        _segment(
            "N4",
            required_text(info.address.city, "practice city", CITY),
            state_code(info.address.state, "practice"),
            zip_code(info.address.postal_code, "billing provider", nine_digits=True),
        ),
        _segment("REF", "EI", digits_of(info.ein)),
        # 2000B / 2010BA subscriber (the veteran is the patient), 2010BB payer
        _segment("HL", "2", "1", "22", "0"),
        _segment("SBR", "P", "18", "", "", "", "", "", "", "VA"),
        _segment(
            "NM1",
            "IL",
            "1",
            required_text(client.last_name, "client last name", PERSON_LAST_NAME),
            required_text(client.first_name, "client first name", PERSON_FIRST_NAME),
            "",
            "",
            "",
            "MI",
            limited_identifier(event.coverage.member_id, "member id", MEMBER_ID),
        ),
        _segment(
            "N3",
            required_text(client.address.line1, "client address line 1", ADDRESS_LINE),
            _optional_line(client.address.line2, "client address line 2"),
        ),
        _segment(
            "N4",
            required_text(client.address.city, "client city", CITY),
            state_code(client.address.state, "client"),
            zip_code(client.address.postal_code, "client"),
        ),
        _segment("DMG", "D8", _ymd(client.date_of_birth), client.sex),
        _segment("NM1", "PR", "2", payer_name, "", "", "", "", "PI", payer_id),
        # 2300 claim
        _segment(
            "CLM",
            claim_id,
            format_amount(total),
            "",
            "",
            _composite(place_of_service, "B", frequency_code),
            "Y",
            "A",
            "Y",
            "Y",
        ),
        *([_segment("REF", "F8", identifier(payer_claim_number, "payer claim number", PAYER_CLAIM_NUMBER))]
          if payer_claim_number else []),
        _segment("REF", "9F", limited_identifier(referral.referral_number, "referral number", REFERRAL_NUMBER)),
        _segment(
            "HI",
            *(_composite("ABK" if i == 0 else "ABF", code) for i, code in enumerate(diagnoses)),
        ),
        # 2310A referring provider, 2310B rendering provider
        _segment(
            "NM1",
            "DN",
            "1",
            required_text(physician.last_name, "physician last name", PERSON_LAST_NAME),
            required_text(physician.first_name, "physician first name", PERSON_FIRST_NAME),
            "",
            "",
            "",
            "XX",
            identifier(physician.npi, "physician NPI", 10),
        ),
        _segment(
            "NM1",
            "82",
            "1",
            required_text(therapist.last_name, "therapist last name", PERSON_LAST_NAME),
            required_text(therapist.first_name, "therapist first name", PERSON_FIRST_NAME),
            "",
            "",
            "",
            "XX",
            identifier(therapist.npi, "therapist NPI", 10),
        ),
        _segment("PRV", "PE", "PXC", _rendering_taxonomy(therapist, practice)),
    ]
    for number, line in enumerate(superbill.lines, start=1):
        body.extend(_line_segments(number, line, superbill, claim_id, len(diagnoses)))
    body.append(_segment("SE", str(len(body) + 1), TRANSACTION_SET_CONTROL_NUMBER))

    segments = [isa, gs, *body, _segment("GE", "1", str(gs06)), _segment("IEA", "1", f"{isa13:09d}")]
    if len(isa) + 1 != ISA_LENGTH:
        raise ValueError(f"ISA segment has {len(isa) + 1} characters, not {ISA_LENGTH}")
    return SEGMENT_TERMINATOR.join(segments) + SEGMENT_TERMINATOR
