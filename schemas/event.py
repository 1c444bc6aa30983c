"""The inbound `session.completed` event (CONTRACT.md section 1)."""

from __future__ import annotations

import difflib
import functools
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

SUPPORTED_CPTS = ("97124", "97140")
MAX_SERVICE_MINUTES = 240
MAX_DIAGNOSES = 12
MAX_SERVICE_LINES = 4

_ICD_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
_MONEY_SHAPE = re.compile(r"^-?\d+(\.\d+)?$")


def normalize_icd10(code: str) -> str:
    """`m5450` / `M54.50` / ` m54.50 ` -> `M54.50` (dotted, upper case)."""
    bare = code.strip().upper().replace(".", "")
    return bare if len(bare) <= 3 else f"{bare[:3]}.{bare[3:]}"


def _money(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise PydanticCustomError("money_type", "must be a decimal string such as \"120.00\"")
    text = value.strip()
    if not _MONEY_SHAPE.match(text):
        raise PydanticCustomError("money_format", "must be a decimal string such as \"120.00\"")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise PydanticCustomError("money_format", "is not a decimal amount") from exc
    if amount < 0 or text.startswith("-"):
        raise PydanticCustomError("money_negative", "must not be negative")
    if -amount.as_tuple().exponent > 2:  # type: ignore[operator]
        raise PydanticCustomError("money_precision", "must have at most two decimals")
    return amount


def _diagnosis(value: Any) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("icd_type", "must be a string")
    if not _ICD_SHAPE.match(value.strip().upper()):
        raise PydanticCustomError(
            "icd_shape", "\"{value}\" is not shaped like an ICD-10-CM code", {"value": value}
        )
    return normalize_icd10(value)


Money = Annotated[Decimal, BeforeValidator(_money)]
DiagnosisCode = Annotated[str, BeforeValidator(_diagnosis)]
# Bounds on the length of every text an event carries: far above what any form or X12 element takes (a name
# or an address line, 35-80 characters), far below what would make a document slow to render (a
# 100,000-character name costs a superbill PDF 10 s of CPU).
MAX_TEXT = 200
MAX_IDENTIFIER = 100
MAX_EMAIL = 254  # RFC 5321's longest path
MAX_PROCEDURES = 20
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
OptionalText = Annotated[str, StringConstraints(max_length=MAX_TEXT)]


def _identifier(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise PydanticCustomError("blank", "must not be empty")
    return value


# An identifier is taken exactly as sent: "s1 " and "s1" are two sessions, never one (no trimming).
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=MAX_IDENTIFIER), AfterValidator(_identifier)]
Cpt = Literal["97124", "97140"]


class _Model(BaseModel):
    # Inbound events are validated strictly, from JSON text (`pipeline.domain.intake`): a wrong JSON type
    # is an input error there ("30" is not a number of minutes, 1 is not `true`).
    model_config = ConfigDict(extra="ignore", frozen=True)


TOO_MANY_SERVICES = "must have at most 4 service lines"
TOO_MANY_DIAGNOSES = f"must have at most {MAX_DIAGNOSES} diagnosis codes"


def session_rule_errors(started: datetime, ended: datetime, minutes: list[int]) -> list[tuple[str, str]]:
    """The session's cross-field rules, as (field, message): used by the model and by the raw check."""
    out: list[tuple[str, str]] = []
    if ended < started:
        out.append(("ended_at", "must not be before started_at"))
    elif sum(minutes) > (length := int((ended - started).total_seconds() // 60)):
        out.append(("services", f"the lines add up to {sum(minutes)} minutes, more than the session's {length}"))
    if len(minutes) > MAX_SERVICE_LINES:
        out.append(("services", TOO_MANY_SERVICES))
    return out


def coverage_rule_errors(kind: str, member_id: object, payer_name: object) -> list[tuple[str, str]]:
    def blank(value: object) -> bool:
        return value is None or (isinstance(value, str) and not value.strip())

    out: list[tuple[str, str]] = []
    if kind in ("va_ccn", "commercial") and blank(member_id):
        out.append(("member_id", f"is required when kind is {kind}"))
    if kind == "commercial" and blank(payer_name):
        out.append(("payer_name", "is required when kind is commercial"))
    return out


def raw_rule_errors(document: Any) -> list[tuple[str, str]]:
    """The cross-field rules checked on the raw JSON document, tolerating every other error, so that they
    are reported together with the field errors (pydantic runs a model's own rules only when its fields
    are valid). Returns (path, message)."""
    out: list[tuple[str, str]] = []
    if not isinstance(document, dict):
        return out
    session = document.get("session")
    if isinstance(session, dict):
        services = session.get("services")
        lines = services if isinstance(services, list) else []
        minutes = [ln.get("minutes") for ln in lines if isinstance(ln, dict)]
        started, ended = _aware(session.get("started_at")), _aware(session.get("ended_at"))
        if len(lines) > MAX_SERVICE_LINES:
            out.append(("session.services", TOO_MANY_SERVICES))
        if started and ended:
            whole = all(type(m) is int and 0 <= m <= MAX_SERVICE_MINUTES for m in minutes)
            checks = session_rule_errors(started, ended, [m for m in minutes if type(m) is int] if whole else [])
            out += [(f"session.{field}", msg) for field, msg in checks if msg != TOO_MANY_SERVICES]
    coverage = document.get("coverage")
    if isinstance(coverage, dict) and isinstance(coverage.get("kind"), str):
        checks = coverage_rule_errors(coverage["kind"], coverage.get("member_id"), coverage.get("payer_name"))
        out += [(f"coverage.{field}", msg) for field, msg in checks]
    rx = document.get("prescription")
    if isinstance(rx, dict) and isinstance(rx.get("diagnosis_codes"), list) \
            and len(rx["diagnosis_codes"]) > MAX_DIAGNOSES:
        out.append(("prescription.diagnosis_codes", TOO_MANY_DIAGNOSES))
    return out


def _aware(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


class ServiceLine(_Model):
    cpt: Cpt
    minutes: int = Field(ge=0, le=MAX_SERVICE_MINUTES)
    body_region: Text

    @field_validator("cpt", mode="before")
    @classmethod
    def _supported_cpt(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in SUPPORTED_CPTS:
            raise PydanticCustomError(
                "cpt_unsupported",
                "CPT {value} is not a service of this practice (only 97124 and 97140)",
                {"value": value},
            )
        return value


class Session(_Model):
    session_id: Identifier
    started_at: AwareDatetime
    ended_at: AwareDatetime
    place_of_service: Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")] = "11"
    therapist_id: Identifier
    goal: Literal["functional", "relaxation"] | None = None
    services: list[ServiceLine] = Field(min_length=1)

    @model_validator(mode="after")
    def _times_add_up(self) -> Session:
        problems = session_rule_errors(self.started_at, self.ended_at, [ln.minutes for ln in self.services])
        if problems:
            field, message = problems[0]
            raise PydanticCustomError("session_rule", message, {"field": field})
        return self

    @property
    def date_of_service(self) -> date:
        """The calendar date of `started_at` in its own offset."""
        return self.started_at.date()


class Address(_Model):
    line1: Text
    line2: OptionalText | None = None
    city: Text
    state: Text
    postal_code: Text


class Client(_Model):
    client_id: Identifier
    first_name: Text
    last_name: Text
    date_of_birth: date
    sex: Literal["M", "F", "U"] = "U"
    address: Address
    email: Annotated[str, StringConstraints(max_length=MAX_EMAIL)] | None = None
    phone: OptionalText | None = None
    statement_opt_out: bool = False
    """The client does not want statements by e-mail (they are still made and kept)."""
    statement_schedule: Literal["per_session", "monthly"] | None = None
    """When statements are e-mailed: after every session, or once a month for the month before (None: the
    practice profile's `[statements] schedule`)."""


class Coverage(_Model):
    kind: Literal["va_ccn", "commercial", "self_pay"]
    payer_name: OptionalText | None = None
    payer_id: OptionalText | None = None
    member_id: OptionalText | None = None
    group_number: OptionalText | None = None
    courtesy_submission: bool = False

    @model_validator(mode="after")
    def _kind_needs(self) -> Coverage:
        problems = coverage_rule_errors(self.kind, self.member_id, self.payer_name)
        if problems:
            field, message = problems[0]
            raise PydanticCustomError("missing", message, {"field": field})
        return self


class Payment(_Model):
    amount_collected: Money
    method: Literal["card", "cash", "check", "hsa", "fsa", "none"]


class Physician(_Model):
    first_name: Text
    last_name: Text
    npi: Text


class Prescription(_Model):
    prescription_id: OptionalText | None = None
    physician: Physician
    issued_on: date
    expires_on: date | None = None
    signed: bool
    diagnosis_codes: list[DiagnosisCode]
    procedures: Annotated[list[OptionalText], Field(max_length=MAX_PROCEDURES)] | None = None
    treatments_authorized: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _at_most_twelve(self) -> Prescription:
        if len(self.diagnosis_codes) > MAX_DIAGNOSES:
            raise PydanticCustomError("too_many", TOO_MANY_DIAGNOSES, {"field": "diagnosis_codes"})
        return self


class VaReferral(_Model):
    referral_number: OptionalText  # may be empty: that is the problem va_referral_number_invalid, fixable by amendment
    administrator: Literal["optum", "triwest"]
    region: int | None = None
    seoc: OptionalText | None = None
    approved_on: date
    valid_from: date
    valid_until: date
    visits_authorized: int = Field(ge=0)
    procedures: Annotated[list[OptionalText], Field(max_length=MAX_PROCEDURES)] | None = None


class SessionCompleted(_Model):
    event_id: Identifier
    event_type: Literal["session.completed"]
    occurred_at: AwareDatetime | None = None
    session: Session
    client: Client
    coverage: Coverage
    payment: Payment
    prescription: Prescription | None = None
    va_referral: VaReferral | None = None

    @property
    def date_of_service(self) -> date:
        return self.session.date_of_service


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds: `M`, `M | None`, `list[M]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = model_in(arg)
        if found is not None:
            return found
    return None


@functools.cache
def _fields_of(model: type[BaseModel]) -> dict[str, tuple[bool, type[BaseModel] | None]]:
    """Each field of a model: (required, the model it holds), worked out once per model."""
    return {name: (spec.is_required(), model_in(spec.annotation)) for name, spec in model.model_fields.items()}


def without_null_defaults(document: Any, model: type[BaseModel] = SessionCompleted) -> Any:
    """The raw document with every `null` of an optional field left out, so that it takes its default exactly
    as if it had not been sent (`"sex": null` is `"U"`). `null` for a required field stays an input error."""
    if not isinstance(document, dict):
        return document
    fields = _fields_of(model)
    out: dict[str, Any] = {}
    for key, value in document.items():
        spec = fields.get(key) if isinstance(key, str) else None
        if spec is None:
            out[key] = value
            continue
        required, inner = spec
        if value is None and not required:
            continue
        if inner is not None and isinstance(value, list):
            value = [without_null_defaults(item, inner) for item in value]
        elif inner is not None:
            value = without_null_defaults(value, inner)
        out[key] = value
    return out


def unknown_fields(document: Any, model: type[BaseModel] = SessionCompleted, path: str = "") -> list[tuple[str, str]]:
    """(path, the closest known name or "") for every key of `document` the model does not know: an
    amendment names only real fields (an event from the booking system may carry extra ones; a person's
    amendment may not, or a misspelled key would be silently ignored)."""
    found: list[tuple[str, str]] = []
    if not isinstance(document, dict):
        return found
    for key, value in document.items():
        where = f"{path}.{key}" if path else str(key)
        spec = model.model_fields.get(key) if isinstance(key, str) else None
        if spec is None:
            close = difflib.get_close_matches(str(key), list(model.model_fields), n=1)
            found.append((where, close[0] if close else ""))
            continue
        inner = model_in(spec.annotation)
        if inner is not None and isinstance(value, list):
            for n, item in enumerate(value):
                found += unknown_fields(item, inner, f"{where}[{n}]")
        elif inner is not None:
            found += unknown_fields(value, inner, where)
    return found
