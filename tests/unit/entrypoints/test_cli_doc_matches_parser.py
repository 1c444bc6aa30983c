"""docs/CLI.md says what the program takes: every option of a command is in its usage block, and the queues
`status` shows are the ones the docs list."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from pipeline.application.steps import QUEUES
from pipeline.entrypoints.cli import build_parser

DOCS = Path(__file__).resolve().parents[3] / "docs"
CLI_MD = (DOCS / "CLI.md").read_text()
LEFT_TO_OTHERS = {("demo",)}  # `superbill demo` is documented with its own module


def usage_blocks() -> dict[tuple[str, ...], str]:
    """Each documented command (as its words) with the text of its usage lines."""
    blocks: dict[tuple[str, ...], str] = {}
    current: tuple[str, ...] | None = None
    for line in CLI_MD.splitlines():
        head = re.match(r"^(?:usage: |\s+)superbill ((?:[a-z][a-z-]*(?: |$))*)", line)
        if head and ("usage:" in line or (current is not None and line.startswith("       superbill"))):
            current = tuple(head.group(1).split())
            blocks[current] = blocks.get(current, "") + line
        elif current is not None and line.startswith(" ") and line.strip().startswith("["):
            blocks[current] += line
        else:
            current = None
    return blocks


def subparser(words: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for word in words:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    return parser


def test_every_command_has_a_usage_block() -> None:
    blocks = usage_blocks()
    for words in [("check",), ("claims", "list"), ("resubmit",), ("refused", "replay"), ("statement", "monthly")]:
        assert words in blocks


@pytest.mark.parametrize("words", sorted(set(usage_blocks()) - LEFT_TO_OTHERS - {()}))
def test_a_usage_block_names_every_option(words: tuple[str, ...]) -> None:
    text = usage_blocks()[words]
    missing = [a.option_strings for a in subparser(words)._actions
               if a.option_strings and "-h" not in a.option_strings
               and not any(re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text) for o in a.option_strings)]
    assert not missing, f"superbill {' '.join(words)}: {missing} not in docs/CLI.md's usage"


@pytest.mark.parametrize("doc", ["CLI.md", "CONTRACT.md"])
def test_the_docs_list_every_queue(doc: str) -> None:
    text = (DOCS / doc).read_text()
    sentence = re.search(r"(?:from the queues|one entry per dramatiq queue) ([^.]*)", text)
    assert sentence is not None
    assert set(re.findall(r"`([a-z_]+)`", sentence.group(1))) == set(QUEUES)
