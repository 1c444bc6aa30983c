"""A bare dramatiq chain of five actors doing nothing but passing an id on: the baseline the pipeline's
throughput and latency are compared with. Same Redis, same broker settings (`build_broker` of the
pipeline's adapter: heartbeat, maintenance, idle poll), same worker processes and threads; none of the
project's middleware (no log context, no metrics) and no ledger."""

from __future__ import annotations

import os
import time

import dramatiq
import redis

from pipeline.adapters.dramatiq_queue import build_broker

URL = os.environ["BENCH_REDIS_URL"]
broker = build_broker(URL)
dramatiq.set_broker(broker)
_r = redis.Redis.from_url(URL)


@dramatiq.actor(queue_name="bench1")
def step1(item: str) -> None:
    step2.send(item)


@dramatiq.actor(queue_name="bench2")
def step2(item: str) -> None:
    step3.send(item)


@dramatiq.actor(queue_name="bench3")
def step3(item: str) -> None:
    step4.send(item)


@dramatiq.actor(queue_name="bench4")
def step4(item: str) -> None:
    step5.send(item)


@dramatiq.actor(queue_name="bench5")
def step5(item: str) -> None:
    _r.hset("bench:done", item, repr(time.time()))
