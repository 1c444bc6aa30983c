"""The sandbox's Stedi webhook deliveries: signed as Stedi's event destinations sign, so the pipeline's own
check (`pipeline.domain.stedi_events`) lets them in; thin `transaction.processed` events naming the set; a
delivery the receiver refuses is tried again."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from pipeline.domain import stedi_events
from pipeline.sandbox import stedi_webhooks
from pipeline.sandbox.stedi_webhooks import WebhookSender, standard_signature, thin_event

SECRET = "whsec_" + base64.b64encode(b"a destination's signing key").decode()


def test_the_sandbox_signs_as_the_pipeline_checks() -> None:
    body = json.dumps(thin_event("tx-1", "835")).encode()
    signature = standard_signature(SECRET, "msg_1", 1_790_000_000, body)
    assert stedi_events.signature_problem(SECRET, message_id="msg_1", timestamp="1790000000", signature=signature,
                                          body=body, now=1_790_000_000) is None
    event = json.loads(body)
    assert stedi_events.transaction_sets(event) == {"835"} and stedi_events.announces_wanted(event)


class _Answer:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


def test_a_refused_delivery_is_tried_again_with_a_fresh_signature_of_the_same_message(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []
    answers = iter([503, 500, 202])
    sender = WebhookSender(url="http://receiver.invalid/v1/stedi/events", secret=SECRET, publish=list)
    monkeypatch.setattr(sender._session, "post", lambda url, data, headers, timeout: (
        sent.append({"body": data, **headers}), _Answer(next(answers)))[1])
    monkeypatch.setattr(stedi_webhooks, "ATTEMPTS", 5)
    monkeypatch.setattr(sender._stop, "wait", lambda seconds: False)  # no real back-off in a unit test
    assert sender.deliver(thin_event("tx-2", "277")) is True
    assert (len(sent), sender.delivered, sender.failed) == (3, 1, 0)
    assert len({s["webhook-id"] for s in sent}) == 1 and [s["attempt-number"] for s in sent] == ["1", "2", "3"]
    for s in sent:
        assert stedi_events.signature_problem(SECRET, message_id=s["webhook-id"], timestamp=s["webhook-timestamp"],
                                              signature=s["webhook-signature"], body=s["body"],
                                              now=time.time()) is None
