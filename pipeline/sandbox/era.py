"""The sandbox payer's electronic remittance advice: an X12 835 (005010X221A1) for claims it adjudicated.

Pure: the claims' outcomes, the control numbers and the dates come in as arguments. The sandbox keeps
to itself (it shares nothing with the pipeline but the X12 validator), so it reads the 837P it took with
its own small reader and writes the 835 here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from pipeline.sandbox.x12 import segments

VERSION = "005010X221A1"
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Adjustment:
    group: str  # CO, PR, OA, PI, CR
    reason: str  # a CARC
    amount: Decimal


@dataclass(frozen=True)
class SubmittedLine:
    """One service line of the 837P, as the payer read it."""

    procedure: str  # SV101 as sent, e.g. HC:97140:GP:XS
    charge: Decimal
    units: str
    service_date: str  # YYYYMMDD
    line_id: str | None  # REF*6R


@dataclass(frozen=True)
class SubmittedClaim:
    """What the payer needs of a taken 837P to pay it."""

    claim_id: str
    charge: Decimal
    frequency_code: str
    place_of_service: str
    patient_last: str
    patient_first: str
    member_id: str
    provider_name: str
    provider_npi: str
    payer_name: str
    payer_id: str
    lines: tuple[SubmittedLine, ...]


@dataclass(frozen=True)
class LineOutcome:
    line: SubmittedLine
    paid: Decimal
    adjustments: tuple[Adjustment, ...] = ()
    remarks: tuple[str, ...] = ()
    allowed: Decimal | None = None


@dataclass(frozen=True)
class ClaimOutcome:
    """One CLP loop: a payment, a denial or a reversal of an earlier payment."""

    claim: SubmittedClaim
    status_code: str  # CLP02: 1 processed as primary, 4 denied, 22 reversal of previous payment
    payer_claim_number: str
    lines: tuple[LineOutcome, ...]
    remarks: tuple[str, ...] = field(default_factory=tuple)  # MOA remark codes

    @property
    def charge(self) -> Decimal:
        sign = Decimal(-1) if self.status_code == "22" else Decimal(1)
        return sign * self.claim.charge

    @property
    def paid(self) -> Decimal:
        return sum((line.paid for line in self.lines), Decimal(0))

    @property
    def patient_responsibility(self) -> Decimal:
        return sum((a.amount for line in self.lines for a in line.adjustments if a.group == "PR"), Decimal(0))

    def reversed(self) -> ClaimOutcome:
        """The CLP02 22 loop that takes this payment back: every amount negated."""
        return ClaimOutcome(
            claim=self.claim, status_code="22", payer_claim_number=self.payer_claim_number,
            lines=tuple(
                LineOutcome(line=lo.line, paid=-lo.paid, remarks=lo.remarks,
                            allowed=-lo.allowed if lo.allowed is not None else None,
                            adjustments=tuple(Adjustment(a.group, a.reason, -a.amount) for a in lo.adjustments))
                for lo in self.lines
            ),
        )


def read_submitted_claim(x12: str) -> SubmittedClaim:
    """The claim of a (validated, one-claim) 837P."""
    segs = segments(x12)
    claim_id, charge, frequency, place = "", Decimal(0), "1", "11"
    last = first = member = provider = npi = payer_name = payer_id = ""
    lines: list[SubmittedLine] = []
    pending: dict[str, str] = {}

    def flush() -> None:
        if pending:
            lines.append(SubmittedLine(procedure=pending["procedure"], charge=Decimal(pending["charge"]),
                                       units=pending["units"], service_date=pending.get("date", ""),
                                       line_id=pending.get("line_id")))
            pending.clear()

    for seg in segs:
        sid = seg[0]

        def get(i: int, s: list[str] = seg) -> str:
            return s[i] if len(s) > i else ""

        if sid == "NM1" and get(1) == "IL":
            last, first, member = get(3), get(4), get(9)
        elif sid == "NM1" and get(1) == "85":
            provider, npi = get(3), get(9)
        elif sid == "NM1" and get(1) == "PR":
            payer_name, payer_id = get(3), get(9)
        elif sid == "CLM":
            claim_id, charge = get(1), Decimal(get(2))
            parts = get(5).split(":")
            place = parts[0]
            frequency = parts[2] if len(parts) > 2 else "1"
        elif sid == "LX":
            flush()
        elif sid == "SV1":
            pending.update(procedure=get(1), charge=get(2), units=get(4) or "1")
        elif sid == "DTP" and get(1) == "472" and pending:
            pending["date"] = get(3)
        elif sid == "REF" and get(1) == "6R" and pending:
            pending["line_id"] = get(2)
    flush()
    return SubmittedClaim(claim_id=claim_id, charge=charge, frequency_code=frequency, place_of_service=place,
                          patient_last=last, patient_first=first, member_id=member, provider_name=provider,
                          provider_npi=npi, payer_name=payer_name, payer_id=payer_id, lines=tuple(lines))


def paid_in_full(claim: SubmittedClaim, payer_claim_number: str) -> ClaimOutcome:
    return ClaimOutcome(claim, "1", payer_claim_number,
                        tuple(LineOutcome(line, line.charge, allowed=line.charge) for line in claim.lines))


def underpaid(claim: SubmittedClaim, payer_claim_number: str, share: Decimal = Decimal("0.8")) -> ClaimOutcome:
    """Paid the payer's fee schedule, less than charged: the rest is CO-45."""
    out = []
    for line in claim.lines:
        allowed = (line.charge * share).quantize(CENTS)
        out.append(LineOutcome(line, allowed, allowed=allowed,
                               adjustments=(Adjustment("CO", "45", line.charge - allowed),)))
    return ClaimOutcome(claim, "1", payer_claim_number, tuple(out))


def denied(claim: SubmittedClaim, payer_claim_number: str, group: str, reason: str,
           remark: str | None) -> ClaimOutcome:
    """Paid nothing: every line's charge adjusted with the reason, its remark code beside it."""
    remarks = (remark,) if remark else ()
    lines = tuple(LineOutcome(line, Decimal(0), adjustments=(Adjustment(group, reason, line.charge),),
                              remarks=remarks, allowed=Decimal(0)) for line in claim.lines)
    return ClaimOutcome(claim, "4", payer_claim_number, lines)


def _amount(value: Decimal) -> str:
    text = f"{value.quantize(CENTS):f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("-0", "") else text


def _segment(*elements: str) -> str:
    parts = list(elements)
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return "*".join(parts)


def _cas(group: str, adjustments: list[Adjustment]) -> list[str]:
    """CAS segments of one group: up to six reason/amount pairs each."""
    out = []
    for start in range(0, len(adjustments), 6):
        pairs: list[str] = []
        for a in adjustments[start:start + 6]:
            pairs += [a.reason, _amount(a.amount), ""]
        out.append(_segment("CAS", group, *pairs))
    return out


def _adjustment_segments(adjustments: tuple[Adjustment, ...]) -> list[str]:
    groups: dict[str, list[Adjustment]] = {}
    for a in adjustments:
        groups.setdefault(a.group, []).append(a)
    return [seg for group, items in groups.items() for seg in _cas(group, items)]


def _claim_segments(outcome: ClaimOutcome) -> list[str]:
    claim = outcome.claim
    segs = [
        _segment("CLP", claim.claim_id, outcome.status_code, _amount(outcome.charge), _amount(outcome.paid),
                 _amount(outcome.patient_responsibility), "VA", outcome.payer_claim_number,
                 claim.place_of_service, claim.frequency_code),
        _segment("NM1", "QC", "1", claim.patient_last, claim.patient_first, "", "", "", "MI", claim.member_id),
    ]
    if outcome.remarks:
        segs.append(_segment("MOA", "", "", *outcome.remarks[:5]))
    for lo in outcome.lines:
        line = lo.line
        units = "-" + line.units if outcome.status_code == "22" else line.units
        segs.append(_segment("SVC", line.procedure, _amount(line.charge if outcome.status_code != "22"
                                                           else -line.charge),
                             _amount(lo.paid), "", units))
        if line.service_date:
            segs.append(_segment("DTM", "472", line.service_date))
        segs += _adjustment_segments(lo.adjustments)
        if line.line_id:
            segs.append(_segment("REF", "6R", line.line_id))
        if lo.allowed is not None:
            segs.append(_segment("AMT", "B6", _amount(lo.allowed)))
        segs += [_segment("LQ", "HE", remark) for remark in lo.remarks]
    return segs


def render_835(outcomes: list[ClaimOutcome], *, control_number: int, trace_number: str, created_at: datetime,
               sender_id: str, receiver_id: str, payee_name: str, payee_npi: str, payer_name: str,
               payer_tax_id: str = "1999999999", usage: str = "T") -> str:
    """One interchange, one 835 transaction: one payment (a check) covering every claim given."""
    paid = sum((o.paid for o in outcomes), Decimal(0))
    total = max(paid, Decimal(0))
    day = created_at.strftime("%Y%m%d")
    isa = _segment("ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender_id[:15].ljust(15), "ZZ",
                   receiver_id[:15].ljust(15), created_at.strftime("%y%m%d"), created_at.strftime("%H%M"), "^",
                   "00501", f"{control_number:09d}", "0", usage, ":")
    body = [
        _segment("ST", "835", "0001"),
        _segment("BPR", "I" if total > 0 else "H", _amount(total), "C",
                 "CHK" if total > 0 else "NON", "", "", "", "", "", "", "", "", "", "", "", day),
        _segment("TRN", "1", trace_number, payer_tax_id),
        _segment("DTM", "405", day),
        _segment("N1", "PR", payer_name),
        _segment("N3", "PO BOX 30555"),
        _segment("N4", "SALT LAKE CITY", "UT", "841300555"),
        _segment("PER", "BL", "EDI SUPPORT", "TE", "8005550100"),
        _segment("N1", "PE", payee_name, "XX", payee_npi),
    ]
    for number, outcome in enumerate(outcomes, start=1):
        body.append(_segment("LX", str(number)))
        body += _claim_segments(outcome)
    if paid < 0:  # money taken back and not offset by new payments: recovered from later payments
        body.append(_segment("PLB", payee_npi, f"{created_at.year}1231", "WO:" + outcomes[0].payer_claim_number,
                             _amount(paid)))
    body.append(_segment("SE", str(len(body) + 1), "0001"))
    gs = _segment("GS", "HP", sender_id.strip(), receiver_id.strip(), day, created_at.strftime("%H%M"),
                  str(control_number), "X", VERSION)
    all_segments = [isa, gs, *body, _segment("GE", "1", str(control_number)),
                    _segment("IEA", "1", f"{control_number:09d}")]
    return "~".join(all_segments) + "~"
