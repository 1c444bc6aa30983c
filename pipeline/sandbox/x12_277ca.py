"""277CA claim acknowledgments (005010X214) as the sandbox's Stedi shape sends them: Stedi's own (loop 2100A
`NM1*AY`, STEDI INC) and the payer's (`NM1*PR`), one claim each."""

from __future__ import annotations

from datetime import UTC, datetime


def render_277ca(*, claim_id: str, batch_trace: str, control_number: int, sender: str, category: str,
                 status: str, charge: str, payer_claim_number: str | None = None,
                 message: str | None = None, usage: str = "T", at: datetime | None = None,
                 service_date: str | None = None) -> str:
    """One claim's 277CA. `sender` is "stedi" or "payer"; `category:status` the STC01 (e.g. A2:20, A7:562)."""
    at = at or datetime.now(UTC)
    ymd, hm = at.strftime("%Y%m%d"), at.strftime("%H%M")
    source = ["NM1", "AY", "2", "STEDI INC", "", "", "", "", "46", "117151744"] if sender == "stedi" else \
        ["NM1", "PR", "2", "VA CCN OPTUM", "", "", "", "", "PI", "VACCN"]
    isa_sender = "STEDITEST" if usage == "T" else "STEDI"
    stc = ["STC", f"{category}>{status}", ymd, "WQ" if category in ("A1", "A2") else "U", charge]
    if message:
        stc += ["", "", "", "", "", "", "", message]
    body = [
        ["ST", "277", "0001", "005010X214"],
        ["BHT", "0085", "08", f"{claim_id}-ACK", ymd, hm, "TH"],
        ["HL", "1", "", "20", "1"], source, ["TRN", "1", f"ACK{control_number}"],
        ["DTP", "050", "D8", ymd], ["DTP", "009", "D8", ymd],
        ["HL", "2", "1", "21", "1"], ["NM1", "41", "2", "SUBMITTER", "", "", "", "", "46", "SUBMITTER"],
        ["TRN", "2", batch_trace], ["STC", "A1>19", ymd, "WQ", charge], ["QTY", "90", "1"], ["AMT", "YU", charge],
        ["HL", "3", "2", "19", "1"], ["NM1", "85", "2", "BILLING PROVIDER", "", "", "", "", "XX", "1245319599"],
        ["TRN", "1", "0"], ["STC", "A1>19", "", "WQ", charge], ["QTY", "QA", "1"], ["AMT", "YU", charge],
        ["HL", "4", "3", "PT"], ["NM1", "QC", "1", "PATIENT", "SANDBOX", "", "", "", "MI", "SANDBOX"],
        ["TRN", "2", claim_id], stc,
    ]
    if payer_claim_number:
        body.append(["REF", "1K", payer_claim_number])
    body.append(["DTP", "472", "D8", service_date or ymd])
    body.append(["SE", str(len(body) + 1), "0001"])
    isa = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", isa_sender.ljust(15), "ZZ", "SUBMITTER".ljust(15),
           at.strftime("%y%m%d"), hm, "^", "00501", f"{control_number:09d}", "0", usage, ">"]
    envelope = [isa, ["GS", "HN", isa_sender, "SUBMITTER", ymd, hm, str(control_number), "X", "005010X214"],
                *body, ["GE", "1", str(control_number)], ["IEA", "1", f"{control_number:09d}"]]
    return "".join("*".join(segment).rstrip("*") + "~" for segment in envelope)
