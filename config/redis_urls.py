"""The Redis URLs the pipeline understands, parsed without connecting (so a bad `REDIS_URL` stops a process at
once, naming the variable)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

SENTINEL_SCHEMES = ("redis+sentinel://", "rediss+sentinel://")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://", *SENTINEL_SCHEMES)


@dataclass(frozen=True)
class SentinelTarget:
    hosts: tuple[tuple[str, int], ...]
    service: str
    db: int
    password: str | None
    sentinel_password: str | None
    tls: bool


def parse_sentinel_url(url: str) -> SentinelTarget:
    """`redis+sentinel://[:pw@]h1:26379,h2:26379/mymaster/0?sentinel_password=...` -> its parts."""
    scheme, _, rest = url.partition("://")
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    password = None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        password = unquote(userinfo.partition(":")[2]) or None
    hosts: list[tuple[str, int]] = []
    for part in netloc.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError("a sentinel URL lists host:port pairs, e.g. redis+sentinel://h1:26379,h2:26379/mymaster/0")
        hosts.append((host.strip("[]"), int(port)))
    segments = [s for s in path.split("/") if s]
    if not segments or len(segments) > 2 or (len(segments) == 2 and not segments[1].isdigit()):
        raise ValueError("a sentinel URL names the service and optionally the db: /mymaster/0")
    params = parse_qs(query)
    return SentinelTarget(
        hosts=tuple(hosts), service=segments[0], db=int(segments[1]) if len(segments) == 2 else 0,
        password=password, sentinel_password=(params.get("sentinel_password") or [None])[0],
        tls=scheme == "rediss+sentinel")
