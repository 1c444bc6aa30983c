#!/usr/bin/env python
"""Whole-pipeline throughput against a bare dramatiq chain in the same run, latency percentiles, memory.

    .venv/bin/python scripts/benchmark.py [--events 300] [--processes 2] [--threads 4]

Both runs use one embedded Redis server, the same broker settings, and the same worker processes/threads.
The pipeline run posts signed events through the web app over HTTP and waits for every claim to be
final (peers: the sandbox, no faults); the bare run sends ids through five no-op actors.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.entrypoints.demo import BUNDLED_EVENTS, Stack  # noqa: E402
from schemas.claim import FINAL_STATUSES  # noqa: E402


def rss_mb(root_pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB (from /proc)."""
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            children.setdefault(int(fields["PPid"]), []).append(int(fields["Pid"]))
        except (OSError, KeyError, ValueError):
            continue
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def make_events(n: int) -> list[bytes]:
    templates = [json.loads(p.read_text()) for p in sorted(BUNDLED_EVENTS.glob("*.json"))
                 if not p.name.startswith("refused")]
    out = []
    for i in range(n):
        doc = json.loads(json.dumps(templates[i % len(templates)]))
        doc["event_id"] = f"evt_bench_{i}"
        doc["session"]["session_id"] = f"ses_bench_{i}"
        if doc.get("va_referral"):
            doc["va_referral"]["referral_number"] = f"VA{i:010d}"
        out.append(json.dumps(doc).encode())
    return out


def run_pipeline(workdir: Path, n: int, processes: int, threads: int) -> dict[str, object]:
    stack = Stack(workdir / "pipeline", worker_processes=processes, worker_threads=threads,
                  extra_env={"SUPERBILL_LOG_LEVEL": "WARNING"})
    (workdir / "pipeline").mkdir()
    stack.start()
    try:
        events = make_events(n)
        started = time.time()
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda b: stack.post_event(b).status_code, events))
        posted = time.time()
        ledger = stack.ledger()
        ids = ledger.claim_ids()
        peak = 0.0
        while True:
            claims = ledger.get_many(ids)
            peak = max(peak, rss_mb(stack.procs["worker"].pid))
            if all(c.status in FINAL_STATUSES for c in claims):
                break
            time.sleep(0.2)
        finished = max(c.status_changed_at for c in claims)
        per_actor = {}
        for actor in sorted(a.decode() for a in ledger.r.smembers(ledger.prefix + "metrics:actors")):
            h = {k.decode(): v.decode() for k, v in ledger.r.hgetall(ledger.prefix + f"metrics:actor:{actor}").items()}
            count = int(h.get("total", 0))
            per_actor[actor] = {"messages": count,
                                "mean_ms": round(float(h.get("seconds", 0)) / max(count, 1) * 1000, 1)}
        latencies = [c.status_changed_at - c.created_at for c in claims]
        return {
            "events": n, "accepted_by_webhook": sum(c == 202 for c in codes),
            "post_seconds": round(posted - started, 2), "seconds": round(finished - started, 2),
            "claims_per_second": round(n / (finished - started), 1),
            "latency_ms": {f"p{p}": round(percentile(latencies, p) * 1000) for p in (50, 90, 95, 99)},
            "latency_ms_mean": round(statistics.mean(latencies) * 1000),
            "worker_rss_mb_peak": round(peak, 1), "web_rss_mb": round(rss_mb(stack.procs["web"].pid), 1),
            "time_per_actor": per_actor,
            "by_status": dict(sorted({c.status: sum(x.status == c.status for x in claims) for c in claims}.items())),
        }
    finally:
        stack.stop()


def run_bare(workdir: Path, n: int, processes: int, threads: int) -> dict[str, object]:
    from pipeline.adapters.redis_server import start_embedded, stop_embedded

    data = workdir / "bare"
    url = start_embedded(data)
    env = {**os.environ, "BENCH_REDIS_URL": url, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen([sys.executable, "-m", "dramatiq", "benchmarks.bare_chain", "--processes",
                               str(processes), "--threads", str(threads)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        os.environ["BENCH_REDIS_URL"] = url
        from benchmarks import bare_chain

        r = redis.Redis.from_url(url)
        time.sleep(2)  # let the workers boot, as the pipeline's do before its run starts
        started = time.time()
        sent = {}
        for i in range(n):
            sent[str(i)] = time.time()
            bare_chain.step1.send(str(i))
        peak = 0.0
        while r.hlen("bench:done") < n:
            peak = max(peak, rss_mb(worker.pid))
            time.sleep(0.05)
        done = {k.decode(): float(v) for k, v in r.hgetall("bench:done").items()}
        finished = max(done.values())
        latencies = [done[k] - sent[k] for k in sent]
        return {
            "messages": n, "actors_per_chain": 5, "seconds": round(finished - started, 2),
            "chains_per_second": round(n / (finished - started), 1),
            "latency_ms": {f"p{p}": round(percentile(latencies, p) * 1000) for p in (50, 90, 95, 99)},
            "worker_rss_mb_peak": round(peak, 1),
        }
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=20)
        stop_embedded(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="superbill-bench-") as tmp:
        workdir = Path(tmp)
        bare = run_bare(workdir, args.events, args.processes, args.threads)
        pipeline = run_pipeline(workdir, args.events, args.processes, args.threads)
    ratio = round(float(pipeline["claims_per_second"]) / float(bare["chains_per_second"]), 3)  # type: ignore[arg-type]
    print(json.dumps({"bare_dramatiq_chain": bare, "pipeline": pipeline,
                      "pipeline_vs_bare_throughput": ratio,
                      "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}, indent=2))


if __name__ == "__main__":
    main()
