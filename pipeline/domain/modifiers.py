"""CPT modifiers of the billed lines: GP (plan of care) and the NCCI distinct-service modifier."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pipeline.domain import codes
from schemas.decision import Finding

GP = "GP"
# The correct-coding pair: billed together on one day they need separate body regions.
NCCI_PAIR: tuple[str, str] = ("97140", "97124")
MAX_MODIFIERS = 4
NEVER_BILLED = frozenset({"51"})


def region_key(region: str) -> str:
    """Body regions compare trimmed and case-insensitively."""
    return region.strip().casefold()


def shared_regions(first: Iterable[str], second: Iterable[str]) -> list[str]:
    """The regions of `first` that `second` also has (spelled as in `first`, each once, in order)."""
    other = {region_key(r) for r in second}
    out: dict[str, str] = {}
    for region in first:
        key = region_key(region)
        if key in other and key not in out:
            out[key] = region.strip()
    return list(out.values())


def ncci_pair_billed(regions_by_cpt: Mapping[str, Sequence[str]]) -> bool:
    return all(cpt in regions_by_cpt for cpt in NCCI_PAIR)


def ncci_shared_regions(regions_by_cpt: Mapping[str, Sequence[str]]) -> list[str]:
    """The body regions the two codes of the NCCI pair share; empty unless both are billed."""
    if not ncci_pair_billed(regions_by_cpt):
        return []
    first, second = NCCI_PAIR
    return shared_regions(regions_by_cpt[first], regions_by_cpt[second])


def ncci_same_region_finding(regions_by_billed_cpt: Mapping[str, Sequence[str]]) -> Finding | None:
    """`ncci_same_region` when 97140 and 97124 are both billed and share a body region."""
    shared = ncci_shared_regions(regions_by_billed_cpt)
    if not shared:
        return None
    return Finding(
        code=codes.NCCI_SAME_REGION,
        message=(
            f"{NCCI_PAIR[0]} and {NCCI_PAIR[1]} are both billed on the same body region "
            f"({', '.join(shared)}); the pair needs separately documented regions, or one code left off"
        ),
    )


def _capped(modifiers: Iterable[str]) -> list[str]:
    kept = [m for m in dict.fromkeys(modifiers) if m not in NEVER_BILLED]
    return kept[:MAX_MODIFIERS]


def modifiers_by_cpt(
    regions_by_billed_cpt: Mapping[str, Sequence[str]],
    *,
    gp_modifier: bool,
    ncci_modifier: str = "XS",
    ncci_modifier_on: str = "97140",
) -> dict[str, list[str]]:
    """The modifiers of each billed line.

    GP goes on every line when the payer wants it. The NCCI modifier goes on `ncci_modifier_on`
    when both codes of the pair are billed on different body regions (a shared region is the
    problem `ncci_same_region`, not a modifier). At most four modifiers a line; never 51.
    """
    distinct_regions = ncci_pair_billed(regions_by_billed_cpt) and not ncci_shared_regions(
        regions_by_billed_cpt
    )
    out: dict[str, list[str]] = {}
    for cpt in regions_by_billed_cpt:
        wanted: list[str] = []
        if gp_modifier:
            wanted.append(GP)
        if distinct_regions and cpt == ncci_modifier_on:
            wanted.append(ncci_modifier)
        out[cpt] = _capped(wanted)
    return out
