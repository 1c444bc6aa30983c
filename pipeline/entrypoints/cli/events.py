"""Events in: `superbill ingest` and `superbill refused list|show|replay`."""

from __future__ import annotations

import argparse
import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.entrypoints.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    add_paging,
    an_id,
    err,
    print_json,
    read_input,
    runtime_deps,
    stderr_console,
)


def cmd_ingest(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from pipeline.application.ingest import receive
    from pipeline.entrypoints.runtime import send

    deps = runtime_deps(args)
    # numbered as in the file, blank lines included, so that "line 7" is the seventh line an editor shows
    lines = [(n, ln) for n, ln in enumerate(read_input(args.file).splitlines(), 1) if ln.strip()]
    counts: dict[str, int] = {}
    refused: list[tuple[int, dict[str, Any]]] = []
    with Progress(transient=True, console=stderr_console()) as progress:
        task = progress.add_task(f"ingesting {args.file}", total=len(lines))
        for number, line in lines:
            outcome = receive(deps.ledger, line, send, source=f"ingest:{Path(args.file).name}:{number}")
            status = outcome.body.get("status", str(outcome.http_status))
            counts[status] = counts.get(status, 0) + 1
            if not outcome.accepted:
                refused.append((number, outcome.body))
            progress.advance(task)
    summary = {"lines": len(lines), **counts,
               "refused_lines": [{"line": n, "refused_id": b.get("refused_id"), "errors": b.get("errors")}
                                 for n, b in refused]}
    if args.json:
        print_json(summary)
    else:
        print(f"{len(lines)} events: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        for n, body in refused:
            print(f"  line {n} refused ({body.get('refused_id')}):")
            for e in body.get("errors", []):
                print(f"    {e['path']}: {e['message']}")
    return EXIT_OK if not refused else EXIT_REFUSED


def cmd_refused(args: argparse.Namespace) -> int:
    from pipeline.application.ops import ALREADY_REPLAYED, replay_refused
    from pipeline.entrypoints.runtime import send

    deps = runtime_deps(args)
    if args.refused_cmd == "list":
        from pipeline.application.ops import BadCursor, list_refused_page

        paged, next_cursor = args.limit is not None or args.cursor is not None, None
        try:
            if paged:
                page, next_cursor = list_refused_page(deps.ledger, limit=args.limit or 100, cursor=args.cursor)
            else:
                page = deps.ledger.list_refused()
        except BadCursor as exc:
            err(f"--cursor {exc}")
            return EXIT_REFUSED
        rows = [r.summary() for r in page]
        if args.json:
            print_json({"refused": rows, **({"next_cursor": next_cursor} if paged else {})})
        else:
            for r, record in zip(rows, page, strict=True):
                when = datetime.fromtimestamp(r["received_at"], UTC).strftime("%Y-%m-%d %H:%M:%S")
                first = r["errors"][0] if r["errors"] else {"path": "", "message": ""}
                more = f" (+{len(r['errors']) - 1} more)" if len(r["errors"]) > 1 else ""
                replay = record.replay_text()
                print(f"{r['refused_id']}  {when}  {r['http_status']}  {first['path']}: {first['message']}{more}"
                      + (f"  [{replay}]" if replay else ""))
            if not rows:
                print("no refused events")
            if next_cursor:
                err(f"more: --cursor {next_cursor}")
        return EXIT_OK
    refused = deps.ledger.get_refused(args.refused_id)
    if refused is None:
        err(f"no refused event {args.refused_id}")
        return EXIT_ERROR
    if args.refused_cmd == "show":
        try:
            document = {**refused.summary(), "body": refused.body.decode("utf-8")}
        except UnicodeDecodeError:  # not text: show it exactly, as base64
            document = {**refused.summary(), "body_base64": base64.b64encode(refused.body).decode()}
        if args.json:
            print_json(document)
        else:
            print(f"{refused.refused_id}: HTTP {refused.http_status} from {refused.source}")
            for e in refused.errors:
                print(f"  {e['path']}: {e['message']}")
            print("body:" if "body" in document else "body (not UTF-8 text; base64):")
            print(document.get("body", document.get("body_base64")))
        return EXIT_OK
    body = read_input(args.file) if args.file else None
    outcome = replay_refused(deps.ledger, args.refused_id, send, body=body, again=args.again)
    assert outcome is not None
    if outcome.http_status == ALREADY_REPLAYED:
        if args.json:
            print_json({"http_status": outcome.http_status, **outcome.body})
        err(f"{args.refused_id}: not replayed: already replayed as claim {outcome.body['claim_id']}; add --again "
            "to send it through intake once more")
        return EXIT_REFUSED
    from pipeline.entrypoints.cli.claims import audit_from_terminal

    audit_from_terminal(deps, "refused.replayed", refused_id=args.refused_id, corrected=body is not None or None,
                        http_status=outcome.http_status)
    if args.json:
        print_json({"http_status": outcome.http_status, **outcome.body})
    else:
        print(f"{args.refused_id}: {outcome.body.get('status')} (HTTP {outcome.http_status})"
              + (f", claim {outcome.body['claim_id']}" if "claim_id" in outcome.body else ""))
        for e in outcome.body.get("errors", []):
            print(f"  {e['path']}: {e['message']}")
    return EXIT_OK if outcome.accepted else EXIT_REFUSED


def register(sub: Any) -> None:
    p = sub.add_parser("ingest", help="send each line of a .jsonl file through the webhook's path")
    p.add_argument("file", metavar="FILE.jsonl")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)
    refused = sub.add_parser("refused", help="events we refused, and replay").add_subparsers(
        dest="refused_cmd", required=True, metavar="SUBCOMMAND")
    p = refused.add_parser("list", help="every refused event, oldest first, with its first error")
    p.add_argument("--json", action="store_true")
    add_paging(p, "refused events")
    p.set_defaults(func=cmd_refused)
    p = refused.add_parser("show", help="one refused event: its errors and the body exactly as received")
    p.add_argument("refused_id", type=an_id)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_refused)
    p = refused.add_parser("replay", help="send it through ingest again (optionally a corrected body)")
    p.add_argument("refused_id", type=an_id)
    p.add_argument("--file", metavar="EVENT.json", help="a corrected event to send instead")
    p.add_argument("--again", action="store_true",
                   help="replay an event already replayed as a claim once more (refused without it)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_refused)
