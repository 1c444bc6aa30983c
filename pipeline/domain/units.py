"""Minutes of timed codes -> 15-minute units, under the CMS total-time rule or the AMA per-code rule.

Input is the minutes per CPT with lines of the same CPT already merged; output is the units per
CPT, in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

UnitRule = Literal["cms", "ama"]

UNIT_MINUTES = 15
# A partial block of at least this many minutes counts as one more unit.
MIN_PARTIAL_MINUTES = 8

# Ties in the CMS allocation go to the code earlier in this tuple.
CPT_TIE_ORDER: tuple[str, ...] = ("97140", "97124")


def units_for_minutes(minutes: int) -> int:
    """The CMS table: 0-7 -> 0, 8-22 -> 1, 23-37 -> 2, ..."""
    if minutes < 0:
        raise ValueError(f"minutes must not be negative, got {minutes}")
    return minutes // UNIT_MINUTES + (1 if minutes % UNIT_MINUTES >= MIN_PARTIAL_MINUTES else 0)


def _tie_rank(cpt: str) -> int:
    return CPT_TIE_ORDER.index(cpt) if cpt in CPT_TIE_ORDER else len(CPT_TIE_ORDER)


def _priority(minutes_by_cpt: Mapping[str, int]) -> list[str]:
    """Codes best placed to receive a unit first: largest leftover, then most minutes, then 97140."""
    return sorted(
        minutes_by_cpt,
        key=lambda cpt: (
            -(minutes_by_cpt[cpt] % UNIT_MINUTES),
            -minutes_by_cpt[cpt],
            _tie_rank(cpt),
            cpt,
        ),
    )


def allocate_units(minutes_by_cpt: Mapping[str, int], total_units: int) -> dict[str, int]:
    """Spread `total_units` over the codes the CMS way.

    Each code first gets its full 15-minute blocks. Units still to give go, one per code, to the
    codes with the largest leftover minutes (ties: more total minutes, then 97140 before 97124).
    When the full blocks already exceed `total_units`, units are taken back one at a time from the
    codes with the smallest leftover. The result always sums to `total_units` and is never negative.
    """
    if total_units < 0:
        raise ValueError(f"total units must not be negative, got {total_units}")
    for cpt, minutes in minutes_by_cpt.items():
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes} for {cpt}")
    units = {cpt: minutes // UNIT_MINUTES for cpt, minutes in minutes_by_cpt.items()}
    if not units:
        if total_units:
            raise ValueError("cannot allocate units without any code")
        return units
    order = _priority(minutes_by_cpt)
    to_give = total_units - sum(units.values())
    while to_give > 0:
        for cpt in order[:to_give]:
            units[cpt] += 1
        to_give -= min(to_give, len(order))
    while to_give < 0:
        for cpt in reversed(order):
            if to_give < 0 and units[cpt] > 0:
                units[cpt] -= 1
                to_give += 1
    return units


def cms_units(minutes_by_cpt: Mapping[str, int]) -> dict[str, int]:
    """Total-time rule: the units of the total minutes, allocated over the codes."""
    total = units_for_minutes(sum(minutes_by_cpt.values()))
    return allocate_units(minutes_by_cpt, total)


def ama_units(minutes_by_cpt: Mapping[str, int]) -> dict[str, int]:
    """Per-code rule: each code's minutes read from the table on their own."""
    return {cpt: units_for_minutes(minutes) for cpt, minutes in minutes_by_cpt.items()}


_RULES = {"cms": cms_units, "ama": ama_units}


def units_by_cpt(minutes_by_cpt: Mapping[str, int], rule: UnitRule) -> dict[str, int]:
    """The units of each code under the payer's unit rule."""
    allocate = _RULES.get(rule)
    if allocate is None:
        raise ValueError(f"unknown unit rule {rule!r}")
    return allocate(minutes_by_cpt)
