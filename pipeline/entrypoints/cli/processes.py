"""The processes: `superbill demo|sandbox|web|worker|reconcile|redis`."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from pipeline.entrypoints.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    err,
    practice_of,
    print_json,
    runtime_deps,
)


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.entrypoints.demo import run_demo

    practice_of(args)
    return run_demo(events=args.events, faults=args.faults or "", as_json=args.json,
                    timeout_s=args.timeout, keep=args.keep, clearinghouse=args.clearinghouse)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from config.logging import configure_logging
    from pipeline.sandbox.app import PeerTokens, serve

    configure_logging(os.environ.get("SUPERBILL_LOG_LEVEL", "INFO"))
    try:
        webhook_url = os.environ.get("SUPERBILL_SANDBOX_STEDI_WEBHOOK_URL", "").strip()
        webhook_secret = os.environ.get("SUPERBILL_STEDI_WEBHOOK_SECRET", "").strip()
        serve(host=args.host, port=args.port, faults_spec=args.faults or "", tokens=PeerTokens.from_env(os.environ),
              smtp_port=args.smtp_port, mail_faults_spec=args.mail_faults or "",
              stedi_webhook=(webhook_url, webhook_secret) if webhook_url and webhook_secret else None)
    except ValueError as exc:
        err(f"--faults / --mail-faults: {exc}")
        return EXIT_ERROR
    return EXIT_OK


def cmd_web(args: argparse.Namespace) -> int:
    import uvicorn

    from config.logging import configure_logging
    from config.settings import load_settings
    from pipeline.entrypoints.web.app import build_web_app
    from pipeline.entrypoints.web.webhook import WebConfigError, install_webhook_access_log

    configure_logging(os.environ.get("SUPERBILL_LOG_LEVEL", "INFO"))
    install_webhook_access_log()
    practice_of(args)
    settings = load_settings()
    try:
        app = build_web_app(settings)
    except WebConfigError as exc:
        err(str(exc))
        return EXIT_ERROR
    uvicorn.run(app, host=args.host, port=args.port or settings.port, log_config=None)
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from config.settings import load_settings
    from pipeline.entrypoints.runtime import redis_url

    practice_of(args)
    url = redis_url(load_settings())
    env = {**os.environ, "SUPERBILL_BROKER_URL": url}
    argv = [sys.executable, "-m", "dramatiq", "workers.app:worker_setup", "--processes", str(args.processes),
            "--threads", str(args.threads)]
    os.execvpe(argv[0], argv, env)  # noqa: S606 - replace this process with dramatiq's worker
    return EXIT_OK


def cmd_reconcile(args: argparse.Namespace) -> int:
    from config.settings import load_settings
    from pipeline.application.reconciler import reconcile_once, run_forever

    deps = runtime_deps(args)
    settings = load_settings()
    older = settings.reconcile_after_s if args.older_than is None else args.older_than
    if args.once:
        redriven = reconcile_once(deps, older_than_s=older)
        print(f"re-drove {len(redriven)} claim(s)" + (": " + ", ".join(redriven) if redriven else ""))
        return EXIT_OK
    run_forever(deps, older_than_s=older, every_s=args.every, remittance_every_s=settings.remittance_poll_s)
    return EXIT_OK


def cmd_redis(args: argparse.Namespace) -> int:
    from config.settings import load_settings
    from pipeline.adapters.redis_server import embedded_dir_of, embedded_status, start_embedded, stop_embedded

    settings = load_settings()
    action = "stop" if args.stop else (args.action or "start")
    # a REDIS_URL naming an embedded server's socket (as `demo --keep` prints) is that server: its folder
    data_dir = embedded_dir_of(settings.redis_url) if settings.redis_url else settings.data_dir
    if data_dir is None:
        assert settings.redis_url
        if action == "status":
            status = {"embedded": False, "redis_url": _safe_url(settings.redis_url)}
            if args.json:
                print_json(status)
            else:
                print(f"REDIS_URL is set ({status['redis_url']}); no embedded server is used")
            return EXIT_OK
        print(f"REDIS_URL is set ({_safe_url(settings.redis_url)}); nothing to {action}")
        return EXIT_OK
    if action == "stop":
        stop_embedded(data_dir)
        print(f"stopped (data kept in {data_dir})")
        return EXIT_OK
    if action == "status":
        status = embedded_status(data_dir)
        if args.json:
            print_json(status)
        else:
            for key, value in status.items():
                print(f"{key:<20} {value}")
        return EXIT_OK if status["running"] else EXIT_ERROR
    print(start_embedded(data_dir))
    return EXIT_OK


def _safe_url(url: str) -> str:
    """The URL without its password."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return scheme + sep + netloc + slash + path.partition("?")[0]


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run everything on the bundled examples and print the claims")
    p.add_argument("--events", metavar="PATH", help="a folder of .json events or a .jsonl file")
    p.add_argument("--faults", metavar="SPEC", help="sandbox faults, e.g. error_rate=0.3,timeout_rate=0.1")
    p.add_argument("--json", action="store_true")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for final statuses")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (Redis data, logs)")
    p.add_argument("--clearinghouse", choices=("http", "stedi"), default="http",
                   help="the clearinghouse API to use: our HTTP shape, or Stedi's (served by the sandbox)")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("sandbox", help="serve the sandbox clearinghouse and billing service")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8100)
    p.add_argument("--faults", metavar="SPEC")
    p.add_argument("--smtp-port", type=int, metavar="P",
                   help="also serve the sandbox mail server on this port (it keeps every message it takes)")
    p.add_argument("--mail-faults", metavar="SPEC", help="mail server faults, e.g. fail_first=3,fail_code=451")
    p.set_defaults(func=cmd_sandbox)
    p = sub.add_parser("web", help="the web process: webhook, ops API, ops page")
    p.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server process, bound as configured
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_web)
    p = sub.add_parser("worker", help="the dramatiq worker processes")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("reconcile", help="re-drive claims stuck in a non-final status")
    p.add_argument("--once", action="store_true")
    p.add_argument("--older-than", type=float, help="seconds (default $SUPERBILL_RECONCILE_AFTER or 120)")
    p.add_argument("--every", type=float, default=15.0)
    p.set_defaults(func=cmd_reconcile)
    p = sub.add_parser("redis", help="start, stop or look at the embedded Redis server in the data home")
    p.add_argument("action", nargs="?", choices=("start", "status", "stop"),
                   help="start (the default) prints its URL; status tells where it is and whether it runs")
    p.add_argument("--stop", action="store_true", help="the same as `stop`")
    p.add_argument("--json", action="store_true", help="status as one JSON document")
    p.set_defaults(func=cmd_redis)
