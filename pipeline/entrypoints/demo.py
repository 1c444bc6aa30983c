"""`superbill demo`: everything on one machine, on the bundled examples (or your events).

Starts an embedded Redis in a temporary folder, the sandbox peers, a worker and the web app as real
processes; posts every event through the signed webhook; waits until every claim is final; prints them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

from pipeline.adapters.redis_client import connect as connect_redis
from pipeline.adapters.redis_ledger import Ledger
from pipeline.adapters.redis_server import start_embedded, stop_embedded
from pipeline.domain.signature import sign
from schemas.claim import FINAL_STATUSES

BUNDLED_EVENTS = Path(__file__).parents[1] / "examples"
STEDI_SANDBOX_KEY = "test_sandbox_key"


def stedi_profile(base: Path, dest: Path) -> Path:
    """A copy of the practice profile whose `[clearinghouse]` section uses the Stedi adapter in test mode
    (ISA15 `T`, ISA08 `STEDITEST`), for the demo and the tests against the sandbox's Stedi shape."""
    text = base.read_text(encoding="utf-8")
    section = dict(tomllib.loads(text).get("clearinghouse", {}))
    section.update(adapter="stedi", usage="T", interchange_receiver_id="STEDITEST")
    kept, skipping = [], False
    for line in text.splitlines():
        header = line.strip()
        if header.startswith("["):
            skipping = header == "[clearinghouse]"
        if not skipping:
            kept.append(line)
    kept += ["", "[clearinghouse]", *(f"{key} = {json.dumps(value)}" for key, value in section.items())]
    dest.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_events(path: Path) -> list[tuple[str, bytes]]:
    """(name, raw body) for a folder of .json files or a .jsonl file."""
    if path.is_dir():
        return [(p.name, p.read_bytes()) for p in sorted(path.glob("*.json"))]
    lines = [ln for ln in path.read_bytes().splitlines() if ln.strip()]
    return [(f"{path.name}:{n}", ln) for n, ln in enumerate(lines, 1)]


def wait_http(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout_s:g} s")


def _signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to a process group; False when none of its processes is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def stop_process_group(proc: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    """SIGTERM a process's whole group (each spawned process leads its own) until no member is left, SIGKILL
    after `timeout_s`. Waiting for the leader alone is not enough: a dramatiq worker stopped while it is still
    starting can leave a child it forked after the signal, which would go on taking messages."""
    deadline = time.monotonic() + timeout_s
    # SIGTERM once: dramatiq takes a second one as "kill the workers now", cutting a running step short
    alive = proc.poll() is None and _signal_group(proc.pid, signal.SIGTERM)
    while alive and _signal_group(proc.pid, 0):
        proc.poll()  # reap the leader once it exits, so an empty group reads as empty
        if time.monotonic() > deadline:
            _signal_group(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


class Stack:
    """The processes of a running pipeline: Redis, sandbox peers, workers, web; stopped on exit."""

    def __init__(self, workdir: Path, *, faults: str = "", worker_processes: int = 1, worker_threads: int = 4,
                 extra_env: dict[str, str] | None = None, redis_url: str | None = None,
                 sandbox_env: dict[str, str] | None = None, mail_faults: str = "",
                 clearinghouse: str = "http", stedi_webhook_secret: str | None = None) -> None:
        self.workdir = workdir
        self.clearinghouse = clearinghouse  # "http", or "stedi": the Stedi adapter against the sandbox's Stedi shape
        self.faults = faults
        self.worker_processes = worker_processes
        self.worker_threads = worker_threads
        self.extra_env = extra_env or {}
        self.sandbox_env = sandbox_env or {}  # for the sandbox process only, on top of env()
        # set: the sandbox's Stedi shape delivers signed webhook events to the web process, which takes them
        self.stedi_webhook_secret = stedi_webhook_secret
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.secret = secrets.token_hex(16)
        self.ops_token = secrets.token_hex(16)
        # The peers' tokens: the pipeline sends them, the sandbox requires them (401 for any other).
        self.clearinghouse_token = secrets.token_hex(16)
        self.billing_service_token = secrets.token_hex(16)
        self.external_redis = redis_url  # a Redis of the caller's; else an embedded one of the stack's own
        self.redis_url = redis_url or ""
        self.sandbox_url = ""
        self.web_url = ""
        self.mail_faults = mail_faults
        self.smtp_port = 0

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "REDIS_URL": self.redis_url,
            "SUPERBILL_CLEARINGHOUSE_URL": f"{self.sandbox_url}/clearinghouse",
            "SUPERBILL_CLEARINGHOUSE_TOKEN": self.clearinghouse_token,
            "SUPERBILL_BILLING_SERVICE_URL": f"{self.sandbox_url}/billing",
            "SUPERBILL_BILLING_SERVICE_TOKEN": self.billing_service_token,
            "SUPERBILL_WEBHOOK_SECRET": self.secret,
            "SUPERBILL_OPS_TOKEN": self.ops_token,
            "SUPERBILL_PEER_TIMEOUT": "2",
            "SUPERBILL_SUBMIT_MAX_RETRIES": "8",
            "SUPERBILL_SUBMIT_MIN_BACKOFF_MS": "300",
            "SUPERBILL_SUBMIT_MAX_BACKOFF_MS": "3000",
            "SUPERBILL_LOG_LEVEL": "INFO",
            # a reconciler process started on the stack fetches no remittances unless asked (the demo's own
            # reconciler fetches every second)
            "SUPERBILL_REMITTANCE_POLL": "0",
            "PYTHONUNBUFFERED": "1",
            # the sandbox mail server: statements are e-mailed to it (plain SMTP on loopback only)
            "SUPERBILL_SMTP_HOST": "127.0.0.1",
            "SUPERBILL_SMTP_PORT": str(self.smtp_port),
            "SUPERBILL_SMTP_SECURITY": "none",
            "SUPERBILL_SMTP_FROM": "statements@sandbox.example",
            "SUPERBILL_SMTP_TIMEOUT": "10",
            **self.extra_env,
            **self._stedi_env(),
            **({"SUPERBILL_STEDI_WEBHOOK_SECRET": self.stedi_webhook_secret} if self.stedi_webhook_secret else {}),
        }

    def _stedi_env(self) -> dict[str, str]:
        if self.clearinghouse != "stedi":
            return {}
        return {"SUPERBILL_PRACTICE": str(self.workdir / "practice-stedi.toml"),
                "SUPERBILL_STEDI_API_KEY": STEDI_SANDBOX_KEY,
                "SUPERBILL_STEDI_HEALTHCARE_URL": f"{self.sandbox_url}/stedi/healthcare/2024-04-01",
                "SUPERBILL_STEDI_CORE_URL": f"{self.sandbox_url}/stedi/core/2023-08-01"}

    def _webhook_env(self) -> dict[str, str]:
        """The sandbox's: where its Stedi shape delivers webhook events (the web process), when set up."""
        if not self.stedi_webhook_secret:
            return {}
        return {"SUPERBILL_SANDBOX_STEDI_WEBHOOK_URL": f"{self.web_url}/v1/stedi/events"}

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(argv, env={**self.env(), **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def start(self) -> Stack:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Stack:
        if self.clearinghouse == "stedi":
            from config.practice import practice_path

            base = self.extra_env.get("SUPERBILL_PRACTICE") or os.environ.get("SUPERBILL_PRACTICE")
            stedi_profile(practice_path(base), self.workdir / "practice-stedi.toml")
        if not self.external_redis:
            self.redis_url = start_embedded(self.workdir / "redis")
        sandbox_port, web_port, self.smtp_port = free_port(), free_port(), free_port()
        self.sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        self.web_url = f"http://127.0.0.1:{web_port}"
        py = sys.executable
        self.spawn("sandbox", [py, "-m", "pipeline.entrypoints.cli", "sandbox", "--port", str(sandbox_port),
                                "--faults", self.faults, "--smtp-port", str(self.smtp_port),
                                "--mail-faults", self.mail_faults], env={**self.sandbox_env, **self._webhook_env()})
        self.start_worker()
        self.spawn("web", [py, "-m", "pipeline.entrypoints.cli", "web", "--host", "127.0.0.1", "--port", str(web_port)])
        wait_http(self.sandbox_url + "/healthz")
        wait_http(self.web_url + "/healthz")
        return self

    def start_worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        return self.spawn(name, [sys.executable, "-m", "dramatiq", "workers.app:worker_setup",
                                  "--processes", str(self.worker_processes),
                                  "--threads", str(self.worker_threads)])

    def stop(self, *, keep_redis: bool = False) -> None:
        for proc in self.procs.values():
            stop_process_group(proc)
        if not keep_redis and not self.external_redis:
            stop_embedded(self.workdir / "redis")

    def stop_process(self, name: str) -> None:
        """Stop one of the stack's processes and every process it started (a worker's children too)."""
        stop_process_group(self.procs[name])

    def ledger(self) -> Ledger:
        return Ledger(connect_redis(self.redis_url))

    def post_event(self, body: bytes) -> requests.Response:
        signature = sign(self.secret, body, int(time.time()))
        return requests.post(self.web_url + "/v1/events", data=body, timeout=30,
                             headers={"X-Signature": signature, "Content-Type": "application/json"})

    def receipts(self) -> dict[str, int]:
        return dict(requests.get(self.sandbox_url + "/_sandbox/receipts", timeout=10).json())

    def wait_settled(self, claim_ids: list[str], timeout_s: float) -> bool:
        """`wait_final`, and every direct-billing claim the payer took also paid or denied (its 835 in)."""
        ledger = self.ledger()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            claims = ledger.get_many(claim_ids)
            if len(claims) == len(claim_ids) and all(
                    c.status in FINAL_STATUSES and not (c.route == "direct_billing" and c.status == "accepted")
                    for c in claims):
                return self.wait_final(claim_ids, max(0.0, deadline - time.monotonic()))
            time.sleep(0.2)
        return False

    def mail(self) -> dict[str, Any]:
        """What the sandbox mail server took: `messages`, `by_message_id`, `transactions`, ..."""
        return dict(requests.get(self.sandbox_url + "/_sandbox/mail", timeout=10).json())

    def wait_statements_emailed(self, claim_ids: list[str], timeout_s: float) -> bool:
        """Wait until no statement e-mail of these claims is still under way."""
        ledger = self.ledger()
        deadline = time.monotonic() + timeout_s
        while True:
            pending = [c for c in ledger.get_many(claim_ids) if c.status == "statement_ready"
                       and c.statement_delivery in ("queued", "sending", "committing", "retrying")]
            if not pending:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)

    def wait_final(self, claim_ids: list[str], timeout_s: float) -> bool:
        ledger = self.ledger()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            claims = ledger.get_many(claim_ids)
            if len(claims) == len(claim_ids) and all(c.status in FINAL_STATUSES for c in claims):
                # and nothing still changes them in the background: their statement e-mails are settled
                return self.wait_statements_emailed(claim_ids, max(0.0, deadline - time.monotonic()))
            time.sleep(0.2)
        return False


def run_demo(*, events: str | None, faults: str, as_json: bool, timeout_s: float, keep: bool = False,
             clearinghouse: str = "http") -> int:
    from pipeline.sandbox.faults import parse_faults

    try:
        parse_faults(faults)
    except ValueError as exc:
        print(f"--faults: {exc}", file=sys.stderr)
        return 1
    source = Path(events) if events else BUNDLED_EVENTS
    if not source.exists():
        print(f"{source}: no such file or folder", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="superbill-demo-"))
    kept = {"folder": keep}  # a demo that did not finish keeps its folder too: its logs say why

    def remove_folder() -> None:
        if not kept["folder"]:
            shutil.rmtree(workdir, ignore_errors=True)

    with ExitStack() as stack:
        stack.callback(remove_folder)
        # the demo's processes keep everything in its folder, the code set's cache included: the user's data
        # home is never touched
        pipeline = Stack(workdir, faults=faults, clearinghouse=clearinghouse,
                         extra_env={"SUPERBILL_HOME": str(workdir / "home")})
        stack.callback(pipeline.stop, keep_redis=keep)
        via = " (clearinghouse: the sandbox's Stedi shape)" if clearinghouse == "stedi" else ""
        _say(as_json, f"starting Redis, sandbox peers{via}, worker and web app in {workdir} ...")
        pipeline.start()
        stack.callback(_start_reconciler(pipeline))  # stopped first: callbacks run last in, first out
        claim_ids: list[str] = []
        refused: list[dict[str, Any]] = []
        for name, body in read_events(source):
            response = pipeline.post_event(body)
            answer = response.json()
            if response.status_code in (200, 202):
                claim_ids.append(answer["claim_id"])
                _say(as_json, f"  {name}: {response.status_code} {answer['status']} -> claim {answer['claim_id']}")
            else:
                refused.append({"file": name, "http_status": response.status_code,
                                "errors": answer.get("errors") or [answer.get("error")]})
                _say(as_json, f"  {name}: {response.status_code} refused")
        claim_ids = list(dict.fromkeys(claim_ids))
        _say(as_json, f"waiting for {len(claim_ids)} claim(s) to reach a final status, and for the payer's "
                      "remittances of the direct claims ...")
        done = pipeline.wait_settled(claim_ids, timeout_s)
        receipts = pipeline.receipts()
        claims = pipeline.ledger().get_many(claim_ids)
        rows = [{**c.summary(), "peer_receipts": receipts.get(c.claim_id, 0),
                 "statement_email": c.statement_delivery} for c in claims]
        mail = pipeline.mail()
        if as_json:
            document: dict[str, Any] = {"claims": rows, "refused": refused, "complete": done,
                                        "emails": [{"message_id": m["message_id"], "subject": m["subject"],
                                                    "attachments": [a["filename"] for a in m["attachments"]]}
                                                   for m in mail["messages"]]}
            if keep:
                document["kept"] = {"folder": str(workdir), "redis_url": pipeline.redis_url,
                                    "redis_data_dir": str(workdir / "redis")}
            print(json.dumps(document, indent=2, default=str))
        else:
            _print_table(rows, refused)
            emailed = [r["claim_id"] for r in rows if r["statement_email"] == "sent"]
            print(f"\nstatements e-mailed to clients (the sandbox mail server took {len(mail['messages'])} e-mail(s)): "
                  + (", ".join(emailed) or "none"))
            if keep:
                _print_kept(pipeline)
        if not done:
            kept["folder"] = True
            print(f"not every claim was final after {timeout_s:g} s; the logs of every process are kept in "
                  f"{workdir}", file=sys.stderr)
            return 1
    return 0


def _print_kept(pipeline: Stack) -> None:
    print(f"\nlogs kept in {pipeline.workdir}; the demo's Redis server keeps running, so the ops commands can look")
    print("at its claims (the sandbox, worker and web app are stopped):")
    print(f"  export REDIS_URL={pipeline.redis_url}")
    print("  superbill status; superbill claims list; superbill claims show <claim>")
    print("  for the ops page: superbill users add <you> --name '<Your Name>'; then SUPERBILL_WEBHOOK_SECRET=x "
          "superbill web --port 8000 and open http://127.0.0.1:8000/ops")
    print("  for the claims you fix and resubmit there to move on: superbill sandbox & superbill worker & "
          "superbill reconcile &")
    print("    (the sandbox peers on their default port 8100, where a worker sends by default)")
    print(f"stop it with: REDIS_URL={pipeline.redis_url} superbill redis stop")


def _start_reconciler(pipeline: Stack) -> Callable[[], None]:
    """The remittance ticker and the reconciler in a thread of the demo's process; the function it returns
    stops the thread and waits for it (before the demo's Redis is stopped: a pass still running would find
    the server gone)."""
    from pipeline.application.reconciler import RemittanceTicker, reconcile_once
    from pipeline.entrypoints import runtime

    os.environ.update({k: v for k, v in pipeline.env().items() if k.startswith(("SUPERBILL_", "REDIS_"))})
    runtime.connect(pipeline.redis_url)
    deps = runtime.deps()
    ticker = RemittanceTicker(deps, every_s=1.0)  # the payer's remittances, fetched by the worker

    stopping = threading.Event()

    def loop() -> None:
        passes = 0
        while not stopping.wait(1):
            passes += 1
            try:
                ticker.tick()
                if passes % 5 == 0:
                    reconcile_once(deps, older_than_s=20)
            except Exception:  # noqa: S112 - the demo's reconciler keeps trying
                continue

    thread = threading.Thread(target=loop, daemon=True, name="reconciler")
    thread.start()

    def stop() -> None:
        stopping.set()
        thread.join(timeout=30)

    return stop


def _say(quiet: bool, text: str) -> None:
    print(text, file=sys.stderr if quiet else sys.stdout, flush=True)


def _print_table(rows: list[dict[str, Any]], refused: list[dict[str, Any]]) -> None:
    print()
    print(f"{'session':<26} {'claim':<21} {'route':<20} {'status':<16} {'receipts':>8}  problems / reasons")
    for r in rows:
        why = ", ".join(r["problems"]) or "; ".join(r["peer_reasons"]) or (r["last_error"] or "")
        if r.get("status") == "paid":
            why = f"paid {r['paid_amount']}"
        elif r.get("denial_codes"):
            why = "denied: " + ", ".join(r["denial_codes"])
        print(f"{r['session_id']:<26} {r['claim_id']:<21} {r['route'] or '-':<20} {r['status']:<16} "
              f"{r['peer_receipts']:>8}  {why}")
    for r in refused:
        for e in r["errors"] or [{}]:
            print(f"{r['file']:<26} {'(refused)':<21} {'':<20} {'HTTP ' + str(r['http_status']):<16} {'':>8}  "
                  f"{e.get('path', '')}: {e.get('message', '')}")
