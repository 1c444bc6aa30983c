"""The period statement PDF: every session's date, lines, units, charges and diagnoses, totals per session and
overall, paid and balance, the document number; byte for byte the same for the same facts; many sessions
flow onto more pages."""

from __future__ import annotations

import io
import json
import os
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from config.practice import Practice, load_practice
from pipeline.documents import period_statement_pdf
from pipeline.documents.period_statement_pdf import PeriodSession, render_period_statement_pdf
from pipeline.domain.decide import decide
from pipeline.domain.intake import parse_event
from tests.examples import EXAMPLES as EVENTS
from tests.unit.documents.pdf_drawing import assert_drawn_alike, drawn, pixels


@pytest.fixture(scope="module")
def practice() -> Practice:
    return load_practice()


def session(practice: Practice, day: str, *, paid: str = "260.00", services: list[dict[str, Any]] | None = None,
            tag: str = "") -> PeriodSession:
    doc = json.loads((EVENTS / "commercial_statement.json").read_text())
    doc["session"]["session_id"] = f"ses_{day}{tag}"
    doc["session"]["started_at"] = f"{day}T14:00:00-06:00"
    doc["session"]["ended_at"] = f"{day}T15:00:00-06:00"
    doc["payment"]["amount_collected"] = paid
    if services is not None:
        doc["session"]["services"] = services
    event = parse_event(json.dumps(doc).encode())
    decision = decide(event, practice)
    assert decision.superbill is not None
    return PeriodSession(claim_id=f"ses_{day}{tag}", event=event, superbill=decision.superbill)


def render(practice: Practice, sessions: list[PeriodSession], **kw: Any) -> bytes:
    return render_period_statement_pdf(practice, sessions, since=date(2026, 11, 1), until=date(2026, 11, 30),
                                       document_number=kw.pop("document_number", "SB-000042"),
                                       issued_on=date(2026, 12, 1), **kw)


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def test_every_session_its_lines_and_the_totals_are_on_the_statement(practice: Practice) -> None:
    sessions = [
        session(practice, "2026-11-06"),
        session(practice, "2026-11-13", paid="100.00"),
        session(practice, "2026-11-20", services=[{"cpt": "97124", "minutes": 60, "body_region": "back"}]),
    ]
    pdf = render(practice, sessions)
    text = text_of(pdf)
    if os.environ.get("SUPERBILL_KEEP_PDF"):  # for a look at the page: SUPERBILL_KEEP_PDF=/tmp/period.pdf
        Path(os.environ["SUPERBILL_KEEP_PDF"]).write_bytes(pdf)

    assert "SB-000042" in text and "12/01/2026" in text and "11/01/2026 - 11/30/2026" in text
    for n, day in enumerate(("11/06/2026", "11/13/2026", "11/20/2026"), 1):
        assert re.search(rf"Session {n}\s+-\s+{day}", text), (n, day)
    assert text.count("97140") == 2 and text.count("97124") == 3  # the third session has 97124 only
    assert "$140.00" in text and "$120.00" in text and "$240.00" in text  # line charges: 2 x 70, 2 x 60, 4 x 60
    assert "M54.50" in text and "M62.830" in text and "Low back pain" in text
    assert re.search(r"Session 1 total \$260\.00\s+-\s+paid \$260\.00 \(.*?\)\s+-\s+balance \$0\.00", text)
    assert re.search(r"Session 2 total \$260\.00\s+-\s+paid \$100\.00 \(.*?\)\s+-\s+balance \$160\.00", text)
    assert re.search(r"Session 3 total \$240\.00\s+-\s+paid \$260\.00 \(.*?\)\s+-\s+balance \$0\.00", text)
    totals = re.search(r"Total charges\s*\$([\d,.]+)\s*Amount paid\s*\$([\d,.]+)\s*Balance due\s*\$([\d,.]+)", text)
    assert totals is not None, text
    # session 3 was paid 20.00 beyond its charge: a credit that the balance of session 2 uses up
    assert [Decimal(v.replace(",", "")) for v in totals.groups()] == [Decimal("760.00"), Decimal("620.00"),
                                                                        Decimal("140.00")]
    assert "$20.00 paid beyond the charge of session 3 is credited" in " ".join(text.split())
    assert "John Doe" in text and "cli_204" in text and "1003000126" in text  # client, account, therapist NPI
    assert f"Page 1 of {len(PdfReader(io.BytesIO(pdf)).pages)}" in text


def test_a_client_who_paid_more_than_every_charge_owes_nothing_and_is_told_of_the_credit(
        practice: Practice) -> None:
    text = " ".join(text_of(render(practice, [session(practice, "2026-11-06", paid="300.00"),
                                              session(practice, "2026-11-13", paid="250.00")])).split())
    totals = re.search(r"Total charges \$([\d,.]+) Amount paid \$([\d,.]+) Balance due \$([\d,.]+)", text)
    assert totals is not None and totals.groups() == ("520.00", "550.00", "0.00"), text
    assert "Paid in full" in text and "$30.00 is left to the client's credit" in text


def test_the_same_facts_give_the_same_bytes_and_other_facts_other_bytes(practice: Practice) -> None:
    sessions = [session(practice, "2026-11-06"), session(practice, "2026-11-13")]
    first = render(practice, sessions)
    assert render(practice, sessions) == first
    assert render(practice, sessions, document_number="SB-000043") != first
    again = render(practice, sessions, document_number="SB-000043", replaces="SB-000042")
    assert "Replaces document SB-000042" in text_of(again)


def test_a_weekly_client_s_quarter_flows_onto_more_pages_with_every_session(practice: Practice) -> None:
    days = [f"2026-{m:02d}-{d:02d}" for m in (9, 10, 11) for d in (3, 10, 17, 24)]
    pdf = render(practice, [session(practice, day) for day in days])
    reader = PdfReader(io.BytesIO(pdf))
    text = text_of(pdf)
    assert len(reader.pages) >= 2
    assert f"Page 1 of {len(reader.pages)}" in text
    assert all(f"Session {n} " in text for n in range(1, 13))
    assert "Total charges" in text and "$3,120.00" in text  # 12 x 260


def test_no_session_is_an_error(practice: Practice) -> None:
    with pytest.raises(ValueError):
        render(practice, [])


# -- the sessions table drawn with fpdf2's text() where its table() draws each cell ----------------


def through_fpdf2_table(sheet: Any, rows: Any) -> None:
    """The sessions table through fpdf2's own `table()`, as the statement drew it before."""
    from fpdf import FontFace
    from fpdf.enums import Align, TableBordersLayout

    m = period_statement_pdf
    with sheet.pdf.table(col_widths=m._WIDTHS, width=m._EPW, text_align=m._ALIGNS, line_height=m._LINE_H,
                         borders_layout=TableBordersLayout.HORIZONTAL_LINES, padding=(m._PAD_Y, m._PAD_X),
                         v_align="TOP", headings_style=FontFace(emphasis="B", color=m._ACCENT, size_pt=7.5)) as table:
        for index, row in enumerate(rows):
            if index > 0 and len(row.texts) == 1 and row.align == Align.L:  # a session's heading
                table.row().cell(row.texts[0], colspan=len(m._WIDTHS),
                                 style=FontFace(emphasis="B", color=m._ACCENT, fill_color=m._SESSION))
            elif index > 0 and len(row.texts) == 1:  # a session's total
                table.row().cell(row.texts[0], colspan=len(m._WIDTHS), align=Align.R, style=FontFace(emphasis="B"))
            else:
                cells = table.row()
                for text in row.texts:
                    cells.cell(text)


LONG_REGION = "left-upper-trapezius-levator-scapulae-rhomboid-and-posterior-cervical-paraspinal-trigger-points"


def _sessions(practice: Practice, case: str) -> list[PeriodSession]:
    if case == "three":
        return [session(practice, "2026-11-06"), session(practice, "2026-11-13", paid="100.00"),
                session(practice, "2026-11-20", services=[{"cpt": "97124", "minutes": 60, "body_region": "back"}])]
    if case == "long":  # a description wrapped onto several lines, a word wider than its column, non-latin text
        services = [{"cpt": "97140", "minutes": 30, "body_region": "lumbar and thoracic paraspinals, both sides"},
                    {"cpt": "97124", "minutes": 15, "body_region": LONG_REGION},
                    {"cpt": "97124", "minutes": 15, "body_region": "épaule droite — “trapèze” Łódź"}]
        return [session(practice, f"2026-11-{d:02d}", services=services, paid="0.00") for d in range(2, 26, 3)]
    count = int(case)
    return [session(practice, f"2026-{1 + i // 20:02d}-{1 + i % 20:02d}", tag=str(i)) for i in range(count)]


@pytest.mark.parametrize("case", ["1", "three", "12", "long", "40"])
def test_the_sessions_table_is_drawn_as_fpdf2_table_draws_it(
        practice: Practice, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = _sessions(practice, case)
    fast = render(practice, sessions)
    with monkeypatch.context() as patched:
        patched.setattr(period_statement_pdf, "_table", through_fpdf2_table)
        reference = render(practice, sessions)
    assert fast != reference  # the reference really went through table()
    assert text_of(fast) == text_of(reference)
    assert_drawn_alike(fast, reference)
    texts = [t for _, t, *_ in drawn(fast)]
    table_pages = {page for page, t, *_ in drawn(fast) if t.startswith("Session ")}
    assert texts.count("CPT") == len(table_pages)  # the headings on top of every page the table is on
    assert pixels(fast) == pixels(reference)
    assert render(practice, sessions) == fast
    if case == "long":  # the long word went through fpdf2's own line breaker, broken within the word
        assert LONG_REGION not in texts and len(PdfReader(io.BytesIO(fast)).pages) >= 2
        assert any(t.startswith("(left-upper-trapezius") for t in texts)
