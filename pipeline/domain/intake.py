"""Raw bytes of a `session.completed` event -> a validated event, or every input error at once."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from schemas.decision import FieldError
from schemas.event import SessionCompleted, raw_rule_errors, without_null_defaults

_PLAIN_MESSAGES = {
    "missing": "is required",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "date_type": "must be a date (YYYY-MM-DD)",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "must be a date (YYYY-MM-DD)",
    "datetime_type": "must be a date-time with an offset (2026-11-20T14:00:00-06:00)",
    "datetime_parsing": "must be a date-time with an offset (2026-11-20T14:00:00-06:00)",
    "datetime_from_date_parsing": "must be a date-time with an offset (2026-11-20T14:00:00-06:00)",
    "timezone_aware": "must carry a UTC offset (2026-11-20T14:00:00-06:00)",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
}


class InputRejected(Exception):
    """The event is refused as input; `errors` names every offending field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors))
        self.errors = errors


def field_path(loc: tuple[int | str, ...]) -> str:
    """`("session", "services", 0, "cpt")` -> `session.services[0].cpt`."""
    out = ""
    for item in loc:
        if isinstance(item, int):
            out += f"[{item}]"
        else:
            out += f".{item}" if out else str(item)
    return out or "(body)"


def _message(err: Any) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "literal_error":  # pydantic names the allowed values in ctx["expected"]: "'M', 'F' or 'U'"
        return f"must be one of {ctx['expected']}".replace("'", "")
    # No list of the event has a length limit of its own (the most lines and codes are the event's rules,
    # with their own messages); the one minimum, a line at least, reads "must not be empty".
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "string_pattern_mismatch":
        return "is not in the expected format"
    if "field" in ctx:  # the event's own cross-field rules carry their full message
        return str(err["msg"])
    return _PLAIN_MESSAGES.get(kind, str(err["msg"]))


def errors_from_validation(exc: ValidationError) -> list[FieldError]:
    """Each error of pydantic's as a field path and a sentence; one that reads the same twice is given once."""
    errors: list[FieldError] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        extra = (err.get("ctx") or {}).get("field")
        if extra:
            loc = (*loc, extra)
        errors.append(FieldError(path=field_path(loc), message=_message(err)))
    return _merge(errors)


def parse_event_document(document: Any) -> SessionCompleted:
    """Validate a decoded JSON document (strictly, as JSON: types are not coerced)."""
    if not isinstance(document, dict):
        raise InputRejected([FieldError(path="(body)", message="must be a JSON object")])
    document = without_null_defaults(document)
    rule_errors = [FieldError(path=path, message=message) for path, message in raw_rule_errors(document)]
    try:
        event = SessionCompleted.model_validate_json(json.dumps(document), strict=True)
    except ValidationError as exc:
        raise InputRejected(_merge(errors_from_validation(exc), rule_errors)) from None
    if rule_errors:  # pragma: no cover - the model enforces the same rules; kept as a guard
        raise InputRejected(rule_errors)
    return event


def _merge(*groups: list[FieldError]) -> list[FieldError]:
    return list(dict.fromkeys(e for group in groups for e in group))


def parse_event(raw: bytes | str) -> SessionCompleted:
    """Parse and validate; raises `InputRejected` (with every error) or `MalformedJson`."""
    return parse_event_document(load_json(raw))


class MalformedJson(InputRejected):
    pass


MAX_NESTING = 32  # an event is 4 levels deep; far deeper is an attack on the parser, not an event
MAX_DIGITS = 100  # no number of an event has more digits


def _too_deep(raw: str) -> bool:
    """Whether brackets outside strings nest deeper than MAX_NESTING (checked before parsing)."""
    depth, in_string, escaped = 0, False, False
    for ch in raw:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError("a number has too many digits")
    return int(text)


def load_json(raw: bytes | str) -> Any:
    """Parse a JSON body; anything that is not a plausible event's JSON is MalformedJson, never a crash."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise MalformedJson([FieldError(path="(body)", message="malformed JSON: not UTF-8 text")]) from None
    if text.count("[") + text.count("{") > MAX_NESTING and _too_deep(text):
        raise MalformedJson([FieldError(path="(body)", message=f"JSON nested more than {MAX_NESTING} levels")])
    try:
        return json.loads(text, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise MalformedJson([FieldError(path="(body)", message=f"malformed JSON at line {exc.lineno} column "
                                                               f"{exc.colno}")]) from None
    except (ValueError, RecursionError):
        raise MalformedJson([FieldError(path="(body)", message=f"malformed JSON: a number has more than "
                                                               f"{MAX_DIGITS} digits")]) from None
