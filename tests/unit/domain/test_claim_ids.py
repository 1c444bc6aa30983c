import re

import pytest

from pipeline.domain.claim_ids import claim_id_for


@pytest.mark.parametrize(
    "session_id",
    ["ses_1001", "a", "ABC-def_123", "x" * 20, "S0123456789ABCDEF012"],
)
def test_short_plain_session_id_is_its_own_claim_id(session_id: str) -> None:
    assert claim_id_for(session_id) == session_id


@pytest.mark.parametrize(
    "session_id",
    [
        "x" * 21,
        "ses 1001",
        "ses/1001",
        "séance_1",
        "ses.1001",
        "booking-system:session:000000123456",
    ],
)
def test_long_or_unusual_session_id_gets_a_derived_20_character_id(session_id: str) -> None:
    claim_id = claim_id_for(session_id)
    assert claim_id != session_id
    assert len(claim_id) == 20
    assert re.fullmatch(r"S[0-9a-f]{19}", claim_id)


def test_derived_claim_id_is_stable_for_the_same_session() -> None:
    assert claim_id_for("x" * 30) == claim_id_for("x" * 30)


def test_derived_claim_ids_differ_between_sessions() -> None:
    assert claim_id_for("x" * 30) != claim_id_for("x" * 31)


def test_derived_claim_id_is_the_sha256_prefix() -> None:
    # sha256("x" * 21) starts with these 19 hex digits; a changed derivation would re-key every claim.
    import hashlib

    expected = "S" + hashlib.sha256(("x" * 21).encode()).hexdigest()[:19]
    assert claim_id_for("x" * 21) == expected


def test_a_session_id_shaped_like_a_derived_id_does_not_collide() -> None:
    long_session = "ses_123456789012345678"
    derived = claim_id_for(long_session)
    assert derived.startswith("S") and len(derived) == 20
    assert claim_id_for(derived) != derived
    assert claim_id_for(claim_id_for(derived)) != derived
