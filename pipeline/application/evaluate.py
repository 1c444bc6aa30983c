"""The decision for one event, with the 837P pre-flight: the one path the route step and `superbill check`
share, so a dry run tells the truth.

A `direct_billing` decision's 837P is rendered and validated against the 005010X222A1 map before the
claim is routed: a claim a clearinghouse would reject needs attention with `claim_data_invalid`, naming
the fields (never their values), and uses no VA visit.
"""

from __future__ import annotations

from config.practice import Practice
from pipeline.documents.x12_preflight import preflight_837p
from pipeline.domain.codes import DIRECT_BILLING
from pipeline.domain.decide import decide
from schemas.decision import Decision
from schemas.event import SessionCompleted


def evaluate(event: SessionCompleted, practice: Practice, *, visits_used: int = 0) -> Decision:
    decision = decide(event, practice, visits_used=visits_used)
    if decision.route != DIRECT_BILLING:
        return decision
    problems = preflight_837p(event, practice, decision)
    if not problems:
        return decision
    return decide(event, practice, visits_used=visits_used, data_problems=problems)
