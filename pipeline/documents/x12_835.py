"""Read an X12 835 (005010X221A1) health care claim payment/advice into `schemas.remittance` models.

Pure: text in, models out. The separators are taken from the ISA segment. The reader takes what posting
needs (BPR, TRN, N1, CLP, CAS, MOA, SVC, DTM*472, REF*6R, AMT*B6, LQ*HE, PLB) and skips the rest; the
835's shape itself is checked with pyx12 (`x12_validation`) before a remittance is posted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from schemas.remittance import Adjustment, ClaimPayment, ProviderAdjustment, Remittance, ServicePayment

ISA_LENGTH = 106
VERSION = "005010X221A1"


class RemittanceFormatError(ValueError):
    """The text is not an 835 this reader can use."""


@dataclass
class _Service:
    values: dict[str, object] = field(default_factory=dict)
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)


@dataclass
class _Claim:
    values: dict[str, object] = field(default_factory=dict)
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    services: list[_Service] = field(default_factory=list)


@dataclass
class _Transaction:
    values: dict[str, object] = field(default_factory=dict)
    claims: list[_Claim] = field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = field(default_factory=list)


def _separators(text: str) -> tuple[str, str, str]:
    if not text.startswith("ISA") or len(text) < ISA_LENGTH:
        raise RemittanceFormatError("not an X12 interchange: it does not start with a 106-character ISA segment")
    return text[3], text[104], text[105]


def _amount(value: str, what: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise RemittanceFormatError(f"{what} is not an amount: {value!r}") from None


def _date(value: str, what: str) -> date:
    if len(value) != 8 or not value.isdigit():
        raise RemittanceFormatError(f"{what} is not a CCYYMMDD date: {value!r}")
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise RemittanceFormatError(f"{what} is not a date: {value!r}") from None


def _cas(elements: list[str]) -> list[Adjustment]:
    """CAS01 group, then up to six triples of reason, amount, quantity."""
    group = elements[1] if len(elements) > 1 else ""
    out = []
    for start in range(2, len(elements), 3):
        reason = elements[start]
        amount = elements[start + 1] if start + 1 < len(elements) else ""
        if reason:
            out.append(Adjustment(group=group, reason=reason, amount=_amount(amount or "0", f"CAS {group}-{reason}")))
    return out


def _procedure(composite: str, component: str) -> tuple[str, str, list[str]]:
    parts = composite.split(component)
    qualifier = parts[0] if parts else ""
    code = parts[1] if len(parts) > 1 else ""
    return qualifier, code, [m for m in parts[2:6] if m]


def _segments(text: str) -> list[list[str]]:
    stripped = text.lstrip()
    element, _component, terminator = _separators(stripped)
    return [raw.strip("\r\n\t ").split(element) for raw in stripped.split(terminator) if raw.strip("\r\n\t ")]


def parse_835(text: str) -> list[Remittance]:
    """Every 835 transaction (ST...SE) of the interchange, in order.

    Raises RemittanceFormatError when the text is not an 835 or a value posting needs is not readable.
    """
    stripped = text.lstrip()
    _element, component, _terminator = _separators(stripped)
    isa13 = ""
    version = ""
    transactions: list[_Transaction] = []
    tx: _Transaction | None = None
    claim: _Claim | None = None
    service: _Service | None = None
    for seg in _segments(stripped):
        sid = seg[0]

        def el(i: int, s: list[str] = seg) -> str:
            return s[i] if len(s) > i else ""

        if sid == "ISA":
            isa13 = el(13)
        elif sid == "GS":
            version = el(8)
            if el(1) != "HP":
                raise RemittanceFormatError(f"functional group {el(1)!r} is not HP (health care claim payment)")
        elif sid == "ST":
            if el(1) != "835":
                raise RemittanceFormatError(f"transaction set {el(1)!r} is not an 835")
            tx = _Transaction(values={"st02": el(2)})
            transactions.append(tx)
            claim = service = None
        elif tx is None:
            continue
        elif sid == "BPR":
            tx.values.update(handling=el(1), amount=_amount(el(2), "BPR02 payment amount"), method=el(4))
            if el(16):
                tx.values["payment_date"] = _date(el(16), "BPR16 payment date")
        elif sid == "TRN":
            tx.values.update(trace=el(2), payer_id=el(3) or None)
        elif sid == "N1" and el(1) == "PR":
            tx.values["payer_name"] = el(2)
        elif sid == "N1" and el(1) == "PE":
            tx.values.update(payee_name=el(2), payee_id=el(4) or None)
        elif sid == "CLP":
            claim = _Claim(values={
                "claim_id": el(1), "status_code": el(2), "charge": _amount(el(3), "CLP03 claim charge"),
                "paid": _amount(el(4) or "0", "CLP04 claim payment"),
                "patient_responsibility": _amount(el(5), "CLP05 patient responsibility") if el(5) else None,
                "filing_indicator": el(6), "payer_claim_number": el(7) or None, "frequency_code": el(9) or None,
            })
            tx.claims.append(claim)
            service = None
        elif sid == "SVC" and claim is not None:
            qualifier, code, modifiers = _procedure(el(1), component)
            service = _Service(values={
                "qualifier": qualifier, "procedure": code, "modifiers": modifiers,
                "charge": _amount(el(2), "SVC02 line charge"), "paid": _amount(el(3) or "0", "SVC03 line payment"),
                "units": _amount(el(5), "SVC05 units") if el(5) else None,
            })
            if el(6):
                _q, original, original_modifiers = _procedure(el(6), component)
                service.values.update(original_procedure=original, original_modifiers=original_modifiers)
            claim.services.append(service)
        elif sid == "CAS" and claim is not None:
            (service.adjustments if service is not None else claim.adjustments).extend(_cas(seg))
        elif sid == "MOA" and claim is not None:
            claim.remarks.extend(r for r in seg[3:8] if r)
        elif sid == "DTM" and service is not None and el(1) in ("472", "150"):
            service.values["service_date"] = _date(el(2), "DTM service date")
        elif sid == "REF" and service is not None and el(1) == "6R":
            service.values["line_id"] = el(2)
        elif sid == "AMT" and service is not None and el(1) == "B6":
            service.values["allowed"] = _amount(el(2), "AMT*B6 allowed amount")
        elif sid == "LQ" and service is not None and el(1) == "HE":
            service.remarks.append(el(2))
        elif sid == "PLB":
            for start in range(3, len(seg) - 1, 2):
                reason, _, reference = seg[start].partition(component)
                if reason:
                    tx.provider_adjustments.append(ProviderAdjustment(
                        reason=reason, reference=reference.strip() or None,
                        amount=_amount(seg[start + 1], "PLB amount")))
        elif sid == "SE":
            tx = None
            claim = service = None
    if version and version != VERSION:
        raise RemittanceFormatError(f"version {version!r} is not {VERSION}")
    if not transactions:
        raise RemittanceFormatError("the interchange holds no 835 transaction")
    return [_remittance(isa13, t) for t in transactions]


def _remittance(isa13: str, tx: _Transaction) -> Remittance:
    v = tx.values
    if "amount" not in v:
        raise RemittanceFormatError("the 835 has no BPR segment")
    if not v.get("trace"):
        raise RemittanceFormatError("the 835 has no TRN02 trace number")
    return Remittance.model_validate({
        "interchange_control_number": isa13, "transaction_control_number": v.get("st02", ""),
        "handling_code": v.get("handling", ""), "payment_amount": v["amount"], "payment_method": v.get("method", ""),
        "payment_date": v.get("payment_date"), "trace_number": v["trace"], "payer_id": v.get("payer_id"),
        "payer_name": v.get("payer_name", ""), "payee_name": v.get("payee_name", ""), "payee_id": v.get("payee_id"),
        "provider_adjustments": tx.provider_adjustments,
        "claims": [
            ClaimPayment.model_validate({
                **c.values, "adjustments": c.adjustments, "remarks": c.remarks,
                "services": [ServicePayment.model_validate({**s.values, "adjustments": s.adjustments,
                                                            "remarks": s.remarks}) for s in c.services],
            })
            for c in tx.claims
        ],
    })
