"""What every command shares: exit codes, output helpers, the practice, the runtime, filters."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from config.practice import Practice, load_practice

EXIT_OK, EXIT_ERROR, EXIT_REFUSED = 0, 1, 2


class CommandFailed(Exception):
    """A problem the command cannot get past: `main` prints the message as one line on stderr and exits with
    `code`. The message names a file or a setting, never patient data."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def read_input(path: str) -> bytes:
    """The bytes of a file the command was given, or `<path>: cannot read (<reason>)`."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CommandFailed(f"{path}: cannot read ({os_reason(exc)})") from None


def check_writable(path: str) -> None:
    """Refuse an output path that cannot be written before doing work that leaves a record behind."""
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise CommandFailed(f"{path}: cannot write (Is a directory)")
    if not folder.is_dir():
        raise CommandFailed(f"{path}: cannot write (no such folder {folder})")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise CommandFailed(f"{path}: cannot write (Permission denied)")


def write_output(path: str, data: bytes | str) -> None:
    """Write a file the command was asked for, or `<path>: cannot write (<reason>)`. A new file is readable by
    its owner only (what the commands write can hold patient data: statements, exports, the 837P); a file
    that is there already keeps the permissions its owner gave it."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8")
    try:
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            out.write(raw)
    except OSError as exc:
        raise CommandFailed(f"{path}: cannot write ({os_reason(exc)})") from None


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
    from config.settings import load_settings, log_level
    from pipeline.entrypoints import runtime

    configure_logging(log_level("WARNING"))
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


def check_date_range(since: date, until: date) -> None:
    """A range whose end is before its start is a usage error (exit 2), as the ops API's 422 is."""
    if until < since:
        raise CommandFailed(f"--to {until.isoformat()} is before --from {since.isoformat()}", EXIT_REFUSED)


def add_filters(p: argparse.ArgumentParser, *, status_help: str = "claim status") -> None:
    from schemas.claim import STATUSES
    from schemas.decision import ROUTES

    p.add_argument("--status", choices=STATUSES, help=status_help)
    p.add_argument("--route", choices=ROUTES)
    p.add_argument("--payer", help="payer name contains (case-insensitive)")
    p.add_argument("--therapist", help="therapist id")
    p.add_argument("--since", type=date_arg, help="date of service on or after (YYYY-MM-DD)")
    p.add_argument("--until", type=date_arg, help="date of service on or before (YYYY-MM-DD)")
    p.add_argument("--problem", type=problem_arg, help="problem code, e.g. prescription_missing")


def problem_arg(value: str) -> str:
    """A problem code the filter can match; a warning code or a typo is a usage error, not an empty list."""
    from pipeline.application.ops import problem_filter_error

    why = problem_filter_error(value)
    if why:
        raise argparse.ArgumentTypeError(why)
    return value


N = TypeVar("N", int, float)


def _number(value: str, parse: Callable[[str], N], low: N, high: N, what: str) -> N:
    """`value` read by `parse`, from `low` to `high` (nan and infinity are neither); else a usage error."""
    try:
        number = parse(value)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise argparse.ArgumentTypeError(f"{value!r} is not {what}")
    return number


def positive_int(value: str) -> int:
    return _number(value, int, 1, sys.maxsize, "a whole number of at least 1")


def an_id(value: str) -> str:
    """A claim or refused-event id as typed: blank is a usage error, not an unknown id."""
    if not value.strip():
        raise argparse.ArgumentTypeError("the id is empty")
    return value


def whole_number(value: str) -> int:
    return _number(value, int, 0, sys.maxsize, "a whole number of at least 0")


def seconds(value: str) -> float:
    """A number of seconds, 0 or more."""
    return _number(value, float, 0.0, sys.float_info.max, "a number of seconds (0 or more)")


def positive_seconds(value: str) -> float:
    number = seconds(value)
    if number == 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds above 0")
    return number


def port_arg(value: str) -> int:
    return _number(value, int, 1, 65535, "a port number (1 to 65535)")


def add_paging(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--limit", type=positive_int, metavar="N",
                   help=f"at most N {what}, oldest first; prints the cursor of the next page")
    p.add_argument("--cursor", metavar="CURSOR", help="the next page: the cursor the previous page printed")
