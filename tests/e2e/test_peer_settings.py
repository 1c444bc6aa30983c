"""The peers are reached through the documented settings only: `SUPERBILL_CLEARINGHOUSE_URL`/`_TOKEN` and
`SUPERBILL_BILLING_SERVICE_URL`/`_TOKEN` (README, CONFIGURATION.md). The sandbox requires the token it is given,
so a worker configured with another token is refused (401: a permanent no, the claim `rejected`, nothing
taken), while the other peer, whose token matches, takes its claim."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline.entrypoints.demo import Stack
from tests.e2e.conftest import body, example
from tests.e2e.opskit import wait_final

pytestmark = pytest.mark.e2e


def test_the_peers_are_reached_with_the_configured_urls_and_tokens(start_stack: Callable[..., Stack]) -> None:
    # The sandbox expects another clearinghouse token than the pipeline's processes send.
    stack = start_stack(sandbox_env={"SUPERBILL_CLEARINGHOUSE_TOKEN": "the-clearinghouse-expects-this"})
    env = stack.env()
    assert "SUPERBILL_SANDBOX_URL" not in env
    assert env["SUPERBILL_CLEARINGHOUSE_URL"] == stack.sandbox_url + "/clearinghouse"
    assert env["SUPERBILL_BILLING_SERVICE_URL"] == stack.sandbox_url + "/billing"

    va = stack.post_event(body(example("va_direct"))).json()["claim_id"]
    courtesy = stack.post_event(body(example("commercial_courtesy"))).json()["claim_id"]
    assert wait_final(stack, [va, courtesy], timeout_s=60) == {va: "rejected", courtesy: "accepted"}

    refused = stack.ledger().get(va)
    assert refused is not None
    assert refused.peer_reasons == ["missing or invalid bearer token"]
    receipts = stack.receipts()
    assert (receipts.get(va, 0), receipts.get(courtesy, 0)) == (0, 1)
