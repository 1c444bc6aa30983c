"""CONTRACT.md 1.6: a body nested more than 32 levels, or with a number of more than 100 digits, is malformed
JSON (400), never a crash; brackets inside strings do not count; well-formed bodies within the limits parse."""

from __future__ import annotations

import pytest

from pipeline.domain.intake import MalformedJson, load_json


def nested(levels: int, inner: str = "1") -> str:
    return "[" * levels + inner + "]" * levels


@pytest.mark.parametrize("levels", [1, 31, 32])
def test_json_nested_up_to_32_levels_is_read(levels: int) -> None:
    value = load_json(nested(levels))
    for _ in range(levels):
        assert isinstance(value, list) and len(value) == 1
        value = value[0]
    assert value == 1


@pytest.mark.parametrize("levels", [33, 34, 1000, 100_000])
def test_json_nested_more_than_32_levels_is_malformed(levels: int) -> None:
    with pytest.raises(MalformedJson) as refused:
        load_json(nested(levels))
    assert [(e.path, e.message) for e in refused.value.errors] == [("(body)", "JSON nested more than 32 levels")]


def test_objects_count_as_levels_like_lists() -> None:
    with pytest.raises(MalformedJson):
        load_json('{"a":' * 33 + "1" + "}" * 33)
    assert load_json('{"a":' * 32 + "1" + "}" * 32) is not None


def test_brackets_inside_strings_are_not_levels() -> None:
    text = '{"note": "' + "[" * 40 + "{" * 40 + '"}'
    assert load_json(text) == {"note": "[" * 40 + "{" * 40}
    escaped = '{"note": "\\"' + "[" * 40 + '"}'  # an escaped quote does not end the string
    assert load_json(escaped) == {"note": '"' + "[" * 40}
    backslash = '{"note": "\\\\", "x": ' + nested(33) + "}"  # an escaped backslash does end its escape
    with pytest.raises(MalformedJson):
        load_json(backslash)


def test_closed_levels_are_given_back() -> None:
    side_by_side = "[" + ",".join([nested(31)] * 40) + "]"  # 32 deep at most, though 1241 brackets in all
    assert len(load_json(side_by_side)) == 40


def test_deep_brackets_after_a_string_are_counted() -> None:
    with pytest.raises(MalformedJson):
        load_json('["x", ' + nested(32) + "]")


@pytest.mark.parametrize(("digits", "ok"), [(100, True), (101, False)])
def test_a_number_of_more_than_100_digits_is_malformed(digits: int, ok: bool) -> None:
    text = '{"n": ' + "9" * digits + "}"
    if ok:
        assert load_json(text) == {"n": int("9" * digits)}
        assert load_json('{"n": -' + "9" * digits + "}") == {"n": -int("9" * digits)}
    else:
        with pytest.raises(MalformedJson, match="more than 100 digits"):
            load_json(text)


def test_a_level_opened_beside_a_closed_one_counts_from_the_depth_it_stands_at() -> None:
    with pytest.raises(MalformedJson, match="nested more than 32 levels"):
        load_json("[[" + nested(1) + "," + nested(31) + "]]")  # 2 + 31 levels deep
    assert load_json("[[" + nested(1) + "," + nested(30) + "]]") is not None


def test_brackets_after_an_empty_string_are_counted() -> None:
    with pytest.raises(MalformedJson, match="nested more than 32 levels"):
        load_json('{"": ' + nested(33) + "}")


def test_a_malformed_body_with_many_brackets_is_told_where_it_breaks() -> None:
    text = "[" + "[]," * 40 + "X" * 40 + "]"  # 81 brackets, 2 levels deep, broken at column 122
    with pytest.raises(MalformedJson) as refused:
        load_json(text)
    assert [e.message for e in refused.value.errors] == ["malformed JSON at line 1 column 122"]


def test_a_body_nested_too_deep_is_refused_for_its_depth_whatever_else_is_wrong_with_it() -> None:
    with pytest.raises(MalformedJson) as refused:
        load_json("X" * 40 + nested(33))
    assert [e.message for e in refused.value.errors] == ["JSON nested more than 32 levels"]
