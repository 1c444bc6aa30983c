"""The benchmark's events take the routes of the bundled examples they are made from: a VA claim is billed
directly (its referral number is valid and its own), so the benchmark measures the direct-billing path. Its
options refuse values whose figures would be noise or a crash, and its CPU meter counts what a process
group used in between, per item."""

from __future__ import annotations

import argparse
import json
import os

import pytest

from config.practice import DEFAULT_PRACTICE_FILE, load_practice
from pipeline.application.evaluate import evaluate
from pipeline.domain.intake import parse_event
from tests.benchmark_module import load_benchmark


def test_each_event_takes_its_examples_route_and_va_claims_have_their_own_valid_referral() -> None:
    practice = load_practice(DEFAULT_PRACTICE_FILE)
    events = [json.loads(b) for b in load_benchmark().make_events(10, "backlog")]
    routes = [evaluate(parse_event(json.dumps(e)), practice, visits_used=0).route for e in events]
    assert routes[:5] == ["courtesy_submission", "statement_only", "statement_only", "direct_billing",
                          "needs_attention"]  # the bundled examples in name order; the last has no referral
    assert routes[5:] == routes[:5]
    referrals = [e["va_referral"]["referral_number"] for e in events if e.get("va_referral")]
    assert len(referrals) == len(set(referrals)) == 2


@pytest.mark.parametrize(("value", "message"), [
    ("0", "must be at least 50, got 0"), ("49", "must be at least 50, got 49"), ("x", "not a whole number: 'x'"),
    ("2.5", "not a whole number: '2.5'"),
])
def test_an_event_count_too_small_to_measure_is_refused(value: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=f"^{message}$"):
        load_benchmark().at_least(50)(value)


def test_counts_at_their_minimum_or_above_are_taken() -> None:
    assert load_benchmark().at_least(200)("200") == 200
    assert load_benchmark().at_least(1)("8") == 8


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "1000.5", "fast"])
def test_a_rate_that_cannot_be_offered_is_refused(value: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        load_benchmark().rate_arg(value)


def test_a_rate_above_zero_is_taken() -> None:
    assert load_benchmark().rate_arg("0.5") == 0.5
    assert load_benchmark().rate_arg("1000") == 1000.0


def test_the_cpu_meter_counts_the_cpu_a_process_used_in_between_per_item() -> None:
    bench = load_benchmark()
    meter = bench.CpuMeter({"me": os.getpid()})
    meter.start()
    deadline = bench.cpu_s(os.getpid()) + 0.3
    while bench.cpu_s(os.getpid()) < deadline:  # burn 0.3 s of CPU
        sum(range(1000))
    meter.stop()
    per_item = meter.per_item_ms(10)
    assert 30 <= per_item["me"] <= 60  # 0.3 s (at least) over 10 items, with room for a busy machine
    assert per_item["total"] == per_item["me"]


def test_a_process_that_is_gone_counts_nothing() -> None:
    bench = load_benchmark()
    assert bench.cpu_s(2**22 + 12345) == 0.0


def _figures(**changes: float) -> dict[str, float]:
    figures = {"ratio": 0.8, "p95_ms": 100.0, "worker_rss_mb_max": 149.9, "worker_rss_mb_first": 100.0,
               "worker_rss_mb_last": 110.0, "webhook_ratio": 0.5, "redis_bytes_per_claim": 4096}
    return {**figures, **changes}


def test_each_goal_is_met_at_its_bound() -> None:
    goals = load_benchmark().verdicts(_figures())
    assert {name: v["met"] for name, v in goals.items()} == {
        "throughput": True, "latency": True, "worker memory": True, "webhook": True, "Redis": True}
    assert goals["throughput"] == {"field": "ratio", "value": 0.8, "goal": ">= 0.8x", "met": True}


@pytest.mark.parametrize(("changes", "missed"), [
    ({"ratio": 0.79}, "throughput"), ({"p95_ms": 100.1}, "latency"), ({"worker_rss_mb_max": 150.0}, "worker memory"),
    ({"worker_rss_mb_last": 110.1}, "worker memory"),  # grew more than 10% over the drain: not flat
    ({"webhook_ratio": 0.499}, "webhook"), ({"redis_bytes_per_claim": 4097}, "Redis"),
])
def test_a_figure_past_its_bound_misses_that_goal_only(changes: dict[str, float], missed: str) -> None:
    goals = load_benchmark().verdicts(_figures(**changes))
    assert [name for name, v in goals.items() if not v["met"]] == [missed]


def test_a_count_is_read_once_it_has_stopped_changing() -> None:
    reads = iter([1, 2, 2, 5, *[7] * 10_000])
    assert load_benchmark().settled_count(lambda: next(reads), quiet_s=0.2) == 7
