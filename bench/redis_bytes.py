"""What a distributed run leaves in Redis, per object: docs/scale.md's Redis table.

    .venv/bin/python bench/redis_bytes.py [--objects 10000] [--workers 2]

Starts moto (bench/moto_server.py, the source preloaded with OBJECTS empty objects), a redis-server and one
`bucketsync worker` on free loopback ports, runs `bucketsync sync` on them at the default page and batch
sizes, and once the run has ended and its chords have fired, sums Redis's own `MEMORY USAGE` of every key by
kind (Celery task results, chord state, the run's ledger, the rest) and reads `INFO memory`'s used_memory
before and after. Prints a table, bytes and bytes per object.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import boto3
import redis

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE))
from cluster import _free_port, redis_binary  # noqa: E402


def wait_for(check, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {what} after {timeout} s")
        time.sleep(0.2)


def kind(key: str) -> str:
    if key.startswith("celery-task-meta-"):
        return "celery task results"
    if key.startswith("chord-unlock-") or key.startswith("celery-taskset-meta-"):
        return "chord state"
    if key.startswith("bucketsync:"):
        return "bucketsync ledger"
    return "other (kombu bindings, queues)"


def usage(client: redis.Redis) -> tuple[Counter, Counter, dict[str, int]]:
    """Bytes and keys by kind, and the bytes of each ledger key (the run id shown as RUN)."""
    sizes: Counter = Counter()
    counts: Counter = Counter()
    ledger: dict[str, int] = {}
    for key in client.scan_iter(count=1000):
        name = key.decode(errors="replace")
        size = client.memory_usage(key, samples=0) or 0
        sizes[kind(name)] += size
        counts[kind(name)] += 1
        if kind(name) == "bucketsync ledger":
            ledger[re.sub(r"run:[0-9a-f]{8,}", "run:RUN", name)] = size
    return sizes, counts, ledger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="worker pool processes")
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="bucketsync-redis-bytes-"))
    processes: list[subprocess.Popen] = []

    def start(name: str, command: list[str], env: dict | None = None) -> subprocess.Popen:
        process = subprocess.Popen(command, stdout=open(log_dir / f"{name}.log", "wb"), stderr=subprocess.STDOUT,
                                   env=env)
        processes.append(process)
        return process

    try:
        s3_port, redis_port = _free_port(), _free_port()
        start("moto", [sys.executable, str(HERE / "moto_server.py"), "--preload", f"src={args.objects}",
                       "-H", "127.0.0.1", "-p", str(s3_port)])
        start("redis", [redis_binary(), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--dir", str(log_dir)])
        endpoint, broker = f"http://127.0.0.1:{s3_port}", f"redis://127.0.0.1:{redis_port}/0"
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s",
                          region_name="us-east-1")

        def s3_up() -> bool:
            try:
                return "src" in {b["Name"] for b in s3.list_buckets()["Buckets"]}
            except Exception:
                return False

        wait_for(s3_up, "moto", timeout=600)
        s3.create_bucket(Bucket="dst")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BUCKETSYNC_"))}
        for side in ("SOURCE", "DEST"):
            env.update({f"BUCKETSYNC_{side}__ENDPOINT_URL": endpoint, f"BUCKETSYNC_{side}__ACCESS_KEY_ID": "k",
                        f"BUCKETSYNC_{side}__SECRET_ACCESS_KEY": "s", f"BUCKETSYNC_{side}__REGION": "us-east-1"})
        env["BUCKETSYNC_BROKER_URL"] = broker
        client = redis.Redis.from_url(broker)
        start("worker", [str(BIN / "bucketsync"), "worker", f"--concurrency={args.workers}", "--without-gossip",
                         "--without-mingle"], env)
        wait_for(lambda: b"ready." in (log_dir / "worker.log").read_bytes(), "worker")
        before = client.info("memory")["used_memory"]
        started = time.monotonic()
        done = subprocess.run([str(BIN / "bucketsync"), "sync", "s3://src", "s3://dst"], env=env,
                              capture_output=True, text=True)
        took = time.monotonic() - started
        if done.returncode != 0:
            raise RuntimeError(f"sync exit {done.returncode}: {done.stderr[-2000:]}")
        # The run ends when its last batch is counted; that batch's chord fires just after.
        wait_for(lambda: not any(client.scan_iter("celery-taskset-meta-*.j")), "chord fired", timeout=60)
        time.sleep(1)
        memory = client.info("memory")
        after, peak = memory["used_memory"], memory["used_memory_peak"]
        sizes, counts, ledger = usage(client)
        run_id = client.zrange("bucketsync:runs", 0, 0)[0].decode()
        fields = client.hkeys(f"bucketsync:run:{run_id}:page_summaries")
        pages = sum(1 for field in fields if field.startswith(b"listed:"))
        n = args.objects
        print(f"{n} objects, run {took:.0f} s, {counts['celery task results']} task results, "
              f"log {log_dir}")
        print(f"| {'what':34} | {'keys':>6} | {'bytes':>10} | {'B/object':>8} |")
        print(f"|{'-' * 36}|{'-' * 8}|{'-' * 12}|{'-' * 10}|")
        for what in sorted(sizes):
            print(f"| {what:34} | {counts[what]:6d} | {sizes[what]:10d} | {sizes[what] / n:8.1f} |")
        total = sum(sizes.values())
        print(f"| {'all keys (MEMORY USAGE)':34} | {sum(counts.values()):6d} | {total:10d} | {total / n:8.1f} |")
        print(f"| {'used_memory after − before':34} | {'':6} | {after - before:10d} | {(after - before) / n:8.1f} |")
        print(f"| {'used_memory peak − before':34} | {'':6} | {peak - before:10d} | {(peak - before) / n:8.1f} |")
        print(f"\nthe ledger's keys ({pages} pages):")
        for name, size in sorted(ledger.items(), key=lambda item: -item[1]):
            print(f"  {size:8d}  {name}")
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
