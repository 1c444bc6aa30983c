"""The bundled example events, read from where the product ships them (`pipeline/examples/`), never from a
copy: a test that says "the bundled examples" fails when they drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[1] / "pipeline" / "examples"


def example_path(name: str) -> Path:
    """`va_direct` or `va_direct.json` -> the bundled file."""
    return EXAMPLES / (name if name.endswith(".json") else f"{name}.json")


def example(name: str) -> dict[str, Any]:
    """A bundled example event as a fresh dict."""
    return dict(json.loads(example_path(name).read_text()))


def edited(name: str, **edits: Any) -> dict[str, Any]:
    """A bundled example with fields replaced, each named by its dotted path with `__` for the dots
    (`client__first_name="Ann"` sets `client.first_name`)."""
    document = example(name)
    for dotted, value in edits.items():
        *parents, leaf = dotted.split("__")
        node = document
        for key in parents:
            node = node[key]
        node[leaf] = value
    return document
