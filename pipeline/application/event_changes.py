"""Where a later event for a session differs from the claim's own event: the field paths only, never their
values (a path names a field; a value can be patient data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# the sections of a claim's event ops may amend (the fix forms, `claims amend`, a booking system's update)
AMENDABLE_SECTIONS = ("prescription", "va_referral", "client", "coverage", "payment", "session")
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


def section_of(path: str) -> str:
    """The top-level section a field path is in (`session.services[1].minutes` -> `session`)."""
    return path.split(".", 1)[0].split("[", 1)[0]


def changed_sections(claim_event: dict[str, Any], other: dict[str, Any]) -> dict[str, list[str]]:
    """The sections where the other event differs from the claim's, each with its differing field paths, in
    document order (`{"prescription": ["prescription"], "session": ["session.services[1].minutes"]}`)."""
    sections: dict[str, list[str]] = {}
    for path in differing_paths(claim_event, other):
        sections.setdefault(section_of(path), []).append(path)
    return sections


@dataclass(frozen=True)
class SectionChange:
    """One section a later event changes: its differing paths, and the section as the claim has it now and as the
    event has it (`None`: absent). The values are patient data: for signed-in staff's screens only."""

    section: str
    paths: list[str]
    now: Any
    update: Any
    amended_since: bool = False  # a person amended this section after the event arrived: theirs is newer

    @property
    def amendable(self) -> bool:
        """Applied with the update: a section an amendment may change, and nobody amended it since the event
        arrived (applying would silently undo their change)."""
        return self.section in AMENDABLE_SECTIONS and not self.amended_since

    @property
    def why_not(self) -> str | None:
        if self.section not in AMENDABLE_SECTIONS:
            return "an amendment cannot change this section"
        if self.amended_since:
            return "amended by a person after this event arrived: not applied over their change (amend it by hand)"
        return None


@dataclass(frozen=True)
class PendingEvent:
    """The latest event the booking system sent for a session that already has a claim, while it still changes
    something and nobody applied it."""

    event_id: str
    received_at: float
    changes: list[SectionChange] = field(default_factory=list)

    @property
    def sections(self) -> list[str]:
        return [c.section for c in self.changes]

    @property
    def applicable(self) -> list[str]:
        return [c.section for c in self.changes if c.amendable]

    def patch(self) -> dict[str, Any]:
        """The amendment that makes the claim's event say what this event says, section by section (a section
        the event no longer has is removed; a field it no longer has is set to null, as the merge of an
        amendment keeps the fields a section patch leaves out)."""
        patch: dict[str, Any] = {}
        for change in self.changes:
            if not change.amendable:
                continue
            update = change.update
            if isinstance(update, dict) and isinstance(change.now, dict):
                update = {**dict.fromkeys(change.now), **update}
            patch[change.section] = update
        return patch

    def as_dict(self, *, with_values: bool = False) -> dict[str, Any]:
        """`event_id`, `received_at` (ISO 8601, UTC), `sections` (each with its `paths` and whether it can be
        `applied`; with values, `now` and `update` too) and `applicable` (the section names)."""
        return {
            "event_id": self.event_id,
            "received_at": datetime.fromtimestamp(self.received_at, UTC).isoformat(timespec="seconds"),
            "sections": [{"section": c.section, "paths": c.paths, "applicable": c.amendable,
                          **({"why_not": c.why_not} if c.why_not else {}),
                          **({"now": c.now, "update": c.update} if with_values else {})} for c in self.changes],
            "applicable": self.applicable,
        }


def pending_event(claim_event: dict[str, Any], timeline: list[dict[str, Any]]) -> PendingEvent | None:
    """The update waiting on a claim: the latest later event of its session kept on its timeline, unless an
    amendment after it applied it, or the claim's event already says what it says. Earlier kept events are
    superseded by the latest (the booking system's last word on the session). A section a person amended after
    it arrived is shown but not applied."""
    latest: tuple[int, dict[str, Any]] | None = None
    for i, entry in enumerate(timeline):
        if entry.get("kind") == "event.kept_for_review" and isinstance(entry.get("event"), dict):
            latest = (i, entry)
    if latest is None:
        return None
    at, entry = latest
    event: dict[str, Any] = entry["event"]
    event_id = str(event.get("event_id") or entry.get("event_id") or "")
    later = [e for e in timeline[at + 1:] if e.get("kind") == "amended"]
    if any(e.get("applied_event") == event_id for e in later):
        return None
    amended = {str(s) for e in later for s in e.get("changed") or []}
    changes = [SectionChange(section, paths, claim_event.get(section), event.get(section), section in amended)
               for section, paths in changed_sections(claim_event, event).items()]
    if not changes:
        return None
    return PendingEvent(event_id, float(entry.get("at") or 0), changes)
