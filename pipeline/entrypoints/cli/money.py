"""Getting paid: `superbill remittances list|show|fetch` and `superbill ar`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from pipeline.entrypoints.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    CommandFailed,
    date_arg,
    err,
    print_json,
    runtime_deps,
    whole_number,
)


def cmd_remittances_list(args: argparse.Namespace) -> int:
    from pipeline.application.remittances import list_remittances

    rows = list_remittances(runtime_deps(args))
    if args.json:
        print_json({"remittances": rows})
        return EXIT_OK
    if not rows:
        print("no remittances received yet")
        return EXIT_OK
    header = f"{'remittance':<12} {'received (UTC)':<20} {'status':<14} {'trace':<14} {'paid':>10} {'date':<10} claims"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(remittance_row_text(r))
    print(f"{len(rows)} remittance(s)")
    return EXIT_OK


def remittance_row_text(r: dict[str, Any]) -> str:
    """One line of `remittances list`: every claim not posted is counted by why, and a file with errors (its
    BPR02 does not balance) says so, so that what needs a person shows in the list."""
    when = datetime.fromtimestamp(r["received_at"], UTC).strftime("%Y-%m-%d %H:%M:%S")
    extra = "".join(f", {r[key]} {words}" for key, words in (
        ("unmatched", "unmatched"), ("not_postable", "not postable"), ("duplicate", "duplicate"),
        ("waiting", "waiting")) if r.get(key))
    extra += f", delivered {r['deliveries']} times" if r["deliveries"] > 1 else ""
    errors = r.get("errors") or []
    flag = f"; {len(errors)} error(s): remittances show {r['remittance_id']}" if errors else ""
    return (f"{r['remittance_id']:<12} {when:<20} {r['status']:<14} {r.get('trace_number') or '-':<14} "
            f"{r.get('payment_amount') or '-':>10} {r.get('payment_date') or '-':<10} "
            f"{r['claims']} ({r['posted']} posted{extra}){flag}")


def cmd_remittances_show(args: argparse.Namespace) -> int:
    from pipeline.application.remittances import show_remittance

    shown = show_remittance(runtime_deps(args), args.remittance_id, with_x12=args.json or args.x12)
    if shown is None:
        err(f"no remittance {args.remittance_id}")
        return EXIT_ERROR
    if args.json:
        print_json(shown)
        return EXIT_OK
    print(remittance_text(shown))
    if args.x12:
        print(str(shown["x12"]).replace("~", "~\n"))
    return EXIT_OK


def _adjustment_outcome(a: dict[str, Any]) -> str:
    """What became of a PLB adjustment: posted against a claim, or why not (nothing for one about the payment)."""
    if not a.get("outcome") or a["outcome"] == "provider_level":
        return ""
    return (f"; reference {a.get('reference') or '-'} -> {a['outcome']}"
            + (f" on claim {a['claim_id']}" if a.get("claim_id") else "")
            + (f": {a['detail']}" if a.get("detail") else ""))


def remittance_text(r: dict[str, Any]) -> str:
    lines = [f"remittance {r['remittance_id']} ({r['source_id'] or 'no id'} at the clearinghouse): {r['status']}",
             f"payment {r.get('payment_amount') or '-'} by {r.get('payment_method') or '-'} on "
             f"{r.get('payment_date') or '-'}, trace {r.get('trace_number') or '-'}, payer {r.get('payer') or '-'}"]
    checks = r.get("checks") or []
    if len(checks) > 1:
        lines[-1] = f"{len(checks)} payments, {r.get('payment_amount') or '-'} in all, payer {r.get('payer') or '-'}"
        lines += [f"  payment {c['payment_amount']} by {c['payment_method'] or '-'} on {c['payment_date'] or '-'}, "
                  f"trace {c['trace_number']}, payer {c['payer'] or '-'} ({c['claims']} claim(s))" for c in checks]
    if r["deliveries"] > 1:
        lines.append(f"delivered {r['deliveries']} times, posted once")
    lines += [f"provider adjustment {a['code']}: {a['amount']} ({a['text']}; taken off the payment, added when "
              f"negative)" + _adjustment_outcome(a) for a in r.get("provider_adjustments") or []]
    lines += [f"error: {e}" for e in r["errors"]]
    for c in r["claims"]:
        posting = c.get("posting") or {}
        lines.append(f"  claim {c['claim_id']}: CLP02 {c['status_code']}, charge {c['charge']}, paid {c['paid']}"
                     f" -> {c['outcome']}" + (f" ({c['status']})" if c.get("status") else "")
                     + (f": {c['detail']}" if c.get("detail") else ""))
        lines += [f"      {reason['code']}: {reason['text']}" for reason in posting.get("reasons", [])]
        for line in posting.get("lines", []):
            where = f"line {line['line_number']}" if line["line_number"] else "no line"
            lines.append(f"      {line['procedure']} {' '.join(line['modifiers'])}".rstrip()
                         + f": charge {line['charge']}, paid {line['paid']} ({where}, by {line['matched_by']})")
        lines += [f"      warning: {w}" for w in posting.get("warnings", [])]
    return "\n".join(lines)


def cmd_remittances_fetch(args: argparse.Namespace) -> int:
    from pipeline.application.remittances import fetch_and_post
    from pipeline.application.steps import FETCH_REMITTANCES
    from pipeline.entrypoints.runtime import send

    deps = runtime_deps(args)
    if args.queue:
        send(FETCH_REMITTANCES, "")
        counts: dict[str, Any] = {"queued": True}
    else:
        counts = fetch_and_post(deps)
    if args.json:
        print_json(counts)
    elif args.queue:
        print("asked the workers to fetch and post the remittances")
    elif not counts:
        print("another process is fetching remittances right now; nothing done")
    else:
        print(f"fetched {counts['fetched']} file(s), {counts['new']} new; posted {counts['claims_posted']} claim(s)")
    return EXIT_OK


def cmd_ar(args: argparse.Namespace) -> int:
    from config.settings import load_settings
    from pipeline.application.receivables import FutureDay, receivables

    deps = runtime_deps(args)
    warning = args.warn_days if args.warn_days is not None else load_settings().timely_filing_warning_days
    try:
        report = receivables(deps.ledger, today=deps.today(), as_of=args.as_of, warning_days=warning,
                             zone=deps.practice.practice.zone)
    except FutureDay as exc:
        raise CommandFailed(f"--as-of {exc}: what is owed is known up to today", EXIT_REFUSED) from None
    if args.json:
        print_json(report)
    else:
        print(ar_text(report))
    return EXIT_OK


def ar_text(a: dict[str, Any]) -> str:
    t = a["totals"]
    lines = [f"accounts receivable of direct-billing claims as of {a['as_of']} ({a['claims']} claims)",
             f"  billed {t['billed']}   paid {t['paid']}   adjusted {t['adjusted']}   outstanding {t['outstanding']}",
             "", f"  {'payer':<20} {'0-30':>10} {'31-60':>10} {'61-90':>10} {'90+':>10} {'total':>10}"]
    for payer, row in a["by_payer"].items():
        lines.append(f"  {payer[:20]:<20} {row['0-30']:>10} {row['31-60']:>10} {row['61-90']:>10} {row['90+']:>10} "
                     f"{row['total']:>10}")
    b = a["by_bucket"]
    lines.append(f"  {'all payers':<20} {b['0-30']:>10} {b['31-60']:>10} {b['61-90']:>10} {b['90+']:>10} "
                 f"{t['outstanding']:>10}")
    if a["outstanding"]:
        lines += ["", "  outstanding claims:"]
        lines += [f"    {r['claim_id']:<22} {r['status']:<10} {r['date_of_service']} ({r['age_days']} days) "
                  f"owed {r['outstanding']}" + (f"  denied: {', '.join(r['denial_codes'])}" if r["denial_codes"]
                                                else "") for r in a["outstanding"][:50]]
    if a.get("voided"):
        lines += ["", f"  voided (owe nothing): {len(a['voided'])}: {', '.join(a['voided'][:20])}"
                      + (" ..." if len(a["voided"]) > 20 else "")]
    tf = a["timely_filing"]
    lines += ["", f"  not paid {tf['warning_days']} days or more after the date of service "
                  f"(limit {tf['limit_days']}): {len(tf['claims'])}"]
    lines += [f"    {r['claim_id']:<22} {r['status']:<10} {r['date_of_service']}  {r['days_left']} days left"
              for r in tf["claims"]]
    if a.get("clients") is not None:
        lines += ["", *clients_text(a["clients"])]
    return "\n".join(lines)


def clients_text(c: dict[str, Any]) -> list[str]:
    """What clients owe the practice (statements, sessions not billed yet): totals, by age, each balance."""
    b = c["by_bucket"]
    lines = [f"what clients owe the practice ({c['claims']} claim(s): statements, and sessions not billed yet)",
             f"  billed {c['billed']}   paid by clients {c['paid']}   outstanding {c['outstanding']}",
             f"  {'':<20} {'0-30':>10} {'31-60':>10} {'61-90':>10} {'90+':>10} {'total':>10}",
             f"  {'all clients':<20} {b['0-30']:>10} {b['31-60']:>10} {b['61-90']:>10} {b['90+']:>10} "
             f"{c['outstanding']:>10}"]
    if c["balances"]:
        lines += ["", "  balances:"]
        lines += [f"    {r['claim_id']:<22} {r['status']:<15} {r['date_of_service']} ({r['age_days']} days) "
                  f"paid {r['paid']} of {r['billed']}, owed {r['outstanding']}" for r in c["balances"][:50]]
    return lines


def register(sub: Any) -> None:
    remits = sub.add_parser("remittances", help="the payers' remittances (835) received and what they posted"
                            ).add_subparsers(dest="remittances_cmd", required=True, metavar="SUBCOMMAND")
    p = remits.add_parser("list", help="every remittance file received, oldest first")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_remittances_list)
    p = remits.add_parser("show", help="one remittance: its claims, what was posted, what matched nothing")
    p.add_argument("remittance_id")
    p.add_argument("--x12", action="store_true", help="also print the 835 itself")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_remittances_show)
    p = remits.add_parser("fetch", help="fetch new remittances from the clearinghouse and post them now")
    p.add_argument("--queue", action="store_true", help="ask the workers to do it instead of this process")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_remittances_fetch)
    p = sub.add_parser("ar", help="what is owed on direct-billing claims (by payer and age, timely filing) and "
                       "by clients")
    p.add_argument("--warn-days", type=whole_number, metavar="DAYS",
                   help="flag claims not paid this many days after the date of service "
                        "(default $SUPERBILL_TIMELY_FILING_WARNING_DAYS, else 150)")
    p.add_argument("--as-of", type=date_arg, metavar="DATE",
                   help="what was owed at the end of this day, not after today (default: now)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ar)
