"""Reading 277CA claim acknowledgments: Stedi's documented example, a payer's acceptance and rejections."""

from __future__ import annotations

import pytest

from pipeline.documents.x12_277ca import parse_277ca, transaction_sets

# The 277CA of Stedi's API reference (raw X12 professional claim submission, 200 example), verbatim.
STEDI_EXAMPLE = (
    "ISA*00*          *00*          *ZZ*STEDITEST      *ZZ*574183004559   *260213*1951*^*00501*980180479*0*T*>~"
    "GS*HN*STEDITEST*574183004559*20260213*195151*1*X*005010X214~ST*277*0001*005010X214~"
    "BHT*0085*08*01KHC8YJE8EY6A5HFR00Z5H305*20260213*195151*TH~HL*1**20*1~NM1*AY*2*STEDI INC*****46*117151744~"
    "TRN*1*01KHC8YJE8EY6A5HFR00Z5H305~DTP*050*D8*20260213~DTP*009*D8*20260213~HL*2*1*21*1~"
    "NM1*41*2*Test Data Health Services, Inc.*****46*123456~TRN*2*01KHC8Y4HNP0GVQ5NSVTPZBC0F~"
    "STC*A0>17>AY*20260213*WQ*109.2~QTY*90*1~AMT*YU*109.2~HL*3*2*19*1~"
    "NM1*85*2*Therapy Associates*****XX*1234567890~TRN*1*0~REF*TJ*123456789~QTY*QA*1~AMT*YU*109.2~"
    "HL*4*3*PT*0~NM1*QC*1*Anon*John****MI*U7777788888~TRN*2*111222333~STC*A1>20*20260213*WQ*109.2~"
    "DTP*472*RD8*20240101-20240101~SE*25*0001~GE*1*1~IEA*1*980180479~"
)


def payer_277ca(stc: str, extra: str = "") -> str:
    head = STEDI_EXAMPLE.split("HL*1**20*1~")[0]
    return (head + "HL*1**20*1~NM1*PR*2*VA CCN OPTUM*****PI*VACCN~TRN*1*X~HL*2*1*21*1~NM1*41*2*SUBMITTER~"
            "TRN*2*ses_1-7~HL*3*2*19*1~NM1*85*2*PROVIDER~HL*4*3*PT*0~NM1*QC*1*DOE*JOHN~TRN*2*ses_1~"
            f"{stc}~{extra}SE*12*0001~GE*1*1~IEA*1*980180479~")


def test_stedis_own_acknowledgment_from_its_api_reference() -> None:
    [ack] = parse_277ca(STEDI_EXAMPLE)
    assert ack.patient_control_number == "111222333"
    assert (ack.sender, ack.sender_name) == ("clearinghouse", "STEDI INC")
    assert ack.batch_trace == "01KHC8Y4HNP0GVQ5NSVTPZBC0F"  # the 837's BHT03, echoed in 2200B
    assert ack.verdict == "accepted" and ack.reasons() == []
    assert transaction_sets(STEDI_EXAMPLE) == ["277"]


@pytest.mark.parametrize(("stc", "verdict"), [
    ("STC*A2>20*20261201*WQ*260", "accepted"),
    ("STC*A1>20*20261201*WQ*260", "accepted"),
    ("STC*A1>19*20261201*WQ*260", "received"),
    ("STC*A0>16*20261201*WQ*260", "received"),
    ("STC*A7>562>85*20261201*U*260", "rejected"),
    ("STC*A3>33*20261201*U*260", "rejected"),
    ("STC*A1>19*20261201*U*260******A8>116", "rejected"),  # a rejection in STC10
])
def test_a_payers_verdict_follows_its_status_categories(stc: str, verdict: str) -> None:
    [ack] = parse_277ca(payer_277ca(stc, "REF*1K*PCN0001~"))
    assert (ack.sender, ack.patient_control_number, ack.batch_trace) == ("payer", "ses_1", "ses_1-7")
    assert ack.verdict == verdict
    assert ack.payer_claim_number == "PCN0001"


def test_a_rejection_names_its_codes_and_who_said_no() -> None:
    [ack] = parse_277ca(payer_277ca("STC*A7>562>85*20261201*U*260********Member id invalid"))
    assert ack.reasons() == ["277CA: A7:562 from the payer (rejected for invalid information, entity 85)",
                             "277CA note from the payer: Member id invalid"]


def test_text_that_is_not_x12_is_refused() -> None:
    with pytest.raises(ValueError, match="not an X12 interchange"):
        parse_277ca("<html>gateway timeout</html>")
