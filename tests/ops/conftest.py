"""Real parts for the operations tests: a password-protected redis-server (as in compose.yaml), one
`bucketsync worker` subprocess, and helpers to start `bucketsync beat` and Flower on free ports."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from conftest import bucketsync_env, free_port, start_redis, stop, wait_for_port
from tests.distributed.conftest import WorkerPool, broker_env

REDIS_PASSWORD = "ops-redis-password-never-shown-e41b"
FLOWER_USER, FLOWER_PASSWORD = "ops", "flower-password-never-shown-0c7d"
BIN = Path(sys.executable).parent


@dataclass
class Cluster:
    broker_url: str
    env: dict[str, str]
    workers: WorkerPool

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.broker_url, decode_responses=True)


@pytest.fixture(scope="session")
def secured_redis() -> Iterator[str]:
    """A redis-server that requires a password, like the compose one; yields its URL with the password."""
    server = start_redis("--requirepass", REDIS_PASSWORD)
    yield f"redis://:{REDIS_PASSWORD}@127.0.0.1:{server.port}/0"
    stop(server.process)
    shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def cluster(moto_server, secured_redis) -> Iterator[Cluster]:
    """One worker with one process and one thread: a run of a few hundred objects takes seconds."""
    env = broker_env(moto_server, secured_redis, page_size="25", batch_size="5", concurrency="1")
    pool = WorkerPool(env=env, broker_url=secured_redis)
    pool.start("ops", concurrency=1)
    yield Cluster(broker_url=secured_redis, env=env, workers=pool)
    pool.stop_all()


class Process:
    """A long-running subprocess with its output in a log file; stopped by PID."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.log = Path(tempfile.gettempdir()) / f"bucketsync-{name}-{time.time_ns()}.log"
        self.process = subprocess.Popen(command, env=bucketsync_env(env), stdout=open(self.log, "wb"),
                                        stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, marker: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while marker not in self.text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.process.args} never said {marker!r}:\n{self.text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        stop(self.process)


def start_beat(env: dict[str, str], schedules: list[dict], workdir: Path) -> Process:
    beat = Process("beat", [str(BIN / "bucketsync"), "beat", "--loglevel=INFO",
                            "--schedule-file", str(workdir / "beat-schedule")],
                   {**env, "BUCKETSYNC_SCHEDULES": json.dumps(schedules)})
    beat.wait_for("beat: Starting")
    return beat


@dataclass
class Flower:
    url: str
    process: Process

    def get(self, path: str, auth: tuple[str, str] | None = (FLOWER_USER, FLOWER_PASSWORD),
            method: str = "GET") -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def start_flower(command: list[str], broker_url: str) -> Flower:
    """Flower as compose.yaml runs it (`command`), on 127.0.0.1 and a free port."""
    port = free_port()
    argv = [str(BIN / command[0])] + [arg for arg in command[1:] if not arg.startswith(("--address", "--port"))]
    argv += ["--address=127.0.0.1", f"--port={port}"]
    process = Process("flower", argv, {"BUCKETSYNC_BROKER_URL": broker_url,
                                       "FLOWER_BASIC_AUTH": f"{FLOWER_USER}:{FLOWER_PASSWORD}"})
    wait_for_port(port, process.process)
    return Flower(url=f"http://127.0.0.1:{port}", process=process)
