"""The practice profile (CONTRACT.md section 5): a TOML file read once into frozen models."""

from __future__ import annotations

import difflib
import os
import tomllib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from pipeline.domain.identifiers import ein_is_valid, npi_is_valid
from pipeline.domain.x12_rules import phone as nanp_phone
from schemas.event import model_in

DEFAULT_PRACTICE_FILE = Path(__file__).with_name("practice.example.toml")

Digits10 = Annotated[str, StringConstraints(pattern=r"^\d{10}$")]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class PracticeConfigError(Exception):
    """The practice profile is missing, unreadable, or has a wrong or missing key."""


class _Section(BaseModel):
    # A misspelled key or section is an error, never a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _money(value: Any) -> Any:
    if isinstance(value, (int, float)):  # TOML numbers; a bool is an int too
        raise ValueError('must be a decimal string such as "60.00" (quoted), not a number')
    return value


class PracticeAddress(_Section):
    line1: NonEmpty
    line2: str | None = None
    city: NonEmpty
    state: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    # The billing provider's ZIP+4, as the 837P's N4 needs it: nine digits, no dash.
    postal_code: Annotated[str, StringConstraints(pattern=r"^\d{9}$")]


class PracticeInfo(_Section):
    legal_name: NonEmpty
    npi: Digits10
    ein: Annotated[str, StringConstraints(pattern=r"^\d{2}-?\d{7}$")]
    taxonomy: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{9}X$")]
    phone: NonEmpty
    address: PracticeAddress
    timezone: str = "America/Chicago"
    """The practice's IANA time zone: the ops page and the CLI show times in it."""

    @field_validator("phone")
    @classmethod
    def _ten_digit_phone(cls, value: str) -> str:
        nanp_phone(value)  # what the 837P's billing provider contact (PER) carries; raises CannotCarry (ValueError)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not an IANA time zone (e.g. America/Chicago)") from None
        return name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def day_of(self, moment: datetime) -> date:
        """The practice's calendar day at `moment` (an aware datetime): the date its documents are issued on."""
        return moment.astimezone(self.zone).date()

    @field_validator("npi")
    @classmethod
    def _npi_check_digit(cls, npi: str) -> str:
        if not npi_is_valid(npi):
            raise ValueError("fails the NPI check digit")
        return npi

    @field_validator("ein")
    @classmethod
    def _valid_ein(cls, ein: str) -> str:
        if not ein_is_valid(ein):
            raise ValueError("is not a valid EIN (its prefix is not one the IRS assigns)")
        return ein


class Therapist(_Section):
    id: NonEmpty
    first_name: NonEmpty
    last_name: NonEmpty
    credentials: NonEmpty
    npi: NonEmpty  # the check digit is a routing problem (therapist_npi_invalid), not a config error
    license_number: NonEmpty
    license_state: NonEmpty


class PayerRules(_Section):
    unit_rule: Literal["cms", "ama"]
    gp_modifier: bool
    payer_id: str | None = None
    payer_name: str | None = None


class VaPayerRules(PayerRules):
    """The VA's administrator is billed directly: the 837P's payer (NM1*PR) needs its name and id."""

    payer_id: NonEmpty
    payer_name: NonEmpty

    @field_validator("payer_id", "payer_name")
    @classmethod
    def _no_x12_separator(cls, value: str) -> str:
        if any(c in value for c in "*:^~"):
            raise ValueError("holds an X12 separator (* : ^ ~), which the 837P cannot carry")
        return value


class Payers(_Section):
    va_ccn: VaPayerRules
    commercial: PayerRules
    self_pay: PayerRules | None = None


class Carriers(_Section):
    not_covering: list[str] = Field(default_factory=list)


class Coding(_Section):
    ncci_modifier: Literal["XS", "59"] = "XS"
    ncci_modifier_on: Literal["97124", "97140"] = "97140"


X12_ID = r"^[ -~]+$"  # printable ASCII; the X12 separators are refused separately
IsaId = Annotated[str, StringConstraints(min_length=2, max_length=15, pattern=X12_ID)]


class Clearinghouse(_Section):
    # Which clearinghouse API the 837P goes to: "http" (the HTTP shape of docs/CONTRACT.md, and the sandbox's
    # default) or "stedi" (Stedi's healthcare API; its key comes from SUPERBILL_STEDI_API_KEY).
    adapter: Literal["http", "stedi"] = "http"
    submitter_id: Annotated[str, StringConstraints(min_length=2, max_length=80, pattern=X12_ID)] = "THERAPKNEADS"
    receiver_id: Annotated[str, StringConstraints(min_length=2, max_length=80, pattern=X12_ID)] = "CLEARINGHOUSE"
    # ISA06/ISA08 (and GS02/GS03) hold at most 15 characters: when these are unset, the ids above go there
    # and must fit. An id is never cut: the clearinghouse would not recognise it.
    interchange_sender_id: IsaId | None = None
    interchange_receiver_id: IsaId | None = None
    receiver_name: NonEmpty = "CLEARINGHOUSE"
    usage: Literal["T", "P"] = "T"

    @model_validator(mode="after")
    def _fits_the_interchange_header(self) -> Clearinghouse:
        for key, value, explicit in (("submitter_id", self.submitter_id, self.interchange_sender_id),
                                     ("receiver_id", self.receiver_id, self.interchange_receiver_id)):
            if any(c in "*:^~" for c in value):
                raise ValueError(f"clearinghouse.{key} holds an X12 separator (* : ^ ~)")
            if explicit is None and len(value) > 15:
                side = "sender" if key == "submitter_id" else "receiver"
                raise ValueError(
                    f"clearinghouse.{key} has {len(value)} characters; the 837P's interchange header (ISA/GS) "
                    f"holds at most 15: shorten it, or set clearinghouse.interchange_{side}_id to the "
                    f"clearinghouse's interchange id")
        return self


class Statements(_Section):
    """How clients get their statements by e-mail (the SMTP server and sender come from the environment)."""

    schedule: Literal["per_session", "monthly"] = "per_session"
    """The default for clients whose event does not say (`client.statement_schedule`)."""
    monthly_day: int = Field(default=1, ge=1, le=28)
    """From this day of a month on, the monthly statement of the month before is sent."""


class Practice(_Section):
    practice: PracticeInfo
    therapists: list[Therapist] = Field(min_length=1)
    fees: dict[Literal["97124", "97140"], Annotated[Decimal, BeforeValidator(_money)]]
    payers: Payers
    carriers: Carriers = Field(default_factory=Carriers)
    coding: Coding = Field(default_factory=Coding)
    clearinghouse: Clearinghouse = Field(default_factory=Clearinghouse)
    statements: Statements = Field(default_factory=Statements)

    @field_validator("fees")
    @classmethod
    def _both_fees(cls, fees: dict[str, Decimal]) -> dict[str, Decimal]:
        missing = [cpt for cpt in ("97124", "97140") if cpt not in fees]
        if missing:
            raise ValueError(f"a fee is required for {', '.join(missing)}")
        for cpt, fee in fees.items():
            if fee < 0 or fee != fee.quantize(Decimal("0.01")):
                raise ValueError(f"the fee for {cpt} must be a non-negative amount with two decimals")
        return fees

    def therapist(self, therapist_id: str) -> Therapist | None:
        return next((t for t in self.therapists if t.id == therapist_id), None)

    def payer_rules(self, coverage_kind: str) -> PayerRules:
        if coverage_kind == "va_ccn":
            return self.payers.va_ccn
        if coverage_kind == "self_pay" and self.payers.self_pay is not None:
            return self.payers.self_pay
        return self.payers.commercial

    def carrier_excludes_massage(self, payer_name: str | None) -> bool:
        wanted = (payer_name or "").strip().casefold()
        return bool(wanted) and any(wanted == c.strip().casefold() for c in self.carriers.not_covering)


def _key_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(f".{item}" if parts else str(item))
    return "".join(parts)


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the profile allows where `loc` points."""
    model: type[BaseModel] | None = Practice
    for item in loc[:-1]:
        if isinstance(item, str):
            field = model.model_fields.get(item) if model is not None else None
            model = model_in(field.annotation) if field is not None else None
    return list(model.model_fields) if model is not None else []


def _plain(err: Any) -> str:
    if err["type"] == "missing":
        return "is missing"
    if err["type"] == "extra_forbidden":
        known = _known_keys(err["loc"])
        close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else (f" (known: {', '.join(known)})" if known else "")
        return f"is not a setting of the practice profile{hint}"
    if err["type"] == "string_pattern_mismatch":
        return f"is not in the expected format (pattern {err['ctx']['pattern']})"
    return str(err["msg"]).removeprefix("Value error, ")


def parse_practice(data: dict[str, object], source: str) -> Practice:
    try:
        return Practice.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: key {_key_path(err['loc'])}: {_plain(err)}" for err in exc.errors()]
        raise PracticeConfigError("\n".join(lines)) from None


def practice_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--practice FILE`, else `SUPERBILL_PRACTICE`, else the bundled example."""
    chosen = explicit or os.environ.get("SUPERBILL_PRACTICE")
    return Path(chosen) if chosen else DEFAULT_PRACTICE_FILE


def load_practice(path: str | os.PathLike[str] | None = None) -> Practice:
    target = practice_path(path)
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PracticeConfigError(f"{target}: practice profile not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise PracticeConfigError(f"{target}: not valid TOML ({exc})") from None
    return parse_practice(data, str(target))
