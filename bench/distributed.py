"""Embedded vs distributed (1 and 2 worker processes) vs `aws s3 sync`: N x 1 KiB objects, one moto server.

    .venv/bin/python bench/distributed.py --objects 5000 --rounds 2

Each distributed run gets a fresh redis-server on a free port and one `bucketsync worker` process with
`--concurrency` 1 or 2 (pool processes), started before the timed `bucketsync sync` and stopped after it,
so the wall time is the run's own (submit, coordinate, copy, finalise), not worker start-up. Redis
memory is sampled every 50 ms during the run (`used_memory`). The standalone counterpart of
bench/run's `bucketsync_distributed` hook, which is not wired into bench/run yet.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import botocore.config
import redis

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int) -> None:
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing on port {port}")


class Bench:
    def __init__(self, objects: int) -> None:
        self.objects = objects
        port = free_port()
        self.moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(port)
        self.url = f"http://127.0.0.1:{port}"
        self.s3 = boto3.client("s3", endpoint_url=self.url, aws_access_key_id="bench", aws_secret_access_key="bench",
                               region_name="us-east-1", config=botocore.config.Config(max_pool_connections=32))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BUCKETSYNC_"))}
        for side in ("SOURCE", "DEST"):
            self.env.update({f"BUCKETSYNC_{side}__ENDPOINT_URL": self.url, f"BUCKETSYNC_{side}__ACCESS_KEY_ID": "bench",
                             f"BUCKETSYNC_{side}__SECRET_ACCESS_KEY": "bench", f"BUCKETSYNC_{side}__REGION": "us-east-1"})
        self.env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
                        AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        self.walls: dict[str, list[float]] = {}
        self.redis_peaks: dict[str, list[int]] = {}

    def seed(self) -> None:
        self.s3.create_bucket(Bucket="src")
        body = b"x" * 1024
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: self.s3.put_object(Bucket="src", Key=f"p{i % 50:02d}/obj-{i:06d}", Body=body),
                          range(self.objects)))

    def timed(self, name: str, argv: list[str], extra_env: dict | None = None) -> None:
        dest = f"dst-{name.replace(' ', '-')}-{time.time_ns()}".lower()
        self.s3.create_bucket(Bucket=dest)
        argv = [arg.replace("DEST", dest) for arg in argv]
        started = time.monotonic()
        done = subprocess.run(argv, env={**self.env, **(extra_env or {})}, capture_output=True, text=True)
        wall = time.monotonic() - started
        count = sum(page.get("KeyCount", 0) for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=dest))
        correct = done.returncode == 0 and count == self.objects
        self.walls.setdefault(name, []).append(wall)
        print(f"{name:14s} {wall:7.2f} s {self.objects / wall:8.1f} objects/s  correct={correct}", flush=True)
        if not correct:
            print(done.stdout[-2000:], done.stderr[-2000:], flush=True)

    def distributed(self, processes: int) -> None:
        port = free_port()
        workdir = tempfile.mkdtemp(prefix="bench-redis-")
        server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no", "--dir", workdir], stdout=subprocess.DEVNULL)
        wait_for(port)
        broker = f"redis://127.0.0.1:{port}/0"
        worker = subprocess.Popen([str(VENV_BIN / "bucketsync"), "worker", f"--concurrency={processes}",
                                   "--loglevel=WARNING", "--without-gossip", "--without-mingle"],
                                  env={**self.env, "BUCKETSYNC_BROKER_URL": broker},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=port)
        while not client.keys("_kombu.binding.*"):
            time.sleep(0.2)
        peak, stop = [0], threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], client.info("memory")["used_memory"])
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        name = f"dist-{processes}w"
        self.timed(name, [str(VENV_BIN / "bucketsync"), "sync", "s3://src", "s3://DEST"], {"BUCKETSYNC_BROKER_URL": broker})
        stop.set()
        sampler.join()
        self.redis_peaks.setdefault(name, []).append(peak[0])
        print(f"{'':14s} Redis used_memory peak {peak[0] / 1e6:.1f} MB", flush=True)
        worker.terminate()
        worker.wait()
        server.terminate()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)

    def close(self) -> None:
        self.moto.terminate()
        self.moto.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    aws = str(VENV_BIN / "aws") if (VENV_BIN / "aws").exists() else "aws"
    bench = Bench(args.objects)
    try:
        bench.seed()
        for _ in range(args.rounds):
            bench.timed("embedded", [str(VENV_BIN / "bucketsync"), "sync", "s3://src", "s3://DEST"])
            bench.distributed(1)
            bench.distributed(2)
            bench.timed("aws s3 sync", [aws, "s3", "sync", "s3://src/", "s3://DEST/", "--endpoint-url", bench.url,
                                        "--only-show-errors", "--no-progress"])
    finally:
        bench.close()
    medians = {name: statistics.median(walls) for name, walls in bench.walls.items()}
    print("\nmedian wall s, objects/s, x aws s3 sync:")
    for name, wall in medians.items():
        print(f"  {name:14s} {wall:7.2f} s {args.objects / wall:8.1f}/s  x{wall / medians['aws s3 sync']:.2f}")
    peaks = {name: max(values) for name, values in bench.redis_peaks.items()}
    print("peak Redis used_memory:", {name: f"{value / 1e6:.1f} MB" for name, value in peaks.items()})
    print(json.dumps({"objects": args.objects, "median_wall_seconds": medians, "redis_peak_bytes": peaks}))


if __name__ == "__main__":
    main()
