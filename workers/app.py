"""Entry point of the worker processes: `dramatiq workers.app:worker_setup` (what `superbill worker` runs)."""

from __future__ import annotations

import os

import dramatiq

from config.logging import configure_logging
from config.settings import load_settings, log_level
from pipeline.entrypoints import runtime
from workers import log_filters
from workers.broker import build_broker

_broker = None


def setup(url: str | None = None) -> dramatiq.Broker:
    """Set the process's broker (once) and register the actors on it."""
    global _broker
    if _broker is None:
        if url is None:
            url = runtime.redis_url(load_settings())
        _broker = build_broker(url)
        dramatiq.set_broker(_broker)
        import workers.actors  # noqa: F401  (registers the actors on the broker just set)
    return _broker


def worker_setup() -> None:
    """Called by dramatiq's CLI in every worker process before it starts consuming."""
    configure_logging(log_level("INFO"))  # `superbill worker` checked it before starting dramatiq
    log_filters.install()
    setup(os.environ.get("SUPERBILL_BROKER_URL") or None)
    warm_up()


def warm_up() -> None:
    """Load the ICD-10-CM table and pyx12's 837P map now, at boot, rather than on the first claims."""
    from pipeline.documents.x12_validation import warm_up as load_x12_map
    from pipeline.domain.diagnoses import warm_up as load_code_set

    load_code_set()
    load_x12_map()
