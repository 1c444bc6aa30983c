"""Thin actors: parse the id, call one step of `pipeline.application.stages`, nothing else.

Import this module only after `workers.app.setup()` has set the broker. Each actor's name and queue come
from `pipeline.application.steps`, the table every process uses to queue a step.
"""

from __future__ import annotations

from typing import Any

import dramatiq
import structlog

from config.settings import load_retry_settings
from pipeline.application import remittances, stages, statement_delivery, steps
from pipeline.application.errors import PermanentError
from pipeline.entrypoints.runtime import deps

log = structlog.get_logger(__name__)
_submit = load_retry_settings()

# Internal steps only touch Redis: retry quickly, a few times; the reconciler re-drives the rest.
_STEP = {"max_retries": 10, "min_backoff": 500, "max_backoff": 30_000, "time_limit": 60_000,
         "throws": (PermanentError,)}
# Submissions talk to peers: longer backoff, and `failed` (with the last error) when retries run out.
_SUBMIT = {"max_retries": _submit.max_retries, "min_backoff": _submit.min_backoff_ms,
           "max_backoff": _submit.max_backoff_ms, "time_limit": 180_000, "throws": (PermanentError,),
           "on_retry_exhausted": steps.SUBMISSION_FAILED}


def _named(step: str) -> dict[str, Any]:
    return {"actor_name": step, "queue_name": steps.QUEUE_OF[step], "priority": steps.PRIORITY_OF[step]}


@dramatiq.actor(**_named(steps.VALIDATE), **_STEP)
def validate(claim_id: str) -> None:
    stages.validate(deps(), claim_id)


@dramatiq.actor(**_named(steps.ASSEMBLE), **_STEP)
def assemble(claim_id: str) -> None:
    stages.assemble(deps(), claim_id)


@dramatiq.actor(**_named(steps.ROUTE), **_STEP)
def route(claim_id: str) -> None:
    stages.route(deps(), claim_id)


@dramatiq.actor(**_named(steps.STATEMENT), **_STEP)
def make_statement(claim_id: str) -> None:
    stages.make_statement(deps(), claim_id)


@dramatiq.actor(**_named(steps.SUBMIT_DIRECT), **_SUBMIT)
def submit_direct(claim_id: str) -> None:
    stages.submit_direct(deps(), claim_id)


@dramatiq.actor(**_named(steps.SUBMIT_COURTESY), **_SUBMIT)
def submit_courtesy(claim_id: str) -> None:
    stages.submit_courtesy(deps(), claim_id)


@dramatiq.actor(**_named(steps.SUBMISSION_FAILED), max_retries=10, time_limit=60_000)
def submission_failed(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    claim_id = message["args"][0]
    stages.mark_failed(deps(), claim_id)


# E-mailing a statement: the mail server may be down for a while; `failed` (with the reason) when retries run out.
_DELIVER = {**_SUBMIT, "on_retry_exhausted": steps.STATEMENT_DELIVERY_FAILED}


@dramatiq.actor(**_named(steps.SEND_STATEMENT), **_DELIVER)
def send_statement(claim_id: str) -> None:
    statement_delivery.send_statement(deps(), claim_id)


@dramatiq.actor(**_named(steps.STATEMENT_DELIVERY_FAILED), max_retries=10, time_limit=60_000)
def statement_delivery_failed(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    statement_delivery.delivery_failed(deps(), message["args"][0])


@dramatiq.actor(**_named(steps.ALERT), max_retries=8, min_backoff=1_000, max_backoff=300_000,
                time_limit=30_000, throws=(PermanentError,))
def alert(claim_id: str) -> None:
    stages.send_alert(deps(), claim_id)


@dramatiq.actor(**_named(steps.FETCH_REMITTANCES), max_retries=3, min_backoff=2_000, max_backoff=30_000,
                time_limit=300_000, throws=(PermanentError,))
def fetch_remittances(_: str = "") -> None:
    remittances.fetch_and_post(deps())
