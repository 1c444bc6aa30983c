"""Run the sandbox peers in a background thread of this process (demo, tests)."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn

from pipeline.sandbox.app import PeerTokens, create_app
from pipeline.sandbox.clearinghouse import Validator
from pipeline.sandbox.faults import Faults, parse_faults


class SandboxServer:
    """Both peers served by uvicorn on a loopback port; ``port=0`` picks a free one.

    Use as a context manager, or call ``start()`` and ``stop()``; ``url`` is the base URL.
    """

    def __init__(
        self,
        faults: Faults | str = "",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        validate_837p: Validator | None = None,
        tokens: PeerTokens | None = None,
        log_level: str = "warning",
    ) -> None:
        parsed = parse_faults(faults) if isinstance(faults, str) else faults
        self.app = create_app(parsed, validate_837p=validate_837p, tokens=tokens)
        config = uvicorn.Config(
            self.app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self, timeout: float = 10.0) -> str:
        """Start serving and wait until the port is bound; returns the base URL."""
        self._thread = threading.Thread(target=self._server.run, name="sandbox-peers", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox peers did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self.url

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
