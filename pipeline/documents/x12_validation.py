"""Validate an X12 837P against the 005010X222A1 map with pyx12, in memory; pyx12's code lists.

pyx12 builds its map (and its external code lists) from XML on every validation, 0.1-0.8 s each; here
each map and the index of maps is built once per process and kept (`_map_once`, `_map_index_once`), which
gives the same verdicts in milliseconds.

pyx12's verdict depends on the text alone, so the last `VERDICTS_KEPT` verdicts are kept by the text's
SHA-256 (`_Verdicts`, a bounded LRU): a claim routed again, a submission resent under the same key or a
second peer seeing the same interchange costs a hash, not another walk of the map.

`validate_837p` reads pyx12's own verdict (the return value of `x12n_document`) and its error
tree (the JSON error visitor), never an exit code. Every error pyx12 finds is in the report, so
its own `pyx12` logger is silenced: it writes nowhere and does not propagate to the application's
handlers (its messages quote element values such as birth dates, which are patient data).
Report errors quote those values too: treat them like the 837P itself.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyx12.codes
import pyx12.errors
import pyx12.map_if
import pyx12.map_index
import pyx12.params
import pyx12.x12file
import pyx12.x12n_document

_PYX12_LOGGER = logging.getLogger("pyx12")
_PYX12_LOGGER.addHandler(logging.NullHandler())
_PYX12_LOGGER.propagate = False

# pyx12 does not document thread safety; one validation at a time is cheap insurance
# (it is pure Python, so threads would not run it in parallel anyway).
_LOCK = threading.Lock()

_load_map_file = pyx12.map_if.load_map_file


@functools.cache
def _map_once(map_file: str, map_path: str | None) -> Any:
    return _load_map_file(map_file, pyx12.params.params(), map_path)


def _cached_load_map_file(map_file: str, param: Any, map_path: str | None = None) -> Any:
    """pyx12's map loader, once per map: the map is read-only while a document is walked."""
    return _map_once(map_file, map_path)


pyx12.map_if.load_map_file = _cached_load_map_file  # x12n_document looks it up at each call

_map_index_class = pyx12.map_index.map_index


@functools.cache
def _map_index_once(base_path: str | None = None) -> Any:
    """pyx12's index of its maps (read from maps.xml), once: it is only read after it is built."""
    return _map_index_class(base_path)


pyx12.map_index.map_index = _map_index_once  # looked up at each call too


@functools.cache
def _external_codes() -> pyx12.codes.ExternalCodes:
    return pyx12.codes.ExternalCodes(None, None)


def is_code(code_set: str, code: str) -> bool:
    """Whether `code` is in one of pyx12's external code lists (`states`, `pos`, ...)."""
    with _LOCK:
        return bool(_external_codes().isValid(code_set, code))


@dataclass(frozen=True)
class ElementError:
    """Where pyx12 found an error, without the value: segment, element, pyx12's names for them, the code."""

    segment: str
    segment_name: str
    element: str
    element_name: str
    code: str


@dataclass(frozen=True)
class X12Report:
    """pyx12's verdict on one interchange: `ok`, and every error found, one readable line each."""

    ok: bool
    errors: list[str] = field(default_factory=list)
    acknowledgement: str = ""  # the 999 pyx12 generated (empty when it could not read the file)
    element_errors: list[ElementError] = field(default_factory=list)  # value-free, for people and logs


def _errors_of(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = node.get("errors")
    return found if isinstance(found, list) else []


def _describe(code: Any, message: Any, value: Any = None) -> str:
    text = f"{message} (code {code})"
    if value not in (None, ""):
        text += f", value {value!r}"
    return text


def _segment_errors(segment: dict[str, Any]) -> list[str]:
    where = f"segment {segment.get('seg_id')} #{segment.get('seg_count')} (line {segment.get('cur_line')}"
    if segment.get("ls_id"):
        where += f", loop {segment.get('ls_id')}"
    where += ")"
    lines = [
        f"{where}: {_describe(e.get('err_cde'), e.get('err_str'), e.get('err_val'))}"
        for e in _errors_of(segment)
    ]
    for element in segment.get("elements") or []:
        position = f"{segment.get('seg_id')}{int(element.get('ele_pos') or 0):02d}"
        if element.get("subele_pos"):
            position += f"-{element.get('subele_pos')}"
        name = f" {element.get('name')}" if element.get("name") else ""
        lines.extend(
            f"{where} element {position}{name}: "
            f"{_describe(e.get('err_cde'), e.get('err_str'), e.get('err_val'))}"
            for e in _errors_of(element)
        )
    return lines


def _segments(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every segment pyx12's error tree reports, across interchanges, groups and transactions."""
    for isa in document.get("interchanges") or []:
        for gs in isa.get("groups") or []:
            for st in gs.get("transactions") or []:
                yield from st.get("segments") or []


def _element_errors(document: dict[str, Any]) -> list[ElementError]:
    found: list[ElementError] = []
    for segment in _segments(document):
        seg_id, seg_name = str(segment.get("seg_id") or ""), str(segment.get("name") or "")
        found.extend(ElementError(seg_id, seg_name, "", "", str(e.get("err_cde"))) for e in _errors_of(segment))
        for element in segment.get("elements") or []:
            position = f"{seg_id}{int(element.get('ele_pos') or 0):02d}"
            found.extend(ElementError(seg_id, seg_name, position, str(element.get("name") or ""),
                                      str(e.get("err_cde"))) for e in _errors_of(element))
    return found


def _flatten(document: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for isa in document.get("interchanges") or []:
        lines.extend(
            f"ISA (line {isa.get('cur_line')}): {_describe(e.get('err_cde'), e.get('err_str'))}"
            for e in _errors_of(isa)
        )
        for gs in isa.get("groups") or []:
            lines.extend(
                f"GS {gs.get('gs_control_num')} (line {gs.get('cur_line')}): "
                f"{_describe(e.get('err_cde'), e.get('err_str'))}"
                for e in _errors_of(gs)
            )
            for st in gs.get("transactions") or []:
                lines.extend(
                    f"ST {st.get('trn_set_control_num')} (line {st.get('cur_line')}): "
                    f"{_describe(e.get('err_cde'), e.get('err_str'))}"
                    for e in _errors_of(st)
                )
                for segment in st.get("segments") or []:
                    lines.extend(_segment_errors(segment))
    return lines


def _run_pyx12(text: str) -> X12Report:
    try:
        pyx12.x12file.X12Reader(io.StringIO(text)).close()
    except pyx12.errors.X12Error as exc:
        return X12Report(ok=False, errors=[f"not an X12 interchange: {exc}"])

    param = pyx12.params.params()
    ack = io.StringIO()
    error_json = io.StringIO()
    try:
        valid = pyx12.x12n_document.x12n_document(
            param=param,
            src_file=io.StringIO(text),
            fd_997=ack,
            fd_html=None,
            fd_xmldoc=None,
            fd_json=error_json,
        )
    except Exception as exc:  # pyx12 raises on input it cannot map (e.g. an unknown GS08)
        return X12Report(ok=False, errors=[f"pyx12 could not process the interchange: {exc}"])

    try:
        document = json.loads(error_json.getvalue() or "{}")
    except json.JSONDecodeError:
        document = {}
    errors = _flatten(document) if isinstance(document, dict) else []
    element_errors = _element_errors(document) if isinstance(document, dict) else []
    if not valid and not errors:
        errors = ["pyx12 rejected the interchange without naming an error"]
    return X12Report(ok=bool(valid) and not errors, errors=errors, acknowledgement=ack.getvalue(),
                     element_errors=element_errors)


def warm_up() -> None:
    """Build the 005010X222A1 map and the code lists now (a worker does it at boot)."""
    with _LOCK:
        for map_file in ("x12.control.00501.xml", "837.5010.X222.A1.xml"):
            _map_once(map_file, None)
        _map_index_once(None)
        _external_codes()


VERDICTS_KEPT = 512  # a verdict is a few KB at most (its 999 and error lines): about 1 MB per process


class _Verdicts:
    """pyx12's verdicts by the SHA-256 of the text, the `size` most recently used; safe from any thread.

    Each caller gets its own copy of the report's lists, so nothing a caller does changes a kept verdict."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[bytes, X12Report] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str, compute: Callable[[str], X12Report]) -> X12Report:
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            report = self._kept.get(key)
            if report is not None:
                self._kept.move_to_end(key)
        if report is None:
            report = compute(text)
            with self._lock:
                self._kept[key] = report
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        return dataclasses.replace(report, errors=list(report.errors), element_errors=list(report.element_errors))

    def __len__(self) -> int:
        return len(self._kept)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


_verdicts_837p = _Verdicts(VERDICTS_KEPT)


def _validate_locked(text: str) -> X12Report:
    with _LOCK:
        return _run_pyx12(text)


def validate_837p(text: str) -> X12Report:
    """Validate one X12 interchange (an 837P 005010X222A1) with pyx12; safe from any thread. The same
    text gets the verdict it got before without being walked again (`_Verdicts`)."""
    return _verdicts_837p.get(text, _validate_locked)


def _functional_group(text: str) -> tuple[str, str]:
    """GS01 and GS08 (functional identifier, version) of an interchange, read with the ISA's separators."""
    stripped = text.lstrip()
    if not stripped.startswith("ISA") or len(stripped) < 106:
        return "", ""
    element, terminator = stripped[3], stripped[105]
    for raw in stripped.split(terminator)[1:3]:
        parts = raw.strip().split(element)
        if parts[0] == "GS":
            return (parts[1] if len(parts) > 1 else ""), (parts[8] if len(parts) > 8 else "")
    return "", ""


def validate_835(text: str) -> X12Report:
    """Validate one X12 interchange as an 835 (005010X221A1) with pyx12; safe from any thread.

    pyx12 picks its map from GS08, so an interchange of another kind is refused before it is walked."""
    functional_id, version = _functional_group(text)
    if (functional_id, version) != ("HP", "005010X221A1"):
        return X12Report(ok=False, errors=[f"not an 835 005010X221A1 interchange (GS01 {functional_id!r}, "
                                           f"GS08 {version!r})"])
    with _LOCK:
        return _run_pyx12(text)
