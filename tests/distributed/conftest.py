"""Real Celery workers as subprocesses (`bucketsync worker`) against the session's redis-server and moto."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from conftest import bucketsync_env, run_cli, stop
from tests.integration.helpers import cli_env


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
        for process in self.processes:
            stop(process)
        self.processes.clear()

    def log_text(self, tail: int | None = 4000) -> str:
        return "\n".join(path.read_text(errors="replace")[-tail if tail else 0:] for path in self.logs)


def broker_env(moto_server, broker_url: str, **extra: str) -> dict[str, str]:
    return cli_env(moto_server, broker_url=broker_url, **extra)


@pytest.fixture(scope="module")
def workers(moto_server, redis_server):
    """Two worker processes on Redis db 1, small pages and batches so runs have several of each."""
    broker_url = redis_server.url.rsplit("/", 1)[0] + "/1"
    redis.Redis.from_url(broker_url).flushdb()
    env = broker_env(moto_server, broker_url, page_size="40", batch_size="7", concurrency="4")
    pool = WorkerPool(env=env, broker_url=broker_url)
    pool.start("w1")
    pool.start("w2")
    yield pool
    pool.stop_all()


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
