"""The decision about one session: route, problems, warnings and the superbill (CONTRACT.md section 2-3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

Route = Literal["direct_billing", "courtesy_submission", "statement_only", "needs_attention"]
ROUTES: tuple[Route, ...] = ("direct_billing", "courtesy_submission", "statement_only", "needs_attention")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Finding(_Model):
    """A problem (decides the route) or a warning (does not); `code` is from CONTRACT.md section 2."""

    code: str
    message: str


class SuperbillLine(_Model):
    cpt: str
    modifiers: list[str]
    minutes: int
    units: int
    charge: Decimal
    diagnosis_pointers: list[int]
    body_regions: list[str] = Field(default_factory=list)
    description: str = ""

    @field_serializer("charge")
    def _money(self, value: Decimal) -> str:
        return f"{value:.2f}"


class Superbill(_Model):
    date_of_service: date
    place_of_service: str
    diagnosis_codes: list[str]
    lines: list[SuperbillLine]
    total_charge: Decimal
    amount_paid: Decimal
    balance_due: Decimal

    @field_serializer("total_charge", "amount_paid", "balance_due")
    def _money(self, value: Decimal) -> str:
        return f"{value:.2f}"


class Decision(_Model):
    claim_id: str
    session_id: str
    route: Route
    problems: list[Finding]
    warnings: list[Finding]
    superbill: Superbill | None = None

    @property
    def problem_codes(self) -> list[str]:
        return [p.code for p in self.problems]

    @property
    def warning_codes(self) -> list[str]:
        return [w.code for w in self.warnings]


class FieldError(_Model):
    """One refused input field: its path (`session.services[0].cpt`) and a plain message."""

    path: str
    message: str
