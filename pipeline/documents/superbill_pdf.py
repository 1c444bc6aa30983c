"""The superbill as a one-page US Letter PDF (DOMAIN.md section 4, CONTRACT.md section 3 `--pdf`).

Pure: the caller passes every fact, including the issue date; the result is the PDF's bytes.

Every line of text is drawn with fpdf2's `text()` where its `cell()` would put it (`Sheet.line`): the same
page, without `cell()`'s per-call text preparation and graphics-state copies.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal

from fpdf import FPDF
from fpdf.drawing_primitives import DeviceCMYK, DeviceGray, DeviceRGB, convert_to_device_color
from fpdf.enums import Align, MethodReturnValue, RenderStyle, XPos, YPos
from fpdf.fonts import CoreFont

from config.practice import Practice, Therapist
from pipeline.domain.diagnoses import describe as code_set_description
from schemas.decision import Decision, Superbill, SuperbillLine
from schemas.event import Address, SessionCompleted

__all__ = [
    "NOTE_DIRECT_BILLING",
    "NOTE_PAID_IN_FULL",
    "SELF_PAY_INSURER",
    "VA_CCN_INSURER",
    "Sheet",
    "describe_diagnosis",
    "describe_document",
    "format_money",
    "latin1",
    "render_superbill_pdf",
]

TITLE = "SUPERBILL"
SUBTITLE = "Statement for Insurance Reimbursement"
VA_CCN_INSURER = "VA Community Care Network (Optum)"
SELF_PAY_INSURER = "Self-pay"
NOTE_PAID_IN_FULL = "Paid in full by the client; please reimburse the client."
NOTE_DIRECT_BILLING = "Billed directly to the VA Community Care Network; nothing is owed by the veteran."

DIAGNOSIS_LETTERS = "ABCDEFGHIJKL"

CPT_DESCRIPTIONS = {
    "97124": "Massage therapy, each 15 minutes",
    "97140": "Manual therapy techniques, each 15 minutes",
}

TAXONOMY_NAMES = {"225700000X": "Massage Therapist"}

PLACES_OF_SERVICE = {"11": "Office", "12": "Home"}

PAYMENT_METHODS = {
    "card": "Credit/debit card",
    "cash": "Cash",
    "check": "Check",
    "hsa": "HSA card",
    "fsa": "FSA card",
    "none": "No payment collected",
}

# Font scales tried in turn until everything fits on the one page.
_FIT_SLACK_MM = 0.01  # a text this close to its cell's width goes through fpdf2's line breaker
_SCALES = (1.0, 0.95, 0.9, 0.86, 0.82, 0.78, 0.74, 0.7)

_PAGE_W = 215.9
_PAGE_H = 279.4
_MARGIN = 12.7
_TOP = 10.0
_BOTTOM = 9.0
_FOOTER_H = 8.0
_EPW = _PAGE_W - 2 * _MARGIN

_INK = (33, 37, 41)
_MUTED = (95, 102, 110)
_ACCENT = (24, 54, 96)
_RULE = (170, 178, 189)
_BAND = (228, 235, 244)
_ZEBRA = (246, 248, 251)
_CALLOUT = (240, 246, 240)
_CALLOUT_EDGE = (120, 160, 120)
_WARN = (252, 243, 232)
_WARN_EDGE = (200, 140, 70)

_UNICODE_FALLBACKS = {
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\u2026": "...", "\u2022": "\xb7",
    "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u200b": "", "\u2122": "(TM)",
    "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d", "\u0131": "i", "\u0152": "OE",
    "\u0153": "oe", "\u20ac": "EUR",
}


def latin1(text: str) -> str:
    """Text the PDF core fonts can show: latin-1, with accents and typography folded when outside it."""
    if text.isascii() and (text.isprintable() or text.replace("\n", "").isprintable()):
        return text  # printable ASCII (and line breaks): already what the fonts show, and NFC
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char in ("\n", "\t") or (" " <= char <= "~") or ("\xa1" <= char <= "\xff"):
            out.append(" " if char == "\t" else char)
        elif char in _UNICODE_FALLBACKS:
            out.append(_UNICODE_FALLBACKS[char])
        elif unicodedata.category(char).startswith("C"):
            continue
        else:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(out)


def format_money(amount: Decimal) -> str:
    """`Decimal("1234.5")` -> `$1,234.50`; negative amounts as `-$5.00`."""
    cents = amount.quantize(Decimal("0.01"))
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents):,.2f}"


def describe_diagnosis(code: str) -> str:
    """The ICD-10-CM description of `code`, or "" when it cannot be found."""
    try:
        return code_set_description(code)
    except Exception:
        return ""


def _us_date(value: date) -> str:
    return f"{value.month:02d}/{value.day:02d}/{value.year}"  # strftime("%m/%d/%Y"), without its cost


def _zip(postal_code: str) -> str:
    code = postal_code.strip()
    return f"{code[:5]}-{code[5:]}" if len(code) == 9 and code.isdigit() else code


def _ein(ein: str) -> str:
    digits = ein.replace("-", "").strip()
    return f"{digits[:2]}-{digits[2:]}" if len(digits) == 9 and digits.isdigit() else ein


def _address_lines(line1: str, line2: str | None, city: str, state: str, postal_code: str) -> str:
    street = line1 if not (line2 or "").strip() else f"{line1}, {line2}"
    return f"{street}\n{city}, {state} {_zip(postal_code)}"


def _client_address(address: Address) -> str:
    return _address_lines(address.line1, address.line2, address.city, address.state, address.postal_code)


def _taxonomy(code: str) -> str:
    name = TAXONOMY_NAMES.get(code)
    return f"{code} ({name})" if name else code


def _or_dash(value: str | None) -> str:
    return value.strip() if value and value.strip() else "-"


def _pointer_letters(pointers: Sequence[int], count: int) -> str:
    letters = [DIAGNOSIS_LETTERS[p - 1] for p in pointers if 1 <= p <= min(count, len(DIAGNOSIS_LETTERS))]
    return ",".join(letters) if letters else "-"


def _insurer(event: SessionCompleted) -> str:
    kind = event.coverage.kind
    if kind == "va_ccn":
        referral = event.va_referral
        if referral is not None and referral.administrator == "triwest":
            return "VA Community Care Network (TriWest)"
        return VA_CCN_INSURER
    if kind == "self_pay":
        return SELF_PAY_INSURER
    return _or_dash(event.coverage.payer_name)


def _payment_note(event: SessionCompleted, decision: Decision, bill: Superbill) -> tuple[str, bool]:
    """The statement's closing note and whether it is a settled (True) or an owing (False) note."""
    kind = event.coverage.kind
    if decision.route == "direct_billing":
        note = NOTE_DIRECT_BILLING
        if bill.amount_paid > 0:
            note += f" The {format_money(bill.amount_paid)} collected from the veteran is to be refunded."
        return note, True
    if bill.balance_due <= 0:
        if kind == "self_pay":
            tail = " This statement may also be used as a receipt for FSA/HSA reimbursement."
        elif kind == "va_ccn":
            tail = " This session has not been billed to the VA Community Care Network."
        elif decision.route == "courtesy_submission":
            tail = (
                " This practice is out of network with the client's insurer; the statement was submitted"
                " by the practice's billing service as a courtesy, and reimbursement is not guaranteed."
            )
        else:
            tail = (
                " This practice is out of network with the client's insurer; the client files this"
                " statement for reimbursement (or for FSA/HSA use)."
            )
        return NOTE_PAID_IN_FULL + tail, True
    owed = f"Balance due: {format_money(bill.balance_due)} is owed by the client to the practice."
    if kind == "va_ccn":
        tail = (
            " This session cannot be billed to the VA Community Care Network until the referral and"
            " prescription on file are in order."
        )
    elif kind == "self_pay":
        tail = ""
    else:
        tail = (
            " This practice is out of network; the insurer should reimburse the client for amounts the"
            " client has paid."
        )
    return owed + tail, False


def describe_document(pdf: FPDF, *, title: str, author: str, issued_on: date) -> None:
    """The PDF's own description: title, author, subject, and the issue date as its creation date (so the
    same facts give the same bytes)."""
    pdf.set_creation_date(datetime.combine(issued_on, time(0, 0), tzinfo=UTC))
    pdf.set_title(latin1(title))
    pdf.set_author(latin1(author))
    pdf.set_subject(SUBTITLE)
    pdf.set_creator("superbill-pipeline")
    pdf.set_producer("superbill-pipeline")
    pdf.set_lang("en-US")


@functools.cache
def _device_color(rgb: tuple[int, int, int]) -> DeviceCMYK | DeviceGray | DeviceRGB:
    """fpdf2's colour for an RGB triple (what `set_text_color(*rgb)` makes of it), made once."""
    return convert_to_device_color(*rgb)


# A core font's metrics per size: a few dozen entries (three styles, the sizes of the page times its scales).
_METRICS: dict[tuple[str, float, float], tuple[Callable[[str], float], float]] = {}


def _core_metrics(font: CoreFont, size_pt: float, k: float) -> tuple[Callable[[str], float], float]:
    """The width in user units of a text in a core font at `size_pt` (`k` points per unit), as fpdf2's
    `get_string_width` sums it, and the width of the font's widest character; made once per font and size
    (the font's metrics, not any document's)."""
    key = (font.fontkey, size_pt, k)
    found = _METRICS.get(key)
    if found is None:
        get = font.cw.__getitem__

        def measure(text: str) -> float:
            return sum(map(get, text)) * size_pt * 0.001 / k

        found = _METRICS[key] = (measure, max(font.cw.values()) * size_pt * 0.001 / k)
    return found


class Sheet:
    """Draws a statement on a US Letter PDF; `k` scales every font size and line height (1.0 = regular).

    `text_fill`: the fill colour to leave set between filled shapes (`filled`), when nothing else on the page
    fills with the current fill colour (not so on a page with fpdf2's tables). fpdf2's `text()` gives a
    line its own colour (saving and restoring the graphics state around it) only when the text colour
    differs from the fill colour, so text in this colour, most of a superbill's, is drawn without."""

    def __init__(self, pdf: FPDF, k: float = 1.0, *, text_fill: tuple[int, int, int] | None = None) -> None:
        self.k = k
        self.pdf = pdf
        self.text_fill = text_fill
        nothing: tuple[object, float, tuple[Callable[[str], float], float] | None] = (None, 0.0, None)
        self._last_metrics = (nothing, nothing)  # the last two fonts' metrics
        if text_fill is not None:
            self.fill(text_fill)

    @classmethod
    def one_page(cls, k: float, title: str, author: str, issued_on: date) -> Sheet:
        """A new one-page sheet (no automatic page break)."""
        pdf = FPDF(orientation="portrait", unit="mm", format="Letter")
        pdf.set_margins(_MARGIN, _TOP, _MARGIN)
        pdf.set_auto_page_break(False)
        describe_document(pdf, title=title, author=author, issued_on=issued_on)
        pdf.add_page()
        return cls(pdf, k, text_fill=_INK)

    # -- primitives -------------------------------------------------------------------------

    def font(self, size: float, style: str = "", color: tuple[int, int, int] = _INK) -> None:
        """Helvetica in `style` ("", "B", "I") at `size` points times `k`, in `color`."""
        self.face(style, size * self.k)
        device = _device_color(color)
        pdf = self.pdf
        if pdf.text_color is not device:
            pdf.set_text_color(device)

    def face(self, style: str, size_pt: float) -> None:
        """`set_font("Helvetica", style, size_pt)` of fpdf2 ("", "B" or "I"); when only the size changes,
        its `set_font_size` (the same state, without `set_font`'s checks of the family and style)."""
        pdf = self.pdf
        if pdf.font_style == style and pdf.font_family == "helvetica" and not (pdf.underline or pdf.strikethrough):
            if pdf.font_size_pt != size_pt:
                pdf.set_font_size(size_pt)
        else:
            pdf.set_font("Helvetica", style, size_pt)

    def draw(self, color: tuple[int, int, int]) -> None:
        """`set_draw_color` of fpdf2, with the colour made once."""
        self.pdf.set_draw_color(_device_color(color))

    def fill(self, color: tuple[int, int, int]) -> None:
        """`set_fill_color` of fpdf2, with the colour made once."""
        self.pdf.set_fill_color(_device_color(color))

    def filled(self, x: float, y: float, w: float, h: float, color: tuple[int, int, int]) -> None:
        """A rectangle filled with `color`; leaves the fill colour `text_fill` when there is one."""
        self.fill(color)
        self.pdf.rect(x, y, w, h, style=RenderStyle.F)
        if self.text_fill is not None:
            self.fill(self.text_fill)

    def wrapped(self, w: float, h: float, text: str, align: Align = Align.L,
                new_x: XPos = XPos.RIGHT, new_y: YPos = YPos.NEXT) -> None:
        """`multi_cell` of fpdf2 at the current position: the lines it would make of `text` (`lines`, or its
        own line breaker when they are not certain), each drawn where its `cell` would draw it (`line`).
        Leaves the position where `multi_cell` leaves it (`new_x`: RIGHT or LMARGIN; `new_y`: NEXT)."""
        if new_y != YPos.NEXT:
            raise ValueError(f"unsupported new_y {new_y}")
        pdf = self.pdf
        lines = self.lines(text, w - 2 * pdf.c_margin)
        if lines is None:
            lines = self.broken(w, h, text)
        x = pdf.x
        if align == Align.L and not pdf.auto_page_break:  # `line` for each, without its choices
            dx = x + pdf.c_margin
            lift = 0.3 * pdf.font_size
            for line in lines:
                if line:
                    pdf.text(dx, pdf.y + 0.5 * h + lift, line)
                pdf.y += h
        else:
            for line in lines:
                self.line(w, h, line, align)
        pdf.x = pdf.l_margin if new_x == XPos.LMARGIN else x + w if new_x == XPos.RIGHT else x

    def line(self, w: float, h: float, text: str, align: Align = Align.L) -> None:
        """What fpdf2's `cell(w, h, text, align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)` draws for one line of
        a core font without markdown, fill or border, drawn with `text()` at the baseline `cell` uses (it
        places the text `c_margin` from the cell's edges, or centres it, and 0.3 font sizes below the cell's
        middle). A line that would break the page goes through `cell`, which breaks it."""
        pdf = self.pdf
        if pdf.auto_page_break and pdf.will_page_break(h):
            pdf.cell(w, h, text, align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)
            return
        if text:
            if align == Align.R:
                dx = w - pdf.c_margin - self.width(text)
            elif align == Align.C:
                dx = (w - self.width(text)) / 2
            else:
                dx = pdf.c_margin
            pdf.text(pdf.x + dx, pdf.y + 0.5 * h + 0.3 * pdf.font_size, text)
        pdf.y += h

    def put(self, x: float, y: float, w: float, h: float, text: str, align: Align = Align.L) -> None:
        """`line` at (x, y); leaves the position at x, below the line."""
        pdf = self.pdf
        pdf.x, pdf.y = x, y
        if align == Align.L and not pdf.auto_page_break:  # `line`, without its choices
            if text:
                pdf.text(x + pdf.c_margin, y + 0.5 * h + 0.3 * pdf.font_size, text)
            pdf.y = y + h
            return
        self.line(w, h, text, align)

    def broken(self, w: float, h: float, text: str) -> list[str]:
        """The lines of fpdf2's own line breaker (`multi_cell`'s) for `text` in a cell `w` wide."""
        found = self.pdf.multi_cell(w, h, text, dry_run=True, output=MethodReturnValue.LINES)
        return list(found)  # type: ignore[arg-type]

    def grid(
        self, y: float, widths: Sequence[float], aligns: Sequence[Align], headings: Sequence[str] | None,
        rows: Sequence[Sequence[str]], styles: Sequence[tuple[str, tuple[int, int, int]]], pad_y: float,
        *, zebra: tuple[int, int, int] | None,
    ) -> None:
        """A table of the full text width at `y`: each cell's lines drawn where plain cells would draw them
        (`put`), 1 mm from its column's edges and `pad_y` below the row's top; rows as high as their tallest
        cell; a hairline in the current draw colour between rows; `zebra` fills the heading row and every
        second row after it. The headings are bold, 7.5 pt, in the accent colour; `styles` gives each column's
        emphasis and colour. Leaves the position at the left margin below the last row."""
        pdf = self.pdf
        size = pdf.font_size_pt
        lh = self.lh(8.5)
        table: list[tuple[Sequence[str], Sequence[tuple[str, tuple[int, int, int]]], float]] = []
        if headings is not None:
            table.append((headings, [("B", _ACCENT)] * len(widths), 7.5 * self.k))
        table.extend((row, styles, size) for row in rows)
        xs = [_MARGIN]
        for w in widths[:-1]:
            xs.append(xs[-1] + w)
        plain = pdf.font_stretching == 100 and pdf.char_spacing == 0
        c_margin = pdf.c_margin
        pdf.c_margin = 1.0  # the cells' horizontal padding
        try:
            face = ("", 0.0)  # the font last set here: fpdf2's set_font costs as much when nothing changes

            def use(style: str, pt: float) -> None:
                nonlocal face
                if face != (style, pt):
                    self.face(style, pt)
                    face = (style, pt)

            for i, (values, faces, pt) in enumerate(table):
                cells: list[tuple[list[str], str, tuple[int, int, int]]] = []
                for j, value in enumerate(values):
                    style, color = faces[j]
                    if not value:
                        cells.append(([], style, color))
                        continue
                    font = pdf.fonts.get("helvetica" + style)
                    if isinstance(font, CoreFont) and plain:  # measured without making it the current font
                        lines = self.lines(value, widths[j] - 2, _core_metrics(font, pt, pdf.k))
                    else:
                        use(style, pt)
                        lines = self.lines(value, widths[j] - 2)
                    if lines is None:
                        use(style, pt)
                        lines = self.broken(widths[j], lh, value)
                    cells.append((lines, style, color))
                height = max(len(lines) for lines, _, _ in cells) * lh + 2 * pad_y
                if zebra is not None and i % 2 == 0:
                    self.filled(_MARGIN, y, _EPW, height, zebra)
                if i > 0:
                    pdf.line(_MARGIN, y, _PAGE_W - _MARGIN, y)
                for j, (lines, style, color) in enumerate(cells):
                    if not lines:
                        continue
                    use(style, pt)
                    device = _device_color(color)
                    if pdf.text_color is not device:
                        pdf.set_text_color(device)
                    for n, line in enumerate(lines):
                        self.put(xs[j], y + pad_y + n * lh, widths[j], lh, line, aligns[j])
                y += height
        finally:
            pdf.c_margin = c_margin
        self.face("", size)
        pdf.set_text_color(_device_color(_INK))
        pdf.x, pdf.y = _MARGIN, y

    def width(self, text: str) -> float:
        """`get_string_width` of fpdf2 (the width of `text` in mm in the current font)."""
        measure = self.measure()
        if measure is not None:
            try:
                return measure(text)
            except KeyError:
                pass
        return self.pdf.get_string_width(text)

    def measure(self) -> Callable[[str], float] | None:
        """For a core font without stretching or spacing: the width of a text in the current font as fpdf2's
        `get_string_width` gives it (its own sum of the font's character widths, without its per-call text
        preparation; KeyError for a character the font does not have). None for any other font."""
        metrics = self.metrics()
        return None if metrics is None else metrics[0]

    def metrics(self) -> tuple[Callable[[str], float], float] | None:
        """`measure`, and the width of the font's widest character (no text is wider than its length times
        it), for the current core font; None for any other font."""
        pdf = self.pdf
        font = pdf.current_font
        size = pdf.font_size_pt
        if pdf.font_stretching != 100 or pdf.char_spacing != 0:
            return None
        last, before = self._last_metrics
        if last[0] is font and last[1] == size:
            return last[2]
        if before[0] is font and before[1] == size:  # labels and values take turns
            self._last_metrics = (before, last)
            return before[2]
        if not isinstance(font, CoreFont):
            return None
        found = _core_metrics(font, size, pdf.k)
        self._last_metrics = ((font, size, found), last)
        return found

    def lines(
        self, text: str, room: float, metrics: tuple[Callable[[str], float], float] | None = None,
    ) -> list[str] | None:
        """The lines fpdf2's word-wrapping line breaker makes of `text` in the current font within `room` mm,
        or None when that is not certain: a word that does not fit, a break within `_FIT_SLACK_MM` of the
        edge, an empty line or repeated spaces, a font other than a core font or a character it does not have
        (then the caller lets fpdf2 break the lines). Like fpdf2, a line breaks at the last space before the
        word that overflows, and drops that space. `metrics`: those of another font than the current one."""
        if metrics is None:
            metrics = self.metrics()
        if metrics is None:
            return None
        width, widest = metrics
        edge = room - _FIT_SLACK_MM
        if len(text) * widest < edge and text and "\n" not in text:
            return [text]  # shorter than the room for as many of the font's widest characters
        out: list[str] = []
        try:
            for part in text.split("\n"):
                if not part:
                    return None
                if len(part) * widest < edge or width(part) < edge:
                    out.append(part)
                    continue
                words = part.split(" ")
                if "" in words:
                    return None
                current = words[0]
                used = width(current)
                if used >= edge:
                    return None
                space = width(" ")
                for word in words[1:]:
                    word_w = width(word)
                    taken = used + space + word_w
                    if taken < edge:
                        current, used = f"{current} {word}", taken
                        continue
                    if taken <= room + _FIT_SLACK_MM or word_w >= edge:
                        return None
                    out.append(current)
                    current, used = word, word_w
                out.append(current)
        except KeyError:
            return None
        return out

    def lh(self, size: float) -> float:
        """Line height in mm for a font size in points."""
        return size * self.k * 0.45

    def text_block(
        self, x: float, y: float, w: float, text: str, size: float, style: str = "",
        color: tuple[int, int, int] = _INK, align: Align = Align.L,
    ) -> float:
        """A wrapped paragraph at (x, y); returns the y below it."""
        self.font(size, style, color)
        self.pdf.x, self.pdf.y = x, y
        self.wrapped(w, self.lh(size), latin1(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return self.pdf.y

    def band(self, x: float, y: float, w: float, label: str) -> float:
        """A section heading band; returns the y below it."""
        h = 5.2 * self.k
        pdf = self.pdf
        self.filled(x, y, w, h, _BAND)
        self.draw(_ACCENT)
        pdf.set_line_width(0.35)
        pdf.line(x, y + h, x + w, y + h)
        self.font(8, "B", _ACCENT)
        self.put(x + 1.5, y, w - 3, h, latin1(label.upper()))
        return y + h + 1.3 * self.k

    def fields(self, x: float, y: float, w: float, rows: Sequence[tuple[str, str]], label_w: float) -> float:
        """Label / value rows; the value wraps within its column. Returns the y below the last row."""
        pdf = self.pdf
        for label, value in rows:
            self.font(7.5, "", _MUTED)
            pdf.x, pdf.y = x, y + 0.15 * self.k
            self.wrapped(label_w, self.lh(9), latin1(label), align=Align.L)
            label_end = pdf.y
            self.font(9, "", _INK)
            pdf.x, pdf.y = x + label_w, y
            self.wrapped(w - label_w, self.lh(9), latin1(value), align=Align.L, new_x=XPos.LMARGIN,
                         new_y=YPos.NEXT)
            y = max(pdf.y, label_end) + 0.5 * self.k
        return y

    def section_pair(
        self, y: float,
        left: tuple[str, Sequence[tuple[str, str]]],
        right: tuple[str, Sequence[tuple[str, str]]],
    ) -> float:
        gap = 6.0
        col = (_EPW - gap) / 2
        label_w = 29.0 * self.k
        ends = []
        for x, (title, rows) in ((_MARGIN, left), (_MARGIN + col + gap, right)):
            top = self.band(x, y, col, title)
            ends.append(self.fields(x + 1.5, top, col - 1.5, rows, label_w))
        return max(ends) + 2.2 * self.k

    # -- the document -----------------------------------------------------------------------

    def header(
        self, practice: Practice, meta: Sequence[tuple[str, str]], replaces: str | None, *, right_w: float = 74.0,
    ) -> float:
        """The practice (left), the title and the document's box (right: `meta` rows, the first in bold, and
        the document it replaces), and a rule under them; returns the y below."""
        info = practice.practice
        pdf = self.pdf
        left_w = _EPW - right_w - 6
        y = self.text_block(_MARGIN, _TOP, left_w, info.legal_name, 15, "B", _ACCENT)
        a = info.address
        y = self.text_block(
            _MARGIN, y + 0.8, left_w,
            _address_lines(a.line1, a.line2, a.city, a.state, a.postal_code) + f"\nPhone {info.phone}",
            9, "", _INK,
        )
        left_end = y

        x = _PAGE_W - _MARGIN - right_w
        ry = self.text_block(x, _TOP - 1, right_w, TITLE, 22, "B", _ACCENT, Align.R)
        ry = self.text_block(x, ry, right_w, SUBTITLE, 9.5, "", _INK, Align.R) + 1.8 * self.k
        box_top = ry
        self.draw(_RULE)
        pdf.set_line_width(0.2)
        label_w = 22.0
        ry += 1.2 * self.k
        for n, (label, value) in enumerate(meta):
            self.font(7.5, "", _MUTED)
            self.put(x + 2, ry, label_w, self.lh(9), label)
            self.font(9, "B" if n == 0 else "", _INK)
            pdf.x, pdf.y = x + 2 + label_w, ry
            self.wrapped(right_w - label_w - 4, self.lh(9), latin1(value), align=Align.R,
                         new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            ry = pdf.y + 0.3 * self.k
        if replaces:
            ry = self.text_block(
                x + 2, ry + 0.4 * self.k, right_w - 4, f"Replaces document {replaces}", 8.5, "B", _WARN_EDGE,
                Align.R,
            )
        ry += 0.9 * self.k
        pdf.rect(x, box_top, right_w, ry - box_top)

        y = max(left_end, ry) + 2.5 * self.k
        self.draw(_ACCENT)
        pdf.set_line_width(0.7)
        pdf.line(_MARGIN, y, _PAGE_W - _MARGIN, y)
        return y + 3.2 * self.k

    def diagnoses(self, y: float, codes: Sequence[str], describe: Callable[[str], str]) -> float:
        y = self.band(_MARGIN, y, _EPW, "Diagnoses (ICD-10-CM, from the referring physician's prescription)")
        if not codes:
            return self.text_block(
                _MARGIN + 1.5, y, _EPW - 3,
                "No diagnosis on file: no physician prescription was presented for this session.",
                8.5, "I", _MUTED,
            ) + 2.6 * self.k
        entries = [(DIAGNOSIS_LETTERS[i], code, describe(code)) for i, code in enumerate(codes[:12])]
        pdf = self.pdf
        if len(entries) <= 4:
            rows = [list(e) for e in entries]
            widths: tuple[float, ...] = (8, 22, _EPW - 30)
            aligns: tuple[Align, ...] = (Align.C, Align.L, Align.L)
        else:
            half = (len(entries) + 1) // 2
            left, right = entries[:half], entries[half:]
            rows = []
            for i, entry in enumerate(left):
                other = right[i] if i < len(right) else ("", "", "")
                rows.append([*entry, "", *other])
            side = (_EPW - 4) / 2
            widths = (7, 19, side - 26, 4, 7, 19, side - 26)
            aligns = (Align.C, Align.L, Align.L, Align.L, Align.C, Align.L, Align.L)
        self.font(8.5)
        self.draw(_RULE)
        pdf.set_line_width(0.15)
        pdf.x, pdf.y = _MARGIN, y
        letter_cols = {0} if len(widths) == 3 else {0, 4}
        code_cols = {1} if len(widths) == 3 else {1, 5}
        styles: list[tuple[str, tuple[int, int, int]]] = []
        for i in range(len(widths)):
            if i in letter_cols:
                styles.append(("B", _ACCENT))
            elif i in code_cols:
                styles.append(("B", _INK))
            else:
                styles.append(("", _INK))
        body = [[latin1(value) for value in values] for values in rows]
        self.grid(y, widths, aligns, None, body, styles, 0.8 * self.k, zebra=None)
        return pdf.y + 3.0 * self.k

    def services(self, y: float, bill: Superbill, n_codes: int) -> float:
        y = self.band(_MARGIN, y, _EPW, "Services rendered")
        pdf = self.pdf
        headings = ["CPT", "Description", "Modifiers", "Minutes", "Units", "Dx pointer", "Charge"]
        widths = (14, _EPW - 14 - 24 - 15 - 12 - 20 - 26, 24, 15, 12, 20, 26)
        aligns = (Align.L, Align.L, Align.C, Align.R, Align.R, Align.C, Align.R)
        self.font(8.5)
        self.draw(_RULE)
        pdf.set_line_width(0.15)
        pdf.x, pdf.y = _MARGIN, y
        body = [[latin1(value) for value in self._line_cells(line, n_codes)] for line in bill.lines]
        plain = [("", _INK)] * len(widths)
        self.grid(y, widths, aligns, headings, body, plain, 1.1 * self.k, zebra=_ZEBRA)
        end = pdf.y
        self.draw(_ACCENT)
        pdf.set_line_width(0.35)
        pdf.line(_MARGIN, end, _PAGE_W - _MARGIN, end)
        return end + 3.0 * self.k

    @staticmethod
    def _line_cells(line: SuperbillLine, n_codes: int) -> list[str]:
        description = line.description.strip() or CPT_DESCRIPTIONS.get(line.cpt, f"CPT {line.cpt}")
        regions = [r for r in line.body_regions if r.strip()]
        if regions:
            label = "Region" if len(regions) == 1 else "Regions"
            description += f"\n{label}: {', '.join(regions)}"
        return [
            line.cpt,
            description,
            " ".join(line.modifiers) if line.modifiers else "-",
            str(line.minutes),
            str(line.units),
            _pointer_letters(line.diagnosis_pointers, n_codes),
            format_money(line.charge),
        ]

    def totals(self, y: float, bill: Superbill, method: str, note: str, settled: bool) -> float:
        pdf = self.pdf
        box_w = 72.0
        gap = 6.0
        left_w = _EPW - box_w - gap
        bx = _PAGE_W - _MARGIN - box_w

        # Totals box (right).
        rows = [
            ("Total charges", format_money(bill.total_charge), False),
            ("Amount paid", format_money(bill.amount_paid), False),
            ("Balance due", format_money(bill.balance_due), True),
        ]
        row_h = 6.0 * self.k
        self.draw(_ACCENT)
        pdf.set_line_width(0.35)
        ty = y
        for label, amount, strong in rows:
            if strong:
                self.filled(bx, ty, box_w, row_h + 1.0 * self.k, _BAND)
                pdf.line(bx, ty, bx + box_w, ty)
                h = row_h + 1.0 * self.k
            else:
                h = row_h
            self.font(10 if strong else 9, "B" if strong else "", _ACCENT if strong else _INK)
            self.put(bx + 2.5, ty, box_w / 2, h, label)
            self.put(bx + box_w / 2, ty, box_w / 2 - 2.5, h, amount, Align.R)
            ty += h
        pdf.rect(bx, y, box_w, ty - y)

        # Payment and note (left).
        ly = self.fields(_MARGIN + 1.5, y + 0.6, left_w - 1.5, [("Payment method", method)], 29.0 * self.k)
        ly += 1.0 * self.k
        fill, edge = (_CALLOUT, _CALLOUT_EDGE) if settled else (_WARN, _WARN_EDGE)
        self.font(8.5)
        note_lines = self.lines(latin1(note), left_w - 6 - 2 * pdf.c_margin)
        if note_lines is None:
            text_h = pdf.multi_cell(
                left_w - 6, self.lh(8.5), latin1(note), dry_run=True, output=MethodReturnValue.HEIGHT
            )
        else:
            text_h = len(note_lines) * self.lh(8.5)
        note_h = float(text_h) + 3.0 * self.k  # type: ignore[arg-type]
        self.filled(_MARGIN, ly, left_w, note_h, fill)
        self.filled(_MARGIN, ly, 1.2, note_h, edge)
        self.text_block(_MARGIN + 4, ly + 1.5 * self.k, left_w - 6, note, 8.5, "", _INK)
        return max(ty, ly + note_h) + 5.0 * self.k

    def signature(self, y: float, therapist: Therapist) -> float:
        pdf = self.pdf
        y = self.text_block(
            _MARGIN, y, _EPW,
            "I certify that the services listed above were personally rendered by me on the date of"
            " service shown, and that the charges are the practice's usual fees for these services.",
            8, "I", _MUTED,
        )
        line_y = y + 11.0 * self.k
        sig_w = 112.0
        date_x = _MARGIN + sig_w + 12
        self.draw(_INK)
        pdf.set_line_width(0.3)
        pdf.line(_MARGIN, line_y, _MARGIN + sig_w, line_y)
        pdf.line(date_x, line_y, _PAGE_W - _MARGIN, line_y)
        name = f"{therapist.first_name} {therapist.last_name}, {therapist.credentials}"
        end = self.text_block(
            _MARGIN, line_y + 0.8, sig_w,
            f"Signature of rendering therapist: {name}  (NPI {therapist.npi})", 7.5, "", _MUTED,
        )
        self.text_block(date_x, line_y + 0.8, _PAGE_W - _MARGIN - date_x, "Date", 7.5, "", _MUTED)
        return end

    def footer(self, practice_name: str, document_number: str) -> None:
        pdf = self.pdf
        y = _PAGE_H - _BOTTOM - _FOOTER_H + 3.0
        self.draw(_RULE)
        pdf.set_line_width(0.2)
        pdf.line(_MARGIN, y, _PAGE_W - _MARGIN, y)
        self.font(7, "", _MUTED)
        self.put(_MARGIN, y + 1.0, _EPW, 4,
                 latin1(f"{practice_name}   \xb7   Superbill {document_number}   \xb7   Page 1 of 1"), Align.C)

    def fits(self, bottom: float) -> bool:
        return self.pdf.pages_count == 1 and bottom <= _PAGE_H - _BOTTOM - _FOOTER_H

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _draw(
    k: float,
    event: SessionCompleted,
    practice: Practice,
    decision: Decision,
    bill: Superbill,
    therapist: Therapist,
    *,
    document_number: str,
    issued_on: date,
    describe: Callable[[str], str],
    replaces: str | None,
) -> tuple[Sheet, float]:
    client = event.client
    coverage = event.coverage
    info = practice.practice
    sheet = Sheet.one_page(
        k,
        title=f"Superbill {document_number} - {client.first_name} {client.last_name}",
        author=info.legal_name,
        issued_on=issued_on,
    )
    meta = [("Document no.", document_number), ("Date issued", _us_date(issued_on)),
            ("Claim ref.", decision.claim_id)]
    y = sheet.header(practice, meta, replaces)

    a = info.address
    provider = [
        ("Practice", info.legal_name),
        ("Address", _address_lines(a.line1, a.line2, a.city, a.state, a.postal_code)),
        ("Tax ID (EIN)", _ein(info.ein)),
        ("Group NPI", info.npi),
        ("Taxonomy", _taxonomy(info.taxonomy)),
    ]
    patient = [
        ("Name", f"{client.first_name} {client.last_name}"),
        ("Date of birth", _us_date(client.date_of_birth)),
        ("Address", _client_address(client.address)),
        ("Account no.", client.client_id),
    ]
    y = sheet.section_pair(y, ("Billing provider", provider), ("Patient / client", patient))

    rendering = [
        ("Name", f"{therapist.first_name} {therapist.last_name}, {therapist.credentials}"),
        ("Individual NPI", therapist.npi),
        ("License", f"{therapist.license_number} ({therapist.license_state})"),
        ("Taxonomy", info.taxonomy),
    ]
    insurance = [("Insurer", _insurer(event))]
    if coverage.kind == "commercial" and coverage.payer_id:
        insurance.append(("Payer ID", coverage.payer_id))
    if coverage.kind != "self_pay" or coverage.member_id:
        insurance.append(("Member ID", _or_dash(coverage.member_id)))
    if coverage.kind != "self_pay" or coverage.group_number:
        insurance.append(("Group no.", _or_dash(coverage.group_number)))
    if event.va_referral is not None:
        insurance.append(("VA referral no.", event.va_referral.referral_number))
    y = sheet.section_pair(y, ("Rendering therapist", rendering), ("Insurance", insurance))

    rx = event.prescription
    if rx is not None:
        doctor = rx.physician
        referring = [
            ("Name", f"{doctor.first_name} {doctor.last_name}"),
            ("NPI", doctor.npi),
            ("Prescription", f"Issued {_us_date(rx.issued_on)}"
             + (f", expires {_us_date(rx.expires_on)}" if rx.expires_on else "")),
        ]
    else:
        referring = [("Name", "None on file (no prescription presented)")]
    pos = bill.place_of_service
    service = [
        ("Date of service", _us_date(bill.date_of_service)),
        ("Place of service", f"{pos} - {PLACES_OF_SERVICE[pos]}" if pos in PLACES_OF_SERVICE else pos),
    ]
    if event.va_referral is not None and event.va_referral.seoc:
        service.append(("Episode of care", event.va_referral.seoc))
    y = sheet.section_pair(y, ("Referring physician", referring), ("Service", service))

    y = sheet.diagnoses(y, bill.diagnosis_codes, describe)
    y = sheet.services(y, bill, len(bill.diagnosis_codes))
    method = PAYMENT_METHODS.get(event.payment.method, event.payment.method)
    note, settled = _payment_note(event, decision, bill)
    y = sheet.totals(y, bill, method, note, settled)
    y = sheet.signature(y, therapist)
    sheet.footer(info.legal_name, document_number)
    return sheet, y


def render_superbill_pdf(
    event: SessionCompleted,
    practice: Practice,
    decision: Decision,
    *,
    document_number: str,
    issued_on: date,
    diagnosis_descriptions: Mapping[str, str] | None = None,
    replaces: str | None = None,
) -> bytes:
    """The decision's superbill as a one-page US Letter PDF.

    `diagnosis_descriptions` maps an ICD-10-CM code to its description; codes it does not
    name are looked up in the ICD-10-CM code set. Raises `ValueError` when the decision has
    no superbill or the session's therapist is not in the practice profile.
    """
    bill = decision.superbill
    if bill is None:
        raise ValueError(f"decision {decision.claim_id} has no superbill to render")
    therapist = practice.therapist(event.session.therapist_id)
    if therapist is None:
        raise ValueError(f"therapist {event.session.therapist_id} is not in the practice profile")
    given = dict(diagnosis_descriptions or {})

    def describe(code: str) -> str:
        return given[code] if code in given else describe_diagnosis(code)

    def draw(k: float) -> tuple[Sheet, float]:
        return _draw(
            k, event, practice, decision, bill, therapist,
            document_number=document_number, issued_on=issued_on, describe=describe, replaces=replaces,
        )

    sheet, bottom = draw(_SCALES[0])
    for k in _SCALES[1:]:
        if sheet.fits(bottom):
            break
        sheet, bottom = draw(k)
    return sheet.output()
