"""Choosing the clearinghouse API in the practice profile, and Stedi's settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.practice import DEFAULT_PRACTICE_FILE, PracticeConfigError, load_practice
from config.settings import STEDI_CORE_URL, STEDI_HEALTHCARE_URL, load_settings
from pipeline.entrypoints.demo import stedi_profile


def with_clearinghouse(tmp_path: Path, line: str) -> Path:
    text = DEFAULT_PRACTICE_FILE.read_text().replace("[clearinghouse]\n", f"[clearinghouse]\n{line}\n", 1)
    path = tmp_path / "practice.toml"
    path.write_text(text)
    return path


def test_the_default_is_our_http_shape_and_stedi_can_be_chosen(tmp_path: Path) -> None:
    assert load_practice(DEFAULT_PRACTICE_FILE).clearinghouse.adapter == "http"
    assert load_practice(with_clearinghouse(tmp_path, 'adapter = "stedi"')).clearinghouse.adapter == "stedi"


@pytest.mark.parametrize("line", ['adapter = "Stedi"', 'adapter = "availity"', "adapter = 1"])
def test_an_unknown_adapter_stops_the_program_naming_the_key(tmp_path: Path, line: str) -> None:
    with pytest.raises(PracticeConfigError, match=r"key clearinghouse\.adapter"):
        load_practice(with_clearinghouse(tmp_path, line))


def test_a_misspelled_adapter_key_is_named_with_its_closest_match(tmp_path: Path) -> None:
    with pytest.raises(PracticeConfigError, match="did you mean 'adapter'"):
        load_practice(with_clearinghouse(tmp_path, 'adaptor = "stedi"'))


def test_stedi_settings_default_to_stedis_hosts_and_can_be_overridden() -> None:
    plain = load_settings({})
    assert (plain.stedi_api_key, plain.stedi_healthcare_url, plain.stedi_core_url) == (
        None, STEDI_HEALTHCARE_URL, STEDI_CORE_URL)
    assert STEDI_HEALTHCARE_URL == "https://healthcare.us.stedi.com/2024-04-01"
    local = load_settings({"SUPERBILL_STEDI_API_KEY": "test_abc",
                           "SUPERBILL_STEDI_HEALTHCARE_URL": "http://127.0.0.1:9/stedi/healthcare/2024-04-01/",
                           "SUPERBILL_STEDI_CORE_URL": "http://127.0.0.1:9/stedi/core/2023-08-01"})
    assert local.stedi_api_key == "test_abc"
    assert local.stedi_healthcare_url == "http://127.0.0.1:9/stedi/healthcare/2024-04-01"


def test_the_demos_stedi_profile_keeps_every_other_setting(tmp_path: Path) -> None:
    base = load_practice(DEFAULT_PRACTICE_FILE)
    derived = load_practice(stedi_profile(DEFAULT_PRACTICE_FILE, tmp_path / "stedi.toml"))
    assert derived.clearinghouse.adapter == "stedi" and derived.clearinghouse.usage == "T"
    assert derived.clearinghouse.interchange_receiver_id == "STEDITEST"
    assert derived.clearinghouse.submitter_id == base.clearinghouse.submitter_id
    assert derived.model_dump(exclude={"clearinghouse"}) == base.model_dump(exclude={"clearinghouse"})
