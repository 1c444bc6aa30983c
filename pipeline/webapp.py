"""Builds the web app for a process from its settings (the web process's composition root)."""

from __future__ import annotations

from fastapi import FastAPI

from config.settings import Settings
from pipeline.web import create_app
from workers import runtime
from workers.app import setup


def build_web_app(settings: Settings, *, webhook_secret: str | None = None) -> FastAPI:
    url = runtime.redis_url(settings)
    setup(url)
    deps = runtime.deps()
    routers = []
    try:
        from pipeline.ops_api import build_ops_router
    except ImportError:  # pragma: no cover - the ops API module is optional in a trimmed build
        build_ops_router = None
    if build_ops_router is not None:
        routers.append(build_ops_router(deps, ops_token=settings.ops_token))
    return create_app(ledger=deps.ledger, send=runtime.send,
                      webhook_secret=webhook_secret or settings.webhook_secret, extra_routers=routers)
