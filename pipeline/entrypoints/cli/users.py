"""Staff accounts: `superbill users add|list|disable|enable|password|token` and `superbill audit`.

A password is never taken from the command line (it would stay in the shell's history and in `ps`): it is
asked for twice on a terminal, or read from standard input (`--password-stdin`, one line).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from typing import Any

from pipeline.entrypoints.cli.common import EXIT_ERROR, EXIT_OK, err, positive_int, print_json, runtime_deps


def _store(args: argparse.Namespace) -> Any:
    store = runtime_deps(args).staff
    assert store is not None
    return store


def _actor() -> Any:
    from pipeline.application.staff import Actor

    who = getpass.getuser()
    return Actor(who, f"{who} at the terminal", "cli")


def _password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n") if line else None
    if not sys.stdin.isatty():
        err("no terminal to ask for the password: pipe it with --password-stdin")
        return None
    first = getpass.getpass(f"password for {args.username}: ")
    if getpass.getpass("again: ") != first:
        err("the two passwords differ")
        return None
    return first


def cmd_users_add(args: argparse.Namespace) -> int:
    from pipeline.application import staff

    store = _store(args)
    password = None
    try:  # a taken or malformed name is said before the password is asked for, twice
        staff.check_new_user(store, args.username, args.name)
    except staff.StaffError as exc:
        err(str(exc))
        return EXIT_ERROR
    if not args.service:
        password = _password(args)
        if password is None:
            return EXIT_ERROR
    try:
        user = staff.add_user(store, args.username, args.name, password=password,
                              kind="service" if args.service else "person", actor=_actor())
    except staff.StaffError as exc:
        err(str(exc))
        return EXIT_ERROR
    if args.json:
        print_json(user.public())
    else:
        print(f"added {user.username} ({user.name}, {user.kind})"
              + ("; issue a bearer token with `superbill users token " + user.username + "`" if args.service else ""))
    return EXIT_OK


def cmd_users_list(args: argparse.Namespace) -> int:
    users = [u.public() for u in _store(args).list_users()]
    if args.json:
        print_json({"users": users})
        return EXIT_OK
    if not users:
        print("no users yet: add one with `superbill users add NAME --name 'Full Name'`")
        return EXIT_OK
    for u in users:
        state = "disabled" if u["disabled"] else "active"
        print(f"{u['username']:<24} {u['kind']:<8} {state:<9} {u['name']}")
    return EXIT_OK


def cmd_users_disable(args: argparse.Namespace) -> int:
    from pipeline.application import staff

    try:
        ended = staff.disable_user(_store(args), args.username, actor=_actor())
    except staff.StaffError as exc:
        err(str(exc))
        return EXIT_ERROR
    if args.json:
        print_json({"username": args.username, "disabled": True, **ended})
    else:
        print(f"disabled {args.username}: {ended['sessions_ended']} session(s) ended, "
              f"{ended['tokens_revoked']} token(s) revoked")
    return EXIT_OK


def cmd_users_enable(args: argparse.Namespace) -> int:
    from pipeline.application import staff

    try:
        staff.enable_user(_store(args), args.username, actor=_actor())
    except staff.StaffError as exc:
        err(str(exc))
        return EXIT_ERROR
    print(f"enabled {args.username} (their old tokens stay revoked; issue a new one if needed)")
    return EXIT_OK


def cmd_users_password(args: argparse.Namespace) -> int:
    from pipeline.application import staff

    store = _store(args)
    password = _password(args)
    if password is None:
        return EXIT_ERROR
    try:
        staff.set_password(store, args.username, password, actor=_actor())
    except staff.StaffError as exc:
        err(str(exc))
        return EXIT_ERROR
    print(f"password of {args.username} set; their sessions were ended")
    return EXIT_OK


def cmd_users_token(args: argparse.Namespace) -> int:
    from pipeline.application import staff

    try:
        token = staff.issue_api_token(_store(args), args.username, label=args.label or "", actor=_actor())
    except staff.StaffError as exc:
        err(str(exc))
        return EXIT_ERROR
    if args.json:
        print_json({"username": args.username, "token": token})
    else:
        err(f"a new ops API token for {args.username} (shown once; keep it secret):")
        print(token)
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    from config.practice import load_practice

    entries = _store(args).audit_log(args.limit)
    if args.json:
        print_json({"audit": entries})
        return EXIT_OK
    zone = load_practice(args.practice).practice.zone
    for e in entries:
        at = datetime.fromtimestamp(e.get("at", 0), UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")
        rest = " ".join(f"{k}={v}" for k, v in e.items() if k not in ("at", "action", "by", "name", "via"))
        print(f"{at}  {e.get('action', ''):<20} {e.get('name') or '-'} ({e.get('via') or '-'})  {rest}")
    return EXIT_OK


def register(sub: Any) -> None:
    users = sub.add_parser("users", help="staff accounts for the ops page and the ops API").add_subparsers(
        dest="users_cmd", required=True, metavar="SUBCOMMAND")
    p = users.add_parser("add", help="add a person (asks for a password) or a service (--service)")
    p.add_argument("username", help="2-32 characters: a-z, 0-9, '.', '_', '-'")
    p.add_argument("--name", required=True, help="the person's full name, as the timeline shows it")
    p.add_argument("--service", action="store_true", help="a service account: no password, bearer tokens only")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_users_add)
    p = users.add_parser("list", help="every account and whether it is active")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_users_list)
    p = users.add_parser("disable", help="stop an account now: its sessions end, its tokens are revoked")
    p.add_argument("username")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_users_disable)
    p = users.add_parser("enable", help="let a disabled account sign in again")
    p.add_argument("username")
    p.set_defaults(func=cmd_users_enable)
    p = users.add_parser("password", help="set a person's password (their sessions end)")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(func=cmd_users_password)
    p = users.add_parser("token", help="issue a bearer token for the ops API (printed once)")
    p.add_argument("username")
    p.add_argument("--label", help="what the token is for, e.g. 'billing-service sync'")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_users_token)
    p = sub.add_parser("audit", help="the audit log: sign-ins, account changes, amendments, resubmissions")
    p.add_argument("--limit", type=positive_int, default=100, metavar="N", help="the N latest entries")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit)
