"""The practice profile loader: exactly the keys of CONTRACT.md section 5; a wrong key names key and file."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from config.practice import DEFAULT_PRACTICE_FILE, PracticeConfigError, load_practice, practice_path


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "practice.toml"
    path.write_text(text)
    return path


def example_text() -> str:
    return DEFAULT_PRACTICE_FILE.read_text()


def test_the_shipped_example_loads_with_the_contract_values() -> None:
    practice = load_practice(DEFAULT_PRACTICE_FILE)
    assert practice.practice.legal_name == "Therapeutic Kneads, Ltd."
    assert practice.practice.npi == "1245319599"
    assert practice.fees == {"97124": Decimal("60.00"), "97140": Decimal("70.00")}
    assert practice.payers.va_ccn.unit_rule == "cms" and practice.payers.va_ccn.gp_modifier is True
    assert practice.payers.commercial.unit_rule == "ama"
    assert practice.coding.ncci_modifier == "XS" and practice.coding.ncci_modifier_on == "97140"
    assert practice.clearinghouse.usage == "T"
    assert practice.therapist("thr_jones") is not None and practice.therapist("nobody") is None


def test_the_example_has_every_contract_section() -> None:
    data = tomllib.loads(example_text())
    assert {"practice", "therapists", "fees", "payers", "carriers", "coding", "clearinghouse"} <= set(data)


@pytest.mark.parametrize(("old", "new", "key"), [
    ('npi = "1245319599"            # organisation (type 2) NPI', 'npi = "12453"', "practice.npi"),
    ('legal_name = "Therapeutic Kneads, Ltd."\n', "", "practice.legal_name"),
    ('unit_rule = "cms"', 'unit_rule = "minutes"', "payers.va_ccn.unit_rule"),
    ('"97140" = "70.00"', '"97140" = "-70.00"', "fees"),
    ('"97140" = "70.00"\n', "", "fees"),
    ('license_number = "227.012345"\n', "", "therapists[0].license_number"),
    ('usage = "T"', 'usage = "X"', "clearinghouse.usage"),
])
def test_a_wrong_or_missing_key_is_named_with_the_file(tmp_path: Path, old: str, new: str, key: str) -> None:
    text = example_text()
    assert old in text
    path = write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(PracticeConfigError) as caught:
        load_practice(path)
    assert str(path) in str(caught.value)
    assert f"key {key}" in str(caught.value)


def test_a_missing_file_and_bad_toml_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(PracticeConfigError, match="not found"):
        load_practice(tmp_path / "nope.toml")
    with pytest.raises(PracticeConfigError, match="not valid TOML"):
        load_practice(write(tmp_path, "[practice\nlegal_name="))


def test_an_unknown_section_is_refused_naming_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, example_text() + '\n[extra]\nnote = "ours"\n')
    with pytest.raises(PracticeConfigError, match=r"key extra: is not a setting .*known: practice, therapists"):
        load_practice(path)


def test_self_pay_falls_back_to_commercial_rules(tmp_path: Path) -> None:
    practice = load_practice(DEFAULT_PRACTICE_FILE)
    assert practice.payer_rules("self_pay") == practice.payers.commercial
    path = write(tmp_path, example_text() + '\n[payers.self_pay]\nunit_rule = "cms"\ngp_modifier = false\n')
    assert load_practice(path).payer_rules("self_pay").unit_rule == "cms"


def test_carriers_are_compared_ignoring_case() -> None:
    practice = load_practice(DEFAULT_PRACTICE_FILE)
    assert practice.carrier_excludes_massage("  acme HEALTH plan ")
    assert not practice.carrier_excludes_massage("Blue Cross")
    assert not practice.carrier_excludes_massage(None)


def test_the_path_comes_from_the_option_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPERBILL_PRACTICE", "/etc/practice.toml")
    assert practice_path("x.toml") == Path("x.toml")
    assert practice_path() == Path("/etc/practice.toml")
    monkeypatch.delenv("SUPERBILL_PRACTICE")
    assert practice_path() == DEFAULT_PRACTICE_FILE


@pytest.mark.parametrize(("old", "new", "key", "words"), [
    ('npi = "1245319599"', 'npi = "1245319590"', "practice.npi", "check digit"),
    ('ein = "12-3456789"', 'ein = "00-0000000"', "practice.ein", "EIN"),
    ('postal_code = "627011234"', 'postal_code = "62701"', "practice.address.postal_code", "format"),
    # the VA's administrator is billed directly: the 837P's payer is not left to fail claim after claim
    ('payer_id = "VACCN"', "", "payers.va_ccn.payer_id", "missing"),
    ('payer_name = "VA CCN OPTUM"', 'payer_name = " "', "payers.va_ccn.payer_name", "at least 1 character"),
    ('payer_id = "VACCN"', 'payer_id = "VA*CCN"', "payers.va_ccn.payer_id", "X12 separator"),
    ('phone = "+1-217-555-0199"', 'phone = "555-0199"', "practice.phone", "10-digit North American number"),
])
def test_practice_identifiers_the_837p_needs_are_checked_at_load(tmp_path: Path, old: str, new: str, key: str,
                                                                   words: str) -> None:
    path = write(tmp_path, example_text().replace(old, new, 1))
    with pytest.raises(PracticeConfigError) as caught:
        load_practice(path)
    assert f"key {key}" in str(caught.value)
    assert words in str(caught.value)


# --- strict: a misspelled section or key, or a fee written as a number, stops the load --------------------
def _example_with(tmp_path: Path, old: str, new: str) -> Path:
    from config.practice import DEFAULT_PRACTICE_FILE

    text = DEFAULT_PRACTICE_FILE.read_text()
    assert old in text
    path = tmp_path / "practice.toml"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("[coding]", "[codng]", "key codng: is not a setting of the practice profile; did you mean 'coding'?"),
    ('ncci_modifier = "XS"', 'ncci_modifer = "59"',
     "key coding.ncci_modifer: is not a setting of the practice profile; did you mean 'ncci_modifier'?"),
    ('"97124" = "60.00"', '"97124" = 60', "key fees.97124: must be a decimal string"),
    ("[practice]", '[practice]\ncolour = "blue"', "key practice.colour: is not a setting of the practice profile"),
])
def test_a_misspelled_or_mistyped_setting_stops_the_load_naming_it(tmp_path: Path, old: str, new: str,
                                                                   expected: str) -> None:
    from config.practice import PracticeConfigError, load_practice

    with pytest.raises(PracticeConfigError) as stopped:
        load_practice(str(_example_with(tmp_path, old, new)))
    assert expected in str(stopped.value)
