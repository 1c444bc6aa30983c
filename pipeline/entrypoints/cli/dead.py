"""`superbill dead list|show|retry|clear`: the steps whose retries ran out, from the terminal."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from pipeline.entrypoints.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    CommandFailed,
    add_paging,
    an_id,
    err,
    print_json,
    runtime_deps,
)


def _when(epoch_s: float | None) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%d %H:%M:%S") if epoch_s is not None else "-"


def _which(args: argparse.Namespace) -> list[str] | None:
    """The message ids given, or None for `--all`; a usage error (exit 2) for neither or both."""
    if args.all and args.message_ids:
        raise CommandFailed("give message ids or --all, not both", EXIT_REFUSED)
    if not args.all and not args.message_ids:
        raise CommandFailed("say which dead letters: message ids, or --all", EXIT_REFUSED)
    return None if args.all else list(args.message_ids)


def _by(args: argparse.Namespace) -> str:
    name = args.by.strip()
    if not name:
        raise CommandFailed("--by: give the name of the person doing it", EXIT_REFUSED)
    return name


def _audit(deps: Any, action: str, by: str, **detail: Any) -> None:
    import getpass

    from pipeline.application import staff

    if deps.staff is not None:
        who = getpass.getuser()
        staff.audit(deps.staff, action, staff.Actor(who, f"{by} (as {who} at the terminal)", "cli"), **detail)


def cmd_dead(args: argparse.Namespace) -> int:
    from pipeline.application import dead_letters

    deps = runtime_deps(args)
    try:
        return _run(args, deps)
    except dead_letters.UnknownQueue as exc:
        err(str(exc))
        return EXIT_REFUSED


def _run(args: argparse.Namespace, deps: Any) -> int:
    from pipeline.application import dead_letters

    action = args.dead_cmd
    if action == "list" and args.queue is None:
        counts = dead_letters.counts(deps)
        if args.json:
            print_json(counts)
        else:
            for row in counts["queues"]:
                print(f"{row['queue']:<16} {row['dead']:>6}")
            print(f"{'total':<16} {counts['total']:>6}")
        return EXIT_OK
    if action == "list":
        try:
            page, next_cursor = dead_letters.list_page(deps, args.queue, limit=args.limit or 100, cursor=args.cursor)
        except dead_letters.BadCursor as exc:
            err(f"--cursor {exc}")
            return EXIT_REFUSED
        if args.json:
            print_json({"queue": args.queue, "dead_letters": [x.as_dict() for x in page], "next_cursor": next_cursor})
        else:
            for x in page:
                print(f"{x.message_id}  {x.step or x.actor or '-':<18} {x.claim_id or '-':<24} "
                      f"{_when(x.dead_since)}  retries {x.retries}  {x.error_kind or '-'}")
            if not page:
                print(f"no dead letters in {args.queue}")
        if next_cursor:
            err(f"more: --cursor {next_cursor}")
        return EXIT_OK
    if action == "show":
        shown = dead_letters.show(deps, args.queue, args.message_id)
        if shown is None:
            err(f"no dead letter {args.message_id} in {args.queue}")
            return EXIT_ERROR
        if args.json:
            print_json(shown)
        else:
            for key in ("queue", "message_id", "step", "actor", "claim_id", "claim_status", "retries", "error_kind"):
                print(f"{key}: {shown[key] if shown[key] is not None else '-'}")
            print(f"dead_since: {_when(shown['dead_since'])}")
            print(f"enqueued_at: {_when(shown['enqueued_at'])}")
            print(f"retry: {shown['retry']}")
        return EXIT_OK
    ids, by = _which(args), _by(args)
    if action == "retry":
        outcome = dead_letters.retry(deps, args.queue, ids, by=by)
        if outcome.retried or outcome.skipped:
            _audit(deps, "dead_letters.retried", by, queue=args.queue,
                   message_ids=[r["message_id"] for r in outcome.retried], skipped=len(outcome.skipped) or None)
    else:
        outcome = dead_letters.clear(deps, args.queue, ids)
        _audit(deps, "dead_letters.cleared", by, queue=args.queue, count=outcome.cleared, message_ids=ids)
    if args.json:
        print_json(outcome.as_dict())
    else:
        for r in outcome.retried:
            print(f"retried {r['message_id']}: {r['step']} for {r['claim_id'] or '-'}")
        for s in outcome.skipped:
            print(f"skipped {s['message_id']} ({s['claim_id'] or '-'}): {s['reason']}")
        if action == "clear":
            print(f"cleared {outcome.cleared} dead letter(s) of {args.queue}")
        elif not outcome.retried and not outcome.skipped and not outcome.not_found:
            print(f"no dead letters in {args.queue}")
    for mid in outcome.not_found:
        err(f"no dead letter {mid} in {args.queue}")
    if outcome.not_found:
        return EXIT_ERROR
    return EXIT_ERROR if action == "retry" and outcome.skipped and not outcome.retried else EXIT_OK


def register(sub: Any) -> None:
    dead = sub.add_parser("dead", help="steps whose retries ran out: list, show, retry, clear").add_subparsers(
        dest="dead_cmd", required=True, metavar="SUBCOMMAND")
    p = dead.add_parser("list", help="dead letters per queue, or one queue's: step, claim, when, retries, error kind")
    p.add_argument("queue", nargs="?", metavar="QUEUE", help="a queue (without it: the count of each queue)")
    p.add_argument("--json", action="store_true")
    add_paging(p, "dead letters")
    p.set_defaults(func=cmd_dead)
    p = dead.add_parser("show", help="one dead letter, its claim's status and what a retry would do")
    p.add_argument("queue", metavar="QUEUE")
    p.add_argument("message_id", type=an_id, metavar="MESSAGE_ID")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_dead)
    for name, text in (("retry", "send the step again where the claim's status still needs it (no second "
                                 "submission to a peer); the others are kept and said why"),
                       ("clear", "drop dead letters (the claims stay in the ledger)")):
        p = dead.add_parser(name, help=text)
        p.add_argument("queue", metavar="QUEUE")
        p.add_argument("message_ids", nargs="*", type=an_id, metavar="MESSAGE_ID")
        p.add_argument("--all", action="store_true", help="every dead letter of the queue")
        p.add_argument("--by", required=True, metavar="NAME", help="who is doing it (in the audit log)")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=cmd_dead)
