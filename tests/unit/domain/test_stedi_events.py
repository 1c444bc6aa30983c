"""Stedi's webhook deliveries: the Standard Webhooks signature of an event destination, the bearer token of a
webhook, and which events call for a poll (both of Stedi's event shapes)."""

from __future__ import annotations

import base64

import pytest

from pipeline.domain import stedi_events as se

SECRET = "whsec_" + base64.b64encode(b"a signing key of 24 bytes").decode()
BODY = b'{"type": "transaction.processed"}'
NOW = 1_790_000_000


def check(**overrides: object) -> str | None:
    given: dict[str, object] = {"message_id": "msg_1", "timestamp": str(NOW),
                                "signature": se.sign(SECRET, "msg_1", NOW, BODY), "body": BODY, "now": NOW}
    given.update(overrides)
    return se.signature_problem(SECRET, **given)  # type: ignore[arg-type]


def test_a_delivery_signed_with_the_secret_passes_and_any_change_fails() -> None:
    assert check() is None
    assert check(signature="v1,bm90IHRoaXM= " + se.sign(SECRET, "msg_1", NOW, BODY)) is None  # one of several
    assert check(body=BODY + b" ") == "webhook-signature does not match the body"
    assert check(message_id="msg_2") == "webhook-signature does not match the body"
    other = "whsec_" + base64.b64encode(b"another key of 24 bytes!").decode()
    assert check(signature=se.sign(other, "msg_1", NOW, BODY)) == "webhook-signature does not match the body"
    assert check(signature="v2," + se.sign(SECRET, "msg_1", NOW, BODY)[3:]) == (
        "webhook-signature does not match the body")


def test_the_signature_follows_the_standard_webhooks_recipe() -> None:
    import hashlib
    import hmac

    key = base64.b64decode(SECRET[len("whsec_"):])
    digest = hmac.new(key, f"msg_1.{NOW}.".encode() + BODY, hashlib.sha256).digest()
    assert se.sign(SECRET, "msg_1", NOW, BODY) == "v1," + base64.b64encode(digest).decode()


@pytest.mark.parametrize(("overrides", "problem"), [
    ({"message_id": None}, "missing webhook-id, webhook-timestamp or webhook-signature header"),
    ({"signature": ""}, "missing webhook-id, webhook-timestamp or webhook-signature header"),
    ({"timestamp": "soon"}, "webhook-timestamp is not a unix time"),
    ({"timestamp": str(NOW - 301)}, "webhook-timestamp is more than 5 minutes off"),
    ({"now": NOW - 301}, "webhook-timestamp is more than 5 minutes off"),
])
def test_a_delivery_without_its_headers_or_outside_five_minutes_is_refused(
        overrides: dict[str, object], problem: str) -> None:
    assert check(**overrides) == problem


def test_a_signing_secret_must_be_base64_of_a_real_key() -> None:
    assert se.secret_key(SECRET) == b"a signing key of 24 bytes"
    for bad in ("whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode()):
        with pytest.raises(ValueError, match="whsec_"):
            se.secret_key(bad)


def test_the_bearer_token_is_compared_whole() -> None:
    assert se.token_problem("tok-123", "Bearer tok-123") is None
    assert se.token_problem("tok-123", "bearer tok-123") is None
    assert se.token_problem("tok-123", "Bearer tok-1234") == (
        "the Authorization token is not the one set up for Stedi's webhook")
    assert se.token_problem("tok-123", "tok-123") == "missing Authorization: Bearer token"
    assert se.token_problem("tok-123", None) == "missing Authorization: Bearer token"


THIN_835 = {"type": "transaction.processed", "resource": {"id": "019b", "type": "transaction"},
            "relatedResources": [{"id": "019b", "type": "transaction.x12.835"}]}
V2_277 = {"detail-type": "transaction.processed.v2",
          "detail": {"transactionId": "t1", "x12": {"metadata": {"transaction": {"transactionSetIdentifier": "277"}}}}}
V2_999 = {"detail-type": "transaction.processed.v2",
          "detail": {"x12": {"metadata": {"transaction": {"transactionSetIdentifier": "999"}}}}}


@pytest.mark.parametrize(("event", "sets", "wanted"), [
    (THIN_835, {"835"}, True),
    (V2_277, {"277"}, True),
    (V2_999, {"999"}, False),  # a 999 of an API claim came back in the submission's answer
    ({"type": "file.processed", "resource": {"id": "f1", "type": "file"}}, set(), True),  # unknown: poll once
    ({"type": "file.failed", "relatedResources": [{"type": "transaction.x12.835"}]}, {"835"}, False),
    ({"type": "enrollment.updated"}, set(), False),
    ({"detail-type": "transaction.processed.v2", "detail": {"x12": "not an object"}}, set(), True),
    (["not", "an", "object"], set(), False),
])
def test_only_processed_277cas_835s_and_unnamed_files_call_for_a_poll(
        event: object, sets: set[str], wanted: bool) -> None:
    assert se.transaction_sets(event) == sets
    assert se.announces_wanted(event) is wanted


def test_the_event_type_is_read_from_either_shape_and_kept_short() -> None:
    assert se.event_type(THIN_835) == "transaction.processed"
    assert se.event_type(V2_277) == "transaction.processed.v2"
    assert se.event_type({"type": "x" * 500}) == "x" * 80
    assert se.event_type({"type": 7}) == ""
