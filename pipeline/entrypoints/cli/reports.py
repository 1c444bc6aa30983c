"""At a glance: `superbill status` and `superbill daily-summary`."""

from __future__ import annotations

import argparse
from typing import Any

from pipeline.entrypoints.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    err,
    print_json,
    runtime_deps,
)


def cmd_status(args: argparse.Namespace) -> int:
    from pipeline.application.ops import summary
    from pipeline.entrypoints.cli.text import summary_text

    deps = runtime_deps(args)
    document = summary(deps.ledger, deps.queues, today=deps.today(),
                       timely_filing_warning_days=deps.timely_filing_warning_days)
    if args.json:
        print_json(document)
    else:
        print(summary_text(document))
    return EXIT_OK


def cmd_daily_summary(args: argparse.Namespace) -> int:
    from pipeline.application.errors import PipelineError
    from pipeline.application.ops import daily_summary
    from pipeline.entrypoints.cli.text import daily_summary_text

    deps = runtime_deps(args)
    document = daily_summary(deps.ledger, deps.queues, timely_filing_warning_days=deps.timely_filing_warning_days,
                             zone=deps.practice.practice.zone)
    if args.post:
        if deps.alerts is None:
            err("SUPERBILL_ALERT_URL is not set: nowhere to post the summary")
            return EXIT_ERROR
        try:
            deps.alerts.notify(document)
        except PipelineError as exc:
            err(f"the summary was not posted: {exc}")
            return EXIT_ERROR
    if args.json:
        print_json(document)
    else:
        print(daily_summary_text(document))
    return EXIT_OK


def register(sub: Any) -> None:
    p = sub.add_parser("status", help="queues and claims at a glance")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("daily-summary", help="the last 24 hours in numbers (cron it; --post sends it)")
    p.add_argument("--post", action="store_true", help="also POST it to $SUPERBILL_ALERT_URL")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON document")
    p.set_defaults(func=cmd_daily_summary)
