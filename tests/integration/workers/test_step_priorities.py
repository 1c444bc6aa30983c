"""A worker runs the messages it holds in the steps' order (`steps.PRIORITY_OF`): a claim's later steps before
its earlier ones, the broker's failure callbacks and alerts first, statement e-mails and remittance passes
last, on the pipeline's own Redis broker and actors."""

from __future__ import annotations

import importlib
import sys
import threading
import time
from typing import Any

import dramatiq
import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from pipeline.adapters import dramatiq_queue
from pipeline.application import stages, statement_delivery, steps


def _actors_on(broker: dramatiq.Broker) -> Any:
    """`workers.actors`, its actors declared on this broker."""
    dramatiq.set_broker(broker)
    if "workers.actors" in sys.modules:
        return importlib.reload(sys.modules["workers.actors"])
    return importlib.import_module("workers.actors")


def test_every_step_has_a_priority_and_its_actor_runs_at_it() -> None:
    broker = StubBroker()
    _actors_on(broker)
    assert set(steps.PRIORITY_OF) == set(steps.QUEUE_OF)
    assert {step: broker.get_actor(step).priority for step in steps.QUEUE_OF} == steps.PRIORITY_OF
    order = steps.PRIORITY_OF
    assert order[steps.VALIDATE] > order[steps.ASSEMBLE] > order[steps.ROUTE] > order[steps.SUBMIT_DIRECT]
    assert order[steps.SUBMIT_DIRECT] == order[steps.SUBMIT_COURTESY] == order[steps.STATEMENT]
    claim_steps = (steps.VALIDATE, steps.ASSEMBLE, steps.ROUTE, steps.SUBMIT_DIRECT, steps.STATEMENT)
    assert min(order[steps.SEND_STATEMENT], order[steps.FETCH_REMITTANCES]) > max(order[s] for s in claim_steps)


def test_a_worker_holding_several_steps_runs_the_later_steps_first_and_the_e_mails_last(
        redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    broker = dramatiq_queue.build_broker(redis_url)
    broker.client.flushdb()
    actors = _actors_on(broker)
    ran: list[str] = []
    monkeypatch.setattr(actors, "deps", lambda: None)
    for module, name in [(stages, "validate"), (stages, "assemble"), (stages, "route"),
                         (stages, "submit_courtesy"), (stages, "send_alert"),
                         (statement_delivery, "send_statement")]:
        monkeypatch.setattr(module, name, lambda _deps, claim_id, _name=name: ran.append(claim_id))

    # The single worker thread is held by a first message until the worker has taken all the others, so
    # the order they run in is the worker's choice, not the order the consumers happened to fetch them.
    holding, release = threading.Event(), threading.Event()

    @dramatiq.actor(queue_name="validate", actor_name="hold_the_thread", broker=broker, priority=0)
    def hold_the_thread() -> None:
        holding.set()
        release.wait(30)

    worker = Worker(broker, worker_threads=1)
    worker.start()
    try:
        hold_the_thread.send()
        assert holding.wait(30)
        queued = [(steps.SEND_STATEMENT, "e-mail"), (steps.VALIDATE, "validate"), (steps.ASSEMBLE, "assemble"),
                  (steps.ROUTE, "route"), (steps.SUBMIT_COURTESY, "submit"), (steps.ALERT, "alert")]
        for step, claim_id in queued:
            dramatiq_queue.send_step(step, claim_id)
        deadline = time.monotonic() + 30
        while worker.work_queue.qsize() < len(queued) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert worker.work_queue.qsize() == len(queued)
        release.set()
        while len(ran) < len(queued) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ran == ["alert", "submit", "route", "assemble", "validate", "e-mail"]
    finally:
        release.set()
        worker.stop()
        broker.close()
