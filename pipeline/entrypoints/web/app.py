"""Builds the web app for a process from its settings (the web process's composition root)."""

from __future__ import annotations

import functools

from fastapi import FastAPI

from config.settings import Settings
from pipeline.adapters.clearinghouse_stedi import StediStore, fetch_after_event
from pipeline.entrypoints import runtime
from pipeline.entrypoints.web.ops_api import build_ops_router
from pipeline.entrypoints.web.ops_page import build_ops_page
from pipeline.entrypoints.web.stedi_events import build_stedi_events_router
from pipeline.entrypoints.web.webhook import UNSIGNED_REFUSAL, WebConfigError, create_app


def build_web_app(settings: Settings, *, webhook_secret: str | None = None) -> FastAPI:
    secret = webhook_secret or settings.webhook_secret
    if not secret:  # refused before anything starts: no Redis server, no port
        raise WebConfigError(UNSIGNED_REFUSAL)
    url = runtime.redis_url(settings)
    runtime.connect(url)
    deps = runtime.deps()
    client = runtime.redis_client_for(url)
    routers = [build_ops_router(deps, ops_token=settings.ops_token),
               build_ops_page(deps, settings),
               build_stedi_events_router(secret=settings.stedi_webhook_secret, token=settings.stedi_webhook_token,
                                         fetch=functools.partial(fetch_after_event, StediStore(client),
                                                                 runtime.send))]
    return create_app(ledger=deps.ledger, send=runtime.send,
                      webhook_secret=secret, extra_routers=routers)
