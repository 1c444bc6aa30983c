"""One way to reach Redis from a URL, for the ledger, the broker and every command.

- `redis://`, `rediss://` (TLS) and `unix://` URLs go to redis-py as they are (its query parameters, such as
  `ssl_ca_certs` or `ssl_cert_reqs`, included).
- `redis+sentinel://[:password@]host:port[,host:port...]/service[/db]` (or `rediss+sentinel://` for TLS) names a
  Redis Sentinel set: the client asks the sentinels for the current master of `service` and, after a failover,
  asks again on its next connection error. A `sentinel_password` query parameter authenticates to the sentinels.
- The embedded server's socket (`<data dir>/redis.sock`, started by `redis_server.start_embedded`) gets a
  connection that starts the server again when it finds it gone, unless someone stopped it on purpose
  (`superbill redis stop`). Whichever process needs Redis first after a crash restarts it, from its
  append-only file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from config.redis_urls import SENTINEL_SCHEMES, parse_sentinel_url
from pipeline.adapters import redis_server


class _EmbeddedConnection(redis.UnixDomainSocketConnection):
    """A connection to the embedded server that starts it again when it is gone (not when stopped on purpose)."""

    data_dir: Path

    def _connect(self) -> Any:
        try:
            return super()._connect()
        except OSError:
            if not redis_server.may_restart(self.data_dir):
                raise
            redis_server.start_embedded(self.data_dir, restart=True)
            return super()._connect()


def _embedded_dir(url: str) -> Path | None:
    if not url.startswith("unix://"):
        return None
    path = Path(url.removeprefix("unix://").partition("?")[0])
    return path.parent if redis_server.is_embedded_socket(path) else None


def connect(url: str, **options: Any) -> redis.Redis:
    """A client for `url` (see the module's docstring); `options` go to redis-py's connection pool."""
    if url.startswith(SENTINEL_SCHEMES):
        target = parse_sentinel_url(url)
        sentinel_kwargs: dict[str, Any] = {"socket_timeout": 1.0, "ssl": target.tls}
        if target.sentinel_password:
            sentinel_kwargs["password"] = target.sentinel_password
        sentinels = Sentinel(list(target.hosts), sentinel_kwargs=sentinel_kwargs, socket_timeout=5.0,
                             socket_connect_timeout=2.0, ssl=target.tls)
        return sentinels.master_for(target.service, db=target.db, password=target.password, **options)
    data_dir = _embedded_dir(url)
    if data_dir is not None:
        connection_class = type("EmbeddedConnection", (_EmbeddedConnection,), {"data_dir": data_dir})
        # A connection broken by the server's death is retried once the server is back, as redis-py does for
        # clients it builds itself (a pool built by hand gets no retry).
        retry = Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), 3)
        pool = redis.ConnectionPool(connection_class=connection_class, path=str(data_dir / redis_server.SOCKET_NAME),
                                    retry=retry, **options)
        return redis.Redis(connection_pool=pool)
    return redis.Redis.from_url(url, **options)
