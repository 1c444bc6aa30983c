"""The superbill: merged service lines, units, modifiers, charges, diagnosis pointers and totals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pipeline.domain import codes
from schemas.decision import Finding, Route, Superbill, SuperbillLine
from schemas.event import ServiceLine

CENTS = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_POINTERS_PER_LINE = 4

CPT_DESCRIPTIONS: Mapping[str, str] = {
    "97124": "Massage (effleurage, petrissage, tapotement), each 15 minutes",
    "97140": "Manual therapy techniques (soft tissue and joint mobilisation, myofascial release), "
    "each 15 minutes",
}


@dataclass(frozen=True)
class MergedLine:
    """All service lines of one CPT: minutes added, body regions kept (each once, first spelling)."""

    cpt: str
    minutes: int
    body_regions: tuple[str, ...]


def merge_service_lines(services: Iterable[ServiceLine]) -> list[MergedLine]:
    """One line per CPT, in the order each CPT first appears."""
    minutes: dict[str, int] = {}
    regions: dict[str, dict[str, str]] = {}
    for service in services:
        minutes[service.cpt] = minutes.get(service.cpt, 0) + service.minutes
        region = service.body_region.strip()
        regions.setdefault(service.cpt, {}).setdefault(region.casefold(), region)
    return [MergedLine(cpt, total, tuple(regions[cpt].values())) for cpt, total in minutes.items()]


def minutes_by_cpt(lines: Sequence[MergedLine]) -> dict[str, int]:
    return {line.cpt: line.minutes for line in lines}


def billed_lines(lines: Sequence[MergedLine], units: Mapping[str, int]) -> list[MergedLine]:
    """The lines with at least one unit."""
    return [line for line in lines if units.get(line.cpt, 0) >= 1]


def zero_unit_lines(lines: Sequence[MergedLine], units: Mapping[str, int]) -> list[MergedLine]:
    return [line for line in lines if units.get(line.cpt, 0) < 1]


def zero_unit_warning(
    lines: Sequence[MergedLine], units: Mapping[str, int], unit_rule: str
) -> Finding | None:
    """`zero_unit_line`, naming every line left off the superbill with 0 units."""
    dropped = zero_unit_lines(lines, units)
    if not dropped:
        return None
    named = ", ".join(f"{line.cpt} ({line.minutes} min)" for line in dropped)
    return Finding(
        code=codes.ZERO_UNIT_LINE,
        message=f"0 units under the {unit_rule.upper()} rule, left off the superbill: {named}",
    )


def unique_codes(diagnosis_codes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(diagnosis_codes))


def diagnosis_pointers(diagnosis_count: int) -> list[int]:
    """Pointers to the first up-to-four diagnoses: 1..min(4, n)."""
    return list(range(1, min(MAX_POINTERS_PER_LINE, max(diagnosis_count, 0)) + 1))


def line_charge(units: int, fee: Decimal) -> Decimal:
    return (fee * units).quantize(CENTS)


def balance_due(total_charge: Decimal, amount_paid: Decimal, route: Route | None) -> Decimal:
    """Nothing for a direct VA claim; otherwise what is left to pay, never below zero."""
    if route == codes.DIRECT_BILLING:
        return ZERO
    return max(ZERO, total_charge - amount_paid).quantize(CENTS)


def build_superbill(
    *,
    date_of_service: date,
    place_of_service: str,
    diagnosis_codes: Sequence[str],
    lines: Sequence[MergedLine],
    units: Mapping[str, int],
    modifiers: Mapping[str, Sequence[str]],
    fees: Mapping[str, Decimal],
    amount_paid: Decimal,
    route: Route | None = None,
) -> Superbill | None:
    """The superbill of the billed lines, or None when no line has units.

    Without a `route` the balance is the one of a route other than `direct_billing`; see
    `finalize_superbill`.
    """
    diagnoses = unique_codes(diagnosis_codes)
    pointers = diagnosis_pointers(len(diagnoses))
    out: list[SuperbillLine] = []
    for line in billed_lines(lines, units):
        line_units = units[line.cpt]
        out.append(
            SuperbillLine(
                cpt=line.cpt,
                modifiers=list(modifiers.get(line.cpt, ())),
                minutes=line.minutes,
                units=line_units,
                charge=line_charge(line_units, fees[line.cpt]),
                diagnosis_pointers=list(pointers),
                body_regions=list(line.body_regions),
                description=CPT_DESCRIPTIONS.get(line.cpt, ""),
            )
        )
    if not out:
        return None
    total = sum((line.charge for line in out), ZERO).quantize(CENTS)
    paid = amount_paid.quantize(CENTS)
    return Superbill(
        date_of_service=date_of_service,
        place_of_service=place_of_service,
        diagnosis_codes=diagnoses,
        lines=out,
        total_charge=total,
        amount_paid=paid,
        balance_due=balance_due(total, paid, route),
    )


def finalize_superbill(superbill: Superbill, route: Route) -> Superbill:
    """The superbill with the balance due of its route."""
    return superbill.model_copy(
        update={"balance_due": balance_due(superbill.total_charge, superbill.amount_paid, route)}
    )


def unlisted_procedures(listed: Iterable[str] | None, billed: Iterable[str]) -> tuple[list[str], str] | None:
    """The billed CPTs missing from a list of allowed ones (a prescription's, a referral's), and the list as
    text; None when no list is given or every billed CPT is on it."""
    if listed is None:
        return None
    allowed = {p.strip() for p in listed}
    missing = [cpt for cpt in billed if cpt not in allowed]
    return (missing, ", ".join(sorted(allowed)) or "none") if missing else None

