"""Time the superbill PDF of every bundled example, as statements and courtesy submissions render it.

    .venv/bin/python scripts/pdf_benchmark.py [--runs 50] [--profile] [--out DIR] [--statements 1,12,60]

Prints CPU ms per PDF for each example (median and mean of `--runs` renders), then for the period statement
of 1, 12 and 60 sessions (`--statements`; `--statements ""` for none); `--profile` adds the top of a
cProfile of all superbill renders; `--out DIR` writes each PDF there (to compare two versions' pages).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.practice import DEFAULT_PRACTICE_FILE, load_practice  # noqa: E402
from pipeline.documents.period_statement_pdf import PeriodSession, render_period_statement_pdf  # noqa: E402
from pipeline.documents.superbill_pdf import render_superbill_pdf  # noqa: E402
from pipeline.domain.decide import decide  # noqa: E402
from pipeline.domain.intake import InputRejected, parse_event  # noqa: E402

EXAMPLES = ROOT / "pipeline" / "examples"


def cases() -> list[tuple[str, object, object]]:
    practice = load_practice(DEFAULT_PRACTICE_FILE)
    found = []
    for path in sorted(EXAMPLES.glob("*.json")):
        try:
            event = parse_event(path.read_bytes())
        except InputRejected:
            continue
        decision = decide(event, practice)
        if decision.superbill is not None:
            found.append((path.stem, event, decision))
    return found


def statement_sessions(practice: object, count: int) -> list[PeriodSession]:
    """`count` sessions of the `commercial_statement` example, on as many days."""
    import json

    doc = json.loads((EXAMPLES / "commercial_statement.json").read_text(encoding="utf-8"))
    found = []
    for n in range(count):
        day = f"2026-{1 + n // 28 % 12:02d}-{1 + n % 28:02d}"
        doc["session"]["session_id"] = f"ses_{n:04d}"
        doc["session"]["started_at"], doc["session"]["ended_at"] = f"{day}T14:00:00-06:00", f"{day}T15:00:00-06:00"
        event = parse_event(json.dumps(doc).encode())
        decision = decide(event, practice)  # type: ignore[arg-type]
        assert decision.superbill is not None
        found.append(PeriodSession(claim_id=f"ses_{n:04d}", event=event, superbill=decision.superbill))
    return found


def time_statements(practice: object, counts: list[int], runs: int, out: Path | None) -> None:
    for count in counts:
        sessions = statement_sessions(practice, count)

        def render(sessions: list[PeriodSession] = sessions) -> bytes:
            return render_period_statement_pdf(practice, sessions, since=date(2026, 1, 1),  # type: ignore[arg-type]
                                               until=date(2026, 12, 31), document_number="SB-2026-000042",
                                               issued_on=date(2027, 1, 2))

        pdf = render()
        if out:
            (out / f"statement_{count}.pdf").write_bytes(pdf)
        times = []
        for _ in range(max(3, runs // max(1, count // 4))):  # fewer renders of the long ones
            start = time.process_time()
            render()
            times.append((time.process_time() - start) * 1000)
        print(f"{f'statement, {count} sessions':28s} median {statistics.median(times):6.2f} ms  "
              f"mean {statistics.mean(times):6.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--statements", default="1,12,60", help="sessions per period statement, comma-separated")
    args = parser.parse_args()
    practice = load_practice(DEFAULT_PRACTICE_FILE)
    found = cases()

    def render(event: object, decision: object) -> bytes:
        return render_superbill_pdf(event, practice, decision, document_number="SB-2026-000042",  # type: ignore[arg-type]
                                    issued_on=date(2026, 11, 21))

    for name, event, decision in found:
        pdf = render(event, decision)  # warm: the code set's descriptions, fpdf2's font metrics
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"{name}.pdf").write_bytes(pdf)
    means = []
    for name, event, decision in found:
        times = []
        for _ in range(args.runs):
            start = time.process_time()
            render(event, decision)
            times.append((time.process_time() - start) * 1000)
        means.append(statistics.mean(times))
        print(f"{name:28s} median {statistics.median(times):6.2f} ms  mean {means[-1]:6.2f} ms")
    print(f"{'all examples':28s} mean {statistics.mean(means):6.2f} ms per PDF")
    time_statements(practice, [int(c) for c in args.statements.split(",") if c.strip()], args.runs, args.out)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.runs):
            for _name, event, decision in found:
                render(event, decision)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
