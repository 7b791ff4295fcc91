"""Real Celery workers as subprocesses (`bucketsync worker`) against the session's redis-server and moto."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from conftest import bucketsync_env, run_cli
from tests.integration.helpers import cli_env


def kill_with_its_pool(worker: subprocess.Popen) -> None:
    """SIGKILL a worker and its pool processes at once (found before the kill: orphans are re-parented), as
    a machine that dies would: the tasks they held stay unacknowledged."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == worker.pid:
                        children.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    for pid in (worker.pid, *children):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    worker.wait()


@dataclass
class WorkerPool:
    env: dict[str, str]
    broker_url: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def start(self, name: str, concurrency: int = 2) -> subprocess.Popen:
        log = Path(tempfile.gettempdir()) / f"bucketsync-worker-{name}-{time.time_ns()}.log"
        executable = Path(sys.executable).with_name("bucketsync")
        process = subprocess.Popen(
            [str(executable), "worker", f"--processes={concurrency}", "--loglevel=INFO", f"--hostname={name}@%h",
             "--without-gossip", "--without-mingle"],
            env=bucketsync_env(self.env),
            stdout=open(log, "wb"),
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        self.logs.append(log)
        deadline = time.monotonic() + 60
        while b"ready." not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        return process

    def restart_exited(self, concurrency: int = 2) -> int:
        """Start a new worker for each one that has exited, as a supervisor (compose's restart policy) would;
        returns how many. Celery's consumer can die on a broker that went away (kombu fails while restoring
        unacknowledged messages on a connection it already released)."""
        exited = [process for process in self.processes if process.poll() is not None]
        for process in exited:
            self.processes.remove(process)
            self.start(f"restarted{time.time_ns()}", concurrency=concurrency)
        return len(exited)

    def stop_all(self) -> None:
        """Stop every worker of the pool at once, the test being over: SIGKILL, since Celery's warm shutdown
        (tests/faults/test_workers_stopped.py checks it) takes ~3 s a worker. What a worker still held goes
        back to its queue's Redis database, which the next pool on it empties first."""
        for process in self.processes:
            if process.poll() is None:
                kill_with_its_pool(process)
        self.processes.clear()

    def log_text(self, tail: int | None = 4000) -> str:
        return "\n".join(path.read_text(errors="replace")[-tail if tail else 0:] for path in self.logs)


def broker_env(moto_server, broker_url: str, **extra: str) -> dict[str, str]:
    return cli_env(moto_server, broker_url=broker_url, **extra)


# The test Redis has 32 databases (conftest.start_redis). Shared pools listen on 1 (workers), 11, 15 and 16
# (versions) and 12-14 (the contract); a test with workers of its own, or none, takes a database no shared pool uses.
class WorkerPools:
    """Worker pools shared by every test of the run, one per configuration (name, S3 server, Redis database,
    settings): started on first use, stopped at the end, or when another configuration needs its Redis
    database (workers of two configurations on one queue would take each other's tasks: with the other
    server's credentials). A test that stops or kills workers starts its own."""

    def __init__(self) -> None:
        self._pools: dict[tuple, WorkerPool] = {}

    def get(self, name: str, server, broker_url: str, processes: int = 2, **settings: str) -> WorkerPool:
        key = (name, server.url, broker_url, tuple(sorted(settings.items())))
        for other, pool in list(self._pools.items()):
            if other != key and other[2] == broker_url:  # one pool per Redis database: both would take its tasks
                pool.stop_all()
                del self._pools[other]
        if key not in self._pools:
            redis.Redis.from_url(broker_url).flushdb()
            pool = WorkerPool(env=broker_env(server, broker_url, **settings), broker_url=broker_url)
            for number in range(1, processes + 1):
                pool.start(f"{name}{number}")
            self._pools[key] = pool
        return self._pools[key]

    def stop_all(self) -> None:
        for pool in self._pools.values():
            pool.stop_all()


@pytest.fixture(scope="session")
def worker_pools() -> Iterator[WorkerPools]:
    pools = WorkerPools()
    yield pools
    pools.stop_all()


@pytest.fixture(scope="session")
def workers(moto_server, redis_server, worker_pools):
    """Two worker processes on Redis db 1, small pages and batches so runs have several of each."""
    broker_url = redis_server.url.rsplit("/", 1)[0] + "/1"
    return worker_pools.get("w", moto_server, broker_url, page_size="40", batch_size="7", concurrency="4")


class QueueSampler:
    """Samples LLEN of the bucketsync queue in a thread while a run goes on."""

    def __init__(self, broker_url: str, queue: str = "bucketsync") -> None:
        self.client = redis.Redis.from_url(broker_url)
        self.queue = queue
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.client.llen(self.queue))
            time.sleep(0.01)

    def __enter__(self) -> "QueueSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def submit_detached(source: str, dest: str, env: dict[str, str]) -> str:
    """`bucketsync sync s3://SOURCE s3://DEST --detach`: the run id it prints."""
    detached = run_cli("sync", f"s3://{source}", f"s3://{dest}", "--detach", env=env)
    assert detached.returncode == 0, detached.stderr
    return detached.stdout.strip()
