"""Sandbox peers: a clearinghouse and a billing service that behave like the real ones.

``superbill sandbox`` calls :func:`serve`; tests and the demo use :func:`create_app` or
:class:`SandboxServer`. State is in memory; faults are injected on request (see ``faults``).
"""

from pipeline.sandbox.app import PeerTokens, create_app, serve
from pipeline.sandbox.faults import Faults, parse_faults
from pipeline.sandbox.runner import SandboxServer

__all__ = ["Faults", "PeerTokens", "SandboxServer", "create_app", "parse_faults", "serve"]
