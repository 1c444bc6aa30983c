"""The ICD-10-CM code set as one compact table, built from `simple_icd_10_cm`'s own data files.

`simple_icd_10_cm` builds a tree of Python objects with every note of every code at import (about 2-3 s
of CPU and 170 MB per process); the pipeline only asks whether a code exists, whether it is a leaf
(billable) and its description. This module reads the same two files (the tabular XML and the list of
confirmed codes) chapter by chapter, and keeps `code -> (is_leaf, description)`: the library's
rules replayed (sections and codes, seventh-character extensions inherited from an ancestor and kept
only when the code list confirms them, the first node of a name wins), and nothing else.

Reading the XML still costs about 1 s of CPU, so the built table (`config.icd10cm_table`, a few flat
byte strings) is kept in the data home's cache folder (`config.icd10cm_cache`) and every later process
reads it in a few milliseconds. A cache rather than a file built when the package is built: the table
follows the library actually installed (a new version of it, installed without rebuilding this
package, gives a new file at the next start, not stale verdicts), editable installs need no build
step, and a cache that cannot be written or read changes nothing but the time it takes.

The table is loaded when this module is first imported, so Python's import lock builds (or reads) it
once per process however many threads ask at the same moment. `tests/unit/config/test_icd10cm.py`
compares it with the library over every code the library knows.
"""

from __future__ import annotations

import importlib.util
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from config import icd10cm_cache
from config.data_home import cache_dir_of
from config.icd10cm_table import CodeTable, Entry

_NODE_TAGS = ("section", "diag")


def data_files() -> tuple[Path, Path]:
    """The library's code list and tabular XML, found without importing it (its import builds its tree)."""
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the simple-icd-10-cm package is not installed")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    code_lists, tabulars = sorted(data.glob("code-list-*.txt")), sorted(data.glob("icd10c-tabular-*.xml"))
    if len(code_lists) != 1 or len(tabulars) != 1:
        raise RuntimeError(f"expected one code list and one tabular file in {data}")
    return code_lists[0], tabulars[0]


def _confirmed_codes(path: Path) -> frozenset[str]:
    text = path.read_text(encoding="utf-8")
    return frozenset(line.split(" ")[0].replace(".", "") for line in text.split("\n"))


class _Builder:
    def __init__(self, confirmed: frozenset[str]) -> None:
        self.confirmed = confirmed
        self.table: dict[str, Entry] = {}

    def _register(self, name: str, leaf: bool, description: str) -> None:
        self.table.setdefault(name, (leaf, description))

    def node(self, element: ET.Element, inherited: dict[str, str] | None) -> None:
        """One chapter, section or code: its children first, then itself, then its extensions."""
        name = element.attrib.get("id", "")
        description = ""
        own: dict[str, str] = {}
        passed_down = inherited
        has_children = False
        for sub in element:
            if sub.tag in _NODE_TAGS:
                has_children = True
                self.node(sub, passed_down)
            elif sub.tag == "name":
                if sub.text is None:
                    raise ValueError("an ICD-10-CM <name> without text")
                name = sub.text
            elif sub.tag == "desc":
                if sub.text is not None:
                    description = sub.text
            elif sub.tag == "sevenChrDef":
                _read_extensions(sub, own)
                passed_down = own
        extensions = [] if has_children else list(self._extensions(name, description, own or inherited))
        self._register(name, not has_children and not extensions, description)
        for ext_name, ext_description in extensions:
            self._register(ext_name, True, ext_description)

    def _extensions(self, name: str, description: str, definition: dict[str, str] | None) -> Iterator[tuple[str, str]]:
        if not definition:
            return
        padded = name + "." if len(name) == 3 else name
        padded = padded.ljust(7, "X")
        for char, meaning in definition.items():
            if padded[:3] + padded[4:] + char in self.confirmed:
                yield padded + char, f"{description}, {meaning}"


def _read_extensions(element: ET.Element, into: dict[str, str]) -> None:
    last: str | None = None
    for item in element:
        if item.tag == "extension":
            last = item.attrib["char"]
            into[last] = item.text if item.text is not None else ""
        elif item.tag == "note" and last is not None and item.text is not None:
            into[last] = into[last] + "/" + item.text


def build(code_list: Path, tabular: Path) -> dict[str, Entry]:
    """Read the two files into the table, one chapter in memory at a time."""
    builder = _Builder(_confirmed_codes(code_list))
    depth, top_level = 0, 0
    root: ET.Element | None = None
    # the installed package's own data file, not input from anyone
    for event, element in ET.iterparse(tabular, events=("start", "end")):  # noqa: S314
        if event == "start":
            depth += 1
            if depth == 1:
                root = element
            continue
        depth -= 1
        if depth == 1:
            top_level += 1
            if top_level > 2:  # the version and the introduction come first, then the chapters
                builder.node(element, None)
            if root is not None:
                root.remove(element)
    return builder.table


def load(cache_folder: Path, code_list: Path, tabular: Path) -> CodeTable:
    """The table kept in `cache_folder` for these files, else built from them (and kept when possible)."""
    source = icd10cm_cache.identity((code_list, tabular), (Path(__file__),))
    kept = icd10cm_cache.read(cache_folder, source)
    if kept is not None:
        return kept
    table = CodeTable.of(build(code_list, tabular))
    icd10cm_cache.write(cache_folder, source, table)
    return table


TABLE: CodeTable = load(cache_dir_of(os.environ), *data_files())
