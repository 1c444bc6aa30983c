"""Posting a payer's reversals and corrected payments whatever their order in the 835, and telling a reused
check number from the same 835 sent again (a real Redis, the posting path the workers run)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.application import remittances
from pipeline.application.receivables import receivables
from tests.integration.application.test_remittance_posting import CLAIM, claim, store, world

__all__ = ["world"]

HEAD = ("ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*THERAPKNEADS   *261205*0900*^*00501*{icn:09d}*0*T*:~"
        "GS*HP*CLEARINGHOUSE*THERAPKNEADS*20261205*0900*{icn}*X*005010X221A1~")
PAYMENT = ("CLP*ses_va_direct*1*260*{paid}*0*VA*{pcn}*11*1~NM1*QC*1*DOE*JOHN****MI*123456789~"
           "SVC*HC:97140:GP:XS*140*{l1}**2~DTM*472*20261120~{cas1}REF*6R*ses_va_direct-1~"
           "SVC*HC:97124:GP*120*{l2}**2~DTM*472*20261120~{cas2}REF*6R*ses_va_direct-2~")
REVERSAL = ("CLP*ses_va_direct*22*-260*-{paid}*0*VA*{pcn}*11*1~NM1*QC*1*DOE*JOHN****MI*123456789~"
            "SVC*HC:97140:GP:XS*-140*-{l1}**-2~DTM*472*20261120~{cas1}"
            "SVC*HC:97124:GP*-120*-{l2}**-2~DTM*472*20261120~{cas2}")
FULL = {"paid": "260", "l1": "140", "l2": "120", "cas1": "", "cas2": "", "pcn": "PCN1"}
# 80 %: 112 + 96 paid, CO-45 28 + 24 written off
REDUCED = {"paid": "208", "l1": "112", "l2": "96", "cas1": "CAS*CO*45*28~", "cas2": "CAS*CO*45*24~", "pcn": "PCN2"}


def x835(icn: int, amount: str, trace: str, claims: list[str], paid_on: str = "20261205") -> str:
    body = ["ST*835*0001", f"BPR*I*{amount}*C*CHK************{paid_on}", f"TRN*1*{trace}*1999999999",
            f"DTM*405*{paid_on}", "N1*PR*VA CCN OPTUM", "N3*PO BOX 30555", "N4*SALT LAKE CITY*UT*841300555",
            "PER*BL*EDI SUPPORT*TE*8005550100", "N1*PE*THERAPEUTIC KNEADS, LTD.*XX*1245319599", "LX*1"]
    body += [s for c in claims for s in c.split("~") if s]
    body.append(f"SE*{len(body) + 1}*0001")
    return HEAD.format(icn=icn) + "~".join(body) + f"~GE*1*{icn}~IEA*1*{icn:09d}~"


def outcomes(deps: Any) -> list[list[str]]:
    return [[c["outcome"] for c in r.claims] for r in store(deps).all()]


def test_a_corrected_payment_listed_before_the_reversal_is_posted(world: Any) -> None:
    deps, peer, _ = world
    peer.deliver(x835(1, "260", "CHK1", [PAYMENT.format(**FULL)]))
    remittances.fetch_and_post(deps)
    assert claim(deps).status == "paid"
    peer.deliver(x835(2, "-52", "CHK2", [PAYMENT.format(**REDUCED), REVERSAL.format(**FULL)]))
    assert remittances.fetch_and_post(deps)["claims_posted"] == 2
    after = claim(deps)
    assert (after.status, after.paid_amount, after.adjusted_amount, after.payer_claim_number) == (
        "paid", Decimal("208.00"), Decimal("52.00"), "PCN2")
    assert outcomes(deps) == [["posted"], ["posted", "posted"]]  # in the file's order
    kinds = [e["kind"] for e in deps.ledger.timeline(CLAIM) if e["kind"].startswith("remittance.")]
    assert kinds == ["remittance.payment", "remittance.reversal", "remittance.payment"]


def test_a_replacement_paid_before_the_old_payment_is_reversed_ends_paid_at_the_new_amount(world: Any) -> None:
    deps, peer, _ = world
    peer.deliver(x835(1, "260", "CHK1", [PAYMENT.format(**FULL)]))
    remittances.fetch_and_post(deps)
    # a corrected claim (frequency 7) the payer took: the claim is accepted again, its old payment still on it
    deps.ledger.transition(CLAIM, "paid", "accepted", kind="test", fields={"frequency_code": "7"})
    peer.deliver(x835(2, "-52", "CHK2", [PAYMENT.format(**REDUCED), REVERSAL.format(**FULL)]))
    remittances.fetch_and_post(deps)
    after = claim(deps)
    assert (after.status, after.paid_amount, after.adjusted_amount) == ("paid", Decimal("208.00"), Decimal("52.00"))


def test_a_reversal_never_takes_back_more_than_was_paid(world: Any) -> None:
    deps, peer, _ = world
    peer.deliver(x835(1, "260", "CHK1", [PAYMENT.format(**FULL)]))
    peer.deliver(x835(2, "-260", "CHK2", [REVERSAL.format(**FULL)]))
    # the same reversal again under another check date: the claim has nothing left to take back
    peer.deliver(x835(3, "-260", "CHK2", [REVERSAL.format(**FULL)], paid_on="20261209"))
    remittances.fetch_and_post(deps)
    after = claim(deps)
    assert (after.status, after.paid_amount) == ("accepted", Decimal("0.00"))
    third = store(deps).all()[2].claims[0]
    assert third["outcome"] == "not_postable" and "takes back 260.00" in third["detail"]


def test_a_reused_check_number_that_repays_after_a_reversal_is_posted(world: Any) -> None:
    deps, peer, _ = world
    peer.deliver(x835(1, "260", "CHK1", [PAYMENT.format(**FULL)]))
    peer.deliver(x835(2, "-260", "CHK2", [REVERSAL.format(**FULL)]))
    # weeks later the payer pays again with a check that reuses the first one's number
    peer.deliver(x835(3, "260", "CHK1", [PAYMENT.format(**FULL)], paid_on="20261220"))
    # and the same 835 again under new control numbers: a copy, never posted twice
    peer.deliver(x835(4, "260", "CHK1", [PAYMENT.format(**FULL)], paid_on="20261220"))
    remittances.fetch_and_post(deps)
    after = claim(deps)
    assert (after.status, after.paid_amount, after.paid_on) == ("paid", Decimal("260.00"), "2026-12-20")
    assert outcomes(deps) == [["posted"], ["posted"], ["posted"], ["duplicate"]]


def paid_under_the_earlier_key(deps: Any, peer: Any) -> None:
    """The claim paid in full by check CHK1, its posting recorded as a ledger from before the key carried the
    check date records it."""
    first = x835(1, "260", "CHK1", [PAYMENT.format(**FULL)])
    peer.deliver(first)
    remittances.fetch_and_post(deps)
    [parsed] = remittances.parse_835(first)
    key = remittances.posting_key(parsed, parsed.claims[0])
    postings = deps.ledger._k("postings")
    deps.ledger.r.hset(postings, key.rsplit(":", 1)[0], deps.ledger.r.hget(postings, key))
    deps.ledger.r.hdel(postings, key)


def test_a_payment_posted_under_the_earlier_key_is_still_recognised(world: Any) -> None:
    deps, peer, _ = world
    paid_under_the_earlier_key(deps, peer)
    deps.ledger.transition(CLAIM, "paid", "accepted", kind="test")
    peer.deliver(x835(2, "260", "CHK1", [PAYMENT.format(**FULL)]).replace("CLEARINGHOUSE  ", "CLEARINGHOUS2  "))
    remittances.fetch_and_post(deps)
    assert outcomes(deps) == [["posted"], ["duplicate"]]


def test_the_list_counts_the_claims_a_file_could_not_post(world: Any) -> None:
    deps, peer, _ = world
    peer.deliver(x835(1, "260", "CHK1", [PAYMENT.format(**FULL)]))
    peer.deliver(x835(2, "999", "CHK9", [PAYMENT.format(**FULL)], paid_on="20261209"))  # a second payment
    peer.deliver(x835(3, "260", "CHK1", [PAYMENT.format(**FULL)]))  # the first again, new control numbers
    remittances.fetch_and_post(deps)
    rows = remittances.list_remittances(deps)
    assert [(r["posted"], r["not_postable"], r["duplicate"], len(r["errors"])) for r in rows] == [
        (1, 0, 0, 0), (0, 1, 0, 1), (0, 0, 1, 0)]


# a payer that splits the claim: one claim payment per line, each with its own charge and claim number
FIRST_PART = ("CLP*ses_va_direct*1*140*112*0*VA*PCN1*11*1~NM1*QC*1*DOE*JOHN****MI*123456789~"
              "SVC*HC:97140:GP:XS*140*112**2~DTM*472*20261120~CAS*CO*45*28~REF*6R*ses_va_direct-1~")
SECOND_PART = ("CLP*ses_va_direct*1*120*96*0*VA*PCN2*11*1~NM1*QC*1*DOE*JOHN****MI*123456789~"
               "SVC*HC:97124:GP*120*96**2~DTM*472*20261120~CAS*CO*45*24~REF*6R*ses_va_direct-2~")


def test_a_claim_paid_in_two_835s_line_by_line_is_paid_in_full_and_owes_nothing(world: Any) -> None:
    deps, peer, _ = world
    peer.deliver(x835(1, "112", "CHK1", [FIRST_PART]))
    peer.deliver(x835(2, "96", "CHK2", [SECOND_PART], paid_on="20261212"))
    peer.deliver(x835(3, "112", "CHK3", [FIRST_PART], paid_on="20261214"))  # the first part paid again
    remittances.fetch_and_post(deps)
    after = claim(deps)
    assert (after.status, after.paid_amount, after.adjusted_amount, after.payer_claim_number) == (
        "paid", Decimal("208.00"), Decimal("52.00"), "PCN1")
    assert outcomes(deps) == [["posted"], ["posted"], ["not_postable"]]
    owed = receivables(deps.ledger, today=date(2026, 12, 20), warning_days=150)
    assert owed["totals"]["paid"] == "208.00" and owed["totals"]["outstanding"] == "0.00"
    # between the two checks the second line was still owed
    then = receivables(deps.ledger, today=date(2026, 12, 20), as_of=date(2026, 12, 10), warning_days=150)
    assert (then["totals"]["paid"], then["totals"]["outstanding"]) == ("112.00", "120.00")


def test_a_corrected_claim_on_its_way_owes_only_what_the_correction_adds(world: Any) -> None:
    from pipeline.application import stages
    from pipeline.application.ops import correct

    deps, peer, _ = world
    peer.deliver(x835(1, "208", "CHK1", [PAYMENT.format(**REDUCED)]))  # 208 paid, 52 written off (CO-45)
    remittances.fetch_and_post(deps)
    today = date(2026, 12, 20)
    assert receivables(deps.ledger, today=today, warning_days=150)["totals"]["outstanding"] == "0.00"
    # a replacement with the same lines: while the payer has not decided again, its decision stands
    assert correct(deps.ledger, CLAIM, deps.send, practice=deps.practice, kind="replacement", source="test").ok
    for step in (stages.validate, stages.assemble, stages.route, stages.submit_direct):
        step(deps, CLAIM)
    assert claim(deps).status == "accepted"
    owed = receivables(deps.ledger, today=today, warning_days=150)
    assert (owed["totals"]["outstanding"], owed["totals"]["adjusted"], owed["outstanding"]) == ("0.00", "52.00", [])
    # the payer takes its payment back: the whole charge is owed again until the replacement is paid
    taken_back = {**REDUCED, "cas1": "CAS*CO*45*-28~", "cas2": "CAS*CO*45*-24~"}
    peer.deliver(x835(2, "-208", "CHK2", [REVERSAL.format(**taken_back)]))
    remittances.fetch_and_post(deps)
    assert receivables(deps.ledger, today=today, warning_days=150)["totals"]["outstanding"] == "260.00"
    peer.deliver(x835(3, "208", "CHK3", [PAYMENT.format(**{**REDUCED, "pcn": "PCN3"})]))
    remittances.fetch_and_post(deps)
    assert receivables(deps.ledger, today=today, warning_days=150)["totals"]["outstanding"] == "0.00"


def test_a_va_denial_that_names_a_patient_share_is_announced_as_a_denial(world: Any) -> None:
    from pipeline.application.alerts import alert_notice
    from pipeline.application.steps import ALERT

    deps, peer, sent = world
    denial = ("CLP*ses_va_direct*4*260*0*260*VA*PCN1*11*1~NM1*QC*1*DOE*JOHN****MI*123456789~"
              "SVC*HC:97140:GP:XS*140*0**2~DTM*472*20261120~CAS*PR*96*140~REF*6R*ses_va_direct-1~LQ*HE*N130~"
              "SVC*HC:97124:GP*120*0**2~DTM*472*20261120~CAS*PR*96*120~REF*6R*ses_va_direct-2~LQ*HE*N130~")
    peer.deliver(x835(1, "0", "NOPAY1", [denial]))
    remittances.fetch_and_post(deps)
    assert claim(deps).status == "denied" and sent == [(ALERT, CLAIM)]
    notice = alert_notice(claim(deps))
    assert (notice["type"], notice["denial_codes"], notice["patient_responsibility"]) == (
        "claim.denied", ["PR-96", "N130"], "260.00")
    assert "DOE" not in str(notice) and "123456789" not in str(notice)


def test_a_payment_less_an_overpayment_recovery_shows_the_plb_that_explains_it(world: Any) -> None:
    from pipeline.entrypoints.cli.money import remittance_text
    from pipeline.entrypoints.web.ops_page.money import remittance_body

    deps, peer, _ = world
    # 260.00 paid on the claim, 60.00 taken back for an earlier payment, 5.00 interest added: 205.00 sent
    peer.deliver(x835(1, "205", "CHK1", [PAYMENT.format(**FULL), "PLB*1245319599*20261231*WO:OLDICN*60*L6*-5"]))
    remittances.fetch_and_post(deps)
    [row] = remittances.list_remittances(deps)
    assert (row["payment_amount"], row["errors"]) == ("205.00", [])
    assert [(a["code"], a["amount"]) for a in row["provider_adjustments"]] == [("WO", "60.00"), ("L6", "-5.00")]
    shown = remittances.show_remittance(deps, row["remittance_id"])
    assert shown is not None
    text = remittance_text(shown)
    assert "provider adjustment WO: 60.00 (overpayment recovery" in text and "provider adjustment L6: -5.00" in text
    assert "<b>WO</b> 60.00: overpayment recovery" in remittance_body(shown)


def test_a_file_posted_in_two_passes_keeps_what_each_claim_posting_was(world: Any) -> None:
    from pipeline.application import stages
    from pipeline.application.ingest import receive
    from tests.integration.application.test_remittance_posting import EVENT

    deps, peer, _ = world
    # a second claim, still on its way when the 835 comes: it waits, the first is posted
    other = EVENT.replace(b"ses_va_direct", b"ses_va_other").replace(b"evt_va_direct", b"evt_va_other")
    assert receive(deps.ledger, other, deps.send, source="test").http_status == 202
    for step in (stages.validate, stages.assemble, stages.route):
        step(deps, "ses_va_other")
    second = PAYMENT.format(**FULL).replace("ses_va_direct", "ses_va_other").replace("PCN1", "PCN9")
    peer.deliver(x835(1, "520", "CHK1", [PAYMENT.format(**FULL), second]))
    remittances.fetch_and_post(deps)
    assert store(deps).all()[0].status == "partly_posted"
    stages.submit_direct(deps, "ses_va_other")
    remittances.fetch_and_post(deps)
    [kept] = store(deps).all()
    assert kept.status == "posted" and [c["outcome"] for c in kept.claims] == ["posted", "posted"]
    for entry in kept.claims:  # the first pass's posting is not lost by the second
        assert entry["posting"]["kind"] == "payment" and entry["kind"] == "payment" and entry["status"] == "paid"
        assert [line["line_number"] for line in entry["posting"]["lines"]] == [1, 2]


def test_a_va_session_stuck_without_its_referral_is_announced_before_its_filing_limit(world: Any) -> None:
    import json

    from pipeline.application import stages
    from pipeline.application.ingest import receive
    from pipeline.application.ops import daily_summary
    from pipeline.application.receivables import alert_timely_filing
    from tests.integration.application.test_remittance_posting import EVENT

    deps, _, _ = world
    doc = json.loads(EVENT.replace(b"ses_va_direct", b"ses_va_stuck").replace(b"evt_va_direct", b"evt_va_stuck"))
    doc.pop("va_referral")
    assert receive(deps.ledger, json.dumps(doc).encode(), deps.send, source="test").http_status == 202
    for step in (stages.validate, stages.assemble, stages.route):
        step(deps, "ses_va_stuck")
    stuck = deps.ledger.get("ses_va_stuck")
    assert stuck is not None and (stuck.status, stuck.route) == ("needs_attention", "needs_attention")
    notices: list[dict[str, Any]] = []

    class Alerts:
        def notify(self, notice: dict[str, Any]) -> None:
            notices.append(notice)

    later = date(2027, 4, 30)  # 161 days after the session of 2026-11-20
    assert sorted(alert_timely_filing(deps.ledger, Alerts(), today=later, warning_days=150)) == [
        CLAIM, "ses_va_stuck"]
    assert {"type": "claim.timely_filing_risk", "claim_id": "ses_va_stuck", "route": "needs_attention",
            "status": "needs_attention", "age_days": 161, "days_left": 19, "denial_codes": []} in notices
    owed = receivables(deps.ledger, today=later, warning_days=150)
    assert owed["totals"]["billed"] == "260.00"  # only the claim the VA was billed for is owed by it
    assert [r["claim_id"] for r in owed["timely_filing"]["claims"]] == [CLAIM, "ses_va_stuck"]

    class NoQueues:
        def __call__(self) -> list[dict[str, Any]]:
            return []

    summary = daily_summary(deps.ledger, NoQueues(), now=1808950000.0)  # 2027-04-30
    assert "ses_va_stuck" in summary["timely_filing_risk"]


def test_a_file_with_two_checks_names_each_check(world: Any) -> None:
    from pipeline.entrypoints.cli.money import remittance_text
    from pipeline.entrypoints.web.ops_page.money import remittance_body

    deps, peer, _ = world
    one = x835(1, "260", "CHK1", [PAYMENT.format(**FULL)])
    other = PAYMENT.format(**FULL).replace("ses_va_direct", "ses_somebody_else")
    two = x835(1, "260", "CHK2", [other], paid_on="20261206")
    st1, st2 = one.index("ST*835"), two.index("ST*835")
    # one interchange, two transactions (ST...SE): the claim's check, and another one on another day
    both = one[:one.index("GE*1*")] + two[st2:two.index("GE*1*")].replace("ST*835*0001", "ST*835*0002").replace(
        "*0001~", "*0002~") + "GE*2*1~IEA*1*000000001~"
    assert st1 > 0
    peer.deliver(both)
    remittances.fetch_and_post(deps)
    [row] = remittances.list_remittances(deps)
    assert row["status"] == "posted", row
    assert [(c["trace_number"], c["payment_amount"], c["payment_date"]) for c in row["checks"]] == [
        ("CHK1", "260.00", "2026-12-05"), ("CHK2", "260.00", "2026-12-06")]
    assert row["payment_amount"] == "520.00" and (row["posted"], row["unmatched"]) == (1, 1)
    shown = remittances.show_remittance(deps, row["remittance_id"])
    assert shown is not None
    assert "trace CHK2" in remittance_text(shown) and "trace CHK2" in remittance_body(shown)


def two_checks(first: str, second: str, icn: int) -> str:
    """One file carrying two checks (two ST...SE), the second one's transaction renumbered."""
    second_st = second[second.index("ST*835"):second.index("GE*1*")]
    return (first[:first.index("GE*1*")] + second_st.replace("ST*835*0001", "ST*835*0002").replace("*0001~", "*0002~")
            + f"GE*2*{icn}~IEA*1*{icn:09d}~")


def test_a_corrected_payment_on_one_check_and_the_reversal_on_the_next_are_both_posted(world: Any) -> None:
    deps, peer, _ = world
    peer.deliver(x835(1, "260", "CHK1", [PAYMENT.format(**FULL)]))
    remittances.fetch_and_post(deps)
    peer.deliver(two_checks(x835(2, "208", "CHK2", [PAYMENT.format(**REDUCED)]),
                            x835(2, "-260", "CHK3", [REVERSAL.format(**FULL)]), 2))
    assert remittances.fetch_and_post(deps)["claims_posted"] == 2
    after = claim(deps)
    assert (after.status, after.paid_amount, after.adjusted_amount) == ("paid", Decimal("208.00"), Decimal("52.00"))
    assert outcomes(deps) == [["posted"], ["posted", "posted"]]


def test_a_claim_split_across_two_checks_of_one_file_is_paid_in_full(world: Any) -> None:
    deps, peer, _ = world
    peer.deliver(two_checks(x835(1, "112", "CHK1", [FIRST_PART]),
                            x835(1, "96", "CHK2", [SECOND_PART], paid_on="20261206"), 1))
    remittances.fetch_and_post(deps)
    after = claim(deps)
    assert (after.status, after.paid_amount, after.adjusted_amount) == ("paid", Decimal("208.00"), Decimal("52.00"))
    assert receivables(deps.ledger, today=date(2026, 12, 20), warning_days=150)["totals"]["outstanding"] == "0.00"


def test_a_reused_check_number_repaying_a_payment_posted_under_the_earlier_key_is_posted(world: Any) -> None:
    """A claim paid before the key carried the check date, reversed, then repaid weeks later on a check that
    reuses the first one's number: a payment, not a copy of the first."""
    deps, peer, _ = world
    paid_under_the_earlier_key(deps, peer)
    peer.deliver(x835(2, "-260", "CHK2", [REVERSAL.format(**FULL)]))
    peer.deliver(x835(3, "260", "CHK1", [PAYMENT.format(**FULL)], paid_on="20261220"))
    remittances.fetch_and_post(deps)
    after = claim(deps)
    assert (after.status, after.paid_amount, after.paid_on) == ("paid", Decimal("260.00"), "2026-12-20")
    assert outcomes(deps) == [["posted"], ["posted"], ["posted"]]


REVERSED_SECOND_PART = ("CLP*ses_va_direct*22*-120*-96*0*VA*PCN2*11*1~NM1*QC*1*DOE*JOHN****MI*123456789~"
                        "SVC*HC:97124:GP*-120*-96**-2~DTM*472*20261120~CAS*CO*45*-24~REF*6R*ses_va_direct-2~")
REPAID_SECOND_PART = ("CLP*ses_va_direct*1*120*100*0*VA*PCN3*11*1~NM1*QC*1*DOE*JOHN****MI*123456789~"
                      "SVC*HC:97124:GP*120*100**2~DTM*472*20261120~CAS*CO*45*20~REF*6R*ses_va_direct-2~")


def test_a_reversal_and_repayment_of_one_part_of_a_split_claim_are_left_for_a_person(world: Any) -> None:
    """Posted as if for the whole claim, the repaid part would replace both parts' payment (100.00 paid, 140.00
    owed): the two are kept for ops as not postable, and the claim keeps what it was paid."""
    deps, peer, _ = world
    peer.deliver(x835(1, "112", "CHK1", [FIRST_PART]))
    peer.deliver(x835(2, "96", "CHK2", [SECOND_PART], paid_on="20261206"))
    peer.deliver(x835(3, "4", "CHK3", [REVERSED_SECOND_PART, REPAID_SECOND_PART], paid_on="20261210"))
    remittances.fetch_and_post(deps)
    after = claim(deps)
    assert (after.status, after.paid_amount, after.adjusted_amount) == ("paid", Decimal("208.00"), Decimal("52.00"))
    assert outcomes(deps) == [["posted"], ["posted"], ["not_postable", "not_postable"]]
    details = [c["detail"] for c in store(deps).all()[-1].claims]
    assert all("paid this claim in parts" in d for d in details), details


def test_a_part_corrected_with_its_payment_listed_before_its_reversal_then_the_other_part_pays_the_rest(
        world: Any) -> None:
    deps, peer, _ = world
    peer.deliver(x835(1, "112", "CHK1", [FIRST_PART]))
    remittances.fetch_and_post(deps)
    reversed_first = FIRST_PART.replace("*1*140*112*", "*22*-140*-112*").replace("*140*112**2~", "*-140*-112**-2~") \
        .replace("CAS*CO*45*28~", "CAS*CO*45*-28~")
    repaid_first = FIRST_PART.replace("*1*140*112*0*VA*PCN1", "*1*140*120*0*VA*PCN4") \
        .replace("*140*112**2~", "*140*120**2~").replace("CAS*CO*45*28~", "CAS*CO*45*20~")
    peer.deliver(x835(2, "8", "CHK2", [repaid_first, reversed_first], paid_on="20261206"))  # payment listed first
    remittances.fetch_and_post(deps)
    assert (claim(deps).status, claim(deps).paid_amount) == ("paid", Decimal("120.00"))
    peer.deliver(x835(3, "96", "CHK3", [SECOND_PART], paid_on="20261210"))
    remittances.fetch_and_post(deps)
    after = claim(deps)
    assert (after.status, after.paid_amount, after.adjusted_amount) == ("paid", Decimal("216.00"), Decimal("44.00"))
