"""The record leaves safely: `superbill backup FILE` and `superbill restore FILE [--force]`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.entrypoints.cli.common import EXIT_ERROR, EXIT_OK, err, print_json


def _client() -> Any:
    from config.logging import configure_logging
    from config.settings import log_level
    from pipeline.entrypoints import runtime

    configure_logging(log_level("WARNING"))
    return runtime.redis_client()


def cmd_backup(args: argparse.Namespace) -> int:
    from pipeline.adapters.redis_backup import BackupError, backup

    try:
        summary = backup(_client(), Path(args.file))
    except BackupError as exc:
        err(f"not backed up: {exc}")
        return EXIT_ERROR
    document = {"file": args.file, "keys": summary.keys, "claims": summary.claims,
                "created_at": datetime.fromtimestamp(summary.created_at, UTC).isoformat(timespec="seconds")}
    if args.json:
        print_json(document)
    else:
        print(f"backed up {summary.claims} claim(s), {summary.keys} keys, to {args.file}")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from pipeline.adapters.redis_backup import BackupError, restore

    try:
        summary = restore(_client(), Path(args.file), force=args.force)
    except BackupError as exc:
        err(f"{args.file}: not restored: {exc}")
        return EXIT_ERROR
    taken = datetime.fromtimestamp(summary.created_at, UTC).isoformat(timespec="seconds")
    if args.json:
        print_json({"file": args.file, "keys": summary.keys, "claims": summary.claims, "backup_taken_at": taken})
    else:
        print(f"restored {summary.claims} claim(s), {summary.keys} keys, from the backup taken {taken}; "
              "`superbill reconcile --once --older-than 0` re-drives the claims that are not final")
    return EXIT_OK


def register(sub: Any) -> None:
    p = sub.add_parser("backup", help="write a consistent snapshot of everything the pipeline keeps")
    p.add_argument("file", metavar="FILE", help="the backup to write (gzip-compressed JSON lines)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="load a backup into an empty store (--force replaces what is there)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--force", action="store_true", help="replace the pipeline data the store already holds")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_restore)
