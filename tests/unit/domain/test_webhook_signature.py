"""The webhook signature as CONTRACT.md 1.6 states it, pinned by vectors computed outside the product.

`X-Signature: t=<unix seconds>,v1=<lower-case hex HMAC-SHA256, keyed with the secret (UTF-8), of the bytes
"<t>." followed by the raw body>`; refused when the header is missing, has no integer `t=`, `t` is more
than 300 seconds off the server's clock (either way), or no `v1=` matches; one matching `v1=` of several
is enough.

The expected digests below were computed with OpenSSL, not with the product's `sign()`:

    printf '%s' '1767225600.{"event_id":"evt_sig_1","event_type":"session.completed"}' \
        | openssl dgst -sha256 -hmac 'whsec_5d2f8a' -hex
"""

from __future__ import annotations

import hashlib
import hmac

import pytest

from pipeline.domain.signature import TOLERANCE_S, SignatureCheck, sign, signature_problem

SECRET = "whsec_5d2f8a"
T = 1767225600  # 2026-01-01T00:00:00Z
BODY = b'{"event_id":"evt_sig_1","event_type":"session.completed"}'
V1 = "c838951ab7cabb5ce526df6381cb4825aa71f6729b74e374f24c807e47f280b9"  # openssl, see above
HEADER = f"t={T},v1={V1}"
V1_EMPTY_BODY = "c47884a44b74e65df4be47da3f6e79b5853d1904a59ab235e702e7ebb6712753"  # of b"1767225600."

# A secret and a body outside ASCII: the secret is keyed as UTF-8, the body hashed byte for byte (its
# trailing newline included).
UTF8_SECRET = "clé-secrète"
UTF8_BODY = '{"note":"café"}\n'.encode()
UTF8_V1 = "a4bb7dc5382f57a6c8f8affb70a52f5ae4251592a41870adbd6bc5ceda9a6ac3"


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_the_vectors_are_the_documented_hmac_of_t_dot_body() -> None:
    # The test's own arithmetic agrees with OpenSSL's: the vectors mean what the docstring says.
    assert hmac_hex(SECRET, f"{T}.".encode() + BODY) == V1
    assert hmac_hex(UTF8_SECRET, f"{T}.".encode() + UTF8_BODY) == UTF8_V1


def test_sign_writes_the_documented_header_for_a_known_vector() -> None:
    assert sign(SECRET, BODY, T) == HEADER
    assert sign(SECRET, b"", T) == f"t={T},v1={V1_EMPTY_BODY}"
    assert sign(UTF8_SECRET, UTF8_BODY, T) == f"t={T},v1={UTF8_V1}"


def test_a_header_signed_as_the_contract_says_is_accepted() -> None:
    assert signature_problem(HEADER, SECRET, BODY, now=T) is None
    assert signature_problem(f"t={T},v1={UTF8_V1}", UTF8_SECRET, UTF8_BODY, now=T) is None


@pytest.mark.parametrize("message", [
    pytest.param(BODY + str(T).encode(), id="body-then-t"),
    pytest.param(str(T).encode() + BODY, id="t-body-without-dot"),
    pytest.param(BODY, id="body-only"),
    pytest.param(f"{T}:".encode() + BODY, id="t-colon-body"),
    pytest.param(f"{T}.".encode() + BODY.strip(b"}"), id="t-dot-other-body"),
])
def test_a_v1_over_any_other_message_is_refused(message: bytes) -> None:
    header = f"t={T},v1={hmac_hex(SECRET, message)}"
    assert signature_problem(header, SECRET, BODY, now=T) == "X-Signature does not match the body"


def test_a_v1_keyed_with_another_secret_is_refused() -> None:
    header = f"t={T},v1={hmac_hex('whsec_other', f'{T}.'.encode() + BODY)}"
    assert signature_problem(header, SECRET, BODY, now=T) == "X-Signature does not match the body"


def test_the_timestamp_is_part_of_what_is_signed() -> None:
    # The right digest for t, sent with t+1: the server hashes the t it was given, so it cannot match.
    assert signature_problem(f"t={T + 1},v1={V1}", SECRET, BODY, now=T) == "X-Signature does not match the body"


@pytest.mark.parametrize("offset", [0, 1, 299, 300, -1, -299, -300])
def test_a_timestamp_up_to_300_seconds_off_either_way_is_accepted(offset: int) -> None:
    assert TOLERANCE_S == 300
    assert signature_problem(HEADER, SECRET, BODY, now=T + offset) is None


@pytest.mark.parametrize("offset", [301, -301, 600, -600, 86_400])
def test_a_timestamp_more_than_300_seconds_off_either_way_is_refused(offset: int) -> None:
    assert signature_problem(HEADER, SECRET, BODY, now=T + offset) == \
        "X-Signature timestamp is more than 5 minutes off"


def test_a_fraction_of_a_second_past_the_tolerance_is_refused() -> None:
    # the server's clock has sub-second precision: 300.5 s is more than 5 minutes
    assert signature_problem(HEADER, SECRET, BODY, now=T + 300.5) is not None
    assert signature_problem(HEADER, SECRET, BODY, now=T + 300.0) is None


@pytest.mark.parametrize("header", [None, ""])
def test_a_missing_header_is_refused(header: str | None) -> None:
    assert signature_problem(header, SECRET, BODY, now=T) == "missing X-Signature header"


@pytest.mark.parametrize("header", [
    pytest.param(f"v1={V1}", id="no-t"),
    pytest.param(f"t=,v1={V1}", id="empty-t"),
    pytest.param(f"t=abc,v1={V1}", id="t-not-a-number"),
    pytest.param(f"t={T}.5,v1={V1}", id="t-not-an-integer"),
    pytest.param(f"t=-{T},v1={V1}", id="t-negative"),
    pytest.param(f"t=1{T}0000,v1={V1}", id="t-absurdly-large"),
])
def test_a_header_without_an_integer_t_is_refused(header: str) -> None:
    assert signature_problem(header, SECRET, BODY, now=T) == "X-Signature has no valid t= timestamp"


@pytest.mark.parametrize("header", [
    pytest.param(f"t={T}", id="no-v1"),
    pytest.param(f"t={T},v1=", id="empty-v1"),
    pytest.param(f"t={T},v0={V1}", id="other-scheme-name"),
    pytest.param(f"t={T},v1={V1[:-1]}", id="truncated"),
    pytest.param(f"t={T},v1={V1}00", id="extended"),
])
def test_a_header_without_a_matching_v1_is_refused(header: str) -> None:
    assert signature_problem(header, SECRET, BODY, now=T) == "X-Signature does not match the body"


@pytest.mark.parametrize("header", [
    pytest.param(f"t={T},v1={'0' * 64},v1={V1}", id="second-of-two"),
    pytest.param(f"t={T},v1={V1},v1={'f' * 64}", id="first-of-two"),
    pytest.param(f"v1={'0' * 64}, t={T}, v1={V1}", id="any-order-with-spaces"),
])
def test_one_matching_v1_of_several_is_enough(header: str) -> None:
    assert signature_problem(header, SECRET, BODY, now=T) is None


def test_the_body_is_hashed_exactly_as_sent() -> None:
    for changed in (BODY + b"\n", b" " + BODY, BODY.replace(b'":"', b'": "'), BODY.upper()):
        assert signature_problem(HEADER, SECRET, changed, now=T) == "X-Signature does not match the body"


def test_the_streamed_check_agrees_with_the_whole_body_check() -> None:
    for split in range(len(BODY) + 1):
        check = SignatureCheck(HEADER, SECRET, now=T)
        assert check.problem is None
        check.update(BODY[:split])
        check.update(BODY[split:])
        assert check.verdict() is None
    bad = SignatureCheck(HEADER, SECRET, now=T)
    bad.update(BODY[:-1])
    assert bad.verdict() == "X-Signature does not match the body"


def test_the_header_is_judged_before_any_body_is_read() -> None:
    assert SignatureCheck(None, SECRET, now=T).problem == "missing X-Signature header"
    assert SignatureCheck(HEADER, SECRET, now=T + 301).problem == "X-Signature timestamp is more than 5 minutes off"
    assert SignatureCheck(f"v1={V1}", SECRET, now=T).problem == "X-Signature has no valid t= timestamp"
    # a well-formed header in time leaves the verdict to the body
    assert SignatureCheck(HEADER, SECRET, now=T).problem is None
