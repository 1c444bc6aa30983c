"""`superbill`: the command line. One module per command group; `text` renders for the terminal."""

from __future__ import annotations

import argparse
import os
import sys

from config.practice import PracticeConfigError
from pipeline.entrypoints.cli import check, claims, events, processes, records, reports
from pipeline.entrypoints.cli.common import EXIT_ERROR, EXIT_OK, err

DESCRIPTION = "superbill: turns completed sessions into claims, superbills and statements, and lets ops fix them."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="superbill", description=DESCRIPTION)
    parser.add_argument("--practice", metavar="FILE",
                        help="practice profile (default: $SUPERBILL_PRACTICE, else config/practice.example.toml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (check, events, claims, reports, records, processes):
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PracticeConfigError as exc:
        err(f"practice profile error:\n{exc}")
        return EXIT_ERROR
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
