"""The composition root of a process: settings, Redis, ledger, practice, peers and the step sender, built
once, on demand, and handed to the application as its ports. Every entry point (web, CLI, demo, and the
worker processes in `workers/`) gets its dependencies here.
"""

from __future__ import annotations

import functools
import threading

import dramatiq
import redis
import structlog

from config.practice import Practice, load_practice
from config.settings import Settings, load_settings
from pipeline.adapters.alerts_http import HttpAlerts
from pipeline.adapters.billing_service_http import HttpBillingService
from pipeline.adapters.clearinghouse_http import HttpClearinghouse
from pipeline.adapters.clearinghouse_stedi import StediClearinghouse, StediStore
from pipeline.adapters.dramatiq_queue import build_broker, outbox_entry, send_step
from pipeline.adapters.http_peer import PeerClient
from pipeline.adapters.metrics import LedgerMetrics
from pipeline.adapters.queue_stats import RedisDeadLetters, claims_in_flight, queue_stats
from pipeline.adapters.redis_client import connect as connect_redis
from pipeline.adapters.redis_ledger import Ledger
from pipeline.adapters.redis_remittances import RedisRemittances
from pipeline.adapters.redis_server import resolve_redis_url
from pipeline.adapters.redis_staff import RedisStaffStore
from pipeline.adapters.smtp_mailer import SmtpMailer
from pipeline.application.ports import ClearinghousePort
from pipeline.application.stages import Deps

_lock = threading.Lock()
# A submission lease is renewed while its holder lives: a killed worker's claim is free again within this.
LEASE_S = 5.0
_deps: Deps | None = None
_broker: dramatiq.Broker | None = None

send = send_step


def redis_url(settings: Settings) -> str:
    return resolve_redis_url(settings.redis_url, settings.data_dir)


def redis_client() -> redis.Redis:
    """A client of the process's Redis (the embedded server is started when it is not running)."""
    return connect_redis(redis_url(load_settings()), health_check_interval=30)


def redis_client_for(url: str) -> redis.Redis:
    return connect_redis(url, health_check_interval=30)


def connect(url: str) -> dramatiq.Broker:
    """Give a process that queues steps but runs no actors (web, CLI, demo) its broker, once.

    Worker processes set their own broker, with their middleware, in `workers.app`.
    """
    global _broker
    with _lock:
        if _broker is None:
            _broker = build_broker(url)
            dramatiq.set_broker(_broker)
        return _broker


def build_clearinghouse(settings: Settings, practice: Practice, client: redis.Redis) -> ClearinghousePort:
    """The clearinghouse the practice profile names: `[clearinghouse] adapter = "http"` or `"stedi"`."""
    timeout = settings.peer_timeout_s
    if practice.clearinghouse.adapter == "stedi":
        key = settings.stedi_api_key or ""  # unset: every call is a clear transient error until it is set
        if not key:
            structlog.get_logger(__name__).warning(
                "stedi.no_api_key", hint='[clearinghouse] adapter = "stedi" needs SUPERBILL_STEDI_API_KEY')
        return StediClearinghouse(
            healthcare=PeerClient(name="clearinghouse", base_url=settings.stedi_healthcare_url,
                                  token=key, timeout_s=timeout, auth_scheme=None),
            core=PeerClient(name="clearinghouse", base_url=settings.stedi_core_url,
                            token=key, timeout_s=timeout, auth_scheme=None),
            store=StediStore(client))
    return HttpClearinghouse(PeerClient(name="clearinghouse", base_url=settings.clearinghouse_url,
                                        token=settings.clearinghouse_token, timeout_s=timeout))


def build_deps(settings: Settings, url: str) -> Deps:
    client = connect_redis(url, health_check_interval=30)
    timeout = settings.peer_timeout_s
    ledger = Ledger(client, wait_replicas=settings.redis_wait_replicas, outbox=outbox_entry)
    practice = load_practice(settings.practice_file)
    return Deps(
        ledger=ledger,
        practice=practice,
        send=send_step,
        clearinghouse=build_clearinghouse(settings, practice, client),
        billing_service=HttpBillingService(PeerClient(
            name="billing_service", base_url=settings.billing_service_url,
            token=settings.billing_service_token, timeout_s=timeout)),
        alerts=HttpAlerts(settings.alert_url, timeout_s=timeout) if settings.alert_url else None,
        metrics=LedgerMetrics(ledger),
        remittances=RedisRemittances(client, prefix=ledger.prefix),
        queues=functools.partial(queue_stats, client),
        in_flight=functools.partial(claims_in_flight, client),
        dead=RedisDeadLetters(client),
        lease_s=LEASE_S,
        staff=RedisStaffStore(client),
        timely_filing_warning_days=settings.timely_filing_warning_days,
        mailer=_mailer(settings),
    )


def _mailer(settings: Settings) -> SmtpMailer | None:
    smtp = settings.smtp
    if smtp is None:
        return None
    return SmtpMailer(host=smtp.host, port=smtp.port, sender=smtp.sender,
                      security=smtp.security,  # type: ignore[arg-type]
                      username=smtp.username, password=smtp.password, timeout_s=smtp.timeout_s,
                      ca_file=smtp.ca_file)


def deps() -> Deps:
    global _deps
    with _lock:
        if _deps is None:
            settings = load_settings()
            _deps = build_deps(settings, redis_url(settings))
        return _deps


def reset() -> None:
    """Forget the dependencies and the broker, so that the next use connects again (tests that point one
    process at several Redis servers in turn)."""
    global _deps, _broker
    with _lock:
        _deps = None
        if _broker is not None:
            _broker.close()
            _broker = None
