"""`superbill`: the command line (CONTRACT.md section 3)."""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from config.practice import Practice, PracticeConfigError, load_practice

EXIT_OK, EXIT_ERROR, EXIT_REFUSED = 0, 1, 2


def _err(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, default=str))


def _practice(args: argparse.Namespace) -> Practice:
    if args.practice:
        os.environ["SUPERBILL_PRACTICE"] = args.practice
    return load_practice(args.practice)


# check ------------------------------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    from pipeline.rules.decide import decide
    from pipeline.rules.intake import InputRejected, parse_event

    practice = _practice(args)
    try:
        raw = Path(args.event).read_bytes()
    except OSError as exc:
        _err(f"{args.event}: cannot read ({exc.strerror})")
        return EXIT_ERROR
    try:
        event = parse_event(raw)
    except InputRejected as exc:
        _err(f"{args.event}: refused as input ({len(exc.errors)} error{'s' * (len(exc.errors) != 1)}):")
        _err(*(f"  {e.path}: {e.message}" for e in exc.errors))
        return EXIT_REFUSED
    decision = decide(event, practice, visits_used=0)
    document = decision.model_dump(mode="json")
    if args.x12:
        if decision.route == "direct_billing":
            from pipeline.rules.x12_837p import render_837p

            try:
                x12 = render_837p(event, practice, decision, interchange_control_number=1,
                                  group_control_number=1, created_at=datetime.now(UTC))
            except ValueError as exc:
                _err(f"no 837P written: {exc}")
            else:
                Path(args.x12).write_text(x12)
                _err(f"wrote the 837P to {args.x12}")
        else:
            _err(f"no 837P written: the route is {decision.route}, not direct_billing")
    if args.pdf:
        if decision.superbill is None:
            _err("no PDF written: there is no superbill (unknown therapist or no billable time)")
        else:
            from pipeline.rules.superbill_pdf import render_superbill_pdf

            pdf = render_superbill_pdf(event, practice, decision, document_number=f"DRAFT-{decision.claim_id}",
                                       issued_on=date.today())
            Path(args.pdf).write_bytes(pdf)
            _err(f"wrote the superbill PDF to {args.pdf}")
    if args.json:
        _print_json(document)
    else:
        from pipeline.render_text import decision_text

        print(decision_text(document))
    return EXIT_OK


# commands that need the ledger ---------------------------------------------------------------------------
def _runtime(args: argparse.Namespace) -> Any:
    """The process's dependencies and broker, for commands that read or drive the ledger."""
    from config.logging import configure_logging
    from config.settings import load_settings
    from workers import runtime
    from workers.app import setup

    configure_logging(os.environ.get("SUPERBILL_LOG_LEVEL", "WARNING"))
    _practice(args)
    setup(runtime.redis_url(load_settings()))
    return runtime.deps()


def _filter(args: argparse.Namespace) -> Any:
    from pipeline.ops import ClaimFilter

    return ClaimFilter(
        status=getattr(args, "status", None), route=getattr(args, "route", None),
        payer=getattr(args, "payer", None), therapist=getattr(args, "therapist", None),
        since=getattr(args, "since", None), until=getattr(args, "until", None),
        problem=getattr(args, "problem", None),
    )


def cmd_ingest(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from pipeline.ingest import receive
    from workers.runtime import send

    deps = _runtime(args)
    lines = [ln for ln in Path(args.file).read_bytes().splitlines() if ln.strip()]
    counts: dict[str, int] = {}
    refused: list[tuple[int, dict[str, Any]]] = []
    with Progress(transient=True, console=_stderr_console()) as progress:
        task = progress.add_task(f"ingesting {args.file}", total=len(lines))
        for number, line in enumerate(lines, 1):
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
        _print_json(summary)
    else:
        print(f"{len(lines)} events: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        for n, body in refused:
            print(f"  line {n} refused ({body.get('refused_id')}):")
            for e in body.get("errors", []):
                print(f"    {e['path']}: {e['message']}")
    return EXIT_OK if not refused else EXIT_REFUSED


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def cmd_claims_list(args: argparse.Namespace) -> int:
    from pipeline.ops import list_claims
    from pipeline.render_text import claims_table

    deps = _runtime(args)
    claims = list_claims(deps.ledger, _filter(args))
    if args.json:
        _print_json({"claims": [c.summary() for c in claims]})
    else:
        print(claims_table([c.summary() for c in claims]))
    return EXIT_OK


def cmd_claims_show(args: argparse.Namespace) -> int:
    from pipeline.ops import show_claim
    from pipeline.render_text import claim_text

    deps = _runtime(args)
    shown = show_claim(deps.ledger, args.claim_id)
    if shown is None:
        _err(f"no claim {args.claim_id}")
        return EXIT_ERROR
    if args.json:
        _print_json(shown)
    else:
        print(claim_text(shown))
    return EXIT_OK


def cmd_claims_statement(args: argparse.Namespace) -> int:
    deps = _runtime(args)
    pdf = deps.ledger.get_statement(args.claim_id)
    if pdf is None:
        _err(f"claim {args.claim_id} has no statement (only statement_ready and courtesy claims have one)")
        return EXIT_ERROR
    Path(args.output).write_bytes(pdf)
    _err(f"wrote {len(pdf)} bytes to {args.output}")
    return EXIT_OK


def cmd_claims_amend(args: argparse.Namespace) -> int:
    from pipeline.ops import amend

    deps = _runtime(args)
    try:
        patch = json.loads(Path(args.file).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        _err(f"{args.file}: not a readable JSON file ({exc})")
        return EXIT_ERROR
    if not isinstance(patch, dict):
        _err(f"{args.file}: must be a JSON object such as {{\"prescription\": {{...}}}}")
        return EXIT_ERROR
    result = amend(deps.ledger, args.claim_id, patch, source="cli")
    if args.json:
        _print_json(result.__dict__)
    elif result.ok:
        print(f"{args.claim_id}: amended ({', '.join(result.changed)}). "
              f"Run `superbill resubmit {args.claim_id}` to apply.")
    else:
        _err(f"{args.claim_id}: not amended. {result.message}")
        _err(*(f"  {e['path']}: {e['message']}" for e in result.errors))
    return EXIT_OK if result.ok else EXIT_REFUSED


def cmd_resubmit(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from pipeline.ops import resubmit, select_for_resubmit
    from workers.runtime import send

    deps = _runtime(args)
    if args.claim_ids and args.status:
        _err("give claim ids or --status, not both")
        return EXIT_ERROR
    if not args.claim_ids and not args.status:
        _err("give claim ids, or --status S (rejected, failed or needs_attention) to pick them")
        return EXIT_ERROR
    try:
        ids = args.claim_ids or select_for_resubmit(deps.ledger, _filter(args))
    except ValueError as exc:
        _err(str(exc))
        return EXIT_ERROR
    with Progress(transient=True, console=_stderr_console()) as progress:
        task = progress.add_task("resubmitting", total=len(dict.fromkeys(ids)))
        result = resubmit(deps.ledger, ids, send, source="cli", dry_run=args.dry_run,
                          progress=lambda _: progress.advance(task))
    if args.json:
        _print_json(result.as_dict())
    else:
        verb = "would resubmit" if args.dry_run else "resubmitted"
        print(f"{verb} {len(result.resubmitted)} claim(s){': ' if result.resubmitted else ''}"
              + ", ".join(result.resubmitted))
        for s in result.skipped:
            print(f"  skipped {s['claim_id']}: {s['reason']}")
    return EXIT_OK if not result.skipped or result.resubmitted else EXIT_ERROR


def cmd_status(args: argparse.Namespace) -> int:
    from pipeline.ops import summary
    from pipeline.render_text import summary_text

    deps = _runtime(args)
    document = summary(deps.ledger)
    if args.json:
        _print_json(document)
    else:
        print(summary_text(document))
    return EXIT_OK


def cmd_daily_summary(args: argparse.Namespace) -> int:
    from pipeline.ops import daily_summary

    deps = _runtime(args)
    document = daily_summary(deps.ledger)
    if args.post:
        if deps.alerts is None:
            _err("SUPERBILL_ALERT_URL is not set: nowhere to post the summary")
            return EXIT_ERROR
        deps.alerts.notify(document)
    _print_json(document)
    return EXIT_OK


def cmd_refused(args: argparse.Namespace) -> int:
    from pipeline.ops import replay_refused
    from workers.runtime import send

    deps = _runtime(args)
    if args.refused_cmd == "list":
        rows = [r.summary() for r in deps.ledger.list_refused()]
        if args.json:
            _print_json({"refused": rows})
        else:
            for r in rows:
                when = datetime.fromtimestamp(r["received_at"], UTC).strftime("%Y-%m-%d %H:%M:%S")
                first = r["errors"][0] if r["errors"] else {"path": "", "message": ""}
                more = f" (+{len(r['errors']) - 1} more)" if len(r["errors"]) > 1 else ""
                print(f"{r['refused_id']}  {when}  {r['http_status']}  {first['path']}: {first['message']}{more}"
                      + (f"  [replayed: {r['replayed_as']}]" if r["replayed_as"] else ""))
            if not rows:
                print("no refused events")
        return EXIT_OK
    refused = deps.ledger.get_refused(args.refused_id)
    if refused is None:
        _err(f"no refused event {args.refused_id}")
        return EXIT_ERROR
    if args.refused_cmd == "show":
        try:
            document = {**refused.summary(), "body": refused.body.decode("utf-8")}
        except UnicodeDecodeError:  # not text: show it exactly, as base64
            document = {**refused.summary(), "body_base64": base64.b64encode(refused.body).decode()}
        if args.json:
            _print_json(document)
        else:
            print(f"{refused.refused_id}: HTTP {refused.http_status} from {refused.source}")
            for e in refused.errors:
                print(f"  {e['path']}: {e['message']}")
            print("body:" if "body" in document else "body (not UTF-8 text; base64):")
            print(document.get("body", document.get("body_base64")))
        return EXIT_OK
    body = Path(args.file).read_bytes() if args.file else None
    outcome = replay_refused(deps.ledger, args.refused_id, send, body=body)
    assert outcome is not None
    if args.json:
        _print_json({"http_status": outcome.http_status, **outcome.body})
    else:
        print(f"{args.refused_id}: {outcome.body.get('status')} (HTTP {outcome.http_status})"
              + (f", claim {outcome.body['claim_id']}" if "claim_id" in outcome.body else ""))
        for e in outcome.body.get("errors", []):
            print(f"  {e['path']}: {e['message']}")
    return EXIT_OK if outcome.accepted else EXIT_REFUSED


# processes --------------------------------------------------------------------------------------------
def cmd_web(args: argparse.Namespace) -> int:
    import uvicorn

    from config.logging import configure_logging
    from config.settings import load_settings
    from pipeline.web import WebConfigError
    from pipeline.webapp import build_web_app

    configure_logging(os.environ.get("SUPERBILL_LOG_LEVEL", "INFO"))
    _practice(args)
    settings = load_settings()
    try:
        app = build_web_app(settings)
    except WebConfigError as exc:
        _err(str(exc))
        return EXIT_ERROR
    uvicorn.run(app, host=args.host, port=args.port or settings.port, log_config=None)
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from config.settings import load_settings
    from workers.runtime import redis_url

    _practice(args)
    url = redis_url(load_settings())
    env = {**os.environ, "SUPERBILL_BROKER_URL": url}
    argv = [sys.executable, "-m", "dramatiq", "workers.app:worker_setup", "--processes", str(args.processes),
            "--threads", str(args.threads)]
    os.execvpe(argv[0], argv, env)  # noqa: S606 - replace this process with dramatiq's worker
    return EXIT_OK


def cmd_reconcile(args: argparse.Namespace) -> int:
    from config.settings import load_settings
    from pipeline.reconciler import reconcile_once, run_forever

    deps = _runtime(args)
    older = load_settings().reconcile_after_s if args.older_than is None else args.older_than
    if args.once:
        redriven = reconcile_once(deps, older_than_s=older)
        print(f"re-drove {len(redriven)} claim(s)" + (": " + ", ".join(redriven) if redriven else ""))
        return EXIT_OK
    run_forever(deps, older_than_s=older, every_s=args.every)
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    from config.logging import configure_logging
    from pipeline.sandbox.app import serve

    configure_logging(os.environ.get("SUPERBILL_LOG_LEVEL", "INFO"))
    try:
        serve(host=args.host, port=args.port, faults_spec=args.faults or "")
    except ValueError as exc:
        _err(f"--faults: {exc}")
        return EXIT_ERROR
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.demo import run_demo

    _practice(args)
    return run_demo(events=args.events, faults=args.faults or "", as_json=args.json,
                    timeout_s=args.timeout, keep=args.keep)


def cmd_redis(args: argparse.Namespace) -> int:
    from config.settings import load_settings
    from pipeline.redis_server import start_embedded, stop_embedded

    settings = load_settings()
    if settings.redis_url:
        print(f"REDIS_URL is set ({settings.redis_url}); nothing to start")
        return EXIT_OK
    if args.stop:
        stop_embedded(settings.data_dir)
        print("stopped")
        return EXIT_OK
    print(start_embedded(settings.data_dir))
    return EXIT_OK


# parser -----------------------------------------------------------------------------------------------
def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _filters(p: argparse.ArgumentParser, *, status_help: str = "claim status") -> None:
    from schemas.claim import STATUSES
    from schemas.decision import ROUTES

    p.add_argument("--status", choices=STATUSES, help=status_help)
    p.add_argument("--route", choices=ROUTES)
    p.add_argument("--payer", help="payer name contains (case-insensitive)")
    p.add_argument("--therapist", help="therapist id")
    p.add_argument("--since", type=_date, help="date of service on or after (YYYY-MM-DD)")
    p.add_argument("--until", type=_date, help="date of service on or before (YYYY-MM-DD)")
    p.add_argument("--problem", help="problem code, e.g. prescription_missing")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="superbill", description=__doc__)
    parser.add_argument("--practice", metavar="FILE",
                        help="practice profile (default: $SUPERBILL_PRACTICE, else config/practice.example.toml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="dry run: validate, assemble and route one event")
    p.add_argument("event", metavar="EVENT.json")
    p.add_argument("--json", action="store_true", help="print the decision as JSON")
    p.add_argument("--x12", metavar="FILE", help="write the 837P of a direct_billing claim")
    p.add_argument("--pdf", metavar="FILE", help="write the superbill PDF")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("ingest", help="send each line of a .jsonl file through the webhook's path")
    p.add_argument("file", metavar="FILE.jsonl")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)

    claims = sub.add_parser("claims", help="find, look at, fix claims").add_subparsers(
        dest="claims_cmd", required=True, metavar="SUBCOMMAND")
    p = claims.add_parser("list", help="claims, filtered")
    _filters(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_claims_list)
    p = claims.add_parser("show", help="one claim with its superbill, problems and timeline")
    p.add_argument("claim_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_claims_show)
    p = claims.add_parser("statement", help="write a claim's statement PDF")
    p.add_argument("claim_id")
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.set_defaults(func=cmd_claims_statement)
    p = claims.add_parser("amend", help="attach or replace the prescription, VA referral, client or coverage")
    p.add_argument("claim_id")
    p.add_argument("--file", required=True, metavar="PATCH.json",
                   help='e.g. {"prescription": {...}} - sections: prescription, va_referral, client, coverage')
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_claims_amend)

    p = sub.add_parser("resubmit", help="resubmit rejected, failed or needs_attention claims")
    p.add_argument("claim_ids", nargs="*", metavar="ID")
    _filters(p, status_help="pick every claim in this status")
    p.add_argument("--dry-run", action="store_true", help="list what would be resubmitted")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_resubmit)

    p = sub.add_parser("status", help="queues and claims at a glance")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("daily-summary", help="the last 24 hours in numbers (cron it; --post sends it)")
    p.add_argument("--post", action="store_true", help="also POST it to $SUPERBILL_ALERT_URL")
    p.set_defaults(func=cmd_daily_summary)

    refused = sub.add_parser("refused", help="events we refused, and replay").add_subparsers(
        dest="refused_cmd", required=True, metavar="SUBCOMMAND")
    p = refused.add_parser("list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_refused)
    p = refused.add_parser("show")
    p.add_argument("refused_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_refused)
    p = refused.add_parser("replay", help="send it through ingest again (optionally a corrected body)")
    p.add_argument("refused_id")
    p.add_argument("--file", metavar="EVENT.json", help="a corrected event to send instead")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_refused)

    p = sub.add_parser("demo", help="run everything on the bundled examples and print the claims")
    p.add_argument("--events", metavar="PATH", help="a folder of .json events or a .jsonl file")
    p.add_argument("--faults", metavar="SPEC", help="sandbox faults, e.g. error_rate=0.3,timeout_rate=0.1")
    p.add_argument("--json", action="store_true")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for final statuses")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (Redis data, logs)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("sandbox", help="serve the sandbox clearinghouse and billing service")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8100)
    p.add_argument("--faults", metavar="SPEC")
    p.set_defaults(func=cmd_sandbox)

    p = sub.add_parser("web", help="the web process: webhook, ops API, ops page")
    p.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server process, bound as configured
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_web)

    p = sub.add_parser("worker", help="the dramatiq worker processes")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("reconcile", help="re-drive claims stuck in a non-final status")
    p.add_argument("--once", action="store_true")
    p.add_argument("--older-than", type=float, help="seconds (default $SUPERBILL_RECONCILE_AFTER or 120)")
    p.add_argument("--every", type=float, default=15.0)
    p.set_defaults(func=cmd_reconcile)

    p = sub.add_parser("redis", help="start (or --stop) the embedded Redis server under ./var")
    p.add_argument("--stop", action="store_true")
    p.set_defaults(func=cmd_redis)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PracticeConfigError as exc:
        _err(f"practice profile error:\n{exc}")
        return EXIT_ERROR
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
