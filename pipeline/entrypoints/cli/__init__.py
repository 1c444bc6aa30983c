"""`superbill`: the command line. One module per command group; `text` renders for the terminal."""

from __future__ import annotations

import argparse
import os
import sys

import redis

from config.practice import PracticeConfigError
from config.settings import SettingsError
from pipeline.application.errors import PipelineError
from pipeline.entrypoints.cli import (
    check,
    claims,
    dead,
    events,
    explain,
    money,
    processes,
    records,
    reports,
    statements,
    users,
)
from pipeline.entrypoints.cli.common import EXIT_ERROR, EXIT_OK, CommandFailed, err, os_reason

DESCRIPTION = "superbill: turns completed sessions into claims, superbills and statements, and lets ops fix them."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="superbill", description=DESCRIPTION)
    parser.add_argument("--practice", metavar="FILE",
                        help="practice profile (default: $SUPERBILL_PRACTICE, else config/practice.example.toml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (check, events, claims, statements, reports, money, records, processes, users, explain, dead):
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PracticeConfigError as exc:
        err(f"practice profile error:\n{exc}")
        return EXIT_ERROR
    except SettingsError as exc:
        err(f"configuration error: {exc}")
        return EXIT_ERROR
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except redis.RedisError as exc:  # one line, never a traceback
        err(f"cannot reach Redis ({type(exc).__name__}): {str(exc).rstrip('.')}. Is it running? Check REDIS_URL, "
            "or start the embedded one with `superbill redis`.")
        return EXIT_ERROR
    except PipelineError as exc:
        err(str(exc))
        return EXIT_ERROR
    except CommandFailed as exc:
        err(str(exc))
        return exc.code
    except OSError as exc:  # the last resort for a file a command did not expect to fail on: one line
        err(f"{exc.filename}: {os_reason(exc)}" if exc.filename else f"{type(exc).__name__}: {os_reason(exc)}")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
