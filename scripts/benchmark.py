#!/usr/bin/env python
"""The pipeline's five performance goals, each against its baseline, in one run on one embedded Redis, and
where the CPU goes (the sixth item below). The text output and `goals` in the JSON say whether each goal
was met in this run.

    .venv/bin/python scripts/benchmark.py [--events 300] [--rate 50] [--backlog 2000]
                                          [--processes 2] [--threads 4] [--json]

1. throughput: N ids through a bare dramatiq chain of five no-op actors (the pipeline's broker settings,
   none of its middleware) and N queued claims through the whole pipeline, on the same worker processes
   and threads: `bare_per_s`, `pipeline_per_s`, `ratio`; and the backlog's claims per second counted until
   their statement e-mails, which the workers run after every claim step they hold, are sent too
   (`settled_per_s`);
2. latency: events posted open loop at `--rate` per second (each on its own schedule, whatever the
   answers before it), from the webhook's answer to the claim's final status: `p50_ms`, `p95_ms`,
   `p99_ms` (and the bare chain's, at the same rate, from send to its last actor);
3. memory: the resident size of every worker process, sampled while a backlog of `--backlog` claims
   drains: `worker_rss_mb_max` (the largest process), its first sample once a tenth of the backlog is
   final (`worker_rss_mb_first`) and its last (`worker_rss_mb_last`);
4. the webhook: signed events per second from 8 client threads, against a bare FastAPI endpoint that
   checks the same signature and answers 202 (`benchmarks/bare_endpoint.py`), the two taking turns
   (`WEBHOOK_ROUNDS`, a fifth of the backlog each turn, so both see the same load): `webhook_per_s`,
   `bare_endpoint_per_s` (the medians of the turns), `webhook_ratio` (the median of the turns' ratios) and
   `webhook_ratios` (each turn's);
5. Redis: `used_memory` after the backlog is final, less before, per claim: `redis_bytes_per_claim`;
6. where the CPU goes: CPU seconds (user and system, from /proc) of each process group while the bare chain's
   ids and the backlog's claims go through, per id and per claim: `bare_cpu_ms_per_id` (workers, Redis) and
   `cpu_ms_per_claim` (workers, sandbox peers, webhook server, Redis). On a machine whose cores are all busy,
   throughput is cores / CPU per claim: `cpu_ratio` (the bare chain's CPU per id over the pipeline's per
   claim) is the ratio that budget allows, and `peer_cpu_share` the part the sandbox peers take of it (they
   stand in for the clearinghouse, the billing service and the mail server, which run elsewhere in
   production). The floor under the claims' CPU that no work of the pipeline's own can lower: the broker's
   cost of each message a claim takes until it is final (`messages_per_claim`, counted by the workers'
   metrics, statement e-mails excluded, times the bare chain's CPU per message) and the sandbox peers'
   CPU: `cpu_floor_ms_per_claim`, and `ratio_ceiling`, the bare chain's CPU per id over that floor, the
   ratio a pipeline whose steps cost nothing else would reach.

The pipeline runs as it does in production (INFO logs, the sandbox peers without faults, the bundled
examples in turn). The backlog's events are the webhook measurement: they are posted while no worker runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.adapters.redis_server import server_pid, start_embedded, stop_embedded  # noqa: E402
from pipeline.domain.signature import sign  # noqa: E402
from pipeline.entrypoints.demo import (  # noqa: E402
    BUNDLED_EVENTS,
    Stack,
    free_port,
    stop_process_group,
    wait_http,
)
from schemas.claim import FINAL_STATUSES  # noqa: E402

CLIENT_THREADS = 8
BARE_CHAIN_HOPS = 5  # benchmarks/bare_chain.py: step1 to step5
AFTER_FINAL = ("send_statement", "statement_delivery_failed")  # the e-mails, which run after the claims
WEBHOOK_ROUNDS = 5  # the webhook and the bare endpoint take turns: the ratio is the median of the turns'


# measuring -----------------------------------------------------------------------------------------------
def process_tree(root_pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            children.setdefault(int(fields["PPid"]), []).append(int(fields["Pid"]))
        except (OSError, KeyError, ValueError):
            continue
    found, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def largest_rss_mb(root_pid: int) -> float:
    """The resident size of the largest process of a process tree (a dramatiq parent and its workers)."""
    return max((rss_mb(pid) for pid in process_tree(root_pid)), default=0.0)


def cpu_s(pid: int) -> float:
    """CPU seconds (user and system) a process has used so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class CpuMeter:
    """CPU seconds used by named process groups between `start()` and `stop()` (a group: a root pid and its
    descendants, listed at both ends; a process that ended in between is not counted)."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots, self.before, self.used = roots, {}, {}

    def _read(self) -> dict[str, dict[int, float]]:
        return {name: {pid: cpu_s(pid) for pid in process_tree(root)} for name, root in self.roots.items()}

    def start(self) -> None:
        self.before = self._read()

    def stop(self) -> None:
        after = self._read()
        self.used = {name: sum(t - self.before[name].get(pid, 0.0) for pid, t in pids.items())
                     for name, pids in after.items()}

    def per_item_ms(self, n: int) -> dict[str, float]:
        out = {name: round(used / n * 1000, 2) for name, used in self.used.items()}
        out["total"] = round(sum(self.used.values()) / n * 1000, 2)
        return out


def messages_by_actor(ledger: Any) -> dict[str, int]:
    """Messages processed so far, per actor, as the workers' metrics middleware counted them."""
    r, prefix = ledger.r, ledger.prefix + "metrics:"
    return {actor.decode(): int(r.hget(f"{prefix}actor:{actor.decode()}", "total") or 0)
            for actor in r.smembers(prefix + "actors")}


def settled_count(read: Callable[[], int], *, quiet_s: float = 1.0, timeout_s: float = 30.0) -> int:
    """A count the workers write now and then (their metrics, every 0.25 s on an idle machine), once it has
    not changed for `quiet_s`: every message processed so far is in it."""
    deadline = time.monotonic() + timeout_s
    last, since = read(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet_s:
        time.sleep(0.05)
        now = read()
        if now != last:
            last, since = now, time.monotonic()
    return last


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))] if ordered else 0.0


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def open_loop(n: int, rate: float, act: Callable[[int], None]) -> float:
    """Call `act(i)` at t0 + i / rate, each in its own thread: arrivals never wait for earlier answers. Returns
    the rate the calls were in fact started at (it must be the rate asked for, or the latency means nothing)."""
    start = time.perf_counter() + 0.2
    with ThreadPoolExecutor(64) as pool:
        for i in range(n):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(act, i)
        started = time.perf_counter() - start
    offered = (n - 1) / started if n > 1 and started > 0 else rate
    if not 0.9 * rate <= offered <= 1.1 * rate:
        raise RuntimeError(f"the open loop offered {offered:.1f}/s instead of {rate:g}/s")
    return offered


def make_events(n: int, tag: str) -> list[bytes]:
    templates = [json.loads(p.read_text()) for p in sorted(BUNDLED_EVENTS.glob("*.json"))
                 if not p.name.startswith("refused")]
    out = []
    for i in range(n):
        doc = json.loads(json.dumps(templates[i % len(templates)]))
        doc["event_id"] = f"evt_{tag}_{i}"
        doc["session"]["session_id"] = f"ses_{tag}_{i}"
        if doc.get("va_referral"):  # a valid number of its own (VA and ten digits): each claim one visit
            doc["va_referral"]["referral_number"] = f"VA{sum(map(ord, tag)) % 100:02d}{i:08d}"
        out.append(json.dumps(doc).encode())
    return out


def post_all(url: str, secret: str, bodies: list[bytes]) -> tuple[float, list[int]]:
    """Post every body, signed, from CLIENT_THREADS keep-alive sessions; (events per second, status codes)."""
    local = threading.local()

    def post(body: bytes) -> int:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        headers = {"X-Signature": sign(secret, body, int(time.time())), "Content-Type": "application/json"}
        return session.post(url, data=body, headers=headers, timeout=60).status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        codes = list(pool.map(post, bodies))
    return len(bodies) / (time.perf_counter() - started), codes


# the baselines -------------------------------------------------------------------------------------------
def run_bare_chain(url: str, redis_pid: int, n: int, rate: float, processes: int, threads: int) -> dict[str, Any]:
    r = redis.Redis.from_url(url)
    r.flushdb()
    env = {**os.environ, "BENCH_REDIS_URL": url, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen([sys.executable, "-m", "dramatiq", "benchmarks.bare_chain", "--processes",
                               str(processes), "--threads", str(threads)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        os.environ["BENCH_REDIS_URL"] = url
        from benchmarks import bare_chain

        def wait_done(count: int, timeout_s: float = 300) -> None:
            deadline = time.monotonic() + timeout_s
            while r.hlen("bench:done") < count:
                if time.monotonic() > deadline:
                    raise RuntimeError("the bare chain did not finish")
                time.sleep(0.02)

        bare_chain.step1.send("warm-up")  # the workers are up once one id has gone through
        wait_done(1, 60)
        r.delete("bench:done")
        cpu = CpuMeter({"workers": worker.pid, "redis": redis_pid})
        cpu.start()
        started = time.time()
        for i in range(n):
            bare_chain.step1.send(f"b{i}")
        wait_done(n)
        cpu.stop()
        done = {k.decode(): float(v) for k, v in r.hgetall("bench:done").items()}
        per_s = n / (max(done.values()) - started)

        r.delete("bench:done")
        sent: dict[str, float] = {}

        def send(i: int) -> None:
            sent[f"o{i}"] = time.time()
            bare_chain.step1.send(f"o{i}")

        open_loop(n, rate, send)
        wait_done(n)
        done = {k.decode(): float(v) for k, v in r.hgetall("bench:done").items()}
        latencies = [done[k] - sent[k] for k in sent]
        return {"bare_per_s": round(per_s, 1), "bare_cpu_ms_per_id": cpu.per_item_ms(n),
                "bare_p50_ms": ms(percentile(latencies, 50)), "bare_p95_ms": ms(percentile(latencies, 95)),
                "bare_p99_ms": ms(percentile(latencies, 99))}
    finally:
        stop_process_group(worker)
        r.flushdb()


class BareEndpoint:
    """The bare endpoint's server, up while the pipeline's webhook is measured: the two take turns."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.secret = free_port(), "bench-secret"
        self.log = open(workdir / "bare_endpoint.log", "ab")  # noqa: SIM115 - closed in stop()
        self.server = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bare_endpoint", str(self.port)], cwd=ROOT,
            env={**os.environ, "SUPERBILL_WEBHOOK_SECRET": self.secret, "PYTHONPATH": str(ROOT)},
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_http(f"http://127.0.0.1:{self.port}/healthz")

    def post(self, bodies: list[bytes]) -> float:
        per_s, codes = post_all(f"http://127.0.0.1:{self.port}/v1/events", self.secret, bodies)
        assert set(codes) == {202}, set(codes)
        return per_s

    def stop(self) -> None:
        stop_process_group(self.server)
        self.log.close()


def chunks(items: list[bytes], n: int) -> list[list[bytes]]:
    size = -(-len(items) // n)
    return [items[i:i + size] for i in range(0, len(items), size)]


# the pipeline --------------------------------------------------------------------------------------------
def final_count(ledger: Any) -> int:
    """How many claims of the ledger are final, from the status indexes (cheap enough to ask often)."""
    return sum(n for status, n in ledger.count_by_status().items() if status in FINAL_STATUSES)


def wait_final(stack: Stack, claim_ids: list[str], *, sample: Callable[[int], None] = lambda done: None,
               timeout_s: float = 3600) -> list[Any]:
    """Wait until every claim of the ledger is final (polling the counts, never the claims), then read them."""
    deadline = time.monotonic() + timeout_s
    ledger = stack.ledger()
    total = int(ledger.r.zcard(ledger.prefix + "claims"))
    while time.monotonic() < deadline:
        done = final_count(ledger)
        sample(done)
        if done >= total:
            claims = ledger.get_many(claim_ids)
            if len(claims) == len(claim_ids) and all(c.status in FINAL_STATUSES for c in claims):
                return claims
        time.sleep(0.1)
    raise RuntimeError("the pipeline did not finish its claims in time")


def run_pipeline(url: str, redis_pid: int, workdir: Path, *, events: int, rate: float, backlog: int, processes: int,
                 threads: int, bare_endpoint: BareEndpoint) -> dict[str, Any]:
    redis.Redis.from_url(url).flushdb()
    stack = Stack(workdir / "pipeline", worker_processes=processes, worker_threads=threads, redis_url=url)
    (workdir / "pipeline").mkdir()
    stack.start()
    try:
        ledger = stack.ledger()
        r = ledger.r
        stack.stop_process("worker")  # the backlog is posted while no worker runs

        # the webhook, and the backlog it leaves: in WEBHOOK_ROUNDS turns with the bare endpoint, each turn
        # a part of the backlog against as many events to the bare endpoint, so both see the same machine
        memory_before = int(r.info("memory")["used_memory"])
        bodies = make_events(backlog, "backlog")
        webhook_rates, bare_rates = [], []
        for i, part in enumerate(chunks(bodies, WEBHOOK_ROUNDS)):
            bare_rates.append(bare_endpoint.post(make_events(max(len(part), 300), f"bare{i}")))
            part_per_s, codes = post_all(stack.web_url + "/v1/events", stack.secret, part)
            assert set(codes) == {202}, set(codes)
            webhook_rates.append(part_per_s)
        ratios = sorted(w / b for w, b in zip(webhook_rates, bare_rates, strict=True))
        backlog_ids = [json.loads(b)["session"]["session_id"] for b in bodies]

        # the backlog drains: throughput and memory (samples once the workers have booted and a tenth of
        # the backlog is final, so that "first" is a working worker, not one still importing)
        worker = stack.start_worker()
        cpu = CpuMeter({"workers": worker.pid, "sandbox": stack.procs["sandbox"].pid,
                        "webhook": stack.procs["web"].pid, "redis": redis_pid})
        samples: list[float] = []
        warm: list[float] = []
        last_sample = [0.0]

        def sample(done: int = 0) -> None:
            if time.monotonic() - last_sample[0] >= 0.5:
                last_sample[0] = time.monotonic()
                samples.append(largest_rss_mb(worker.pid))
                if done >= backlog // 10:
                    warm.append(samples[-1])

        def started() -> bool:
            return int(r.zcard(ledger.prefix + "status:received")) < backlog

        while not started():
            sample()
            time.sleep(0.05)
        cpu.start()  # from the first claim a worker took (its boot, the imports, is not the claims' work)
        t0, received_at_t0 = time.time(), int(r.zcard(ledger.prefix + "status:received"))
        claims = wait_final(stack, backlog_ids, sample=sample)
        cpu.stop()
        finished = max(c.status_changed_at for c in claims)
        pipeline_per_s = received_at_t0 / (finished - t0)
        if not stack.wait_statements_emailed(backlog_ids, 3600):  # and the e-mails that follow, run last
            raise RuntimeError("the statement e-mails did not settle in time")
        settled_per_s = received_at_t0 / (time.time() - t0)
        claim_messages = settled_count(lambda: sum(n for actor, n in messages_by_actor(ledger).items()
                                                   if actor not in AFTER_FINAL))
        sample()
        memory_after = int(r.info("memory")["used_memory"])

        # latency at a rate, open loop
        answered: dict[str, float] = {}
        latency_bodies = make_events(events, "rate")
        session_of = threading.local()

        def post(i: int) -> None:
            body = latency_bodies[i]
            session = getattr(session_of, "s", None) or requests.Session()
            session_of.s = session
            headers = {"X-Signature": sign(stack.secret, body, int(time.time())),
                       "Content-Type": "application/json"}
            answer = session.post(stack.web_url + "/v1/events", data=body, headers=headers, timeout=60)
            answered[answer.json()["claim_id"]] = time.time()

        offered_per_s = open_loop(events, rate, post)
        claims = wait_final(stack, list(answered), sample=sample)
        latencies = [c.status_changed_at - answered[c.claim_id] for c in claims]
        return {
            "pipeline_per_s": round(pipeline_per_s, 1), "settled_per_s": round(settled_per_s, 1),
            "rate_per_s": rate, "offered_per_s": round(offered_per_s, 1),
            "p50_ms": ms(percentile(latencies, 50)), "p95_ms": ms(percentile(latencies, 95)),
            "p99_ms": ms(percentile(latencies, 99)),
            "worker_rss_mb_max": round(max(samples), 1),
            "worker_rss_mb_first": round((warm or samples)[0], 1), "worker_rss_mb_last": round(samples[-1], 1),
            "webhook_per_s": round(sorted(webhook_rates)[len(webhook_rates) // 2], 1),
            "bare_endpoint_per_s": round(sorted(bare_rates)[len(bare_rates) // 2], 1),
            "webhook_ratio": round(ratios[len(ratios) // 2], 3),
            "webhook_ratios": [round(x, 3) for x in ratios],
            "redis_bytes_per_claim": round((memory_after - memory_before) / backlog),
            "cpu_ms_per_claim": cpu.per_item_ms(received_at_t0),
            "messages_per_claim": round(claim_messages / backlog, 2),
            "by_status": _counts(claims),
        }
    finally:
        stack.stop()


def _counts(claims: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in claims:
        out[c.status] = out.get(c.status, 0) + 1
    return dict(sorted(out.items()))


# The five goals: (name, the field, what it must be, the bound, its unit).
GOALS = (
    ("throughput", "ratio", ">=", 0.8, "x"),
    ("latency", "p95_ms", "<=", 100.0, " ms"),
    ("worker memory", "worker_rss_mb_max", "<", 150.0, " MB and flat"),
    ("webhook", "webhook_ratio", ">=", 0.5, "x"),
    ("Redis", "redis_bytes_per_claim", "<=", 4096, " bytes"),
)
RSS_FLAT = 0.10  # "flat": the last sample at most 10% above the first one taken once a tenth is final


def verdicts(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each goal with its figure and whether this run met it (memory also has to stay flat)."""
    out = {}
    for name, key, op, bound, unit in GOALS:
        value = result[key]
        met = value >= bound if op == ">=" else value <= bound if op == "<=" else value < bound
        if key == "worker_rss_mb_max":
            met = met and result["worker_rss_mb_last"] <= result["worker_rss_mb_first"] * (1 + RSS_FLAT)
        out[name] = {"field": key, "value": value, "goal": f"{op} {bound:g}{unit}", "met": met}
    return out


def _cpu(parts: dict[str, float]) -> str:
    return " + ".join(f"{name} {ms:g}" for name, ms in parts.items() if name != "total") + f" = {parts['total']:g} ms"


# Below these, the figures are noise: CPU time is counted in ticks of 10 ms, and a backlog the workers drain
# before the first sample has no throughput to speak of.
MIN_EVENTS, MIN_BACKLOG, MAX_RATE = 50, 200, 1000.0


def at_least(low: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
        if number < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {number}")
        return number
    return parse


def rate_arg(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0 < rate <= MAX_RATE:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be above 0 and at most {MAX_RATE:g}, got {value}")
    return rate


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=at_least(MIN_EVENTS), default=300,
                        help=f"ids/events per throughput and latency run (at least {MIN_EVENTS})")
    parser.add_argument("--rate", type=rate_arg, default=50.0,
                        help=f"events per second offered, open loop (above 0, at most {MAX_RATE:g})")
    parser.add_argument("--backlog", type=at_least(MIN_BACKLOG), default=2000,
                        help=f"claims queued before the workers start (at least {MIN_BACKLOG})")
    parser.add_argument("--processes", type=at_least(1), default=2,
                        help="worker processes, for the pipeline and the bare chain alike")
    parser.add_argument("--threads", type=at_least(1), default=4, help="worker threads per process, alike")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    load_before = load()
    with tempfile.TemporaryDirectory(prefix="superbill-bench-", ignore_cleanup_errors=True) as tmp:
        workdir = Path(tmp)
        url = start_embedded(workdir / "redis")
        redis_pid = server_pid(workdir / "redis")
        assert redis_pid is not None
        try:
            bare = run_bare_chain(url, redis_pid, args.events, args.rate, args.processes, args.threads)
            bare_endpoint = BareEndpoint(workdir)
            try:
                pipeline = run_pipeline(url, redis_pid, workdir, events=args.events, rate=args.rate,
                                        backlog=args.backlog, processes=args.processes, threads=args.threads,
                                        bare_endpoint=bare_endpoint)
            finally:
                bare_endpoint.stop()
        finally:
            stop_embedded(workdir / "redis")
    result = {
        "pipeline_per_s": pipeline.pop("pipeline_per_s"), "bare_per_s": bare["bare_per_s"],
        "ratio": 0.0, **pipeline,
        **{k: v for k, v in bare.items() if k != "bare_per_s"},
        "events": args.events, "backlog": args.backlog, "processes": args.processes, "threads": args.threads,
        "load_before": load_before, "load_after": load(), "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    result["ratio"] = round(result["pipeline_per_s"] / result["bare_per_s"], 3)
    claim_cpu, id_cpu = result["cpu_ms_per_claim"], result["bare_cpu_ms_per_id"]
    result["cpu_ratio"] = round(id_cpu["total"] / claim_cpu["total"], 3) if claim_cpu["total"] else 0.0
    result["peer_cpu_share"] = round(claim_cpu["sandbox"] / claim_cpu["total"], 3) if claim_cpu["total"] else 0.0
    floor = result["messages_per_claim"] * id_cpu["total"] / BARE_CHAIN_HOPS + claim_cpu["sandbox"]
    result["cpu_floor_ms_per_claim"] = round(floor, 2)
    result["ratio_ceiling"] = round(id_cpu["total"] / floor, 3) if floor else 0.0
    result["goals"] = verdicts(result)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    goal = {name: f"goal {v['goal']}: {'met' if v['met'] else 'NOT MET'}" for name, v in result["goals"].items()}
    print(f"throughput   pipeline {result['pipeline_per_s']}/s  bare chain {result['bare_per_s']}/s  "
          f"ratio {result['ratio']}  [{goal['throughput']}]  (e-mails sent too: {result['settled_per_s']}/s)")
    print(f"latency      at {args.rate:g}/s  p50 {result['p50_ms']} ms  p95 {result['p95_ms']} ms  "
          f"p99 {result['p99_ms']} ms  [{goal['latency']}]  (bare chain p95 {result['bare_p95_ms']} ms)")
    print(f"worker RSS   max {result['worker_rss_mb_max']} MB per process (first {result['worker_rss_mb_first']}, "
          f"last {result['worker_rss_mb_last']}) over {args.backlog} claims  [{goal['worker memory']}]")
    print(f"webhook      {result['webhook_per_s']}/s  bare endpoint {result['bare_endpoint_per_s']}/s  "
          f"ratio {result['webhook_ratio']}  [{goal['webhook']}]")
    print(f"Redis        {result['redis_bytes_per_claim']} bytes per claim  [{goal['Redis']}]"
          + ("  (below a backlog of 2,000, fixed costs of about 1 MB weigh in)" if args.backlog < 2000 else ""))
    print(f"CPU          per claim: {_cpu(claim_cpu)}; per bare id: {_cpu(id_cpu)}")
    print(f"             the budget allows a ratio of {result['cpu_ratio']}; the sandbox peers take "
          f"{result['peer_cpu_share']:.0%} of the claims' CPU")
    print(f"             floor {result['cpu_floor_ms_per_claim']} ms per claim ({result['messages_per_claim']} "
          f"messages per claim at the bare chain's cost, and the sandbox peers): a ratio of at most "
          f"{result['ratio_ceiling']} even if the steps cost nothing else")
    print(f"load         {result['load_before']} -> {result['load_after']} on {result['cpus']} CPUs")


if __name__ == "__main__":
    main()
