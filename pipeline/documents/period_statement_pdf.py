"""One superbill for every session of a client in a date range (the monthly statement), as a US Letter PDF.

Pure: the caller passes every fact, including the document number and the issue date; the same facts give
the same bytes. Every session shows its date, place, therapist, diagnoses and lines (CPT, minutes, units,
charge), and its own total, paid and balance; the document ends with the totals over all sessions.

The sessions table is drawn as fpdf2's `table()` drew it (`_table`): the same fills and rules through
fpdf2's own cell borders, the same page breaks and repeated headings, and each cell's lines with `text()`
where `multi_cell` put them, measured in the core font's widths (`Sheet.lines_in`, fpdf2's line breaker
when a break is not certain). The pages are the same pixel for pixel, with the same text
(`tests/unit/documents/test_period_statement_pdf.py` compares them with `table()`'s), in a tenth of the time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from fpdf import FPDF
from fpdf.drawing_primitives import DeviceCMYK, DeviceGray, DeviceRGB
from fpdf.enums import Align, TableCellStyle

from config.practice import Practice, Therapist
from pipeline.documents.superbill_pdf import (
    CPT_DESCRIPTIONS,
    DIAGNOSIS_LETTERS,
    PAYMENT_METHODS,
    PLACES_OF_SERVICE,
    SELF_PAY_INSURER,
    VA_CCN_INSURER,
    Sheet,
    _device_color,
    describe_diagnosis,
    describe_document,
    format_money,
    latin1,
)
from schemas.decision import Superbill
from schemas.event import SessionCompleted

__all__ = ["PeriodSession", "render_period_statement_pdf"]

_MARGIN = 12.7
_BOTTOM = 16.0
_PAGE_W = 215.9
_EPW = _PAGE_W - 2 * _MARGIN
_INK = (33, 37, 41)
_MUTED = (95, 102, 110)
_ACCENT = (24, 54, 96)
_RULE = (170, 178, 189)
_BAND = (228, 235, 244)
_SESSION = (238, 242, 248)
_CALLOUT = (240, 246, 240)
_CALLOUT_EDGE = (120, 160, 120)
_WARN = (252, 243, 232)
_WARN_EDGE = (200, 140, 70)


@dataclass(frozen=True)
class PeriodSession:
    """One session on the statement: its event (as amended), its superbill and the claim's reference."""

    claim_id: str
    event: SessionCompleted
    superbill: Superbill


def _us(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def _address(line1: str, line2: str | None, city: str, state: str, postal_code: str) -> str:
    code = postal_code.strip()
    zip_code = f"{code[:5]}-{code[5:]}" if len(code) == 9 and code.isdigit() else code
    street = line1 if not (line2 or "").strip() else f"{line1}, {line2}"
    return f"{street}\n{city}, {state} {zip_code}"


def _insurer(event: SessionCompleted) -> str:
    kind = event.coverage.kind
    if kind == "va_ccn":
        return VA_CCN_INSURER
    if kind == "self_pay":
        return SELF_PAY_INSURER
    return (event.coverage.payer_name or "-").strip() or "-"


_WIDTHS = (13, _EPW - 13 - 17 - 14 - 11 - 18 - 22, 17, 14, 11, 18, 22)
_ALIGNS = (Align.L, Align.L, Align.C, Align.R, Align.R, Align.L, Align.R)
_LINE_H = 3.8
_PAD_Y, _PAD_X = 0.8, 1.0

Color = DeviceCMYK | DeviceGray | DeviceRGB


@functools.cache
@dataclass(frozen=True)
class _Row:
    """A row of the sessions table: a text per column, or one text across all of them."""

    texts: tuple[str, ...]
    style: str
    size_pt: float
    color: Color
    fill: Color | None
    align: Align | None  # the spanning text's


def _table(sheet: Sheet, rows: Sequence[_Row]) -> None:
    """The sessions table drawn as fpdf2's `table()` draws it (with the settings it was drawn with before,
    `tests/unit/documents/test_period_statement_pdf.py`'s `through_fpdf2_table`:
    horizontal lines, padding 0.8 mm by 1 mm, lines 3.8 mm high, cells filled with the row's colour, the
    heading row repeated at the top of each new page, a row never split across pages), each cell's lines
    where its `multi_cell` puts them, with `text()`: the same page, without `multi_cell`'s text preparation
    and `table()`'s two passes over every cell. Borders and fills are the commands fpdf2's table writes for
    each cell (`TableCellStyle.draw_cell_border`). Leaves the position at the left margin below the table."""
    pdf = sheet.pdf
    font, color = (pdf.font_style, pdf.font_size_pt), pdf.text_color  # as the table leaves them
    total, width = sum(_WIDTHS), float(_EPW)

    def col_width(j: int, span: int) -> float:  # fpdf2's sum of column ratios, for the same floats
        found = 0.0
        for k in range(j, j + span):
            found += _WIDTHS[k] / total * width
        return found

    xs = [pdf.l_margin]
    for j in range(len(_WIDTHS)):
        xs.append(xs[-1] + col_width(j, 1))
    spanning = col_width(0, len(_WIDTHS))
    c_margin = pdf.c_margin
    pdf.c_margin = _PAD_X  # the cells' horizontal padding: where `put` draws a line in its cell
    laid_out: list[tuple[_Row, list[list[str]], float]] = []
    try:
        for row in rows:
            cells = []
            for j, text in enumerate(row.texts):
                w = spanning if len(row.texts) == 1 else col_width(j, 1)
                lines = sheet.lines_in(text, w - 2 * _PAD_X, row.style, row.size_pt)
                if lines is None:
                    sheet.face(row.style, row.size_pt)
                    lines = sheet.lines(text, w - 2 * _PAD_X)
                if lines is None:
                    lines = sheet.broken(w, _LINE_H, text)
                cells.append(lines)
            height = 0.0
            for _ in range(max(len(lines) for lines in cells)):
                height += _LINE_H
            laid_out.append((row, cells, height + _PAD_Y + _PAD_Y))
        last = len(laid_out) - 1

        def draw(index: int) -> None:
            row, cells, height = laid_out[index]
            y = pdf.y
            borders = TableCellStyle(left=False, bottom=index < last, right=False, top=index > 0)
            sheet.face(row.style, row.size_pt)
            if pdf.text_color != row.color:
                pdf.set_text_color(row.color)
            for j, lines in enumerate(cells):
                w = spanning if len(cells) == 1 else col_width(j, 1)
                x = xs[j]
                borders.draw_cell_border(pdf, x, y, x + w, y + height, fill_color=row.fill)
                align = row.align or _ALIGNS[j]
                for n, line in enumerate(lines):
                    sheet.put(x, y + _PAD_Y + n * _LINE_H, w, _LINE_H, line, align)
            pdf.x, pdf.y = pdf.l_margin, y + height

        if len(laid_out) > 1:  # the headings never alone at the bottom of a page
            _break_page_if_needed(pdf, laid_out[0][2] + laid_out[1][2])
        for index, (_, _, height) in enumerate(laid_out):
            if _break_page_if_needed(pdf, height) and index > 0:
                draw(0)
            draw(index)
    finally:
        pdf.c_margin = c_margin
    sheet.face(*font)
    pdf.text_color = color  # as fpdf2's use_font_face restores it


def _break_page_if_needed(pdf: FPDF, height: float) -> bool:
    if not pdf.will_page_break(height):
        return False
    x = pdf.x
    pdf.add_page(same=True)
    pdf.x = x
    return True


class _Doc(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        self.line(_MARGIN, self.get_y(), _PAGE_W - _MARGIN, self.get_y())
        self.set_font("Helvetica", "", 7)
        self.set_text_color(*_MUTED)
        self.cell(_EPW, 5, f"{self.footer_text}   \xb7   Page {self.page_no()} of {{nb}}", align=Align.C)


def render_period_statement_pdf(
    practice: Practice,
    sessions: Sequence[PeriodSession],
    *,
    since: date,
    until: date,
    document_number: str,
    issued_on: date,
    replaces: str | None = None,
    describe: Callable[[str], str] = describe_diagnosis,
) -> bytes:
    """The statement of `sessions` (in the order given; the client is the last session's). Raises ValueError
    when there is no session or a session's therapist is not in the practice profile."""
    if not sessions:
        raise ValueError("a period statement needs at least one session")
    therapists: list[Therapist] = []
    for s in sessions:
        t = practice.therapist(s.event.session.therapist_id)
        if t is None:
            raise ValueError(f"therapist {s.event.session.therapist_id} is not in the practice profile")
        if t not in therapists:
            therapists.append(t)
    latest = sessions[-1].event
    client = latest.client
    info = practice.practice

    pdf = _Doc(orientation="portrait", unit="mm", format="Letter")
    pdf.footer_text = latin1(f"{info.legal_name}   \xb7   Superbill {document_number}")
    pdf.set_margins(_MARGIN, 10, _MARGIN)
    pdf.set_auto_page_break(True, margin=_BOTTOM)
    describe_document(pdf, title=f"Superbill {document_number} - {client.first_name} {client.last_name}",
                      author=info.legal_name, issued_on=issued_on)
    pdf.add_page()
    w = Sheet(pdf)

    meta = [("Document no.", document_number), ("Date issued", _us(issued_on)),
            ("Period", f"{_us(since)} - {_us(until)}"), ("Sessions", str(len(sessions)))]
    y = w.header(practice, meta, replaces, right_w=76.0)
    a = info.address

    ein = info.ein.replace("-", "")
    provider = [("Practice", info.legal_name),
                ("Address", _address(a.line1, a.line2, a.city, a.state, a.postal_code)),
                ("Tax ID (EIN)", f"{ein[:2]}-{ein[2:]}" if len(ein) == 9 else info.ein),
                ("Group NPI", info.npi), ("Taxonomy", info.taxonomy)]
    ca = client.address
    patient = [("Name", f"{client.first_name} {client.last_name}"), ("Date of birth", _us(client.date_of_birth)),
               ("Address", _address(ca.line1, ca.line2, ca.city, ca.state, ca.postal_code)),
               ("Account no.", client.client_id)]
    y = w.section_pair(y, ("Billing provider", provider), ("Patient / client", patient))
    insurance: list[tuple[str, str]] = []
    coverages: list[tuple[str, str | None, str | None]] = []
    for s in sessions:  # every coverage of the period, in order (a client may change insurer mid-month)
        c = s.event.coverage
        coverage = (_insurer(s.event), c.member_id, c.group_number)
        if coverage not in coverages:
            coverages.append(coverage)
    for insurer, member_id, group_number in coverages:
        insurance.append(("Insurer", insurer))
        if member_id:
            insurance.append(("Member ID", member_id))
        if group_number:
            insurance.append(("Group no.", group_number))
    physicians: list[str] = []
    for s in sessions:
        rx = s.event.prescription
        if rx is not None:
            doctor = f"{rx.physician.first_name} {rx.physician.last_name} (NPI {rx.physician.npi})"
            if doctor not in physicians:
                physicians.append(doctor)
    insurance.append(("Referring", "; ".join(physicians) if physicians else "None on file"))
    rendering: list[tuple[str, str]] = []
    for t in therapists:
        rendering += [("Name", f"{t.first_name} {t.last_name}, {t.credentials}"), ("Individual NPI", t.npi),
                      ("License", f"{t.license_number} ({t.license_state})")]
    y = w.section_pair(y, ("Rendering therapist", rendering), ("Insurance", insurance))

    # sessions: one table, a heading row per session, its lines, its total
    y = w.band(_MARGIN, y, _EPW, "Sessions in this period")
    pdf.set_xy(_MARGIN, y)
    w.font(8.5)
    pdf.set_draw_color(*_RULE)
    pdf.set_line_width(0.15)
    codes_seen: list[str] = []
    plain, row_fill = pdf.text_color or _device_color(_INK), pdf.fill_color  # the table's: those set when it starts
    rows: list[_Row] = [_Row(("CPT", "Description", "Modifiers", "Minutes", "Units", "Dx pointer", "Charge"),
                             "B", 7.5, _device_color(_ACCENT), row_fill, None)]
    for n, s in enumerate(sessions, 1):
        bill = s.superbill
        therapist = practice.therapist(s.event.session.therapist_id)
        assert therapist is not None
        pos = bill.place_of_service
        place = f"{pos} {PLACES_OF_SERVICE[pos]}" if pos in PLACES_OF_SERVICE else pos
        codes = bill.diagnosis_codes
        codes_seen += [c for c in codes if c not in codes_seen]
        dx = ", ".join(f"{DIAGNOSIS_LETTERS[i]} {c}" for i, c in enumerate(codes[:12])) or "none on file"
        title = (f"Session {n}  -  {_us(bill.date_of_service)}  -  place of service {place}  -  "
                 f"{therapist.first_name} {therapist.last_name}, {therapist.credentials}  -  ref. {s.claim_id}"
                 f"\nDiagnoses: {dx}")
        rows.append(_Row((latin1(title),), "B", 8.5, _device_color(_ACCENT), _device_color(_SESSION), Align.L))
        for line in bill.lines:
            description = line.description.strip() or CPT_DESCRIPTIONS.get(line.cpt, f"CPT {line.cpt}")
            regions = [r for r in line.body_regions if r.strip()]
            if regions:
                description += f" ({', '.join(regions)})"
            pointers = ",".join(DIAGNOSIS_LETTERS[p - 1] for p in line.diagnosis_pointers
                                if 1 <= p <= min(len(codes), 12)) or "-"
            values = (line.cpt, description, " ".join(line.modifiers) or "-", str(line.minutes),
                      str(line.units), pointers, format_money(line.charge))
            rows.append(_Row(tuple(latin1(v) for v in values), "", 8.5, plain, row_fill, None))
        method = PAYMENT_METHODS.get(s.event.payment.method, s.event.payment.method)
        subtotal = (f"Session {n} total {format_money(bill.total_charge)}   -   "
                    f"paid {format_money(bill.amount_paid)} ({method})   -   "
                    f"balance {format_money(bill.balance_due)}")
        rows.append(_Row((latin1(subtotal),), "B", 8.5, plain, row_fill, Align.R))
    _table(w, rows)

    # diagnosis legend
    y = pdf.get_y() + 3
    if codes_seen:
        if y > 279.4 - _BOTTOM - 30:
            pdf.add_page()
            y = 12
        y = w.band(_MARGIN, y, _EPW, "Diagnoses (ICD-10-CM, from the referring physician's prescription)")
        for code in codes_seen:
            y = w.text_block(_MARGIN + 1.5, y, _EPW - 3, f"{code}  {describe(code) or ''}".rstrip(), 8.5) + 0.4
        y += 2.5

    # totals
    total = sum((s.superbill.total_charge for s in sessions), Decimal("0"))
    paid = sum((s.superbill.amount_paid for s in sessions), Decimal("0"))
    # a session paid beyond its charge leaves a credit that the other sessions' balances use up: what the
    # client owes is the charges less everything paid, so the three totals always add up
    credit = sum((max(Decimal("0"), s.superbill.amount_paid - s.superbill.total_charge) for s in sessions),
                 Decimal("0"))
    balance = max(Decimal("0"), total - paid)
    if y > 279.4 - _BOTTOM - 26:
        pdf.add_page()
        y = 12
    box_w, bx = 72.0, _PAGE_W - _MARGIN - 72.0
    ty = y
    pdf.set_draw_color(*_ACCENT)
    pdf.set_line_width(0.35)
    for label, amount, strong in (("Total charges", total, False), ("Amount paid", paid, False),
                                  ("Balance due", balance, True)):
        row_h = 7.0 if strong else 6.0
        if strong:
            pdf.set_fill_color(*_BAND)
            pdf.rect(bx, ty, box_w, row_h, style="F")
            pdf.line(bx, ty, bx + box_w, ty)
        w.font(10 if strong else 9, "B" if strong else "", _ACCENT if strong else _INK)
        pdf.set_xy(bx + 2.5, ty)
        pdf.cell(box_w / 2, row_h, label)
        pdf.set_xy(bx + box_w / 2, ty)
        pdf.cell(box_w / 2 - 2.5, row_h, format_money(amount), align=Align.R)
        ty += row_h
    pdf.rect(bx, y, box_w, ty - y)
    settled = balance <= 0
    note = (f"Paid in full by the client for the {len(sessions)} session(s) above; please reimburse the client. "
            "This statement may also be used for FSA/HSA reimbursement." if settled else
            f"Balance due: {format_money(balance)} is owed by the client to the practice for the sessions above.")
    if credit > 0:
        over = [str(n) for n, s in enumerate(sessions, 1) if s.superbill.amount_paid > s.superbill.total_charge]
        note += (f" {format_money(credit)} paid beyond the charge of session {', '.join(over)} is credited: "
                 + (f"{format_money(paid - total)} is left to the client's credit." if paid > total else
                    "it is taken off the balance due."))
    left_w = _EPW - box_w - 6
    fill, edge = (_CALLOUT, _CALLOUT_EDGE) if settled else (_WARN, _WARN_EDGE)
    end = w.text_block(_MARGIN + 4, y + 1.5, left_w - 6, note, 8.5)
    pdf.set_fill_color(*fill)
    pdf.rect(_MARGIN, y, left_w, end - y + 1.5, style="F")
    pdf.set_fill_color(*edge)
    pdf.rect(_MARGIN, y, 1.2, end - y + 1.5, style="F")
    w.text_block(_MARGIN + 4, y + 1.5, left_w - 6, note, 8.5)
    y = max(ty, end + 1.5) + 5

    # certification and signature
    if y > 279.4 - _BOTTOM - 28:
        pdf.add_page()
        y = 12
    y = w.text_block(_MARGIN, y, _EPW, "I certify that the services listed above were personally rendered on the dates "
               "of service shown, and that the charges are the practice's usual fees for these services.", 8, "I",
               _MUTED)
    line_y = y + 11
    pdf.set_draw_color(*_INK)
    pdf.set_line_width(0.3)
    pdf.line(_MARGIN, line_y, _MARGIN + 112, line_y)
    pdf.line(_MARGIN + 124, line_y, _PAGE_W - _MARGIN, line_y)
    names = "; ".join(f"{t.first_name} {t.last_name}, {t.credentials} (NPI {t.npi})" for t in therapists)
    w.text_block(_MARGIN, line_y + 0.8, 112, f"Signature of rendering therapist: {names}", 7.5, "", _MUTED)
    w.text_block(_MARGIN + 124, line_y + 0.8, _EPW - 124, "Date", 7.5, "", _MUTED)
    return bytes(pdf.output())
