"""Per-message log context: every line a step logs carries `claim_id`, `actor` and `message_id`."""

from __future__ import annotations

from typing import Any

import structlog
from dramatiq import Middleware


class LogContext(Middleware):
    def before_process_message(self, broker: Any, message: Any) -> None:
        claim_id = message.args[0] if message.args and isinstance(message.args[0], str) else None
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            claim_id=claim_id, actor=message.actor_name, message_id=message.message_id,
            retries=message.options.get("retries", 0),
        )

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        structlog.contextvars.clear_contextvars()

    after_skip_message = after_process_message
