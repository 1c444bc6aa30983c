"""The benchmark's events take the routes of the bundled examples they are made from: a VA claim is billed
directly (its referral number is valid and its own), so the benchmark measures the direct-billing path."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

from config.practice import DEFAULT_PRACTICE_FILE, load_practice
from pipeline.application.evaluate import evaluate
from pipeline.domain.intake import parse_event

ROOT = Path(__file__).resolve().parents[2]


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmark_script", ROOT / "scripts" / "benchmark.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("benchmark_script", module)
    spec.loader.exec_module(module)
    return module


def test_each_event_takes_its_examples_route_and_va_claims_have_their_own_valid_referral() -> None:
    practice = load_practice(DEFAULT_PRACTICE_FILE)
    events = [json.loads(b) for b in _benchmark().make_events(10, "backlog")]
    routes = [evaluate(parse_event(json.dumps(e)), practice, visits_used=0).route for e in events]
    assert routes[:5] == ["courtesy_submission", "statement_only", "statement_only", "direct_billing",
                          "needs_attention"]  # the bundled examples in name order; the last has no referral
    assert routes[5:] == routes[:5]
    referrals = [e["va_referral"]["referral_number"] for e in events if e.get("va_referral")]
    assert len(referrals) == len(set(referrals)) == 2
