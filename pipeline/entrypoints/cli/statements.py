"""Client statements: `superbill statement --client ID --from DATE --to DATE -o FILE.pdf` (one superbill for a
date range), `superbill statement send ID` (e-mail a claim's statement again) and `superbill statement monthly`
(send the monthly statements that are due)."""

from __future__ import annotations

import argparse
from typing import Any

from pipeline.entrypoints.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    an_id,
    check_date_range,
    check_writable,
    date_arg,
    err,
    print_json,
    runtime_deps,
    write_output,
)


def cmd_statement(args: argparse.Namespace) -> int:
    if args.statement_cmd == "send":
        return cmd_send(args)
    if args.statement_cmd == "monthly":
        return cmd_monthly(args)
    missing = [flag for flag, value in (("--client", args.client), ("--from", args.since), ("--to", args.until),
                                        ("-o", args.output)) if value is None]
    if missing:  # a usage error: the parser says so (exit 2), as for any other argument missing
        args.statement_parser.error(f"give {', '.join(missing)} (superbill statement --client ID --from DATE "
                                    "--to DATE -o FILE.pdf), or `superbill statement send CLAIM_ID`")
    return cmd_period(args)


def cmd_period(args: argparse.Namespace) -> int:
    from pipeline.application.period_statements import NoSessions, period_statement
    from pipeline.entrypoints.cli.claims import audit_from_terminal

    check_date_range(args.since, args.until)
    check_writable(args.output)  # before a document number is given out
    deps = runtime_deps(args)
    try:
        statement = period_statement(deps, args.client, args.since, args.until)
    except NoSessions as exc:
        err(str(exc))
        return EXIT_ERROR
    audit_from_terminal(deps, "statement.issued", document_number=statement.document_number,
                        claim_ids=statement.claim_ids)
    write_output(args.output, statement.pdf)
    summary = {"document_number": statement.document_number, "issued_on": statement.issued_on.isoformat(),
               "replaces": statement.replaces, "claim_ids": statement.claim_ids, "file": args.output,
               "bytes": len(statement.pdf)}
    if args.json:
        print_json(summary)
    else:
        err(f"wrote statement {statement.document_number} ({len(statement.claim_ids)} session(s)) to {args.output}"
            + (f"; it replaces {statement.replaces}" if statement.replaces else ""))
    return EXIT_OK


def cmd_send(args: argparse.Namespace) -> int:
    from pipeline.application.statement_delivery import resend_statement
    from pipeline.entrypoints.cli.claims import audit_from_terminal, terminal_user
    from pipeline.entrypoints.runtime import send

    deps = runtime_deps(args)
    result = resend_statement(deps, send, args.claim_id, source="cli", by=terminal_user())
    if result.message == "no such claim":
        err(f"no claim {args.claim_id}")
        return EXIT_ERROR
    if result.ok:
        audit_from_terminal(deps, "statement.resent", claim_id=args.claim_id)
    if args.json:
        print_json({"claim_id": args.claim_id, "ok": result.ok, "message": result.message})
    elif result.ok:
        print(f"{args.claim_id}: {result.message}. Follow it with `superbill claims show {args.claim_id}`.")
    else:
        err(f"{args.claim_id}: {result.message}")
    if result.ok and deps.mailer is None:  # the worker sends it; with this command's settings it could not
        err("note: no mail server is set up here (SUPERBILL_SMTP_HOST); a worker without one records the "
            "statement as not sent (statement.not_sent on the claim's timeline)")
    return EXIT_OK if result.ok else EXIT_ERROR


def cmd_monthly(args: argparse.Namespace) -> int:
    from pipeline.application.monthly_statements import send_due_monthly_statements

    deps = runtime_deps(args)
    results = send_due_monthly_statements(deps, today=args.today)
    if args.json:
        print_json({"statements": results})
    else:
        for r in results:
            print(f"{r['client_id']:<20} {r['since']}..{r['until']}  {r['outcome']}  {r.get('detail', '')}".rstrip())
        if not results:
            print("no monthly statement is due")
    return EXIT_OK if all(r["outcome"] != "failed" for r in results) else EXIT_ERROR


def register(sub: Any) -> None:
    p = sub.add_parser("statement", help="client statements: one superbill for a date range; e-mail one again",
                       usage="superbill statement --client CLIENT_ID --from DATE --to DATE -o FILE [--json]\n"
                             "       superbill statement send CLAIM_ID [--json]\n"
                             "       superbill statement monthly [--today DATE] [--json]",
                       description="`superbill statement --client ID --from DATE --to DATE -o FILE.pdf` writes one "
                                   "superbill for all of a client's statement_ready sessions in the range. "
                                   "`superbill statement send CLAIM_ID` e-mails a claim's statement again. "
                                   "`superbill statement monthly` sends the monthly statements that are due.")
    p.add_argument("--client", type=an_id, metavar="CLIENT_ID", help="the client's id (client.client_id of the events)")
    p.add_argument("--from", dest="since", type=date_arg, metavar="DATE", help="first date of service (YYYY-MM-DD)")
    p.add_argument("--to", dest="until", type=date_arg, metavar="DATE", help="last date of service (YYYY-MM-DD)")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write the PDF")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_statement, statement_cmd=None, statement_parser=p)
    actions = p.add_subparsers(dest="statement_cmd", metavar="ACTION", prog="superbill statement")
    s = actions.add_parser("send", help="e-mail a statement_ready claim's statement to the client again")
    s.add_argument("claim_id", type=an_id)
    s.add_argument("--json", action="store_true")
    s = actions.add_parser("monthly", help="send the monthly statements that are due (clients on a monthly schedule)")
    s.add_argument("--today", type=date_arg, metavar="DATE", help="act as if today were DATE (default: today)")
    s.add_argument("--json", action="store_true")
