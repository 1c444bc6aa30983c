"""A recovery (PLB WO naming our claim id) in a file posted before the file with the claim's own payment: it
waits (the file `partly_posted`, tried again with each pass) and is posted once the payment is; a claim that
can receive no payment, or one that waited too long, keeps it `not_postable` (a real Redis)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pipeline.application import remittances
from pipeline.domain.recoveries import RECOVERY_WAITS
from tests.integration.application.test_remittance_order_and_reuse import FULL, PAYMENT, x835
from tests.integration.application.test_remittance_posting import CLAIM, claim, store, world
from tests.integration.application.test_remittance_recoveries import OTHER_PAID, other_claim, plb, recoveries

__all__ = ["world"]


def recovery_first(deps: Any, peer: Any) -> str:
    """The other claim paid 260.00 less 60.00 recovered for our claim, whose own payment is not posted yet."""
    other_claim(deps)
    peer.deliver(x835(1, "200", "CHK2", [OTHER_PAID, plb(f"WO:{CLAIM}", "60")], paid_on="20261210"))
    remittances.fetch_and_post(deps)
    return store(deps).all()[0].remittance_id


def adjustments(deps: Any, rid: str) -> list[dict[str, Any]]:
    found = store(deps).get(rid)
    assert found is not None
    return list(found.summary["provider_adjustments"])


def test_a_recovery_before_its_claims_payment_waits_and_is_posted_once_the_payment_is(world: Any) -> None:
    deps, peer, _ = world
    rid = recovery_first(deps, peer)
    [waiting] = adjustments(deps, rid)
    assert (waiting["outcome"], waiting["claim_id"]) == ("waiting", CLAIM)
    assert "no payment of the payer is posted to this claim yet" in waiting["detail"]
    assert store(deps).get(rid).status == "partly_posted"  # type: ignore[union-attr]
    assert rid in store(deps).unposted() and recoveries(deps) == []

    remittances.fetch_and_post(deps)  # a pass without the payment: still waiting, nothing posted
    assert adjustments(deps, rid)[0]["outcome"] == "waiting" and recoveries(deps) == []

    peer.deliver(x835(2, "260", "CHK1", [PAYMENT.format(**FULL)]))
    for _ in range(2):  # the payment's file, then the recovery's file tried again (in one pass or the next)
        remittances.fetch_and_post(deps)
    after = claim(deps)
    assert (after.status, after.paid_amount, after.recovered_amount) == ("paid", Decimal("260.00"), Decimal("60.00"))
    [entry] = recoveries(deps)
    assert (entry["remittance_id"], entry["amount"]) == (rid, "60.00")
    assert adjustments(deps, rid)[0]["outcome"] == "posted"
    assert store(deps).get(rid).status == "posted" and rid not in store(deps).unposted()  # type: ignore[union-attr]
    remittances.fetch_and_post(deps)
    assert len(recoveries(deps)) == 1 and claim(deps).recovered_amount == Decimal("60.00")


def test_a_recovery_for_a_voided_claim_with_nothing_paid_is_not_postable(world: Any) -> None:
    deps, peer, _ = world
    assert deps.ledger.transition(CLAIM, "accepted", "voided", kind="test.voided")
    rid = recovery_first(deps, peer)
    [kept] = adjustments(deps, rid)
    assert (kept["outcome"], kept["claim_id"]) == ("not_postable", CLAIM)
    assert "it is voided: none will be" in kept["detail"]
    assert store(deps).get(rid).status == "posted" and recoveries(deps) == []  # type: ignore[union-attr]


def test_a_recovery_that_waited_its_time_is_not_postable(world: Any) -> None:
    deps, peer, _ = world
    rid = recovery_first(deps, peer)
    assert adjustments(deps, rid)[0]["outcome"] == "waiting"
    later = dataclasses.replace(deps, now=lambda: datetime.now(UTC) + RECOVERY_WAITS + timedelta(hours=1))
    remittances.fetch_and_post(later)
    [kept] = adjustments(deps, rid)
    assert kept["outcome"] == "not_postable" and f"within {RECOVERY_WAITS.days} days" in kept["detail"]
    assert store(deps).get(rid).status == "posted" and rid not in store(deps).unposted()  # type: ignore[union-attr]
