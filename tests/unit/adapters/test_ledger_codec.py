"""How the ledger packs its larger values: a round trip, plain text as written before packing, and the
format's dictionary pinned (data packed with it must stay readable for as long as it is kept)."""

from __future__ import annotations

import hashlib
import json
import random
import string
import zlib

import pytest

from pipeline.adapters import ledger_codec
from pipeline.adapters.ledger_codec import PACKED_MARK, pack, unpack
from tests.examples import EXAMPLES


def varied(doc: dict[str, object]) -> str:
    """An example event with another client's details, so that packing is measured on data the dictionary
    has never seen."""
    text = json.dumps(doc, separators=(",", ":"))
    for old, new in (("John", "Margarethe"), ("Doe", "Okonkwo-Lindqvist"), ("1970-01-01", "1988-07-23"),
                     ("456 Oak Ave", "2210 N Birchwood Lane"), ("Springfield", "Chicago"), ("62701", "60614")):
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_an_event_packs_to_under_a_third_and_comes_back_the_same(path: object) -> None:
    text = varied(json.loads(path.read_text()))  # type: ignore[attr-defined]
    packed = pack(text)
    assert packed.startswith(PACKED_MARK)
    assert unpack(packed) == text
    assert len(packed) < len(text.encode()) / 3
    # the dictionary earns its place: plain zlib does not come close
    assert len(packed) < len(zlib.compress(text.encode(), 9)) * 0.6


def test_text_that_packing_would_not_shrink_is_kept_as_it_is() -> None:
    assert pack("ok") == b"ok" and unpack(b"ok") == "ok"
    rng = random.Random(7)
    for size in (1, 5, 20, 64, 200):
        text = "".join(rng.choice(string.printable) for _ in range(size))
        stored = pack(text)
        assert len(stored) <= len(text.encode()) and unpack(stored) == text
        assert stored.startswith(PACKED_MARK) or stored == text.encode()


@pytest.mark.parametrize("old", [b'{"event_id":"evt_1"}', b"ISA*00*~GS*HC~", "caf\u00e9 \u2713".encode(), b""])
def test_values_written_before_packing_read_as_their_text(old: bytes) -> None:
    assert unpack(old) == old.decode()


def test_unicode_survives_packing() -> None:
    text = json.dumps({"last_name": "Ng\u00fby\u1ec5n", "note": "\u2713" * 200}, ensure_ascii=False)
    assert unpack(pack(text)) == text


def test_an_unknown_format_or_a_cut_value_is_an_error_not_wrong_text() -> None:
    packed = pack("x" * 500)
    with pytest.raises(ValueError, match="unknown format"):
        unpack(PACKED_MARK + b"\x09" + packed[2:])
    with pytest.raises((ValueError, zlib.error)):
        unpack(packed[:-6])


def test_format_1_dictionary_never_changes() -> None:
    # Values packed with it are kept for years: a new dictionary must be a new format byte.
    digest = hashlib.sha256(ledger_codec._DICTIONARY_1).hexdigest()
    assert digest == "8a6e342187dc23b2040f52b9761455f48fd54d7319b9eb6275c8740bfc7ae0f2"
