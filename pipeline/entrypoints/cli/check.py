"""`superbill check`: a dry run of one event, no Redis needed."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.entrypoints.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    err,
    practice_of,
    print_json,
    write_output,
)


def cmd_check(args: argparse.Namespace) -> int:
    from pipeline.application.evaluate import evaluate
    from pipeline.domain.intake import InputRejected, parse_event

    practice = practice_of(args)
    try:
        raw = Path(args.event).read_bytes()
    except OSError as exc:
        err(f"{args.event}: cannot read ({exc.strerror})")
        return EXIT_ERROR
    try:
        event = parse_event(raw)
    except InputRejected as exc:
        err(f"{args.event}: refused as input ({len(exc.errors)} error{'s' * (len(exc.errors) != 1)}):")
        err(*(f"  {e.path}: {e.message}" for e in exc.errors))
        return EXIT_REFUSED
    decision = evaluate(event, practice, visits_used=0)
    document = decision.model_dump(mode="json")
    if args.x12:
        if decision.route == "direct_billing":
            from pipeline.documents.x12_837p import render_837p

            try:
                x12 = render_837p(event, practice, decision, interchange_control_number=1,
                                  group_control_number=1, created_at=datetime.now(UTC))
            except ValueError as exc:
                err(f"no 837P written: {exc}")
            else:
                write_output(args.x12, x12)
                err(f"wrote the 837P to {args.x12}")
        else:
            err(f"no 837P written: the route is {decision.route}, not direct_billing")
    if args.pdf:
        if decision.superbill is None:
            err("no PDF written: there is no superbill (unknown therapist or no billable time)")
        else:
            from pipeline.documents.superbill_pdf import render_superbill_pdf

            pdf = render_superbill_pdf(event, practice, decision, document_number=f"DRAFT-{decision.claim_id}",
                                       issued_on=practice.practice.day_of(datetime.now(UTC)))
            write_output(args.pdf, pdf)
            err(f"wrote the superbill PDF to {args.pdf}")
    if args.json:
        print_json(document)
    else:
        from pipeline.entrypoints.cli.text import decision_text

        print(decision_text(document))
    return EXIT_OK


def register(sub: Any) -> None:
    p = sub.add_parser("check", help="dry run: validate, assemble and route one event")
    p.add_argument("event", metavar="EVENT.json")
    p.add_argument("--json", action="store_true", help="print the decision as JSON")
    p.add_argument("--x12", metavar="FILE", help="write the 837P of a direct_billing claim")
    p.add_argument("--pdf", metavar="FILE", help="write the superbill PDF")
    p.set_defaults(func=cmd_check)
