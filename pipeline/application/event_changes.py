"""Where a later event for a session differs from the claim's own event: the field paths only, never their
values (a path names a field; a value can be patient data)."""

from __future__ import annotations

from typing import Any

# what identifies a delivery, not the session: never a difference ops has to act on
_DELIVERY_FIELDS = ("event_id", "occurred_at")


def differing_paths(claim_event: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """Every field path whose value differs between the two events (`session.services[0].minutes`,
    `prescription`), in document order; a section or list item present in only one is named whole."""
    paths: list[str] = []
    keys = [k for k in dict.fromkeys([*claim_event, *other]) if k not in _DELIVERY_FIELDS]
    for key in keys:
        _walk(claim_event.get(key), other.get(key), key, paths)
    return paths


def _walk(a: Any, b: Any, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in dict.fromkeys([*a, *b]):
            _walk(a.get(key), b.get(key), f"{path}.{key}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk(x, y, f"{path}[{i}]", out)
    elif a != b or type(a) is not type(b):
        out.append(path)
