"""Which resubmission a claim gets: under its own key when its submission was never answered, under the next
submission number only after a definite no or new data."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.application.ops import never_answered
from schemas.claim import Claim


def claim(**fields: Any) -> Claim:
    base: dict[str, Any] = {"claim_id": "c", "session_id": "c", "event_id": "e", "status": "failed",
                            "route": "direct_billing", "idempotency_key": "c-1", "prepared_at": 100.0}
    return Claim.model_validate(base | fields)


@pytest.mark.parametrize(("fields", "resumed"), [
    ({}, True),                                               # failed with no answer: same key again
    ({"route": "courtesy_submission"}, True),
    ({"amended_at": 150.0}, False),                           # new data: a new submission number
    ({"amended_at": 50.0}, True),                             # amended before it was sent: same document
    ({"status": "rejected"}, False),                          # a definite no
    ({"status": "needs_attention", "idempotency_key": None}, False),
    ({"idempotency_key": None}, False),                       # never reached the peer
])
def test_a_failed_claim_is_resumed_under_its_own_key_unless_its_data_changed(fields: dict[str, Any],
                                                                              resumed: bool) -> None:
    assert never_answered(claim(**fields)) is resumed
