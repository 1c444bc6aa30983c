"""The composition root of a process: settings, Redis, ledger, practice and peers, built once, on demand."""

from __future__ import annotations

import threading

import dramatiq
import redis

from config.practice import load_practice
from config.settings import Settings, load_settings
from pipeline.alerts import HttpAlerts
from pipeline.billing_service_http import HttpBillingService
from pipeline.clearinghouse_http import HttpClearinghouse
from pipeline.http_peer import PeerClient
from pipeline.ledger import Ledger
from pipeline.redis_server import resolve_redis_url
from pipeline.stages import Deps

_lock = threading.Lock()
_deps: Deps | None = None


def send(step: str, claim_id: str, delay_ms: int | None = None) -> None:
    actor = dramatiq.get_broker().get_actor(step)
    if delay_ms:
        actor.send_with_options(args=(claim_id,), delay=delay_ms)
    else:
        actor.send(claim_id)


def redis_url(settings: Settings) -> str:
    return resolve_redis_url(settings.redis_url, settings.data_dir)


def build_deps(settings: Settings, url: str) -> Deps:
    client = redis.Redis.from_url(url, health_check_interval=30)
    timeout = settings.peer_timeout_s
    return Deps(
        ledger=Ledger(client),
        practice=load_practice(settings.practice_file),
        send=send,
        clearinghouse=HttpClearinghouse(PeerClient(
            name="clearinghouse", base_url=settings.clearinghouse_url,
            token=settings.clearinghouse_token, timeout_s=timeout)),
        billing_service=HttpBillingService(PeerClient(
            name="billing_service", base_url=settings.billing_service_url,
            token=settings.billing_service_token, timeout_s=timeout)),
        alerts=HttpAlerts(settings.alert_url, timeout_s=timeout) if settings.alert_url else None,
        lease_s=max(30.0, timeout * 4),
    )


def deps() -> Deps:
    global _deps
    with _lock:
        if _deps is None:
            settings = load_settings()
            _deps = build_deps(settings, redis_url(settings))
        return _deps


def reset() -> None:
    global _deps
    with _lock:
        _deps = None
