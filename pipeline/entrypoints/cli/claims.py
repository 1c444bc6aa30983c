"""Claims: `superbill claims list|show|statement|amend|apply-update|correct|void|pay` and `superbill resubmit`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pipeline.domain.client_payment import PAYMENT_METHODS
from pipeline.entrypoints.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    CommandFailed,
    add_filters,
    add_paging,
    an_id,
    check_date_range,
    claim_filter,
    date_arg,
    err,
    print_json,
    read_input,
    runtime_deps,
    stderr_console,
    write_output,
)


def terminal_user() -> str:
    """Who runs the command, as the timeline records it."""
    import getpass

    return f"{getpass.getuser()} (terminal)"


def audit_from_terminal(deps: Any, action: str, **detail: Any) -> None:
    import getpass

    from pipeline.application import staff

    if deps.staff is not None:
        who = getpass.getuser()
        staff.audit(deps.staff, action, staff.Actor(who, f"{who} at the terminal", "cli"), **detail)


def cmd_claims_list(args: argparse.Namespace) -> int:
    from pipeline.application.ops import BadCursor, identities, list_claims, list_claims_page
    from pipeline.entrypoints.cli.text import claims_table

    deps = runtime_deps(args)
    paged = args.limit is not None or args.cursor is not None
    next_cursor = None
    try:
        if paged:
            claims, next_cursor = list_claims_page(deps.ledger, claim_filter(args), limit=args.limit or 100,
                                                   cursor=args.cursor)
        else:
            claims = list_claims(deps.ledger, claim_filter(args))
    except BadCursor as exc:
        err(f"--cursor {exc}")
        return EXIT_REFUSED
    people = identities(deps.ledger, [c.claim_id for c in claims]) if args.with_client else {}
    rows = [{**c.summary(), **({"client": people[c.claim_id].as_dict()} if c.claim_id in people else {})}
            for c in claims]
    if args.json:
        print_json({"claims": rows, **({"next_cursor": next_cursor} if paged else {})})
    else:
        print(claims_table(rows))
        if next_cursor:
            err(f"more: --cursor {next_cursor}")
    return EXIT_OK


def cmd_claims_show(args: argparse.Namespace) -> int:
    from pipeline.application.ops import identities, show_claim
    from pipeline.entrypoints.cli.text import claim_text

    deps = runtime_deps(args)
    shown = show_claim(deps.ledger, args.claim_id)
    if shown is None:
        err(f"no claim {args.claim_id}")
        return EXIT_ERROR
    if args.with_client:
        person = identities(deps.ledger, [args.claim_id]).get(args.claim_id)
        shown["client"] = person.as_dict() if person else None
    if args.json:
        print_json(shown)
    else:
        print(claim_text(shown, zone=deps.practice.practice.zone))
    return EXIT_OK


def cmd_claims_statement(args: argparse.Namespace) -> int:
    from pipeline.application.statements import statement_pdf

    deps = runtime_deps(args)
    if deps.ledger.get(args.claim_id) is None:
        err(f"no claim {args.claim_id}")
        return EXIT_ERROR
    pdf = statement_pdf(deps.ledger, deps.practice, args.claim_id)
    if pdf is None:
        err(f"claim {args.claim_id} has no statement (only statement_ready and courtesy claims have one)")
        return EXIT_ERROR
    write_output(args.output, pdf)
    err(f"wrote {len(pdf)} bytes to {args.output}")
    return EXIT_OK


def cmd_claims_export(args: argparse.Namespace) -> int:
    from pipeline.application.exports import export_rows, render

    check_date_range(args.since, args.until)
    deps = runtime_deps(args)
    rows = list(export_rows(deps.ledger, args.since, args.until, with_client=args.with_client))
    text = render(rows, args.format, with_client=args.with_client)
    if args.output:
        write_output(args.output, text)
        err(f"wrote {len(rows)} claim(s) to {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def read_patch(path: str) -> dict[str, Any]:
    """An amendment file: a JSON object, or one line saying why not (`<path>: cannot read (<reason>)`, `<path>:
    not JSON (...)`, `<path>: must be a JSON object ...`), exit 1."""
    try:
        patch = json.loads(read_input(path))
    except json.JSONDecodeError as exc:
        raise CommandFailed(f"{path}: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except UnicodeDecodeError:
        raise CommandFailed(f"{path}: not JSON (not UTF-8 text)") from None
    if not isinstance(patch, dict):
        raise CommandFailed(f"{path}: must be a JSON object such as {{\"prescription\": {{...}}}}")
    return patch


def cmd_claims_amend(args: argparse.Namespace) -> int:
    from pipeline.application.ops import NO_SUCH_CLAIM, amend

    deps = runtime_deps(args)
    patch = read_patch(args.file)
    result = amend(deps.ledger, args.claim_id, patch, source="cli", by=terminal_user())
    if result.message == NO_SUCH_CLAIM:
        err(f"no claim {args.claim_id}")
        return EXIT_ERROR
    if result.ok and result.changed:
        audit_from_terminal(deps, "claim.amended", claim_id=args.claim_id, changed=result.changed)
    if args.json:
        print_json(result.__dict__)
    elif result.ok and not result.changed:
        print(f"{args.claim_id}: {result.message}")
    elif result.ok:
        print(f"{args.claim_id}: amended ({', '.join(result.changed)}). "
              f"Run `superbill resubmit {args.claim_id}` to apply.")
    else:
        err(f"{args.claim_id}: not amended. {result.message}")
        err(*(f"  {e['path']}: {e['message']}" for e in result.errors))
    return EXIT_OK if result.ok else EXIT_REFUSED


def cmd_claims_apply_update(args: argparse.Namespace) -> int:
    from pipeline.application.booking_updates import apply_update
    from pipeline.application.ops import NO_SUCH_CLAIM
    from pipeline.entrypoints.runtime import send

    deps = runtime_deps(args)
    result = apply_update(deps.ledger, deps.practice, args.claim_id, by=args.by, source="cli",
                          dry_run=args.dry_run, send=send, resubmit=args.resubmit)
    if result.message == NO_SUCH_CLAIM:
        err(f"no claim {args.claim_id}")
        return EXIT_ERROR
    if result.ok and not result.dry_run:
        audit_from_terminal(deps, "claim.update_applied", claim_id=args.claim_id, event_id=result.event_id,
                            changed=result.applied, by_name=args.by, resubmitted=result.resubmitted)
    if args.json:
        print_json(result.as_dict())
    elif result.ok and result.dry_run:
        preview = result.preview or {}
        problems = ", ".join(p["code"] for p in preview.get("problems", [])) or "none"
        print(f"{args.claim_id}: would apply {result.event_id} ({', '.join(result.applied)}); the rules would route "
              f"it {preview.get('route', '?')} (problems: {problems}). Nothing was stored.")
    elif result.ok:
        then = (f"Run `superbill resubmit {args.claim_id}` to send it." if not args.resubmit else
                "Resubmitted." if result.resubmitted else result.message[0].upper() + result.message[1:] + ".")
        print(f"{args.claim_id}: applied {result.event_id} ({', '.join(result.applied)}) by {args.by}. {then}")
    else:
        err(f"{args.claim_id}: not applied. {result.message}")
        err(*(f"  {e['path']}: {e['message']}" for e in result.errors))
    if result.not_applicable:
        err(f"  changed but not applied (amended by a person since the update arrived, or not amendable; "
            f"see `superbill claims show {args.claim_id}`): {', '.join(result.not_applicable)}")
    return EXIT_OK if result.ok else EXIT_REFUSED


def cmd_claims_correct(args: argparse.Namespace) -> int:
    from pipeline.application.ops import NO_SUCH_CLAIM, correct
    from pipeline.entrypoints.runtime import send

    deps = runtime_deps(args)
    patch = None
    if getattr(args, "file", None):
        patch = read_patch(args.file)
    result = correct(deps.ledger, args.claim_id, send, kind=args.kind, practice=deps.practice, patch=patch,
                     source="cli", by=terminal_user())
    if result.ok:
        audit_from_terminal(deps, "claim.voided" if args.kind == "void" else "claim.corrected",
                            claim_id=args.claim_id, changed=result.changed or None)
    if result.message == NO_SUCH_CLAIM:
        err(f"no claim {args.claim_id}")
        return EXIT_ERROR
    if args.json:
        print_json(result.__dict__)
    elif result.ok:
        print(f"{args.claim_id}: {result.message}" + (f"; changed {', '.join(result.changed)}" if result.changed
                                                     else ""))
    else:
        err(f"{args.claim_id}: not sent. {result.message}")
        err(*(f"  {e['path']}: {e['message']}" for e in result.errors))
    return EXIT_OK if result.ok else EXIT_REFUSED


def cmd_claims_pay(args: argparse.Namespace) -> int:
    from pipeline.application.client_payments import record_payment
    from pipeline.application.ops import NO_SUCH_CLAIM

    deps = runtime_deps(args)
    result = record_payment(deps, args.claim_id, amount=args.amount, method=args.method, by=args.by,
                            received_on=args.received_on, source="cli", idempotency_key=args.idempotency_key)
    if result.message == NO_SUCH_CLAIM:
        err(f"no claim {args.claim_id}")
        return EXIT_ERROR
    if result.ok and not result.replayed:
        audit_from_terminal(deps, "claim.payment_recorded", claim_id=args.claim_id, amount=result.amount,
                            method=result.method, received_on=result.received_on, taken_by=args.by.strip(),
                            document_number=result.document_number)
    if args.json:
        print_json(result.as_dict())
    elif result.ok:
        print(f"{args.claim_id}: {result.amount} ({result.method}, received {result.received_on}) recorded by "
              f"{args.by.strip()}. Paid {result.amount_paid}, balance due {result.balance_due}.")
        print(f"  {result.message}")
        if result.replayed:
            print("  (already recorded under this --idempotency-key: nothing was recorded again)")
    else:
        err(f"{args.claim_id}: {result.message}" if result.message.startswith("not recorded")
            else f"{args.claim_id}: not recorded. {result.message}")
        err(*(f"  --{e['path'].lower().replace('_', '-')}: {e['message']}" for e in result.errors))
    return EXIT_OK if result.ok else EXIT_REFUSED


def cmd_resubmit(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from pipeline.application.ops import NO_SUCH_CLAIM, resubmit, select_for_resubmit
    from pipeline.entrypoints.runtime import send

    deps = runtime_deps(args)
    if args.claim_ids and args.status:
        err("give claim ids or --status, not both")
        return EXIT_ERROR
    if not args.claim_ids and not args.status:
        err("give claim ids, or --status S (rejected, failed, needs_attention or denied) to pick them")
        return EXIT_ERROR
    try:
        ids = args.claim_ids or select_for_resubmit(deps.ledger, claim_filter(args))
    except ValueError as exc:
        err(str(exc))
        return EXIT_ERROR
    with Progress(transient=True, console=stderr_console()) as progress:
        task = progress.add_task("resubmitting", total=len(dict.fromkeys(ids)))
        result = resubmit(deps.ledger, ids, send, source="cli", dry_run=args.dry_run,
                          progress=lambda _: progress.advance(task), by=terminal_user(),
                          practice=deps.practice, anyway=args.anyway)
    if result.resubmitted and not args.dry_run:
        audit_from_terminal(deps, "claims.resubmitted", claim_ids=result.resubmitted, anyway=args.anyway or None)
    if args.json:
        print_json(result.as_dict())
    else:
        verb = "would resubmit" if args.dry_run else "resubmitted"
        print(f"{verb} {len(result.resubmitted)} claim(s){': ' if result.resubmitted else ''}"
              + ", ".join(result.resubmitted))
        if result.resumed:
            print(f"  never answered, sent again under their own key: {', '.join(result.resumed)}")
        for claim_id, ahead in result.previews.items():
            problems = f" ({', '.join(ahead['problems'])})" if ahead["problems"] else ""
            print(f"  {claim_id} would be routed {ahead['route']}{problems}")
        for s in result.skipped:
            print(f"  skipped {s['claim_id']}: {s['reason']}")
    unknown = [s["claim_id"] for s in result.skipped if s["reason"] == NO_SUCH_CLAIM]
    if unknown:  # the others went on their way; a mistyped id still tells the caller something is off
        err(*(f"no claim {c}" for c in unknown))
        return EXIT_ERROR
    return EXIT_OK if not result.skipped or result.resubmitted else EXIT_ERROR


def register(sub: Any) -> None:
    claims = sub.add_parser("claims", help="find, look at, fix claims").add_subparsers(
        dest="claims_cmd", required=True, metavar="SUBCOMMAND")
    p = claims.add_parser("list", help="claims, filtered")
    add_filters(p)
    p.add_argument("--search", metavar="TEXT",
                   help="client name, member id, claim or session id, or a date of service (patient data)")
    p.add_argument("--with-client", action="store_true", help="show who each claim is for (patient data)")
    add_paging(p, "claims")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_claims_list)
    p = claims.add_parser("show", help="one claim with its superbill, problems and timeline")
    p.add_argument("claim_id", type=an_id)
    p.add_argument("--with-client", action="store_true",
                   help="add the client's name, birth date, member id, referral and prescription (patient data)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_claims_show)
    p = claims.add_parser("statement", help="write a claim's statement PDF")
    p.add_argument("claim_id", type=an_id)
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.set_defaults(func=cmd_claims_statement)
    p = claims.add_parser("export", help="one row per claim with a date of service in a range, CSV or JSON lines")
    p.add_argument("--from", dest="since", type=date_arg, required=True, metavar="DATE",
                   help="first date of service (YYYY-MM-DD)")
    p.add_argument("--to", dest="until", type=date_arg, required=True, metavar="DATE",
                   help="last date of service (YYYY-MM-DD)")
    p.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    p.add_argument("--with-client", action="store_true",
                   help="add the client's name, date of birth and member id (patient data: handle with care)")
    p.set_defaults(func=cmd_claims_export)
    p = claims.add_parser("amend", help="attach or replace the prescription, VA referral, client or coverage")
    p.add_argument("claim_id", type=an_id)
    p.add_argument("--file", required=True, metavar="PATCH.json",
                   help='e.g. {"prescription": {...}} - sections: prescription, va_referral, client, coverage')
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_claims_amend)
    p = claims.add_parser("apply-update", help="apply the booking system's later event for the session (the "
                          "sections it changes) as an amendment")
    p.add_argument("claim_id", type=an_id)
    p.add_argument("--by", required=True, metavar="NAME", help="who applies it (on the claim's timeline)")
    p.add_argument("--dry-run", action="store_true", help="store nothing: show the decision the update would give")
    p.add_argument("--resubmit", action="store_true", help="resubmit the claim right after applying the update")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_claims_apply_update)
    p = claims.add_parser("correct", help="send a corrected claim (frequency 7) replacing the one the payer "
                          "adjudicated, optionally with amended data")
    p.add_argument("claim_id", type=an_id)
    p.add_argument("--file", metavar="AMENDMENT.json",
                   help='sections to change first, as for `claims amend`, e.g. {"va_referral": {...}}')
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_claims_correct, kind="replacement")
    p = claims.add_parser("void", help="void (frequency 8) a claim the payer adjudicated")
    p.add_argument("claim_id", type=an_id)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_claims_correct, kind="void")
    p = claims.add_parser("pay", help="record a payment the client made after the visit (a replacement "
                          "statement is e-mailed to them)")
    p.add_argument("claim_id", type=an_id)
    p.add_argument("--amount", required=True, metavar="AMOUNT", help="what the client paid, e.g. 40.00")
    p.add_argument("--method", required=True, choices=PAYMENT_METHODS, help="how they paid")
    p.add_argument("--received-on", type=date_arg, metavar="DATE",
                   help="the day the payment was received (YYYY-MM-DD; default: today, the practice's day)")
    p.add_argument("--by", required=True, metavar="NAME", help="who took the payment (on the claim's timeline)")
    p.add_argument("--idempotency-key", metavar="KEY",
                   help="for scripts that retry: the same command again with the same KEY (within 24 h) records "
                        "nothing and says what the first one recorded; KEY with another payment is refused")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_claims_pay)
    p = sub.add_parser("resubmit", help="resubmit rejected, failed, needs_attention or denied claims")
    p.add_argument("claim_ids", nargs="*", metavar="ID", type=an_id)
    add_filters(p, status_help="pick every claim in this status")
    p.add_argument("--dry-run", action="store_true", help="list what would be resubmitted")
    p.add_argument("--anyway", action="store_true",
                   help="also a needs-attention claim whose dry run finds the same problems again")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_resubmit)
