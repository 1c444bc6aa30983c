"""The inbound `session.completed` event (CONTRACT.md section 1)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
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

_ICD_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
_MONEY_SHAPE = re.compile(r"^-?\d+(\.\d+)?$")


def normalize_icd10(code: str) -> str:
    """`m5450` / `M54.50` / ` m54.50 ` -> `M54.50` (dotted, upper case)."""
    bare = code.strip().upper().replace(".", "")
    return bare if len(bare) <= 3 else f"{bare[:3]}.{bare[3:]}"


def _money(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PydanticCustomError("money_type", "must be a decimal string such as \"120.00\"")
    text = str(value).strip()
    if not _MONEY_SHAPE.match(text):
        raise PydanticCustomError("money_format", "must be a decimal string such as \"120.00\"")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise PydanticCustomError("money_format", "is not a decimal amount") from exc
    if amount < 0:
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
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Cpt = Literal["97124", "97140"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _required_when(field: str, reason: str) -> PydanticCustomError:
    return PydanticCustomError("missing", "is required {reason}", {"field": field, "reason": reason})


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
    session_id: Text
    started_at: AwareDatetime
    ended_at: AwareDatetime
    place_of_service: Annotated[str, StringConstraints(pattern=r"^\d{2}$")] = "11"
    therapist_id: Text
    goal: Literal["functional", "relaxation"] | None = None
    services: list[ServiceLine] = Field(min_length=1, max_length=4)

    @model_validator(mode="after")
    def _times_add_up(self) -> Session:
        if self.ended_at < self.started_at:
            raise PydanticCustomError(
                "time_order", "must not be before started_at", {"field": "ended_at"}
            )
        length = int((self.ended_at - self.started_at).total_seconds() // 60)
        total = sum(line.minutes for line in self.services)
        if total > length:
            raise PydanticCustomError(
                "minutes_exceed_session",
                "the lines add up to {total} minutes, more than the session's {length}",
                {"field": "services", "total": total, "length": length},
            )
        return self

    @property
    def date_of_service(self) -> date:
        """The calendar date of `started_at` in its own offset."""
        return self.started_at.date()


class Address(_Model):
    line1: Text
    line2: str | None = None
    city: Text
    state: Text
    postal_code: Text


class Client(_Model):
    client_id: Text
    first_name: Text
    last_name: Text
    date_of_birth: date
    sex: Literal["M", "F", "U"] = "U"
    address: Address
    email: str | None = None
    phone: str | None = None


class Coverage(_Model):
    kind: Literal["va_ccn", "commercial", "self_pay"]
    payer_name: str | None = None
    payer_id: str | None = None
    member_id: str | None = None
    group_number: str | None = None
    courtesy_submission: bool = False

    @model_validator(mode="after")
    def _kind_needs(self) -> Coverage:
        if self.kind in ("va_ccn", "commercial") and not (self.member_id or "").strip():
            raise _required_when("member_id", f"when kind is {self.kind}")
        if self.kind == "commercial" and not (self.payer_name or "").strip():
            raise _required_when("payer_name", "when kind is commercial")
        return self


class Payment(_Model):
    amount_collected: Money
    method: Literal["card", "cash", "check", "hsa", "fsa", "none"]


class Physician(_Model):
    first_name: Text
    last_name: Text
    npi: Text


class Prescription(_Model):
    prescription_id: str | None = None
    physician: Physician
    issued_on: date
    expires_on: date | None = None
    signed: bool
    diagnosis_codes: list[DiagnosisCode] = Field(max_length=MAX_DIAGNOSES)
    procedures: list[str] | None = None
    treatments_authorized: int | None = Field(default=None, ge=0)


class VaReferral(_Model):
    referral_number: Text
    administrator: Literal["optum", "triwest"]
    region: int | None = None
    seoc: str | None = None
    approved_on: date
    valid_from: date
    valid_until: date
    visits_authorized: int = Field(ge=0)
    procedures: list[str] | None = None


class SessionCompleted(_Model):
    event_id: Text
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
