import pytest

from pipeline.domain import codes
from pipeline.domain.modifiers import (
    modifiers_by_cpt,
    ncci_same_region_finding,
    ncci_shared_regions,
    shared_regions,
)


@pytest.mark.parametrize(
    ("regions", "gp", "expected"),
    [
        # Both codes on different regions: XS on 97140, GP everywhere.
        ({"97140": ["lumbar"], "97124": ["cervical"]}, True, {"97140": ["GP", "XS"], "97124": ["GP"]}),
        ({"97140": ["lumbar"], "97124": ["cervical"]}, False, {"97140": ["XS"], "97124": []}),
        # One code only: no NCCI pair.
        ({"97140": ["lumbar"]}, True, {"97140": ["GP"]}),
        ({"97124": ["lumbar"]}, False, {"97124": []}),
        # Same region: the problem, not a modifier.
        ({"97140": ["lumbar"], "97124": ["lumbar"]}, True, {"97140": ["GP"], "97124": ["GP"]}),
        # Merged lines: any shared region counts as the same region.
        (
            {"97140": ["lumbar", "thoracic"], "97124": ["cervical", "Thoracic "]},
            False,
            {"97140": [], "97124": []},
        ),
        (
            {"97140": ["lumbar", "thoracic"], "97124": ["cervical", "shoulder"]},
            True,
            {"97140": ["GP", "XS"], "97124": ["GP"]},
        ),
    ],
)
def test_modifiers_follow_payer_and_ncci_rules(
    regions: dict[str, list[str]], gp: bool, expected: dict[str, list[str]]
) -> None:
    assert modifiers_by_cpt(regions, gp_modifier=gp) == expected


@pytest.mark.parametrize(
    ("modifier", "on", "expected"),
    [
        ("59", "97140", {"97140": ["GP", "59"], "97124": ["GP"]}),
        ("XS", "97124", {"97140": ["GP"], "97124": ["GP", "XS"]}),
        ("59", "97124", {"97140": ["GP"], "97124": ["GP", "59"]}),
    ],
)
def test_ncci_modifier_and_its_code_come_from_the_practice(
    modifier: str, on: str, expected: dict[str, list[str]]
) -> None:
    regions = {"97140": ["lumbar"], "97124": ["cervical"]}
    out = modifiers_by_cpt(regions, gp_modifier=True, ncci_modifier=modifier, ncci_modifier_on=on)
    assert out == expected


def test_modifier_51_is_never_billed() -> None:
    regions = {"97140": ["lumbar"], "97124": ["cervical"]}
    out = modifiers_by_cpt(regions, gp_modifier=True, ncci_modifier="51")
    assert out == {"97140": ["GP"], "97124": ["GP"]}


def test_no_line_has_more_than_four_modifiers() -> None:
    regions = {"97140": ["lumbar"], "97124": ["cervical"]}
    for mods in modifiers_by_cpt(regions, gp_modifier=True).values():
        assert len(mods) <= 4
        assert len(set(mods)) == len(mods)


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        (["lumbar"], ["LUMBAR"], ["lumbar"]),
        ([" Lumbar "], ["lumbar"], ["Lumbar"]),
        (["lumbar", "cervical"], ["cervical", "lumbar"], ["lumbar", "cervical"]),
        (["lumbar"], ["cervical"], []),
        (["lumbar", "lumbar"], ["lumbar"], ["lumbar"]),
    ],
)
def test_body_regions_compare_trimmed_and_case_insensitively(
    first: list[str], second: list[str], shared: list[str]
) -> None:
    assert shared_regions(first, second) == shared


def test_shared_regions_only_matter_when_both_codes_are_billed() -> None:
    assert ncci_shared_regions({"97140": ["lumbar"]}) == []
    assert ncci_same_region_finding({"97140": ["lumbar"]}) is None


def test_same_region_finding_names_the_shared_regions() -> None:
    finding = ncci_same_region_finding({"97140": ["lumbar", "hip"], "97124": ["Hip", "cervical", "lumbar"]})
    assert finding is not None
    assert finding.code == codes.NCCI_SAME_REGION
    assert "lumbar" in finding.message
    assert "hip" in finding.message
    assert "cervical" not in finding.message
    assert "97140" in finding.message and "97124" in finding.message


def test_different_regions_give_no_finding() -> None:
    assert ncci_same_region_finding({"97140": ["lumbar"], "97124": ["cervical"]}) is None
