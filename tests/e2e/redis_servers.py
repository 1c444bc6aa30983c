"""Debian's `redis-server` and `redis-sentinel` (installed by `scripts/test`) as real processes on loopback: a
master with replicas watched by three sentinels, or a TLS server with a certificate made for the test."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis

from pipeline.entrypoints.demo import free_port

SERVICE = "mymaster"


def binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    assert path, f"{name} is not installed: scripts/test installs Debian's redis-server and redis-sentinel"
    return path


def poll(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if condition():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:g} s")
        time.sleep(0.1)


class RedisProcesses:
    """Processes started here are stopped by `stop()`, whatever state they are in."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def server(self, name: str, *options: str, tls: tuple[Path, Path] | None = None) -> int:
        """A Redis server on a free loopback port, append-only file on; returns the port (TLS only, with `tls`)."""
        port = free_port()
        folder = self.workdir / name
        folder.mkdir()
        ports = ["--port", str(port)]
        if tls:
            ports = ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(tls[0]),
                     "--tls-key-file", str(tls[1]), "--tls-ca-cert-file", str(tls[0]), "--tls-auth-clients", "no"]
        self._spawn(name, [binary("redis-server"), *ports, "--bind", "127.0.0.1", "--dir", str(folder),
                           "--appendonly", "yes", "--appendfsync", "always", "--save", "", *options])
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, ssl=tls is not None,
                             ssl_ca_certs=str(tls[0]) if tls else None)
        poll(client.ping, 20, f"{name} answering")
        return port

    def sentinel(self, name: str, master_port: int) -> int:
        port = free_port()
        conf = self.workdir / f"{name}.conf"
        conf.write_text("\n".join([
            f"port {port}", "bind 127.0.0.1", f"dir {self.workdir}",
            f"sentinel monitor {SERVICE} 127.0.0.1 {master_port} 2",
            f"sentinel down-after-milliseconds {SERVICE} 1000",
            f"sentinel failover-timeout {SERVICE} 10000",
            f"sentinel parallel-syncs {SERVICE} 1", ""]))
        self._spawn(name, [binary("redis-sentinel"), str(conf)])
        poll(lambda: redis.Redis(port=port, socket_timeout=1).ping(), 20, f"{name} answering")
        return port

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs.values():
            proc.wait(timeout=10)


def sentinel_set(processes: RedisProcesses) -> tuple[int, list[int]]:
    """A master, two replicas in sync and three sentinels that know them all; (master port, sentinel ports)."""
    master = processes.server("master")
    for name in ("replica1", "replica2"):
        processes.server(name, "--replicaof", "127.0.0.1", str(master))
    poll(lambda: redis.Redis(port=master).info("replication")["connected_slaves"] == 2, 30, "two replicas in sync")
    sentinels = [processes.sentinel(f"sentinel{i}", master) for i in range(3)]

    def known() -> bool:
        for port in sentinels:
            state = redis.Redis(port=port, socket_timeout=1).sentinel_master(SERVICE)
            if state["num-other-sentinels"] < 2 or state["num-slaves"] < 2:
                return False
        return True

    poll(known, 60, "the sentinels know each other and both replicas")
    return master, sentinels


def current_master(sentinel_port: int) -> int:
    host_port = redis.Redis(port=sentinel_port, socket_timeout=1).sentinel_get_master_addr_by_name(SERVICE)
    return int(host_port[1])


def tls_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl); (certificate, key)."""
    cert, key = folder / "redis.crt", folder / "redis.key"
    subprocess.run([binary("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key
