"""Plain-text views for the terminal: a decision, a claim with its timeline, a claims table, the summary."""

from __future__ import annotations

import json
from datetime import UTC, datetime, tzinfo
from typing import Any

from pipeline.application import explanations


def _when(ts: float | None, zone: tzinfo | None = None) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone(zone or UTC).strftime("%Y-%m-%d %H:%M:%S %Z") if ts else "-"


def _findings(title: str, items: list[dict[str, str]]) -> list[str]:
    if not items:
        return [f"{title}: none"]
    return [f"{title}:"] + [f"  - {i['code']}: {i['message']}" for i in items]


def superbill_lines(bill: dict[str, Any] | None) -> list[str]:
    if not bill:
        return ["superbill: none (unknown therapist or no billable time)"]
    out = [f"superbill: date of service {bill['date_of_service']}, place of service {bill['place_of_service']}",
           f"  diagnoses: {', '.join(bill['diagnosis_codes']) or '-'}",
           f"  {'CPT':<6} {'modifiers':<10} {'min':>4} {'units':>5} {'pointers':<9} {'charge':>9}"]
    for line in bill["lines"]:
        pointers = ",".join(str(p) for p in line["diagnosis_pointers"]) or "-"
        out.append(f"  {line['cpt']:<6} {' '.join(line['modifiers']) or '-':<10} {line['minutes']:>4} "
                   f"{line['units']:>5} {pointers:<9} {line['charge']:>9}")
    out += [f"  {'total charge':>38} {bill['total_charge']:>9}",
            f"  {'amount paid':>38} {bill['amount_paid']:>9}",
            f"  {'balance due':>38} {bill['balance_due']:>9}"]
    return out


def decision_text(d: dict[str, Any]) -> str:
    lines = [f"claim {d['claim_id']} (session {d['session_id']})", f"route: {d['route']}"]
    lines += _findings("problems", d["problems"]) + _findings("warnings", d["warnings"])
    lines += superbill_lines(d.get("superbill"))
    return "\n".join(lines)


def claims_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no claims match"
    header = f"{'claim':<22} {'session':<26} {'status':<16} {'route':<20} {'service':<10} {'payer':<18} why"
    out = [header, "-" * len(header)]
    for r in rows:
        why = ", ".join(r["problems"]) or "; ".join(r.get("peer_reasons") or []) or (r.get("last_error") or "")
        if r.get("denial_codes"):
            why = "denied: " + ", ".join(r["denial_codes"])
        elif r.get("paid_amount") is not None and r["status"] == "paid":
            why = f"paid {r['paid_amount']}"
        who = f"{r['client']['name']} ({r['client']['date_of_birth']})  " if r.get("client") else ""
        out.append(f"{r['claim_id']:<22} {r['session_id'][:26]:<26} {r['status']:<16} {r['route'] or '-':<20} "
                   f"{r['date_of_service'] or '-':<10} {(r['payer'] or '-')[:18]:<18} {who}{why}")
    out.append(f"{len(rows)} claim(s)")
    return "\n".join(out)


def claim_text(c: dict[str, Any], zone: tzinfo | None = None) -> str:
    lines = [
        f"claim {c['claim_id']}  (session {c['session_id']}, event {c['event_id']})",
        f"status: {c['status']}   route: {c['route'] or '-'}   submission #{c['submission_no']}   "
        f"attempts: {c['attempts']}",
        f"payer: {c['payer'] or '-'}   therapist: {c['therapist_id'] or '-'}   "
        f"date of service: {c['date_of_service'] or '-'}",
    ]
    if c.get("peer_reference"):
        lines.append(f"peer reference: {c['peer_reference']}")
    if c.get("document_number"):
        lines.append(f"document: {c['document_number']}")
    if c.get("statement_delivery"):
        why = f" ({c['statement_error']})" if c.get("statement_error") else ""
        lines.append(f"statement e-mail: {c['statement_delivery']}{why}"
                     + (f"   message id {c['statement_message_id']}" if c.get("statement_message_id") else ""))
    if c.get("peer_reasons"):
        lines += ["peer's reasons:"] + [f"  - {r}" for r in c["peer_reasons"]]
    if c.get("last_error"):
        lines.append(f"last error: {c['last_error']}")
    if c.get("client"):
        who = c["client"]
        lines.append(f"client: {who['name']}, born {who['date_of_birth']}, member id {who['member_id'] or '-'}")
    lines += payment_lines(c)
    if explanations.from_last_run(c):
        lines.append(explanations.LAST_RUN)
    lines += _findings("problems", c["problems"]) + _findings("warnings", c["warnings"])
    found = explanations.claim_explanations([p["code"] for p in c["problems"]], [w["code"] for w in c["warnings"]],
                                            c.get("peer_reasons") or [], c.get("last_error"),
                                            [r["code"] for r in c.get("denial_reasons") or []], c["status"],
                                            coverage_kind=c.get("coverage_kind"))
    if found:
        lines.append("what to do:")
        for code, e in found:
            lines.append(f"  - {code}: {e.title}. {e.next_step} {e.resubmit_hint}")
    lines += pending_lines(c, with_values=bool(c.get("client")), zone=zone)
    lines += superbill_lines(c.get("superbill"))
    lines.append("timeline:")
    for e in c["timeline"]:
        extra = {k: v for k, v in e.items() if k not in ("at", "kind", "event")}
        detail = " ".join(f"{k}={v}" for k, v in extra.items())
        lines.append(f"  {_when(e['at'], zone)}  {e['kind']:<24} {detail}")
    return "\n".join(lines)


def pending_lines(c: dict[str, Any], *, with_values: bool = False, zone: tzinfo | None = None) -> list[str]:
    """The booking system's update waiting on the claim: the sections and paths it changes (their values only with
    the client's data asked for: patient data)."""
    waiting = c.get("pending_event")
    if not waiting:
        return []
    at = datetime.fromisoformat(waiting["received_at"]).timestamp()
    lines = [f"update from the booking system waiting: event {waiting['event_id']} received {_when(at, zone)}, "
             "not applied; it changes:"]
    for s in waiting["sections"]:
        note = "" if s["applicable"] else f"  (not applied: {s.get('why_not') or 'cannot be amended'})"
        lines.append(f"  - {s['section']}: {', '.join(s['paths'])}{note}")
        if with_values and "update" in s:
            lines.append(f"      now:    {json.dumps(s.get('now'), ensure_ascii=False)}")
            lines.append(f"      update: {json.dumps(s.get('update'), ensure_ascii=False)}")
    lines.append(f"  apply it: superbill claims apply-update {c['claim_id']} --by NAME [--dry-run] [--resubmit]")
    return lines


def payment_lines(c: dict[str, Any]) -> list[str]:
    """What the payer's remittances said about the claim."""
    if not c.get("remittance_ids"):
        return []
    lines = [f"payment: paid {c.get('paid_amount') or '0.00'}, adjusted {c.get('adjusted_amount') or '0.00'}, "
             f"patient responsibility {c.get('patient_responsibility') or '0.00'}; payer claim "
             f"{c.get('payer_claim_number') or '-'}, check/EFT {c.get('payment_trace') or '-'} on "
             f"{c.get('paid_on') or '-'} (remittances {', '.join(c['remittance_ids'])})"]
    recovered = c.get("recovered_amount")
    if recovered and float(recovered) != 0:
        lines.append(f"recovered by the payer (PLB): {recovered} (negative: added back, to be recovered later)")
    for part in c.get("denied_parts") or []:
        lines.append(f"part denied: {part['charge']} (lines {', '.join(str(n) for n in part['lines']) or '-'}), "
                     f"written off {part['adjusted']}, patient owes {part['patient_responsibility']}")
        lines += [f"  - {r['code']}: {r['text']}" for r in part.get("reasons") or []]
    if c.get("denial_reasons"):
        lines += ["denied because:"] + [f"  - {r['code']}: {r['text']}" for r in c["denial_reasons"]]
    return lines


def summary_text(s: dict[str, Any]) -> str:
    out = ["queues (ready / delayed / in progress / dead, oldest ready age):"]
    for q in s["queues"]:
        age = f"{q['oldest_ready_age_s']} s" if q["oldest_ready_age_s"] is not None else "-"
        out.append(f"  {q['queue']:<16} {q['ready']:>5} {q['delayed']:>5} {q['in_progress']:>5} {q['dead']:>5}   {age}")
    if s.get("waiting_without_worker"):
        out.append(f"no worker is running: {s['waiting_without_worker']} step(s) wait in the queues and no claim "
                   "moves until one starts (superbill worker)")
    out.append(f"claims: {s['claims']['total']}")
    out += [f"  {k:<16} {v:>5}" for k, v in s["claims"]["by_status"].items() if v]
    out.append("by route:")
    out += [f"  {k:<20} {v:>5}" for k, v in s["claims"]["by_route"].items()]
    last = s["last_24h"]
    out.append(f"last 24 hours: {last['failed']} failed, {last['rejected']} rejected")
    out += [f"  {n:>3} x {reason}" for reason, n in last["by_reason"].items()]
    out += timely_filing_lines(s.get("timely_filing"))
    late = s["past_timely_filing_warning"]
    out.append(f"not accepted 30 days after the visit: {len(late)}")
    out += [f"  {x['claim_id']} ({x['status']}, {x['age_days']} days)" for x in late[:20]]
    out.append(f"refused events: {s['refused_events']}")
    return "\n".join(out)


def timely_filing_lines(tf: dict[str, Any] | None) -> list[str]:
    """The claims near the payer's filing limit, oldest first, each with its days left."""
    if not tf:
        return []
    within = tf["limit_days"] - tf["warning_days"]
    rows = tf["claims"]
    return [f"Timely filing: {len(rows)} claim(s) within {within} days of the {tf['limit_days']}-day limit"] + [
        f"  {x['claim_id']} ({x['status']}, {x['days_left']} days left, {x['age_days']} days after the visit)"
        for x in rows[:20]] + ([f"  ... and {len(rows) - 20} more: superbill ar"] if len(rows) > 20 else [])


def daily_summary_text(d: dict[str, Any]) -> str:
    final = ", ".join(f"{n} {status}" for status, n in sorted(d["final_last_24h"].items())) or "none"
    waiting = ", ".join(f"{n} {status}" for status, n in d["open_needing_a_person"].items())
    lines = [f"daily summary up to {d['period_end']}", f"  final in the last 24 hours: {final}",
             f"  waiting for a person: {waiting}"]
    lines += [f"  {n} x {reason}" for reason, n in d["failures_last_24h_by_reason"].items()]
    late = d["past_timely_filing_warning"]
    lines.append(f"  past the 30-day filing warning: {len(late)}" + (f" ({', '.join(late[:10])})" if late else ""))
    risk = d.get("timely_filing_risk") or []
    lines.append(f"  not paid and near the 180-day filing limit: {len(risk)}" + (f" ({', '.join(risk[:10])})"
                                                                               if risk else ""))
    remitted = ", ".join(f"{n} {status}" for status, n in sorted((d.get("remitted_last_24h") or {}).items()))
    lines.append(f"  remittances posted in the last 24 hours: {remitted or 'none'}")
    lines.append(f"  refused events: {d['refused_events']}; dead messages: {d['dead_messages']}")
    return "\n".join(lines)
