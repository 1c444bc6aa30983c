import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.domain.units import allocate_units, ama_units, cms_units, units_by_cpt, units_for_minutes


@pytest.mark.parametrize(
    ("minutes", "units"),
    [
        (0, 0),
        (7, 0),
        (8, 1),
        (22, 1),
        (23, 2),
        (37, 2),
        (38, 3),
        (52, 3),
        (53, 4),
        (67, 4),
        (68, 5),
        (82, 5),
        (83, 6),
        (97, 6),
        (98, 7),
        (112, 7),
        (113, 8),
        (127, 8),
        (128, 9),
        (240, 16),
    ],
)
def test_minutes_follow_the_cms_unit_table(minutes: int, units: int) -> None:
    assert units_for_minutes(minutes) == units


def test_negative_minutes_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        units_for_minutes(-1)


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        # DOMAIN.md: 24 + 23 = 47 min = 3 units; the leftover unit goes to the larger leftover (9 > 8).
        ({"97140": 24, "97124": 23}, {"97140": 2, "97124": 1}),
        ({"97124": 24, "97140": 23}, {"97124": 2, "97140": 1}),
        # DOMAIN.md: 10 + 10 = 20 min = 1 unit; equal leftover and minutes: 97140 first.
        ({"97124": 10, "97140": 10}, {"97124": 0, "97140": 1}),
        ({"97140": 10, "97124": 10}, {"97140": 1, "97124": 0}),
        # Equal leftover (5), more total minutes wins.
        ({"97124": 20, "97140": 5}, {"97124": 2, "97140": 0}),
        ({"97124": 5, "97140": 20}, {"97124": 0, "97140": 2}),
        # 7 + 7 = 14 min = 1 unit: equal leftover and minutes, so 97140; 8 + 6: the larger leftover.
        ({"97124": 7, "97140": 7}, {"97124": 0, "97140": 1}),
        ({"97124": 8, "97140": 6}, {"97124": 1, "97140": 0}),
        # Full blocks only.
        ({"97140": 30, "97124": 30}, {"97140": 2, "97124": 2}),
        ({"97140": 15, "97124": 15}, {"97140": 1, "97124": 1}),
        # 14 + 14 = 28 min = 2 units: one each.
        ({"97140": 14, "97124": 14}, {"97140": 1, "97124": 1}),
        # 3 + 3 = 6 min: nothing.
        ({"97140": 3, "97124": 3}, {"97140": 0, "97124": 0}),
        # A single code is the table itself.
        ({"97140": 22}, {"97140": 1}),
        ({"97140": 23}, {"97140": 2}),
        ({"97124": 7}, {"97124": 0}),
        # 45 + 7 = 52 min = 3 units: all three are the full blocks of 97140.
        ({"97140": 45, "97124": 7}, {"97140": 3, "97124": 0}),
        # 45 + 8 = 53 min = 4 units.
        ({"97140": 45, "97124": 8}, {"97140": 3, "97124": 1}),
    ],
)
def test_cms_total_time_rule_allocates_the_total_units(
    minutes: dict[str, int], expected: dict[str, int]
) -> None:
    assert cms_units(minutes) == expected
    assert units_by_cpt(minutes, "cms") == expected


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        ({"97124": 10, "97140": 10}, {"97124": 1, "97140": 1}),
        ({"97140": 24, "97124": 23}, {"97140": 2, "97124": 2}),
        ({"97140": 7, "97124": 7}, {"97140": 0, "97124": 0}),
        ({"97140": 8, "97124": 22}, {"97140": 1, "97124": 1}),
    ],
)
def test_ama_rule_reads_each_code_on_its_own(minutes: dict[str, int], expected: dict[str, int]) -> None:
    assert ama_units(minutes) == expected
    assert units_by_cpt(minutes, "ama") == expected


def test_ten_and_ten_minutes_are_one_unit_under_cms_and_two_under_ama() -> None:
    minutes = {"97124": 10, "97140": 10}
    assert sum(units_by_cpt(minutes, "cms").values()) == 1
    assert sum(units_by_cpt(minutes, "ama").values()) == 2


def test_units_keep_the_order_of_the_codes() -> None:
    assert list(cms_units({"97124": 30, "97140": 30})) == ["97124", "97140"]
    assert list(ama_units({"97124": 30, "97140": 30})) == ["97124", "97140"]


def test_unknown_unit_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="unit rule"):
        units_by_cpt({"97140": 30}, "per_minute")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("minutes", "total", "expected"),
    [
        # Full blocks (2 + 2) exceed a total of 3: the unit comes back from the smallest leftover.
        ({"97140": 39, "97124": 31}, 3, {"97140": 2, "97124": 1}),
        ({"97140": 31, "97124": 39}, 3, {"97140": 1, "97124": 2}),
        # Equal leftovers: taken back from fewer total minutes, then from 97124.
        ({"97140": 30, "97124": 30}, 3, {"97140": 2, "97124": 1}),
        ({"97140": 30, "97124": 45}, 4, {"97140": 1, "97124": 3}),
        # Never below zero: the code with nothing left is skipped.
        ({"97140": 45, "97124": 5}, 1, {"97140": 1, "97124": 0}),
        ({"97140": 30, "97124": 30}, 0, {"97140": 0, "97124": 0}),
        # More units than codes with leftover: they go round again in the same order.
        ({"97140": 10, "97124": 5}, 3, {"97140": 2, "97124": 1}),
    ],
)
def test_allocation_never_gives_more_or_fewer_units_than_the_total(
    minutes: dict[str, int], total: int, expected: dict[str, int]
) -> None:
    assert allocate_units(minutes, total) == expected


def test_allocation_refuses_negative_input() -> None:
    with pytest.raises(ValueError):
        allocate_units({"97140": 30}, -1)
    with pytest.raises(ValueError):
        allocate_units({"97140": -5}, 0)
    with pytest.raises(ValueError):
        cms_units({"97140": -5})


def test_allocation_of_nothing_is_nothing() -> None:
    assert cms_units({}) == {}
    assert ama_units({}) == {}


minutes_per_code = st.dictionaries(
    keys=st.sampled_from(["97124", "97140"]), values=st.integers(min_value=0, max_value=240), max_size=2
)


@given(st.integers(min_value=0, max_value=10_000))
def test_units_for_minutes_is_never_negative_and_never_decreases(minutes: int) -> None:
    units = units_for_minutes(minutes)
    assert units >= 0
    assert units_for_minutes(minutes + 1) >= units
    assert units * 15 - 7 <= minutes <= units * 15 + 7


@given(minutes_per_code)
def test_cms_units_sum_to_the_units_of_the_total_minutes(minutes: dict[str, int]) -> None:
    units = cms_units(minutes)
    assert set(units) == set(minutes)
    assert all(u >= 0 for u in units.values())
    assert sum(units.values()) == units_for_minutes(sum(minutes.values()))


@given(minutes_per_code)
def test_cms_units_give_each_code_its_full_blocks_and_at_most_one_more(minutes: dict[str, int]) -> None:
    units = cms_units(minutes)
    for cpt, m in minutes.items():
        assert m // 15 <= units[cpt] <= m // 15 + 1


@pytest.mark.parametrize(("minutes", "expected"), [
    ({"97140": 24, "97124": 23}, {"97140": 2, "97124": 2}),  # cms would give 3 in all: 2 + 1
    ({"97124": 10, "97140": 10}, {"97124": 1, "97140": 1}),  # cms: 1 in all
    ({"97124": 7, "97140": 7}, {"97124": 0, "97140": 0}),
    ({"97140": 38}, {"97140": 3}),
    ({"97124": 0}, {"97124": 0}),
])
def test_ama_units_apply_the_table_to_each_code_on_its_own(minutes: dict[str, int],
                                                           expected: dict[str, int]) -> None:
    assert ama_units(minutes) == expected


def contract_units(m: int) -> int:
    """CONTRACT.md 2.6, written out: `m // 15`, plus one when `m % 15 >= 8`."""
    return m // 15 + (1 if m % 15 >= 8 else 0)


@given(minutes_per_code)
def test_ama_units_are_the_contracts_formula_per_code(minutes: dict[str, int]) -> None:
    assert ama_units(minutes) == {cpt: contract_units(m) for cpt, m in minutes.items()}


@given(
    st.dictionaries(
        keys=st.sampled_from(["97124", "97140"]), values=st.integers(0, 240), min_size=1, max_size=2
    ),
    st.integers(min_value=0, max_value=40),
)
def test_allocate_units_always_sums_to_the_total(minutes: dict[str, int], total: int) -> None:
    units = allocate_units(minutes, total)
    assert sum(units.values()) == total
    assert all(u >= 0 for u in units.values())


def test_allocation_refusals_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=r"^total units must not be negative, got -1$"):
        allocate_units({"97140": 30}, -1)
    with pytest.raises(ValueError, match=r"^minutes must not be negative, got -5 for 97140$"):
        allocate_units({"97140": -5}, 0)
    with pytest.raises(ValueError, match=r"^cannot allocate units without any code$"):
        allocate_units({}, 1)


def test_a_code_with_zero_minutes_is_allowed_and_gets_nothing() -> None:
    assert allocate_units({"97140": 0, "97124": 23}, 2) == {"97140": 0, "97124": 2}
    assert allocate_units({"97140": 0}, 0) == {"97140": 0}


def test_units_beyond_the_full_blocks_go_one_per_code_per_round() -> None:
    # 5 + 5 minutes, 4 units to give: two rounds of one unit each, never two at once
    assert allocate_units({"97140": 5, "97124": 5}, 4) == {"97140": 2, "97124": 2}
    assert allocate_units({"97140": 20, "97124": 5}, 3) == {"97140": 2, "97124": 1}
