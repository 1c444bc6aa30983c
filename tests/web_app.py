"""The web app (webhook, ops API, ops page) as a process would build it from its environment, on a given Redis:
the settings read from the variables set here, the runtime reset before and after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from config.settings import load_settings
from pipeline.entrypoints import runtime
from pipeline.entrypoints.web.app import build_web_app


@contextmanager
def web_app_on(redis_url: str, *, ops_token: str, webhook_secret: str, **env: str) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDIS_URL", redis_url)
        mp.setenv("SUPERBILL_OPS_TOKEN", ops_token)
        mp.setenv("SUPERBILL_WEBHOOK_SECRET", webhook_secret)
        for name, value in env.items():
            mp.setenv(name, value)
        runtime.reset()
        try:
            yield build_web_app(load_settings())
        finally:
            runtime.reset()
