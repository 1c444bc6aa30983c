"""A payer's provider-level recoveries (PLB WO naming a claim) posted against the claim they recover from,
exactly once, and those that cannot be posted kept with why (a real Redis, the posting path the workers run)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.application import remittances, stages
from pipeline.application.exports import claim_row
from pipeline.application.ingest import receive
from pipeline.application.ops import show_claim
from pipeline.application.receivables import receivables
from pipeline.application.steps import ALERT
from pipeline.entrypoints.cli.money import remittance_text
from pipeline.entrypoints.cli.text import payment_lines
from pipeline.entrypoints.web.ops_page.money import payment_block, remittance_body
from tests.integration.application.test_remittance_order_and_reuse import FULL, PAYMENT, REVERSAL, x835
from tests.integration.application.test_remittance_posting import CLAIM, EVENT, claim, store, world

__all__ = ["world"]

OTHER = "ses_va_other"
# the other claim paid in full under its own payer claim number: what the recovery is taken off
OTHER_PAID = PAYMENT.format(**FULL).replace(CLAIM, OTHER).replace("PCN1", "PCN9")
TODAY = date(2026, 12, 20)


def other_claim(deps: Any) -> None:
    doc = EVENT.replace(CLAIM.encode(), OTHER.encode()).replace(b"evt_va_direct", b"evt_va_other")
    assert receive(deps.ledger, doc, deps.send, source="test").http_status == 202
    for step in (stages.validate, stages.assemble, stages.route, stages.submit_direct):
        step(deps, OTHER)


def plb(*pairs: str) -> str:
    return "PLB*1245319599*20261231*" + "*".join(pairs) + "~"


def paid_then_recovered(deps: Any, peer: Any, reference: str, amount: str = "60") -> None:
    """The claim paid 260.00 on CHK1; CHK2 pays the other claim 260.00 less what it recovers for `reference`."""
    other_claim(deps)
    peer.deliver(x835(1, "260", "CHK1", [PAYMENT.format(**FULL)]))
    net = Decimal(260) - Decimal(amount)
    peer.deliver(x835(2, f"{net}", "CHK2", [OTHER_PAID, plb(f"WO:{reference}", amount)], paid_on="20261210"))
    remittances.fetch_and_post(deps)


def recoveries(deps: Any) -> list[dict[str, Any]]:
    return [e for e in deps.ledger.timeline(CLAIM) if e["kind"] == "remittance.recovery"]


def test_an_overpayment_recovery_naming_the_payer_claim_number_is_taken_off_that_claim_once(world: Any) -> None:
    deps, peer, _ = world
    paid_then_recovered(deps, peer, "PCN1")
    after = claim(deps)
    assert (after.status, after.paid_amount, after.recovered_amount) == ("paid", Decimal("260.00"), Decimal("60.00"))
    [entry] = recoveries(deps)
    second = store(deps).all()[1]
    assert (entry["remittance_id"], entry["trace_number"], entry["amount"], entry["code"], entry["paid_on"]) == (
        second.remittance_id, "CHK2", "60.00", "WO", "2026-12-10")
    assert "overpayment recovery" in entry["reason"]
    [shown] = second.summary["provider_adjustments"]
    assert (shown["outcome"], shown["claim_id"], shown["reference"]) == ("posted", CLAIM, "PCN1")
    # what the practice has from the payer: 200.00 for this claim, 260.00 for the other; 60.00 owed again
    owed = receivables(deps.ledger, today=TODAY, warning_days=150)
    assert (owed["totals"]["paid"], owed["totals"]["recovered"], owed["totals"]["outstanding"]) == (
        "460.00", "60.00", "60.00")
    assert [(r["claim_id"], r["paid"], r["outstanding"]) for r in owed["outstanding"]] == [(CLAIM, "200.00", "60.00")]
    # before the recovery's check the claim had all it was paid (and the other claim nothing yet)
    then = receivables(deps.ledger, today=TODAY, as_of=date(2026, 12, 6), warning_days=150)
    assert (then["totals"]["paid"], then["totals"]["recovered"], then["totals"]["outstanding"]) == (
        "260.00", "0.00", "260.00")
    assert [r["claim_id"] for r in then["outstanding"]] == [OTHER]
    row = claim_row(after)
    assert (row["payer_paid"], row["payer_recovered"]) == ("260.00", "60.00")
    # the same 835 again under new control numbers changes nothing
    peer.deliver(x835(3, "200", "CHK2", [OTHER_PAID, plb("WO:PCN1", "60")], paid_on="20261210"))
    assert remittances.fetch_and_post(deps)["claims_posted"] == 0
    assert claim(deps).recovered_amount == Decimal("60.00") and len(recoveries(deps)) == 1
    [copy] = store(deps).all()[2].summary["provider_adjustments"]
    assert copy["outcome"] == "duplicate"
    shown_claim = show_claim(deps.ledger, CLAIM)
    assert shown_claim is not None and shown_claim["recovered_amount"] == "60.00"
    page = payment_block(shown_claim)
    assert "recovered <b>60.00</b>" in page and "received from the payer <b>200.00</b>" in page
    assert "recovered by the payer (PLB): 60.00" in "\n".join(payment_lines(shown_claim))


def test_a_recovery_naming_our_claim_id_with_the_payer_claim_number_is_posted(world: Any) -> None:
    deps, peer, _ = world
    paid_then_recovered(deps, peer, f"{CLAIM} PCN1", amount="40")
    assert claim(deps).recovered_amount == Decimal("40.00")


def test_recoveries_that_name_no_claim_or_more_than_was_paid_are_kept_not_postable(world: Any) -> None:
    deps, peer, _ = world
    other_claim(deps)
    peer.deliver(x835(1, "260", "CHK1", [PAYMENT.format(**FULL)]))
    peer.deliver(x835(2, "-100", "CHK2", [OTHER_PAID, plb("WO:LETTER77", "60", "WO:PCN1", "300")],
                      paid_on="20261210"))
    remittances.fetch_and_post(deps)
    assert (claim(deps).status, claim(deps).recovered_amount) == ("paid", None)
    assert recoveries(deps) == []
    rid = store(deps).all()[1].remittance_id
    shown = remittances.show_remittance(deps, rid)
    assert shown is not None
    unknown, too_much = shown["provider_adjustments"]
    assert (unknown["outcome"], unknown["claim_id"]) == ("not_postable", None)
    assert "matches no claim" in unknown["detail"]
    assert (too_much["outcome"], too_much["claim_id"]) == ("not_postable", CLAIM)
    assert "recovers 300.00 but the claim has 260.00" in too_much["detail"]
    assert [r["not_postable"] for r in remittances.list_remittances(deps)] == [0, 2]
    page = remittance_body(shown)
    assert "matches no claim" in page and "recovers 300.00" in page
    text = remittance_text(shown)
    assert "reference LETTER77 -> not_postable: the reference matches no claim" in text
    assert f"reference PCN1 -> not_postable on claim {CLAIM}: the payer recovers 300.00" in text


def test_a_recovery_of_everything_paid_denies_the_claim_and_owes_its_charge_again(world: Any) -> None:
    deps, peer, sent = world
    paid_then_recovered(deps, peer, "PCN1", amount="260")
    after = claim(deps)
    assert (after.status, after.paid_amount, after.recovered_amount) == ("denied", Decimal("0.00"), Decimal("0.00"))
    assert [r["code"] for r in after.denial_reasons] == ["PLB-WO"]
    assert "260.00 of 260.00 paid taken back on check/EFT CHK2" in after.denial_reasons[0]["text"]
    assert (ALERT, CLAIM) in sent
    owed = receivables(deps.ledger, today=TODAY, warning_days=150)
    assert [(r["claim_id"], r["outstanding"]) for r in owed["outstanding"]] == [(CLAIM, "260.00")]
    then = receivables(deps.ledger, today=TODAY, as_of=date(2026, 12, 11), warning_days=150)
    assert [(r["claim_id"], r["status"], r["outstanding"]) for r in then["outstanding"]] == [
        (CLAIM, "denied", "260.00")]


def test_a_delayed_recovery_keeps_the_money_with_the_claim_until_the_payer_takes_it(world: Any) -> None:
    """Reversed with nothing to take it from, the payer adds the reversal back (a negative WO) and recovers it
    from a later check: the claim holds the 260.00 until then."""
    deps, peer, _ = world
    other_claim(deps)
    peer.deliver(x835(1, "260", "CHK1", [PAYMENT.format(**FULL)]))
    peer.deliver(x835(2, "0", "CHK2", [REVERSAL.format(**FULL), plb("WO:PCN1", "-260")], paid_on="20261208"))
    remittances.fetch_and_post(deps)
    held = claim(deps)
    assert (held.status, held.paid_amount, held.recovered_amount) == ("accepted", Decimal("0.00"),
                                                                       Decimal("-260.00"))
    peer.deliver(x835(3, "0", "CHK3", [OTHER_PAID, plb("WO:PCN1", "260")], paid_on="20261215"))
    remittances.fetch_and_post(deps)
    after = claim(deps)
    assert (after.status, after.paid_amount, after.recovered_amount) == ("accepted", Decimal("0.00"),
                                                                          Decimal("0.00"))
    assert [e["amount"] for e in recoveries(deps)] == ["-260.00", "260.00"]
    assert [a["outcome"] for r in store(deps).all() for a in r.summary.get("provider_adjustments") or []] == [
        "posted", "posted"]
