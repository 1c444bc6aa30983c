"""`superbill explain [CODE...]`: what a problem, warning or peer reason code means and what to do."""

from __future__ import annotations

import argparse
from typing import Any

from pipeline.entrypoints.cli.common import EXIT_OK, EXIT_REFUSED, err, print_json


def cmd_explain(args: argparse.Namespace) -> int:
    from pipeline.application.explanations import EXPLANATIONS, UNKNOWN, explain

    unknown = [c for c in args.codes if explain(c) is UNKNOWN]
    if unknown:
        err(*(f"unknown code {c!r}" for c in unknown),
            f"known codes: {', '.join(sorted(EXPLANATIONS))}; also 277CA:<category>:<code>, CARC:<code>, "
            "<group>-<CARC> such as CO-197, and remark codes such as N54")
        return EXIT_REFUSED
    entries = [explain(c) for c in args.codes] if args.codes else list(EXPLANATIONS.values())
    if args.json:
        print_json({"explanations": [{**e.as_dict(), "code": c or e.code}
                                     for c, e in zip(args.codes or [e.code for e in entries], entries, strict=True)]})
        return EXIT_OK
    for code, e in zip(args.codes or [e.code for e in entries], entries, strict=True):
        print(f"{code}: {e.title}\n  {e.meaning}\n  next step: {e.next_step}\n  {e.resubmit_hint}"
              + (f"\n  {terminal_fix(e.form)}" if e.form else "") + "\n")
    return EXIT_OK


def terminal_fix(form: str) -> str:
    """The same fix from the terminal: the ops page's form is a section of the event, amended from a file."""
    return (f"From the terminal: write {{\"{form}\": {{...}}}} to a file (every field of the section, see "
            f"docs/CLI.md, claims amend), run `superbill claims amend CLAIM_ID --file FILE` (`superbill claims "
            f"show CLAIM_ID` before and after), then `superbill resubmit CLAIM_ID`; on the ops page, the "
            f"{form} form.")


def register(sub: Any) -> None:
    p = sub.add_parser("explain", help="what a problem, warning or peer reason code means and what to do")
    p.add_argument("codes", nargs="*", metavar="CODE", help="e.g. va_referral_missing, 277CA:A7:21; none: all")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_explain)
