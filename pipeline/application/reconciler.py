"""The reconciler: re-drives claims that sit too long in a non-final status and that no message covers.

dramatiq is at-least-once but a message can still be lost (a retry that could not be enqueued while
Redis was down, a worker killed before the broker's maintenance pass requeues its messages). The ledger
knows every claim's status, so re-sending the step for that status is always safe: steps are idempotent.
A claim that a queued, delayed or running message covers is only waiting its turn (a backlog): sending it
again would only add to the backlog, so it is left alone.
"""

from __future__ import annotations

import time

import structlog

from pipeline.application.receivables import alert_timely_filing
from pipeline.application.stages import Deps, dispatch
from pipeline.application.steps import ASSEMBLE, FETCH_REMITTANCES, ROUTE, SUBMISSION_STEP, VALIDATE

log = structlog.get_logger(__name__)

STEP_FOR_STATUS = {
    "received": VALIDATE,
    "validated": ASSEMBLE,
    "assembled": ROUTE,
}


def reconcile_once(deps: Deps, *, older_than_s: float, now: float | None = None) -> list[str]:
    now = time.time() if now is None else now
    stale = deps.ledger.stale_claims(
        older_than=now - older_than_s,
        statuses=("received", "validated", "assembled", "routed", "submitting", "submitted"),
    )
    redriven = []
    covered = deps.in_flight() if stale else set()
    for claim in deps.ledger.get_many(stale):
        if now - claim.updated_at < older_than_s:  # a step touched it recently (an attempt, a poll)
            continue
        if claim.claim_id in covered:  # a message for it waits in a queue or runs: it is not stuck
            continue
        if claim.status in STEP_FOR_STATUS:
            deps.send(STEP_FOR_STATUS[claim.status], claim.claim_id)
        elif claim.status == "routed":
            dispatch(deps, claim.claim_id)
        elif claim.route in SUBMISSION_STEP:
            deps.send(SUBMISSION_STEP[claim.route], claim.claim_id)
        else:
            continue
        deps.ledger.note(claim.claim_id, "reconciler.redrive", status=claim.status)
        redriven.append(claim.claim_id)
    from pipeline.application.statement_delivery import redrive_deliveries

    redriven += redrive_deliveries(deps, older_than_s=older_than_s, now=now)
    if redriven:
        log.warning("reconciler.redriven", count=len(redriven), claim_ids=redriven[:50])
    return redriven


class RemittanceTicker:
    """Asks the workers for a pass over the clearinghouse's remittances every `every_s` seconds (0: never),
    the first `every_s` after it starts."""

    def __init__(self, deps: Deps, every_s: float, *, started: float | None = None) -> None:
        self.deps, self.every_s = deps, every_s
        self.last = time.monotonic() if started is None else started

    def tick(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if self.every_s <= 0 or self.deps.remittances is None or now - self.last < self.every_s:
            return False
        self.deps.send(FETCH_REMITTANCES, "")
        self.last = now
        return True


TIMELY_FILING_CHECK_S = 3600.0


def check_timely_filing(deps: Deps) -> list[str]:
    """Alert once per claim nearing the timely-filing limit (see `receivables.alert_timely_filing`)."""
    announced = alert_timely_filing(deps.ledger, deps.alerts, today=deps.today(),
                                    warning_days=deps.timely_filing_warning_days)
    if announced:
        log.warning("reconciler.timely_filing_risk", count=len(announced), claim_ids=announced[:50])
    return announced


def run_forever(deps: Deps, *, older_than_s: float, every_s: float = 15.0, remittance_every_s: float = 0.0) -> None:
    from pipeline.application.monthly_statements import run_if_due

    ticker = RemittanceTicker(deps, remittance_every_s)
    next_pass = next_filing_check = 0.0
    while True:
        try:
            ticker.tick()
        except Exception:  # keep going: the next tick tries again
            log.exception("reconciler.remittance_tick_failed")
        if time.monotonic() >= next_filing_check:
            try:
                check_timely_filing(deps)
            except Exception:  # keep going: the next check tries again
                log.exception("reconciler.timely_filing_check_failed")
            next_filing_check = time.monotonic() + TIMELY_FILING_CHECK_S
        if time.monotonic() >= next_pass:
            try:
                reconcile_once(deps, older_than_s=older_than_s)
                run_if_due(deps, now=time.time())
            except Exception:  # keep going: the next pass tries again
                log.exception("reconciler.pass_failed")
            next_pass = time.monotonic() + every_s
        time.sleep(min(1.0, every_s, remittance_every_s or every_s))
