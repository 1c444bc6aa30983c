"""Shared HTTP plumbing for the peer adapters: timeouts on every call, short in-process retries.

Only connection errors, timeouts, 5xx and 429 are retried here (honouring `Retry-After`), a few times
within seconds; anything longer is dramatiq's job. Any other 4xx is a PeerRefused, never retried.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from pipeline.application.errors import PeerRefused, PeerUnavailable

log = structlog.get_logger(__name__)
MAX_RETRY_AFTER_S = 10.0


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    attempts: int = 3
    total_s: float = 20.0
    initial_s: float = 0.2
    max_wait_s: float = 2.0


class _RetryAfter(PeerUnavailable):
    def __init__(self, peer: str, detail: str, retry_after_s: float | None) -> None:
        super().__init__(peer, detail)
        self.retry_after_s = retry_after_s


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_S)
    except ValueError:
        return None


def _reasons(response: requests.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return [response.text[:300]] if response.text else []
    if not isinstance(body, dict):
        return [str(body)[:300]]
    for key in ("reasons", "errors"):
        if isinstance(body.get(key), list):
            return [str(x) for x in body[key]]
    if "message" in body:  # {"code": ..., "message": ...}, as Stedi answers
        return [f"{body['code']}: {body['message']}" if body.get("code") else str(body["message"])]
    ack = body.get("ack999")
    if isinstance(ack, dict) and isinstance(ack.get("errors"), list):
        return [str(x) for x in ack["errors"]]
    if "error" in body:
        return [str(body["error"])]
    return []


class PeerClient:
    """One peer's base URL, bearer token and timeout, with retrying `request`."""

    def __init__(self, *, name: str, base_url: str, token: str, timeout_s: float,
                 policy: RetryPolicy | None = None, session: requests.Session | None = None,
                 auth_scheme: str | None = "Bearer") -> None:
        self.name = name
        self.auth_scheme = auth_scheme  # None: the token alone is the Authorization header (Stedi's API keys)
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self.policy = policy or RetryPolicy()
        self.session = session or requests.Session()

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryAfter) and exc.retry_after_s is not None:
            return exc.retry_after_s
        backoff: Callable[[RetryCallState], float] = wait_exponential_jitter(
            multiplier=self.policy.initial_s, max=self.policy.max_wait_s
        )
        return backoff(state)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.info("peer.retry_scheduled", peer=self.name, attempt=state.attempt_number,
                 wait_s=round(state.upcoming_sleep, 3), error=str(exc))

    def request(self, method: str, path: str, *, idempotency_key: str | None = None,
                allow_404: bool = False, passthrough: tuple[int, ...] = (422,), transient: tuple[int, ...] = (),
                **kwargs: Any) -> requests.Response | None:
        """The answer; None for a 404 with `allow_404`. 429, 5xx and the `transient` statuses are retried, then
        PeerUnavailable; any other 4xx but the `passthrough` ones is a PeerRefused."""
        retrying = Retrying(
            retry=retry_if_exception_type(PeerUnavailable),
            stop=stop_after_attempt(self.policy.attempts) | stop_after_delay(self.policy.total_s),
            wait=self._wait,
            before_sleep=self._log_retry,
            reraise=True,
        )
        return retrying(self._once, method, path, idempotency_key, allow_404, passthrough, transient, kwargs)

    def _once(self, method: str, path: str, idempotency_key: str | None, allow_404: bool,
              passthrough: tuple[int, ...], transient: tuple[int, ...],
              kwargs: dict[str, Any]) -> requests.Response | None:
        kwargs = dict(kwargs)
        authorization = f"{self.auth_scheme} {self.token}" if self.auth_scheme else self.token
        headers = {"Authorization": authorization, **kwargs.pop("headers", {})}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = self.session.request(method, self.base_url + path, headers=headers,
                                            timeout=self.timeout_s, **kwargs)
        except requests.Timeout:
            raise PeerUnavailable(self.name, f"no answer within {self.timeout_s:g} s") from None
        except requests.ConnectionError as exc:
            raise PeerUnavailable(self.name, f"cannot connect ({type(exc).__name__})") from None
        if response.status_code == 429 or response.status_code >= 500 or response.status_code in transient:
            raise _RetryAfter(self.name, f"answered {response.status_code}", _retry_after(response))
        if response.status_code == 404 and allow_404:
            return None
        if response.status_code >= 400 and response.status_code not in passthrough:
            raise PeerRefused(self.name, response.status_code, _reasons(response))
        return response


def reasons_of(response: requests.Response) -> list[str]:
    return _reasons(response)
