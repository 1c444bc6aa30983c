import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3] / "pipeline"
# Every module of the domain, and the documents rendered from a decision (pyx12 validation aside: it reads
# its XML maps), is pure: no I/O library, no clock.
PURE_MODULES = sorted(
    [p.relative_to(ROOT).with_suffix("").as_posix() for p in (ROOT / "domain").glob("*.py") if p.stem != "__init__"]
    + [f"documents/{name}" for name in ("x12_837p", "superbill_pdf", "courtesy")]
)
IO_MODULES = {"os", "sys", "io", "time", "logging", "socket", "redis", "requests", "subprocess", "pathlib",
              "random", "structlog", "dramatiq", "httpx", "shutil", "tempfile"}
CLOCK_CALLS = {"now", "today", "utcnow", "time", "monotonic"}  # as methods: datetime.now(), time.time()
BARE_IO_CALLS = {"open", "input", "print"}


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _called_names(tree: ast.AST) -> set[str]:
    called: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                called.add(func.attr)
            elif isinstance(func, ast.Name) and func.id in BARE_IO_CALLS:
                called.add(func.id)
    return called


@pytest.mark.parametrize("module", PURE_MODULES)
def test_billing_rule_module_does_no_io_and_reads_no_clock(module: str) -> None:
    tree = ast.parse((ROOT / f"{module}.py").read_text(encoding="utf-8"))
    assert not _imports(tree) & IO_MODULES
    assert not _called_names(tree) & (CLOCK_CALLS | BARE_IO_CALLS)


def test_the_pure_modules_include_every_billing_rule() -> None:
    for rule in ("codes", "identifiers", "diagnoses", "units", "modifiers", "prescription", "referral",
                 "claim_ids", "superbill", "decide"):
        assert f"domain/{rule}" in PURE_MODULES
