"""The embedded Redis server: one per data home, started again by whichever process finds it gone, but never
after someone stopped it on purpose; an acknowledged write survives a SIGKILL of the server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from pipeline.adapters.redis_client import connect
from pipeline.adapters.redis_server import (
    LOCK_NAME,
    STOPPED_NAME,
    embedded_status,
    server_pid,
    start_embedded,
    stop_embedded,
)


@pytest.fixture
def home() -> Iterator[Path]:
    # A short path: a Unix socket's path must fit in 107 bytes.
    path = Path(tempfile.mkdtemp(prefix="sbr"))
    yield path
    stop_embedded(path)
    shutil.rmtree(path, ignore_errors=True)


def _kill(home: Path) -> int:
    pid = server_pid(home)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while server_pid(home) == pid and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server_pid(home) is None
    return pid


def test_a_killed_server_is_started_again_by_the_next_client_and_keeps_its_data(home: Path) -> None:
    client = connect(start_embedded(home))
    client.set("claim", "kept")
    killed = _kill(home)
    assert client.get("claim") == b"kept"  # the same client object: its next connection restarts the server
    assert server_pid(home) not in (None, killed)


def test_a_server_stopped_on_purpose_stays_stopped(home: Path) -> None:
    client = connect(start_embedded(home))
    assert client.ping()
    stop_embedded(home)
    with pytest.raises(redis.ConnectionError):
        client.ping()
    assert server_pid(home) is None
    assert embedded_status(home)["stopped_on_purpose"] is True
    start_embedded(home)  # an explicit start clears it
    assert client.ping()
    assert embedded_status(home)["stopped_on_purpose"] is False


def test_many_threads_finding_it_gone_start_one_server(home: Path) -> None:
    url = start_embedded(home)
    clients = [connect(url) for _ in range(8)]
    for c in clients:
        c.ping()
    _kill(home)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            clients[i].set(f"k{i}", i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    pid = server_pid(home)
    redis_pids = [p for p in os.listdir("/proc") if p.isdigit() and _is_server_of(int(p), home)]
    assert redis_pids == [str(pid)]
    assert sorted(int(v) for v in clients[0].mget([f"k{i}" for i in range(8)])) == list(range(8))


def _is_server_of(pid: int, home: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"redis" in cmdline and str(home).encode() in cmdline


def test_status_tells_where_it_is_and_whether_it_runs(home: Path) -> None:
    assert embedded_status(home)["running"] is False
    url = start_embedded(home)
    connect(url).set("a", 1)
    status = embedded_status(home)
    assert (status["running"], status["url"], status["data_dir"], status["keys"], status["appendonly"]) == (
        True, url, str(home), 1, True)


def test_a_server_that_does_not_stop_on_sigterm_is_killed_and_keeps_what_it_acknowledged(home: Path) -> None:
    url = start_embedded(home)
    connect(url).set("kept", "1")
    pid = server_pid(home)
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # a stalled server: SIGTERM waits, SIGKILL does not
    started = time.monotonic()
    stop_embedded(home, timeout_s=0.5)
    assert server_pid(home) is None and time.monotonic() - started < 10
    url = start_embedded(home)  # started again on purpose: the acknowledged write is there
    assert connect(url).get("kept") == b"1"


# Redis's own order on SIGTERM: the pid file goes first, the last log lines ("ready to exit, bye bye") after.
# The stand-in stretches the gap between the two so that a stop which watched the file would return early.
STANDIN_SERVER = """
import pathlib, signal, sys, time
home = pathlib.Path(sys.argv[1])
def shut_down(*_):
    (home / "redis.pid").unlink()
    time.sleep(1.0)
    with open(home / "redis.log", "a") as log:
        log.write("ready to exit, bye bye\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, shut_down)
(home / "redis.pid").write_text(str(__import__("os").getpid()))
while True:
    time.sleep(0.05)
"""


def test_stop_returns_only_once_the_server_has_exited_not_when_its_pid_file_is_gone(home: Path) -> None:
    script = home / "standin-redis-server.py"
    script.write_text(STANDIN_SERVER)
    proc = subprocess.Popen([sys.executable, str(script), str(home)])
    try:
        deadline = time.monotonic() + 10
        while server_pid(home) != proc.pid and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server_pid(home) == proc.pid
        stop_embedded(home)
        assert proc.poll() == 0  # exited by itself on SIGTERM, its last log line written
        assert (home / "redis.log").read_text() == "ready to exit, bye bye\n"
    finally:
        proc.kill()
        proc.wait()


def test_a_client_finding_the_server_stopped_and_its_folder_removed_does_not_start_one_again(home: Path) -> None:
    data_dir = home / "gone"
    client = connect(start_embedded(data_dir))
    client.set("claim", "kept")
    stop_embedded(data_dir)
    shutil.rmtree(data_dir)
    with pytest.raises(redis.ConnectionError):
        client.get("claim")
    assert not data_dir.exists()  # neither the folder nor a server in it came back


def test_a_client_finding_the_server_stopped_while_its_folder_is_being_removed_does_not_start_one(
        home: Path) -> None:
    data_dir = home / "going"
    client = connect(start_embedded(data_dir))
    stop_embedded(data_dir)
    (data_dir / STOPPED_NAME).unlink()  # a removal midway: the stop mark gone first, then the lock file
    (data_dir / LOCK_NAME).unlink()
    with pytest.raises(redis.ConnectionError):
        client.get("claim")
    assert server_pid(data_dir) is None


def test_a_server_in_the_middle_of_exiting_is_not_yet_stopped() -> None:
    """While a process exits, the kernel lets its memory go before it becomes a zombie, and its command line
    reads empty: a stop that took that for "exited" returned while the server was still going."""
    from pipeline.adapters.redis_server import still_running

    stat = "4242 (redis-server) {} 1 4242 4242 0 -1 4194624"
    assert still_running(stat.format("S"), b"redis-server\x00/data\x00")
    assert still_running(stat.format("R"), b"")  # exiting: its memory, and with it its command line, is gone
    assert not still_running(stat.format("Z"), b"")  # exited, waiting for its parent
    assert not still_running(stat.format("X"), b"")
    assert not still_running(stat.format("S"), b"/usr/bin/python3\x00other.py\x00")  # the pid went to another
