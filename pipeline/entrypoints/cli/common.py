"""What every command shares: exit codes, output helpers, the practice, the runtime, filters."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from typing import Any

from config.practice import Practice, load_practice

EXIT_OK, EXIT_ERROR, EXIT_REFUSED = 0, 1, 2


def err(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, default=str))


def practice_of(args: argparse.Namespace) -> Practice:
    if args.practice:
        os.environ["SUPERBILL_PRACTICE"] = args.practice
    return load_practice(args.practice)


def runtime_deps(args: argparse.Namespace) -> Any:
    """The process's dependencies and broker, for commands that read or drive the ledger."""
    from config.logging import configure_logging
    from config.settings import load_settings
    from pipeline.entrypoints import runtime

    configure_logging(os.environ.get("SUPERBILL_LOG_LEVEL", "WARNING"))
    practice_of(args)
    runtime.connect(runtime.redis_url(load_settings()))
    return runtime.deps()


def claim_filter(args: argparse.Namespace) -> Any:
    from pipeline.application.ops import ClaimFilter

    return ClaimFilter(
        status=getattr(args, "status", None), route=getattr(args, "route", None),
        payer=getattr(args, "payer", None), therapist=getattr(args, "therapist", None),
        since=getattr(args, "since", None), until=getattr(args, "until", None),
        problem=getattr(args, "problem", None), text=getattr(args, "search", None),
    )


def stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def date_arg(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def add_filters(p: argparse.ArgumentParser, *, status_help: str = "claim status") -> None:
    from schemas.claim import STATUSES
    from schemas.decision import ROUTES

    p.add_argument("--status", choices=STATUSES, help=status_help)
    p.add_argument("--route", choices=ROUTES)
    p.add_argument("--payer", help="payer name contains (case-insensitive)")
    p.add_argument("--therapist", help="therapist id")
    p.add_argument("--since", type=date_arg, help="date of service on or after (YYYY-MM-DD)")
    p.add_argument("--until", type=date_arg, help="date of service on or before (YYYY-MM-DD)")
    p.add_argument("--problem", help="problem code, e.g. prescription_missing")


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return number


def add_paging(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--limit", type=positive_int, metavar="N",
                   help=f"at most N {what}, oldest first; prints the cursor of the next page")
    p.add_argument("--cursor", metavar="CURSOR", help="the next page: the cursor the previous page printed")
