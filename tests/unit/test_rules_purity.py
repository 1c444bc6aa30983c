import ast
from pathlib import Path

import pytest

RULES = Path(__file__).parents[2] / "pipeline" / "rules"
PURE_MODULES = [
    "codes",
    "identifiers",
    "diagnoses",
    "units",
    "modifiers",
    "prescription",
    "referral",
    "claim_ids",
    "superbill",
    "decide",
]
IO_MODULES = {"os", "sys", "io", "time", "logging", "socket", "redis", "requests", "subprocess", "pathlib",
              "random", "structlog", "dramatiq", "httpx", "shutil", "tempfile"}
CLOCK_CALLS = {"now", "today", "utcnow", "time", "open"}


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
            elif isinstance(func, ast.Name):
                called.add(func.id)
    return called


@pytest.mark.parametrize("module", PURE_MODULES)
def test_billing_rule_module_does_no_io_and_reads_no_clock(module: str) -> None:
    tree = ast.parse((RULES / f"{module}.py").read_text(encoding="utf-8"))
    assert not _imports(tree) & IO_MODULES
    assert not _called_names(tree) & CLOCK_CALLS
