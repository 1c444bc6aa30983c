"""The mutation score per module from `mutmut results --all true`: killed / (tested - known equivalents).

Usage: mutation_score.py RESULTS EQUIVALENTS PATTERN...

Prints one row per module and every survivor that is not listed as equivalent; exits 1 when one is left, or
when the score of a module is under the goal (90%). An equivalent mutant is listed in EQUIVALENTS as
`<mutant name>  <why no test can tell it from the original>`; one listed that no longer survives is reported
as stale (its function changed: look again).
"""

from __future__ import annotations

import fnmatch
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

GOAL = 0.90
KILLED = {"killed", "timeout", "segfault"}  # mutmut's "caught" statuses: the tests noticed the change


def main(results_file: str, equivalents_file: str, *patterns: str) -> int:
    statuses: dict[str, str] = {}
    for line in Path(results_file).read_text().splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and any(fnmatch.fnmatchcase(name, p) for p in patterns):
            statuses[name] = status.strip()
    equivalents: dict[str, str] = {}
    for line in Path(equivalents_file).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.strip().partition(" ")
            equivalents[name] = reason.strip()

    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    left: list[str] = []
    for name, status in sorted(statuses.items()):
        module = re.sub(r"\.x[_ǁ].*$", "", name)
        if status == "not checked":
            by_module[module]["not checked"] += 1
        elif status in KILLED:
            by_module[module]["killed"] += 1
        elif name in equivalents:
            by_module[module]["equivalent"] += 1
        else:
            by_module[module]["survived"] += 1
            left.append(f"{name}: {status}")

    failing = False
    print(f"{'module':<40} {'mutants':>8} {'killed':>7} {'equiv.':>7} {'survived':>9} {'score':>7}")
    total: Counter[str] = Counter()
    for module, counts in sorted(by_module.items()):
        total.update(counts)
        failing |= report(module, counts)
    report("all", total)
    stale = [n for n in equivalents if any(fnmatch.fnmatchcase(n, p) for p in patterns)
             and (n not in statuses or statuses[n] in KILLED)]
    for name in left:
        print(f"survivor: {name}   (.venv/bin/mutmut show {name.split(':')[0]})")
    for name in stale:
        print(f"stale equivalent (killed now, or no longer generated): {name}")
    return 1 if failing or left else 0


def report(module: str, counts: Counter[str]) -> bool:
    tested = counts["killed"] + counts["survived"]
    score = counts["killed"] / tested if tested else 1.0
    mutants = sum(counts.values())
    note = f"  ({counts['not checked']} not checked)" if counts["not checked"] else ""
    print(f"{module:<40} {mutants:>8} {counts['killed']:>7} {counts['equivalent']:>7} {counts['survived']:>9} "
          f"{score:>6.1%}{note}")
    return score < GOAL


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
