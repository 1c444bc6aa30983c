"""The bodies of the web API's answers, as the OpenAPI document describes them.

Every error, from the webhook and from the ops API alike, has one shape: `{"errors": [{"path", "message"}]}`,
with `status` (and, for a refused event, `refused_id`) where the webhook gives one.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

from pipeline.domain.codes import FILTERABLE_PROBLEMS
from schemas.claim import RESUBMITTABLE_STATUSES
from schemas.decision import ROUTES


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorItem(BaseModel):
    path: str
    message: str


class ErrorBody(_Body):
    """Every error answer: one item per field or header at fault (`(body)`, `X-Signature`, `Authorization`...)."""

    errors: list[ErrorItem]
    status: str | None = None
    refused_id: str | None = None
    error: str | None = None  # the webhook's 401 also names its problem here


class StediEventAnswer(_Body):
    """A Stedi webhook event taken: `accepted` (202, `fetch` is `queued` or `already_queued`) or `ignored` (200)."""

    status: str
    fetch: str | None = None


class EventAnswer(_Body):
    """A taken event: `accepted` (202), `duplicate` (200) or `kept_for_review` (202)."""

    status: str
    claim_id: str
    event_id: str
    message: str | None = None


class Finding(BaseModel):
    code: str
    message: str


class ClaimRow(_Body):
    claim_id: str
    session_id: str
    route: str | None
    status: str
    problems: list[str]
    warnings: list[str]
    payer: str | None
    therapist_id: str | None
    date_of_service: str | None
    attempts: int
    last_error: str | None
    peer_reasons: list[str]
    peer_reference: str | None
    submission_no: int
    updated_at: float


class ClaimList(BaseModel):
    claims: list[ClaimRow]
    next_cursor: str | None = None  # with `limit`: the next page's cursor, null at the end of the list


class ClaimDetail(_Body):
    claim_id: str
    session_id: str
    event_id: str
    status: str
    route: str | None
    problems: list[Finding]
    warnings: list[Finding]
    superbill: dict[str, Any] | None
    attempts: int
    last_error: str | None
    submission_no: int
    peer_reference: str | None
    peer_reasons: list[str]
    has_statement: bool
    timeline: list[dict[str, Any]]
    client_id: str | None = None
    statement_delivery: str | None = None  # the statement e-mail: queued, sending, ..., sent, failed, skipped
    statement_error: str | None = None
    statement_message_id: str | None = None
    event_version: str = "0"  # which amendment of its event the claim is at: `based_on` of amend and correct
    paid_amount: str | None = None  # from the payer's remittances (835)
    recovered_amount: str | None = None  # what provider-level recoveries (PLB) took back of it; negative: added
    denied_parts: list[dict[str, Any]] = []  # a split claim's parts denied: charge, lines, amounts, reasons
    # the booking system's later event for the session, waiting to be applied: event_id, received_at, sections
    pending_event: dict[str, Any] | None = None


class StatementSendAnswer(_Body):
    ok: bool
    claim_id: str
    message: str


class Summary(_Body):
    queues: list[dict[str, Any]]
    claims: dict[str, Any]
    last_24h: dict[str, Any]
    past_timely_filing_warning: list[dict[str, Any]]
    # the A/R's timely-filing list: warning_days, limit_days, claims (claim_id, status, date_of_service, age_days,
    # days_left), oldest first
    timely_filing: dict[str, Any] = {}
    needs_attention: int
    refused_events: int
    waiting_without_worker: int = Field(0, description="step messages queued (ready or delayed) while no worker "
                                                      "process runs to take them; 0 while one runs")


class AmendAnswer(_Body):
    ok: bool
    claim_id: str
    changed: list[str]
    errors: list[ErrorItem]
    message: str


class UpdateAnswer(_Body):
    """Applying the booking system's update (or, `dry_run`, what it would give)."""

    ok: bool
    claim_id: str
    event_id: str | None
    applied: list[str]
    not_applicable: list[str]
    errors: list[ErrorItem]
    message: str
    dry_run: bool
    preview: dict[str, Any] | None
    resubmitted: bool
    correction: dict[str, Any] | None


class PaymentAnswer(_Body):
    ok: bool
    claim_id: str
    message: str
    errors: list[ErrorItem]
    amount: str | None = None
    method: str | None = None
    received_on: str | None = None
    amount_paid: str | None = None
    balance_due: str | None = None
    document_number: str | None = None
    replaces: str | None = None
    statement: str | None = None
    event_version: str | None = None
    replayed: bool = False
    key_reused: bool = False


class _Request(BaseModel):
    """A request body: a key it does not know is refused (`422` naming it), never ignored."""

    model_config = ConfigDict(extra="forbid")


def _one_of(*keys: str) -> dict[str, Any]:
    return {"anyOf": [{"required": [k]} for k in keys]}


# A key given is never null (`null` answers 422): a filter value is a string, `claim_ids` a list.
class ResubmitFilter(_Request):
    """Which claims to resubmit: every key given must match (AND); `{}` is every resubmittable claim."""

    status: str = Field(default=None, json_schema_extra={"enum": sorted(RESUBMITTABLE_STATUSES)})
    route: str = Field(default=None, json_schema_extra={"enum": list(ROUTES)})
    payer: StrictStr = Field(default=None)
    therapist: StrictStr = Field(default=None)
    since: StrictStr = Field(default=None, json_schema_extra={"format": "date"})
    until: StrictStr = Field(default=None, json_schema_extra={"format": "date"})
    problem: StrictStr = Field(default=None, json_schema_extra={"enum": list(FILTERABLE_PROBLEMS)})


FILTER_KEYS = tuple(ResubmitFilter.model_fields)


class ResubmitRequest(ResubmitFilter):
    """`claim_ids`, or a filter: under `filter` (`{"filter": {}}` for every resubmittable claim) or its keys at
    the top level; exactly one of the three ways."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": [
        {"required": ["claim_ids"], "not": _one_of("filter", *FILTER_KEYS)},
        {"required": ["filter"], "not": _one_of("claim_ids", *FILTER_KEYS)},
        {**_one_of(*FILTER_KEYS), "not": _one_of("claim_ids", "filter")}]})

    claim_ids: list[StrictStr] = Field(default=None, min_length=1)
    filter: ResubmitFilter = Field(default=None)
    dry_run: StrictBool = False
    anyway: StrictBool = False


class ResubmitAnswer(_Body):
    resubmitted: list[str]
    resumed: list[str]  # of those, the failed ones sent again under their own, never-answered key
    skipped: list[dict[str, str]]
    dry_run: bool
    count: int
    previews: dict[str, dict[str, Any]] | None = Field(default=None, description=(
        "a dry run only: for each claim it would resubmit (the first 100), the route and problem codes the rules "
        "give it now, e.g. {\"ses_1003\": {\"route\": \"needs_attention\", \"problems\": "
        "[\"va_referral_number_invalid\"]}}"))


class RefusedRow(_Body):
    refused_id: str
    received_at: float
    http_status: int
    errors: list[ErrorItem]
    source: str
    replayed_as: str | None = Field(description="null, or the JSON text (a string to decode, not an object) of "
                                                "the replay's answer: the one that was taken once a replay was "
                                                "taken, else the last one")
    size: int


class RefusedList(BaseModel):
    refused: list[RefusedRow]
    next_cursor: str | None = None  # with `limit`: the next page's cursor, null at the end of the list


class RefusedDetail(RefusedRow):
    body: str


class ReplayAnswer(_Body):
    http_status: int
    status: str


class RemittanceRow(_Body):
    """One remittance file (835) received: its payment and what posting it did."""

    remittance_id: str
    source_id: str
    received_at: float
    status: str  # received | posted | partly_posted | invalid
    deliveries: int
    claims: int
    posted: int
    unmatched: int
    not_postable: int = 0  # kept for a person: does not balance, or the claim cannot take it
    duplicate: int = 0  # already posted from another file
    waiting: int = 0  # the claim is still on its way: tried again at the next pass
    errors: list[str]
    trace_number: str | None = None
    payment_amount: str | None = None
    payment_method: str | None = None
    payment_date: str | None = None
    payer: str | None = None
    # the PLB adjustments that make the payment differ from the claims' payments: code, amount, text, reference
    # (PLB03-2), trace_number, and what became of it: `outcome` (posted, duplicate, not_postable, waiting,
    # provider_level), the `claim_id` a recovery was posted against (or would be), `detail` (why not)
    provider_adjustments: list[dict[str, Any]] = []
    # every payment (check or EFT) of the file, when it carries several: trace, amount, method, date, payer
    checks: list[dict[str, Any]] = []


class RemittanceList(BaseModel):
    remittances: list[RemittanceRow]


class RemittanceDetail(RemittanceRow):
    claims: list[dict[str, Any]]  # type: ignore[assignment]  # each claim: outcome, posting, detail
    x12: str


class Receivables(_Body):
    as_of: str
    totals: dict[str, str]
    claims: int
    by_payer: dict[str, dict[str, str]]
    by_bucket: dict[str, str]
    outstanding: list[dict[str, Any]]
    timely_filing: dict[str, Any]


class Health(BaseModel):
    status: str
    redis: str


class DeadQueueCount(BaseModel):
    queue: str
    dead: int


class DeadCounts(BaseModel):
    queues: list[DeadQueueCount]
    total: int


class DeadLetterRow(BaseModel):
    queue: str
    message_id: str
    actor: str | None = Field(description="the actor of the message that died")
    step: str | None = Field(description="the step that gave up: the actor, or for the broker's failure callback "
                                         "the step whose retries it closes")
    claim_id: str | None
    dead_since: float = Field(description="when its retries ran out, epoch seconds")
    retries: int
    error_kind: str | None = Field(description="the class of the last error (never its text), if the broker kept it")
    enqueued_at: float | None


class DeadLetterList(BaseModel):
    queue: str
    dead_letters: list[DeadLetterRow]
    next_cursor: str | None = None  # the next page's cursor, null at the end of the list


class DeadLettersRequest(BaseModel):
    """Which dead letters: `{"message_ids": [...]}` or `{"all": true}`, exactly one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": [
        {"required": ["message_ids"], "not": {"required": ["all"]}},
        {"required": ["all"], "not": {"required": ["message_ids"]}, "properties": {"all": {"const": True}}}]})

    message_ids: list[Annotated[StrictStr, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, min_length=1, max_length=1000)
    all: StrictBool = False

    @model_validator(mode="after")
    def one_way(self) -> DeadLettersRequest:
        given = self.model_fields_set
        if "message_ids" in given and "all" in given:
            raise ValueError('give "message_ids" or "all": true, not both')
        if "all" in given and self.all is not True:
            raise ValueError('"all" must be true (or give "message_ids")')
        if not given:
            raise ValueError('say which dead letters: "message_ids", or "all": true')
        return self


class DeadLettersAnswer(BaseModel):
    queue: str
    retried: list[dict[str, Any]] = Field(description="retry: message_id, claim_id and step of each step sent again")
    skipped: list[dict[str, Any]] = Field(description="retry: each dead letter kept, with the reason")
    cleared: int = Field(description="clear: how many dead letters were removed")
    not_found: list[str] = Field(description="message ids given that the queue does not hold")


def error_body(path: str, message: str, *, status: str | None = None, **extra: Any) -> dict[str, Any]:
    """An error answer's body (`ErrorBody`): its `status` when the route gives one, `extra` keys, and the one
    item at fault."""
    body: dict[str, Any] = {"status": status} if status else {}
    return {**body, **extra, "errors": [{"path": path, "message": message}]}


def errors(*answers: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for error answers, each with the one error body."""
    return {status: {"model": ErrorBody, "description": description} for status, description in answers}
