"""A throwaway distributed bucketsync around one measured run: a redis-server on a free loopback port and
one `bucketsync worker` with N pool processes, started before the timed `bucketsync sync` and stopped
after it, as an operator's standing workers would be.

The timed process is the submitter (`bucketsync sync` with BUCKETSYNC_BROKER_URL: preflight, submit,
follow until the run ends), so the wall time is the run's own, not the workers' start-up. The workers'
work is added from outside: their CPU seconds between "ready" and the end of the run (psutil), and each
worker process's peak RSS (VmHWM in /proc; the coordinator runs as a task in the pool processes).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from measure import Measurement

READY_TIMEOUT = 90.0


def redis_binary() -> str | None:
    return shutil.which("redis-server") or next(
        (path for path in ("/usr/bin/redis-server", "/usr/local/bin/redis-server") if os.path.exists(path)), None
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Cluster:
    """Redis + one worker with `workers` pool processes; `account()` folds their usage into a Measurement."""

    def __init__(self, workers: int, worker_argv: list[str], env: dict[str, str], workdir: Path, name: str) -> None:
        self.workers = workers
        self.worker_argv = worker_argv
        self.env = env
        self.workdir = workdir
        self.name = name
        self.broker_url = ""
        self.redis: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self._redis_dir: str | None = None
        self._cpu_at_ready: float = 0.0
        self.figures: dict = {}

    # ------------------------------------------------------------ life cycle

    def start(self) -> None:
        import redis

        binary = redis_binary()
        if not binary:
            raise RuntimeError("redis-server not found (scripts/test installs it)")
        port = _free_port()
        self._redis_dir = tempfile.mkdtemp(prefix="bench-redis-")
        self.redis = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self._redis_dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        self.broker_url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis(port=port)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / f"{self.name}.worker.log", "wb")
        self.worker = subprocess.Popen(
            [*self.worker_argv, f"--processes={self.workers}", "--loglevel=WARNING", "--without-gossip", "--without-mingle"],
            env={**self.env, "BUCKETSYNC_BROKER_URL": self.broker_url},
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        # Ready: the queue is bound (the consumer is up) and every pool process exists.
        while not (client.keys("_kombu.binding.*") and len(self._processes()) > self.workers):
            if self.worker.poll() is not None:
                raise RuntimeError(f"bucketsync worker exited with {self.worker.returncode} (see {self.name}.worker.log)")
            if time.monotonic() > deadline:
                raise RuntimeError("bucketsync worker did not become ready")
            time.sleep(0.1)
        time.sleep(0.3)
        self._cpu_at_ready = self._cpu_seconds()

    def account(self, measurement: Measurement) -> Measurement:
        """The submitter's measurement with the workers' CPU added and the largest per-process peak RSS."""
        import redis

        processes = self._processes()
        worker_cpu = self._cpu_seconds() - self._cpu_at_ready
        peaks = {pid: _peak_rss_mib(pid) for pid in processes}
        main = peaks.pop(self.worker.pid, None) if self.worker else None
        pool = [value for value in peaks.values() if value is not None]
        try:
            redis_peak = redis.Redis.from_url(self.broker_url).info("memory").get("used_memory_peak")
        except redis.RedisError:
            redis_peak = None
        self.figures = {
            "submitter_cpu_s": round(measurement.cpu_seconds, 3),
            "submitter_rss_mib": round(measurement.peak_rss_mib, 1),
            "workers_cpu_s": round(worker_cpu, 3),
            "worker_main_rss_mib": round(main, 1) if main else None,
            "pool_rss_mib": [round(value, 1) for value in pool],
            # the coordinator is a task: it runs in whichever pool process takes its message
            "coordinator_rss_mib": round(max(pool), 1) if pool else None,
            "redis_used_memory_peak_mb": round(redis_peak / 1e6, 2) if redis_peak else None,
        }
        share = worker_cpu * measurement.user_seconds / measurement.cpu_seconds if measurement.cpu_seconds else worker_cpu
        return dataclasses.replace(
            measurement,
            user_seconds=measurement.user_seconds + share,
            system_seconds=measurement.system_seconds + (worker_cpu - share),
            peak_rss_mib=max([measurement.peak_rss_mib, *(value for value in (main, *pool) if value)]),
        )

    def stop(self) -> None:
        for process, grace in ((self.worker, 15.0), (self.redis, 5.0)):
            if process is None or process.poll() is not None:
                continue
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            except ProcessLookupError:
                pass
        if self._redis_dir:
            shutil.rmtree(self._redis_dir, ignore_errors=True)

    def __enter__(self) -> "Cluster":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ------------------------------------------------------------ process figures

    def _processes(self) -> list[int]:
        import psutil

        if self.worker is None:
            return []
        try:
            root = psutil.Process(self.worker.pid)
            return [root.pid, *(child.pid for child in root.children(recursive=True))]
        except psutil.Error:
            return []

    def _cpu_seconds(self) -> float:
        import psutil

        total = 0.0
        for pid in self._processes():
            try:
                times = psutil.Process(pid).cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total
