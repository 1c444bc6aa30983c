"""The query parameters of the ops API, one model per route that takes any.

As a request body's keys are, a route's query parameters are read by one model: a parameter the route does not
know is refused (`422` naming it), never ignored, and every bad parameter of a request is named at once (an
unknown one, a bad date, a bad cursor, a limit that is not a number), one error each."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Annotated, Any

from fastapi.dependencies.models import Dependant
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from pipeline.application import ops
from pipeline.domain.codes import FILTERABLE_PROBLEMS
from schemas.claim import STATUSES
from schemas.decision import ROUTES

UNKNOWN_PARAMETER = "unknown_parameter"
DATE: dict[str, Any] = {"format": "date"}
TO_DATE = "the last date of the period, YYYY-MM-DD: not before `from` (422 naming `to`)"


def iso_day(value: Any) -> date | None:
    """`YYYY-MM-DD` exactly (Python's `date.fromisoformat` would also take `20261120` and `2026-W48-5`); None for
    no value; ValueError for anything else."""
    if value in (None, ""):
        return None
    text = str(value)
    try:
        if len(text) != 10 or text[4] != "-" or text[7] != "-":
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _is_date(value: str | None) -> str | None:
    """A query parameter that is a day, `YYYY-MM-DD` exactly (`iso_day`); given empty, it is no day."""
    try:
        if value == "":
            raise ValueError(value)
        iso_day(value)
    except ValueError:
        raise PydanticCustomError("date", "is not a date (YYYY-MM-DD)") from None
    return value


def _one_of(choices: Sequence[str]) -> Callable[[str | None], str | None]:
    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise PydanticCustomError("choice", "must be one of " + ", ".join(choices))
        return value
    return check


def _is_cursor(value: str | None) -> str | None:
    if value is not None:
        try:
            ops.check_cursor(value)
        except ops.BadCursor as exc:
            raise PydanticCustomError("cursor", str(exc)) from None
    return value


Date = Annotated[str, AfterValidator(_is_date)]
Day = Annotated[str | None, AfterValidator(_is_date)]
Cursor = Annotated[str, AfterValidator(_is_cursor)]  # never null in a query: no `null` in its schema


def _day(what: str) -> Any:
    return Field(default=None, description=f"date of service on or {what} this date, YYYY-MM-DD",
                 json_schema_extra=DATE)


def _from() -> Any:
    return Field(alias="from", json_schema_extra=DATE)


def _to() -> Any:
    return Field(alias="to", json_schema_extra=DATE, description=TO_DATE)


def _limit() -> Any:
    return Field(default=None, ge=1, le=1000,
                 description="at most this many, oldest first; the answer's next_cursor names the next page")


def _cursor() -> Any:
    return Field(default=None, json_schema_extra={"pattern": f"^{ops.CURSOR_PATTERN}$"},
                 description="the next page: next_cursor of the previous page (a position in the list, "
                             "`<time>:<id>`: the page starts after it)")


class _Query(BaseModel):
    """A route's query parameters: one it does not know is refused, never ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)


class ClaimsQuery(_Query):
    status: Annotated[str | None, AfterValidator(_one_of(STATUSES))] = Field(
        default=None, json_schema_extra={"enum": list(STATUSES)})
    route: Annotated[str | None, AfterValidator(_one_of(ROUTES))] = Field(
        default=None, json_schema_extra={"enum": list(ROUTES)})
    payer: str | None = None
    therapist: str | None = None
    since: Day = _day("after")
    until: Day = _day("before")
    problem: str | None = Field(default=None, json_schema_extra={"enum": list(FILTERABLE_PROBLEMS)})
    limit: int | None = _limit()
    cursor: Cursor = _cursor()
    q: str | None = Field(default=None, description="client name, member id, claim or session id, or a date of "
                                                    "service or birth; every word must match, case and accents ignored")


class PageQuery(_Query):
    limit: int | None = _limit()
    cursor: Cursor = _cursor()


class ExportQuery(_Query):
    since: Date = _from()
    until: Date = _to()
    format: Annotated[str, AfterValidator(_one_of(("csv", "jsonl")))] = Field(
        default="csv", json_schema_extra={"enum": ["csv", "jsonl"]})
    with_client: bool = False


class StatementsQuery(_Query):
    client: str = Field(min_length=1)
    since: Date = _from()
    until: Date = _to()


class ReceivablesQuery(_Query):
    as_of: Day = Field(default=None, json_schema_extra=DATE,
                       description="what was owed at the end of this day (default: now); a day after today is "
                                   "refused (422)")
    warn_days: int | None = Field(default=None, ge=0, le=3650)


class VersionQuery(_Query):
    based_on: str | None = Field(
        default=None, pattern=r"^(0|[0-9]{1,12}\.[0-9]{6})$",
        description="the claim's `event_version` the change was made from (`GET /v1/ops/claims/{claim_id}`): "
                    "refused (409) when the claim's event was amended since; without it, the change is written only "
                    "onto the event it was read with")


class UpdateQuery(VersionQuery):
    dry_run: bool = Field(default=False, description="store nothing: answer with the decision the claim would get "
                                                     "with the update (`preview`)")
    resubmit: bool = Field(default=False, description="resubmit the claim right after applying the update (skipped "
                                                      "when the rules still find the same problems)")


class ReplayQuery(_Query):
    again: bool = Field(default=False,
                        description="replay a refused event already replayed as a claim all the same")


def query_names(dependant: Dependant) -> list[str]:
    """The query parameters a route takes, by the names a request gives them."""
    names: list[str] = []
    for field in dependant.query_params:
        model = field.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            names += [info.alias or name for name, info in model.model_fields.items()]
        else:
            names.append(field.alias)
    for sub in dependant.dependencies:
        names += query_names(sub)
    return names


def has_query_model(dependant: Dependant) -> bool:
    """Whether a query model reads the route's parameters (and so refuses the unknown ones itself)."""
    return any(isinstance(f.field_info.annotation, type) and issubclass(f.field_info.annotation, BaseModel)
               for f in dependant.query_params)


def _unknown_message(known: Sequence[str]) -> str:
    return f"is not a query parameter of this request (known: {', '.join(known) or 'none'})"


def unknown_parameters(given: Iterable[str], known: Sequence[str]) -> list[dict[str, Any]]:
    """A validation error for each query parameter not known, in the order given."""
    return [{"type": UNKNOWN_PARAMETER, "loc": ("query", name), "msg": _unknown_message(known)}
            for name in dict.fromkeys(given) if name not in known]


def naming_the_known(errors: Iterable[Any], known: Sequence[str]) -> list[Any]:
    """Validation errors, an unknown query parameter's saying which ones the request knows."""
    return [{**e, "type": UNKNOWN_PARAMETER, "msg": _unknown_message(known)}
            if e.get("type") == "extra_forbidden" and tuple(e.get("loc", ()))[:1] == ("query",) else e
            for e in errors]
