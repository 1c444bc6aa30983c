"""The superbill PDF: one US Letter page that carries every field of DOMAIN.md section 4."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader

from config.practice import DEFAULT_PRACTICE_FILE, Practice, load_practice
from pipeline.documents import superbill_pdf
from pipeline.documents.superbill_pdf import (
    NOTE_DIRECT_BILLING,
    NOTE_PAID_IN_FULL,
    SELF_PAY_INSURER,
    VA_CCN_INSURER,
    format_money,
    latin1,
    render_superbill_pdf,
)
from pipeline.domain.decide import decide
from pipeline.domain.intake import parse_event
from schemas.decision import Decision, Route, Superbill, SuperbillLine
from schemas.event import SessionCompleted
from tests.examples import edited, example
from tests.unit.documents.pdf_drawing import assert_drawn_alike, drawn

ISSUED_ON = date(2026, 11, 21)
DOC_NO = "SB-2026-000042"

MANUAL = "Manual therapy techniques (soft tissue and joint mobilisation, myofascial release), each 15 minutes"
MASSAGE = "Massage (effleurage, petrissage, tapotement), each 15 minutes"

# The FY2026 code set's descriptions of twelve billable codes.
CODE_SET = {
    "M54.50": "Low back pain, unspecified",
    "M62.830": "Muscle spasm of back",
    "M54.2": "Cervicalgia",
    "M54.6": "Pain in thoracic spine",
    "M79.18": "Myalgia, other site",
    "M25.511": "Pain in right shoulder",
    "M25.512": "Pain in left shoulder",
    "G44.209": "Tension-type headache, unspecified, not intractable",
    "M62.81": "Muscle weakness (generalized)",
    "M79.7": "Fibromyalgia",
    "S13.4XXA": "Sprain of ligaments of cervical spine, initial encounter",
    "S33.5XXA": "Sprain of ligaments of lumbar spine, initial encounter",
}
TWELVE = list(CODE_SET)


# -- building blocks ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def practice() -> Practice:
    return load_practice(DEFAULT_PRACTICE_FILE)


def event(name: str, **changes: Any) -> SessionCompleted:
    return parse_event(json.dumps(edited(name, **changes)))


def line(
    cpt: str, minutes: int, units: int, charge: str, pointers: list[int], modifiers: list[str] | None = None,
    regions: list[str] | None = None,
) -> SuperbillLine:
    return SuperbillLine(
        cpt=cpt,
        modifiers=modifiers or [],
        minutes=minutes,
        units=units,
        charge=Decimal(charge),
        diagnosis_pointers=pointers,
        body_regions=regions or [],
        description=MANUAL if cpt == "97140" else MASSAGE,
    )


def decision(
    ev: SessionCompleted, route: Route, codes: list[str], lines: list[SuperbillLine], paid: str,
    balance: str | None = None,
) -> Decision:
    total = sum((ln.charge for ln in lines), Decimal("0.00"))
    due = Decimal(balance) if balance is not None else max(total - Decimal(paid), Decimal("0.00"))
    bill = Superbill(
        date_of_service=ev.date_of_service,
        place_of_service=ev.session.place_of_service,
        diagnosis_codes=codes,
        lines=lines,
        total_charge=total,
        amount_paid=Decimal(paid),
        balance_due=due,
    )
    return Decision(
        claim_id=ev.session.session_id, session_id=ev.session.session_id, route=route,
        problems=[], warnings=[], superbill=bill,
    )


def two_lines(pointers: list[int], va: bool) -> list[SuperbillLine]:
    return [
        line("97140", 30, 2, "140.00", pointers, ["GP", "XS"] if va else [], ["lumbar"]),
        line("97124", 30, 2, "120.00", pointers, ["GP"] if va else [], ["cervical"]),
    ]


def read(pdf: bytes) -> tuple[PdfReader, str]:
    """The reader and the page text with every run of whitespace folded to one space."""
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    return reader, " ".join(text.split())


def assert_one_letter_page(reader: PdfReader) -> None:
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def assert_common_fields(text: str, practice: Practice, ev: SessionCompleted, dec: Decision) -> None:
    info = practice.practice
    therapist = practice.therapist(ev.session.therapist_id)
    assert therapist is not None
    bill = dec.superbill
    assert bill is not None

    assert "SUPERBILL" in text
    assert "Statement for Insurance Reimbursement" in text
    assert DOC_NO in text
    assert "11/21/2026" in text  # issue date
    # practice
    assert info.legal_name in text
    assert "123 Main St" in text
    assert "Springfield, IL 62701-1234" in text
    assert info.phone in text
    assert "12-3456789" in text
    assert info.npi in text
    assert info.taxonomy in text
    # rendering therapist
    assert f"{therapist.first_name} {therapist.last_name}, {therapist.credentials}" in text
    assert therapist.npi in text
    assert therapist.license_number in text
    assert f"({therapist.license_state})" in text
    assert "Signature of rendering therapist" in text
    # client
    assert f"{ev.client.first_name} {ev.client.last_name}" in text
    assert ev.client.date_of_birth.strftime("%m/%d/%Y") in text
    assert ev.client.address.line1 in text
    assert f"{ev.client.address.city}, {ev.client.address.state} {ev.client.address.postal_code}" in text
    # service
    assert bill.date_of_service.strftime("%m/%d/%Y") in text
    assert "11 - Office" in text
    for ln in bill.lines:
        assert ln.cpt in text
        assert format_money(ln.charge) in text
    # totals
    assert f"Total charges {format_money(bill.total_charge)}" in text
    assert f"Amount paid {format_money(bill.amount_paid)}" in text
    assert f"Balance due {format_money(bill.balance_due)}" in text


def assert_diagnoses(text: str, codes: list[str], descriptions: dict[str, str]) -> None:
    for letter, code in zip("ABCDEFGHIJKL", codes, strict=False):
        assert f"{letter} {code} {descriptions[code]}" in text, code


def assert_physician(text: str, ev: SessionCompleted) -> None:
    assert ev.prescription is not None
    doctor = ev.prescription.physician
    assert f"{doctor.first_name} {doctor.last_name}" in text
    assert doctor.npi in text


def render(ev: SessionCompleted, practice: Practice, dec: Decision, **kwargs: Any) -> bytes:
    return render_superbill_pdf(ev, practice, dec, document_number=DOC_NO, issued_on=ISSUED_ON, **kwargs)


# -- the kinds of superbill --------------------------------------------------------------------


def test_va_direct_billing_with_referral(practice: Practice) -> None:
    ev = event("va_direct.json")
    dec = decision(ev, "direct_billing", ["M54.50", "M62.830"], two_lines([1, 2], va=True), "0.00", "0.00")
    reader, text = read(render(ev, practice, dec))

    assert_one_letter_page(reader)
    assert_common_fields(text, practice, ev, dec)
    assert_physician(text, ev)
    assert_diagnoses(text, ["M54.50", "M62.830"], CODE_SET)
    assert VA_CCN_INSURER in text
    assert "Member ID 123456789" in text
    assert "VA referral no. VA0012345678" in text
    assert re.search(r"97140 .*? GP XS 30 2 A,B \$140\.00", text)
    assert re.search(r"97124 .*? GP 30 2 A,B \$120\.00", text)
    assert "Total charges $260.00" in text
    assert "Balance due $0.00" in text
    assert NOTE_DIRECT_BILLING in text
    assert NOTE_PAID_IN_FULL not in text


def test_commercial_courtesy_paid_in_full(practice: Practice) -> None:
    ev = event("commercial_courtesy.json")
    dec = decision(ev, "courtesy_submission", ["M54.50", "M62.830"], two_lines([1, 2], va=False), "260.00")
    reader, text = read(render(ev, practice, dec))

    assert_one_letter_page(reader)
    assert_common_fields(text, practice, ev, dec)
    assert_physician(text, ev)
    assert_diagnoses(text, ["M54.50", "M62.830"], CODE_SET)
    assert "Blue Cross Blue Shield of Illinois" in text
    assert "Member ID XYZ123456789" in text
    assert "Group no. G-7781" in text
    assert re.search(r"97140 .*? - 30 2 A,B \$140\.00", text)
    assert "Amount paid $260.00" in text
    assert "Balance due $0.00" in text
    assert "Payment method Credit/debit card" in text
    assert NOTE_PAID_IN_FULL in text
    assert "reimbursement is not guaranteed" in text
    assert "VA referral" not in text


def test_statement_only_with_a_balance_due(practice: Practice) -> None:
    ev = event("commercial_statement.json")
    dec = decision(ev, "statement_only", ["M54.50", "M62.830"], two_lines([1, 2], va=False), "200.00")
    reader, text = read(render(ev, practice, dec))

    assert_one_letter_page(reader)
    assert_common_fields(text, practice, ev, dec)
    assert_physician(text, ev)
    assert "Balance due $60.00" in text
    assert "Balance due: $60.00 is owed by the client" in text
    assert NOTE_PAID_IN_FULL not in text


def test_statement_only_paid_in_full(practice: Practice) -> None:
    ev = event("commercial_statement.json")
    dec = decision(ev, "statement_only", ["M54.50", "M62.830"], two_lines([1, 2], va=False), "260.00")
    _, text = read(render(ev, practice, dec))
    assert NOTE_PAID_IN_FULL in text
    assert "out of network" in text


def test_self_pay_without_prescription(practice: Practice) -> None:
    ev = event("self_pay.json")
    assert ev.prescription is None
    dec = decision(ev, "statement_only", [], two_lines([], va=False), "260.00")
    reader, text = read(render(ev, practice, dec))

    assert_one_letter_page(reader)
    assert_common_fields(text, practice, ev, dec)
    assert f"Insurer {SELF_PAY_INSURER}" in text
    assert "None on file (no prescription presented)" in text
    assert "No diagnosis on file" in text
    assert "Payment method HSA card" in text
    assert NOTE_PAID_IN_FULL in text
    assert "FSA/HSA" in text
    assert re.search(r"97140 .*? - 30 2 - \$140\.00", text)


def test_four_lines_and_twelve_diagnoses_fit_one_page(practice: Practice) -> None:
    ev = event("commercial_courtesy.json", prescription__diagnosis_codes=TWELVE)
    lines = [
        line("97140", 30, 2, "140.00", [1, 2, 3, 4], ["GP", "XS", "59", "KX"], ["lumbar", "thoracic"]),
        line("97124", 23, 2, "120.00", [5, 6, 7, 8], ["GP"], ["cervical"]),
        line("97140", 15, 1, "70.00", [9, 10, 11, 12], [], ["right shoulder", "left shoulder"]),
        line("97124", 45, 3, "1180.00", [12], [], []),
    ]
    dec = decision(ev, "courtesy_submission", TWELVE, lines, "500.00")
    long = "Strain of muscle, fascia and tendon of the posterior muscle group at thigh level, left thigh"
    given = {code: f"{long} ({code})" for code in TWELVE[::3]}
    reader, text = read(render(ev, practice, dec, diagnosis_descriptions=given, replaces="SB-2026-000041"))

    assert_one_letter_page(reader)
    assert_common_fields(text, practice, ev, dec)
    assert_physician(text, ev)
    assert_diagnoses(text, TWELVE, {**CODE_SET, **given})
    assert "A M54.50 Strain of muscle" in text
    assert "B M62.830 Muscle spasm of back" in text
    assert "L S33.5XXA Sprain of ligaments of lumbar spine, initial encounter" in text
    assert re.search(r"97140 .*? GP XS 59 KX 30 2 A,B,C,D \$140\.00", text)
    assert re.search(r"97124 .*? GP 23 2 E,F,G,H \$120\.00", text)
    assert re.search(r"97140 .*? - 15 1 I,J,K,L \$70\.00", text)
    assert re.search(r"97124 .*? - 45 3 L \$1,180\.00", text)
    assert "Total charges $1,510.00" in text
    assert "Balance due $1,010.00" in text
    assert "Replaces document SB-2026-000041" in text


def test_long_and_non_latin_names_stay_on_one_page(practice: Practice) -> None:
    ev = event(
        "commercial_courtesy.json",
        client__first_name="Zoë Anastasia Bartholomew",
        client__last_name="Łukasiewicz-Hernández “Jr.”",
        client__address={
            "line1": "456 Oak Ave", "line2": "Apartment 4B, Building C — Riverside Commons",
            "city": "Springfield", "state": "IL", "postal_code": "62701",
        },
        coverage__payer_name="Blue Cross and Blue Shield of Illinois Federal Employee Program Standard",
        prescription__diagnosis_codes=TWELVE,
    )
    dec = decision(ev, "courtesy_submission", TWELVE, two_lines([1, 2, 3, 4], va=False), "260.00")
    reader, text = read(render(ev, practice, dec))
    assert_one_letter_page(reader)
    assert 'Zoë Anastasia Bartholomew Lukasiewicz-Hernández "Jr."' in text
    assert "Apartment 4B, Building C - Riverside Commons" in text
    assert "Federal Employee Program Standard" in text


# -- properties --------------------------------------------------------------------------------


def test_output_is_deterministic(practice: Practice) -> None:
    ev = event("va_direct.json")
    dec = decision(ev, "direct_billing", ["M54.50"], two_lines([1], va=True), "0.00", "0.00")
    assert render(ev, practice, dec) == render(ev, practice, dec)


def test_creation_date_is_the_issue_date(practice: Practice) -> None:
    ev = event("va_direct.json")
    dec = decision(ev, "direct_billing", ["M54.50"], two_lines([1], va=True), "0.00", "0.00")
    reader, _ = read(render(ev, practice, dec))
    assert reader.metadata is not None
    assert str(reader.metadata.get("/CreationDate", "")).startswith("D:20261121")


def test_home_place_of_service(practice: Practice) -> None:
    ev = event("commercial_courtesy.json", session__place_of_service="12")
    dec = decision(ev, "courtesy_submission", ["M54.50"], two_lines([1], va=False), "260.00")
    _, text = read(render(ev, practice, dec))
    assert "12 - Home" in text


def test_a_decision_without_superbill_is_refused(practice: Practice) -> None:
    ev = event("va_direct.json")
    dec = Decision(
        claim_id="ses_va_direct", session_id="ses_va_direct", route="needs_attention",
        problems=[], warnings=[], superbill=None,
    )
    with pytest.raises(ValueError, match="no superbill"):
        render(ev, practice, dec)


def test_an_unknown_therapist_is_refused(practice: Practice) -> None:
    ev = event("va_direct.json", session__therapist_id="thr_nobody")
    dec = decision(ev, "direct_billing", ["M54.50"], two_lines([1], va=True), "0.00", "0.00")
    with pytest.raises(ValueError, match="thr_nobody"):
        render(ev, practice, dec)


@pytest.mark.parametrize(
    ("amount", "shown"),
    [("140", "$140.00"), ("0", "$0.00"), ("1234.5", "$1,234.50"), ("0.01", "$0.01"), ("-5", "-$5.00")],
)
def test_format_money(amount: str, shown: str) -> None:
    assert format_money(Decimal(amount)) == shown


def test_latin1_folds_what_the_core_fonts_cannot_show() -> None:
    assert latin1("Zoë Łukasz — “quoted” …") == 'Zoë Lukasz - "quoted" ...'
    assert latin1("李").encode("latin-1") == b"?"
    latin1("Ærøskøbing ß ñ").encode("latin-1")


def test_a_veteran_whose_claim_needs_attention_owes_the_balance(practice: Practice) -> None:
    ev = event("va_direct.json")
    dec = decision(ev, "needs_attention", ["M54.50", "M62.830"], two_lines([1, 2], va=True), "0.00")
    reader, text = read(render(ev, practice, dec))
    assert_one_letter_page(reader)
    assert "Balance due: $260.00 is owed by the client" in text
    assert "cannot be billed to the VA Community Care Network" in text
    assert NOTE_DIRECT_BILLING not in text
    assert "out of network" not in text



def test_a_triwest_referral_is_not_printed_as_optum() -> None:
    doc = example("va_direct")
    doc["va_referral"]["administrator"] = "triwest"
    event = parse_event(json.dumps(doc))
    practice = load_practice()
    decision = decide(event, practice)
    assert decision.route == "needs_attention"
    pdf = render_superbill_pdf(event, practice, decision, document_number="SB-000001", issued_on=date(2026, 11, 21))
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "TriWest" in text and "Optum" not in text


@pytest.mark.parametrize("name", ["va_direct.json", "commercial_courtesy.json", "commercial_statement.json",
                                  "self_pay.json"])
def test_one_line_texts_drawn_as_cells_give_the_same_bytes_as_the_line_breaker(
        practice: Practice, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ev = event(name)
    dec = decide(ev, practice)
    fast = render(ev, practice, dec)
    monkeypatch.setattr(superbill_pdf, "_FIT_SLACK_MM", 10_000.0)  # every text broken by fpdf2's multi_cell
    assert render(ev, practice, dec) == fast


def test_long_texts_and_twelve_diagnoses_give_the_same_bytes_with_and_without_the_line_breaker(
        practice: Practice, monkeypatch: pytest.MonkeyPatch) -> None:
    ev = event("commercial_courtesy.json", prescription__diagnosis_codes=TWELVE,
               client__first_name="Zoë Anastasia Bartholomew", client__last_name="Łukasiewicz-Hernández")
    lines = [
        line("97140", 30, 2, "140.00", [1, 2, 3, 4], ["GP", "XS", "59", "KX"], ["lumbar", "thoracic"]),
        line("97124", 45, 3, "1180.00", [12], [], ["right shoulder", "left shoulder", "cervical", "lumbar"]),
    ]
    dec = decision(ev, "courtesy_submission", TWELVE, lines, "500.00")
    long = "Strain of muscle, fascia and tendon of the posterior muscle group at thigh level, left thigh"
    given = {code: f"{long} ({code})" for code in TWELVE[::3]}
    fast = render(ev, practice, dec, diagnosis_descriptions=given)
    monkeypatch.setattr(superbill_pdf, "_FIT_SLACK_MM", 10_000.0)  # every line break by fpdf2's line breaker
    assert render(ev, practice, dec, diagnosis_descriptions=given) == fast
    _, text = read(fast)
    assert "A M54.50 Strain of muscle, fascia and tendon" in text
    assert "Regions: right shoulder, left shoulder, cervical, lumbar" in text


def test_line_breaks_are_the_ones_fpdf2_makes() -> None:
    import random

    from fpdf.enums import MethodReturnValue

    rng = random.Random(11)
    words = ["a", "of", "the", "client", "reimbursement", "Massage", "(effleurage,", "WWWWWWWW", "iiii",
             "$1,180.00", "Łukasiewicz", "myofascial", "l"]
    sheet = superbill_pdf.Sheet.one_page(1.0, "t", "a", ISSUED_ON)
    pdf = sheet.pdf
    certain = 0
    for _ in range(400):
        sheet.font(rng.choice([7.5, 8.5, 9]), rng.choice(["", "B", "I"]))
        text = latin1(" ".join(rng.choice(words) for _ in range(rng.randint(1, 40))))
        if rng.random() < 0.2:
            text = text.replace(" ", "\n", 1)
        w = rng.uniform(20, 120)
        found = sheet.lines(text, w - 2 * pdf.c_margin)
        if found is None:
            continue
        certain += 1
        assert found == pdf.multi_cell(w, 4, text, dry_run=True, output=MethodReturnValue.LINES), (text, w)
    assert certain > 300


# -- drawing each line with fpdf2's text() where its cell() would draw it ------------------------


def through_cell(self: superbill_pdf.Sheet, w: float, h: float, text: str, align: Any = "L") -> None:
    """fpdf2's own cell() for one line, as the sheet drew every line before."""
    from fpdf.enums import XPos, YPos

    self.pdf.cell(w, h, text, align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)


LONG_CASE = {
    "client__first_name": "Zoë Anastasia Bartholomew",
    "client__last_name": "Łukasiewicz-Hernández “Jr.”",
    "client__address": {
        "line1": "456 Oak Ave", "line2": "Apartment 4B, Building C — Riverside Commons",
        "city": "Springfield", "state": "IL", "postal_code": "62701",
    },
    "coverage__payer_name": "Blue  Cross and Blue Shield of Illinois Federal Employee Program Standardoptionplanname",
    "prescription__diagnosis_codes": TWELVE,
}


@pytest.mark.parametrize("name", ["va_direct.json", "commercial_courtesy.json", "commercial_statement.json",
                                  "self_pay.json", "long"])
def test_every_line_is_drawn_where_fpdf2_cell_draws_it_in_its_font_and_colour(
        practice: Practice, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if name == "long":
        ev = event("commercial_courtesy.json", **LONG_CASE)
        dec = decision(ev, "courtesy_submission", TWELVE, two_lines([1, 2, 3, 4], va=False), "260.00")
        kwargs: dict[str, Any] = {"replaces": "SB-2026-000041",
                                  "diagnosis_descriptions": {"M54.2": "Cervicalgia" + "-unbreakable" * 12}}
    else:
        ev = event(name)
        dec = decide(ev, practice)
        kwargs = {}
    fast = render(ev, practice, dec, **kwargs)
    monkeypatch.setattr(superbill_pdf.Sheet, "line", through_cell)
    reference = render(ev, practice, dec, **kwargs)
    assert fast != reference  # the reference really went through cell()
    assert_drawn_alike(fast, reference)
    assert len(drawn(fast)) > 80


def test_long_values_wrap_as_multi_cell_breaks_them_and_a_word_wider_than_its_column_is_broken(
        practice: Practice) -> None:
    ev = event("commercial_courtesy.json", **LONG_CASE)
    dec = decision(ev, "courtesy_submission", TWELVE, two_lines([1, 2, 3, 4], va=False), "260.00")
    long_description = "Cervicalgia" + "-unbreakable" * 12
    texts = [t for _, t, *_ in drawn(render(ev, practice, dec,
                                            diagnosis_descriptions={"M54.2": long_description}))]
    # the payer name's double space and its long last word go through fpdf2's own line breaker
    payer = "Blue  Cross and Blue Shield of Illinois Federal Employee Program Standardoptionplanname"
    start = texts.index(next(t for t in texts if t.startswith("Blue  Cross")))
    assert texts[start] != payer and texts[start + 1] in payer  # wrapped onto the next line
    end = texts.index("Payer ID", start)
    assert end - start >= 2
    assert "".join(texts[start:end]).replace(" ", "") == payer.replace(" ", "")
    # a description wider than its column is broken within the word, onto several lines, nothing lost
    start = texts.index(next(t for t in texts if t.startswith("Cervicalgia")))
    assert texts[start] != long_description
    assert "".join(texts[start:start + 4]).startswith(long_description)


def test_sheet_lines_break_pages_as_cell_does_when_the_page_breaks_automatically() -> None:
    from fpdf import FPDF

    def page(through: bool) -> bytes:
        pdf = FPDF(unit="mm", format="Letter")
        pdf.set_auto_page_break(True, margin=16)
        pdf.add_page()
        sheet = superbill_pdf.Sheet(pdf)
        if through:
            sheet.line = lambda w, h, text, align="L": through_cell(sheet, w, h, text, align)  # type: ignore[method-assign]
        y = 240.0
        for n in range(6):
            y = sheet.text_block(20, y, 60, f"Paragraph {n}: " + "several words that wrap " * 4, 9)
        return bytes(pdf.output())

    fast, reference = page(False), page(True)
    assert len(PdfReader(io.BytesIO(fast)).pages) == 2
    assert_drawn_alike(fast, reference)
