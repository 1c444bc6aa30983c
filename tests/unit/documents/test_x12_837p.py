"""The 837P renderer: layout (DOMAIN.md section 5), invariants, variants, refusals; all pass pyx12."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from config.practice import Practice, load_practice
from pipeline.documents.x12_837p import format_amount, render_837p
from pipeline.documents.x12_validation import validate_837p
from pipeline.domain.intake import parse_event
from pipeline.domain.x12_rules import clean_text
from schemas.decision import Decision, Finding, Superbill, SuperbillLine
from schemas.event import SessionCompleted
from tests.examples import example_path

EVENT_FILE = example_path("va_direct")
CREATED_AT = datetime(2026, 11, 20, 15, 5)
CLAIM_ID = "ses_va_direct"
REFERRAL = "VA0012345678"

# A valid billable ICD-10-CM code list (FY2026) for the many-diagnoses variants.
TWELVE_CODES = [
    "M54.50",
    "M62.830",
    "M54.2",
    "M54.6",
    "M25.511",
    "M25.512",
    "M79.18",
    "M62.81",
    "M54.41",
    "M54.42",
    "M25.561",
    "M25.562",
]

GOLDEN = (Path(__file__).parents[2] / "fixtures" / "va_direct_golden.x12").read_text()


# ---------------------------------------------------------------- builders


def event_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(EVENT_FILE.read_text(encoding="utf-8"))
    return document


def make_event(document: dict[str, Any] | None = None) -> SessionCompleted:
    return parse_event(json.dumps(document if document is not None else event_document()))


@pytest.fixture(scope="module")
def practice() -> Practice:
    return load_practice()


@pytest.fixture(scope="module")
def event() -> SessionCompleted:
    return make_event()


def line(
    cpt: str = "97140",
    modifiers: list[str] | None = None,
    units: int = 2,
    charge: str = "140.00",
    pointers: list[int] | None = None,
) -> SuperbillLine:
    return SuperbillLine(
        cpt=cpt,
        modifiers=["GP", "XS"] if modifiers is None else modifiers,
        minutes=units * 15,
        units=units,
        charge=Decimal(charge),
        diagnosis_pointers=[1, 2] if pointers is None else pointers,
    )


def standard_lines() -> list[SuperbillLine]:
    return [line(), line(cpt="97124", modifiers=["GP"], charge="120.00")]


def make_decision(
    lines: list[SuperbillLine] | None = None,
    diagnoses: list[str] | None = None,
    *,
    claim_id: str = CLAIM_ID,
    route: str = "direct_billing",
    total: Decimal | None = None,
    with_superbill: bool = True,
) -> Decision:
    chosen = standard_lines() if lines is None else lines
    superbill = Superbill(
        date_of_service=date(2026, 11, 20),
        place_of_service="11",
        diagnosis_codes=["M54.50", "M62.830"] if diagnoses is None else diagnoses,
        lines=chosen,
        total_charge=sum((x.charge for x in chosen), Decimal(0)) if total is None else total,
        amount_paid=Decimal("0.00"),
        balance_due=Decimal("0.00"),
    )
    problems = (
        [] if route == "direct_billing" else [Finding(code="va_referral_missing", message="no referral")]
    )
    return Decision(
        claim_id=claim_id,
        session_id=claim_id,
        route=route,  # type: ignore[arg-type]
        problems=problems,
        warnings=[],
        superbill=superbill if with_superbill else None,
    )


def render(
    event: SessionCompleted,
    practice: Practice,
    decision: Decision | None = None,
    *,
    icn: int = 1,
    gcn: int = 1,
    **kwargs: Any,
) -> str:
    return render_837p(
        event,
        practice,
        decision if decision is not None else make_decision(),
        interchange_control_number=icn,
        group_control_number=gcn,
        created_at=kwargs.pop("created_at", CREATED_AT),
        **kwargs,
    )


def practice_with(practice: Practice, section: str, **changes: Any) -> Practice:
    data = practice.model_dump()
    data[section].update(changes)
    return Practice.model_validate(data)


# ---------------------------------------------------------------- reading an 837P


def segments(text: str) -> list[list[str]]:
    assert text.endswith("~")
    return [s.split("*") for s in text[:-1].split("~")]


def find(text: str, seg_id: str, first: str | None = None) -> list[list[str]]:
    return [s for s in segments(text) if s[0] == seg_id and (first is None or s[1] == first)]


def one(text: str, seg_id: str, first: str | None = None) -> list[str]:
    found = find(text, seg_id, first)
    assert len(found) == 1, f"expected one {seg_id}{'*' + first if first else ''}, got {found}"
    return found[0]


def assert_valid_claim(
    text: str,
    *,
    claim_id: str = CLAIM_ID,
    icn: int = 1,
    diagnoses: list[str] | None = None,
    frequency: str = "1",
) -> None:
    """pyx12 accepts it, and the invariants that pyx12 does not check hold."""
    report = validate_837p(text)
    assert report.ok, report.errors
    assert report.errors == []

    segs = segments(text)
    isa = text[: text.index("~") + 1]
    assert len(isa) == 106
    assert isa[3] == "*" and isa[-2] == ":" and isa[-1] == "~" and isa[82] == "^"
    assert segs[0][13] == f"{icn:09d}"
    assert one(text, "IEA")[2] == f"{icn:09d}"

    clm = one(text, "CLM")
    assert clm[1] == claim_id
    sv1 = find(text, "SV1")
    assert Decimal(clm[2]) == sum(Decimal(s[2]) for s in sv1)
    assert clm[5].split(":") == ["11", "B", frequency]

    assert one(text, "REF", "9F")[2] == REFERRAL
    hi = one(text, "HI")
    codes = [c.split(":")[1] for c in hi[1:]]
    assert all("." not in c for c in codes)
    assert [c.split(":")[0] for c in hi[1:]] == ["ABK"] + ["ABF"] * (len(codes) - 1)
    if diagnoses is not None:
        assert codes == [d.replace(".", "") for d in diagnoses]

    ids = [s[0] for s in segs]
    st, se = ids.index("ST"), ids.index("SE")
    assert int(segs[se][1]) == se - st + 1
    assert segs[se][2] == segs[st][2]
    assert len(find(text, "LX")) == len(sv1) == len(find(text, "DTP", "472")) == len(find(text, "REF", "6R"))


# ---------------------------------------------------------------- the standard claim


def test_standard_claim_is_exactly_the_domain_layout(event: SessionCompleted, practice: Practice) -> None:
    text = render(event, practice)
    assert text == GOLDEN
    assert_valid_claim(text, diagnoses=["M54.50", "M62.830"])


def test_line_details(event: SessionCompleted, practice: Practice) -> None:
    text = render(event, practice)
    assert [s[1] for s in find(text, "SV1")] == ["HC:97140:GP:XS", "HC:97124:GP"]
    assert [s[2:5] for s in find(text, "SV1")] == [["140", "UN", "2"], ["120", "UN", "2"]]
    assert [s[7] for s in find(text, "SV1")] == ["1:2", "1:2"]
    assert [s[2] for s in find(text, "REF", "6R")] == [f"{CLAIM_ID}-1", f"{CLAIM_ID}-2"]
    assert [s[3] for s in find(text, "DTP", "472")] == ["20261120", "20261120"]


def test_rendering_is_deterministic(event: SessionCompleted, practice: Practice) -> None:
    assert render(event, practice) == render(event, practice)


def test_created_at_fills_isa_gs_and_bht(event: SessionCompleted, practice: Practice) -> None:
    text = render(event, practice, created_at=datetime(2027, 1, 2, 9, 7))
    isa = segments(text)[0]
    assert (isa[9], isa[10]) == ("270102", "0907")
    assert one(text, "GS")[4:6] == ["20270102", "0907"]
    assert one(text, "BHT")[4:6] == ["20270102", "0907"]
    assert_valid_claim(text)


# ---------------------------------------------------------------- variants


def test_one_line_only(event: SessionCompleted, practice: Practice) -> None:
    decision = make_decision([line(cpt="97140", modifiers=["GP"], units=3, charge="210.00")])
    text = render(event, practice, decision)
    assert_valid_claim(text)
    assert one(text, "CLM")[2] == "210"
    assert one(text, "SV1")[1:5] == ["HC:97140:GP", "210", "UN", "3"]
    assert one(text, "SE")[1] == "29"


def test_four_diagnoses_with_four_pointers(event: SessionCompleted, practice: Practice) -> None:
    codes = TWELVE_CODES[:4]
    decision = make_decision(
        [
            line(pointers=[1, 2, 3, 4]),
            line(cpt="97124", modifiers=["GP"], charge="120.00", pointers=[1, 2, 3, 4]),
        ],
        codes,
    )
    text = render(event, practice, decision)
    assert_valid_claim(text, diagnoses=codes)
    assert one(text, "HI")[1:] == ["ABK:M5450", "ABF:M62830", "ABF:M542", "ABF:M546"]
    assert [s[7] for s in find(text, "SV1")] == ["1:2:3:4", "1:2:3:4"]


def test_twelve_diagnoses(event: SessionCompleted, practice: Practice) -> None:
    decision = make_decision(diagnoses=TWELVE_CODES)
    text = render(event, practice, decision)
    assert_valid_claim(text, diagnoses=TWELVE_CODES)
    assert len(one(text, "HI")) == 13


def test_more_than_twelve_diagnoses_is_refused(event: SessionCompleted, practice: Practice) -> None:
    with pytest.raises(ValueError, match="1 to 12 diagnoses"):
        render(event, practice, make_decision(diagnoses=[*TWELVE_CODES, "M54.9"]))


def test_four_lines(event: SessionCompleted, practice: Practice) -> None:
    lines = [
        line(charge="70.00", units=1),
        line(cpt="97124", modifiers=["GP"], charge="60.00", units=1, pointers=[1]),
        line(charge="70.00", units=1, pointers=[2]),
        line(cpt="97124", modifiers=["GP"], charge="60.00", units=1),
    ]
    text = render(event, practice, make_decision(lines))
    assert_valid_claim(text)
    assert [s[1] for s in find(text, "LX")] == ["1", "2", "3", "4"]
    assert one(text, "CLM")[2] == "260"


def test_cents_are_kept_without_trailing_zeros(event: SessionCompleted, practice: Practice) -> None:
    decision = make_decision([line(charge="140.50"), line(cpt="97124", modifiers=["GP"], charge="120.25")])
    text = render(event, practice, decision)
    assert_valid_claim(text)
    assert one(text, "CLM")[2] == "260.75"
    assert [s[2] for s in find(text, "SV1")] == ["140.5", "120.25"]


@pytest.mark.parametrize("icn", [1, 42, 123456789, 999999999])
def test_interchange_control_number_is_zero_padded(
    event: SessionCompleted, practice: Practice, icn: int
) -> None:
    text = render(event, practice, icn=icn, gcn=7)
    assert_valid_claim(text, icn=icn)
    assert one(text, "GS")[6] == "7"
    assert one(text, "GE")[1:] == ["1", "7"]


def test_usage_comes_from_the_practice_or_the_argument(event: SessionCompleted, practice: Practice) -> None:
    assert segments(render(event, practice))[0][15] == "T"
    production = render(event, practice, usage="P")
    assert segments(production)[0][15] == "P"
    assert_valid_claim(production)
    assert segments(render(event, practice_with(practice, "clearinghouse", usage="P")))[0][15] == "P"


def test_explicit_interchange_ids(event: SessionCompleted, practice: Practice) -> None:
    custom = practice_with(
        practice, "clearinghouse", interchange_sender_id="TKNEADS", interchange_receiver_id="ZIRMED01"
    )
    text = render(event, custom)
    assert_valid_claim(text)
    isa = segments(text)[0]
    assert (isa[6], isa[8]) == ("TKNEADS        ", "ZIRMED01       ")
    assert one(text, "GS")[2:4] == ["TKNEADS", "ZIRMED01"]
    assert one(text, "NM1", "41")[9] == "THERAPKNEADS"


def test_separators_in_names_are_removed(event: SessionCompleted, practice: Practice) -> None:
    document = event_document()
    document["client"].update(
        {
            "first_name": "Jo:hn^",
            "last_name": "O*Doe~Smith",
            "address": {
                **document["client"]["address"],
                "line1": "456 Oak*Ave~",
                "line2": "Apt #5",
                "city": "Spring:field",
            },
        }
    )
    document["prescription"]["physician"].update({"last_name": "Smith~*", "first_name": "Rob*ert"})
    odd_practice = practice_with(practice, "practice", legal_name="Therapeutic * Kneads ~ Ltd:^")
    text = render(make_event(document), odd_practice)
    assert_valid_claim(text)
    assert one(text, "NM1", "IL")[3:5] == ["ODOESMITH", "JOHN"]
    assert find(text, "N3")[1][1:] == ["456 OAKAVE", "APT #5"]
    assert find(text, "N4")[1][1] == "SPRINGFIELD"
    assert one(text, "NM1", "DN")[3:5] == ["SMITH", "ROBERT"]
    assert one(text, "NM1", "85")[3] == "THERAPEUTIC KNEADS LTD"


def test_non_ascii_names_are_transliterated_and_upper_cased(
    event: SessionCompleted, practice: Practice
) -> None:
    document = event_document()
    document["client"].update({"first_name": "José", "last_name": "Müller-Ñúñez"})
    text = render(make_event(document), practice)
    assert_valid_claim(text)
    assert one(text, "NM1", "IL")[3:5] == ["MULLER-NUNEZ", "JOSE"]


def test_clean_text() -> None:
    assert clean_text("  a*b:c~d^e  f ") == "ABCDE F"
    assert clean_text(None) == ""
    assert clean_text("\u00e9t\u00e9\tcafé") == "ETE CAFE"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("140.00", "140"),
        ("260.50", "260.5"),
        ("0.05", "0.05"),
        ("1000", "1000"),
        ("1E+3", "1000"),
        ("0", "0"),
    ],
)
def test_format_amount(amount: str, expected: str) -> None:
    assert format_amount(Decimal(amount)) == expected


def test_format_amount_refuses_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_amount(Decimal("-1"))


# ---------------------------------------------------------------- refusals


def test_frequency_code_1_is_explicitly_accepted(event: SessionCompleted, practice: Practice) -> None:
    assert render(event, practice, frequency_code="1") == GOLDEN


@pytest.mark.parametrize("code", ["0", "", "X", "6"])
def test_other_frequency_codes_are_refused(event: SessionCompleted, practice: Practice, code: str) -> None:
    with pytest.raises(ValueError, match="frequency code"):
        render(event, practice, frequency_code=code)


@pytest.mark.parametrize("code", ["7", "8"])
def test_replacement_and_void_carry_the_payer_claim_number(event: SessionCompleted, practice: Practice,
                                                           code: str) -> None:
    text = render(event, practice, frequency_code=code, payer_claim_number="PCN0000000101")
    assert_valid_claim(text, frequency=code)
    assert one(text, "REF", "F8")[2] == "PCN0000000101"
    assert text.index("REF*F8*") < text.index("REF*9F*")


@pytest.mark.parametrize("code", ["7", "8"])
def test_replacement_and_void_need_the_payer_claim_number(event: SessionCompleted, practice: Practice,
                                                          code: str) -> None:
    with pytest.raises(ValueError, match="payer claim number"):
        render(event, practice, frequency_code=code)


def test_an_original_carries_no_payer_claim_number(event: SessionCompleted, practice: Practice) -> None:
    with pytest.raises(ValueError, match="original"):
        render(event, practice, frequency_code="1", payer_claim_number="PCN1")
    assert "REF*F8" not in render(event, practice)


def test_a_payer_claim_number_with_a_separator_is_refused(event: SessionCompleted, practice: Practice) -> None:
    with pytest.raises(ValueError, match="payer claim number"):
        render(event, practice, frequency_code="7", payer_claim_number="PCN*1")


@pytest.mark.parametrize("route", ["courtesy_submission", "statement_only", "needs_attention"])
def test_other_routes_are_refused(event: SessionCompleted, practice: Practice, route: str) -> None:
    with pytest.raises(ValueError, match="direct_billing"):
        render(event, practice, make_decision(route=route))


def test_a_decision_without_superbill_is_refused(event: SessionCompleted, practice: Practice) -> None:
    with pytest.raises(ValueError, match="no superbill"):
        render(event, practice, make_decision(with_superbill=False))


@pytest.mark.parametrize("number", [0, -1, 1_000_000_000])
def test_control_numbers_out_of_range_are_refused(
    event: SessionCompleted, practice: Practice, number: int
) -> None:
    with pytest.raises(ValueError, match="interchange control number"):
        render(event, practice, icn=number)
    with pytest.raises(ValueError, match="group control number"):
        render(event, practice, gcn=number)


def test_bad_usage_is_refused(event: SessionCompleted, practice: Practice) -> None:
    with pytest.raises(ValueError, match="usage"):
        render(event, practice, usage="X")


def test_total_that_is_not_the_sum_of_lines_is_refused(event: SessionCompleted, practice: Practice) -> None:
    with pytest.raises(ValueError, match="not the sum"):
        render(event, practice, make_decision(total=Decimal("999.00")))


def test_missing_referral_or_prescription_is_refused(event: SessionCompleted, practice: Practice) -> None:
    document = event_document()
    del document["va_referral"]
    with pytest.raises(ValueError, match="referral"):
        render(make_event(document), practice)
    document = event_document()
    del document["prescription"]
    with pytest.raises(ValueError, match="prescription"):
        render(make_event(document), practice)


def test_unknown_therapist_is_refused(practice: Practice) -> None:
    document = event_document()
    document["session"]["therapist_id"] = "thr_nobody"
    with pytest.raises(ValueError, match="thr_nobody"):
        render(make_event(document), practice)


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        (line(units=0), "0 units"),
        (line(pointers=[1, 3]), "not on the claim"),
        (line(pointers=[]), "1 to 4"),
        (line(pointers=[1, 2, 1, 2, 1]), "1 to 4"),
        (line(modifiers=["GP", "XS", "59", "KX", "GO"]), "modifiers"),
    ],
)
def test_malformed_lines_are_refused(
    event: SessionCompleted, practice: Practice, bad_line: SuperbillLine, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        render(event, practice, make_decision([bad_line]))


def test_empty_superbill_is_refused(event: SessionCompleted, practice: Practice) -> None:
    with pytest.raises(ValueError, match="no lines"):
        render(event, practice, make_decision([]))


@pytest.mark.parametrize("claim_id", ["ses*1", "ses~1", "a" * 21])
def test_claim_id_is_never_rewritten_only_refused(
    event: SessionCompleted, practice: Practice, claim_id: str
) -> None:
    with pytest.raises(ValueError, match="claim id"):
        render(event, practice, make_decision(claim_id=claim_id))


def test_five_digit_billing_zip_is_refused(event: SessionCompleted, practice: Practice) -> None:
    # the profile loader refuses it too; the renderer does not rely on that
    address = practice.practice.address.model_copy(update={"postal_code": "62701"})
    info = practice.practice.model_copy(update={"address": address})
    with pytest.raises(ValueError, match="9 digits"):
        render(event, practice.model_copy(update={"practice": info}))
