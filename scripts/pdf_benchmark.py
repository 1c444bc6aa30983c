"""Time the superbill PDF of every bundled example, as statements and courtesy submissions render it.

    .venv/bin/python scripts/pdf_benchmark.py [--runs 50] [--profile] [--out DIR]

Prints CPU ms per PDF for each example (median and mean of `--runs` renders); `--profile` adds the top of a
cProfile of all renders; `--out DIR` writes each example's PDF there (to compare two versions' pages).
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out", type=Path)
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
