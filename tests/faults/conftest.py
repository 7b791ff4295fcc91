"""Fault injection with real parts: a FaultProxy (tests/faults/proxy.py) in front of the session's moto
server(s), `bucketsync` runs and real worker processes that reach S3 only through it, and the oracle
that judges the result: `bucketsync verify` (the command under test elsewhere) plus the independent
compare_buckets of the integration helpers, both reading moto directly, never through the proxy."""

from __future__ import annotations

import json
from dataclasses import replace
import time
from collections.abc import Iterator

import pytest
import redis

from conftest import MotoServer, run_cli_in_process
from tests.distributed.conftest import WorkerPool, broker_env
from tests.integration.helpers import cli_env, compare_buckets, versions_per_key  # noqa: F401 (re-exported)

from .proxy import FaultProxy

MiB = 1024 * 1024

# Settings that make small objects take the multipart paths (S3's minimum part size is 5 MiB).
MULTIPART = {"multipart_threshold": str(5 * MiB), "multipart_chunksize": str(5 * MiB)}


@pytest.fixture(scope="session")
def proxy_session(moto_server) -> Iterator[FaultProxy]:
    proxy = FaultProxy(moto_server.port).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def other_proxy_session(other_moto_server) -> Iterator[FaultProxy]:
    proxy = FaultProxy(other_moto_server.port, seed=7).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def proxy(proxy_session) -> Iterator[FaultProxy]:
    """The session proxy, with no rules and no chaos at the start and end of each test."""
    proxy_session.reset()
    yield proxy_session
    proxy_session.reset()


@pytest.fixture
def other_proxy(other_proxy_session) -> Iterator[FaultProxy]:
    other_proxy_session.reset()
    yield other_proxy_session
    other_proxy_session.reset()


def through(proxy: FaultProxy, server: MotoServer) -> MotoServer:
    """The server as bucketsync sees it: its address is the proxy's."""
    return replace(server, url=proxy.url, port=proxy.port)


def worker_env(moto_server, proxy: FaultProxy, broker_url: str, **extra: str) -> dict[str, str]:
    return broker_env(through(proxy, moto_server), broker_url, **extra)


@pytest.fixture(scope="session")
def proxied_workers(moto_server, redis_server, proxy_session) -> Iterator[WorkerPool]:
    """Two worker processes that reach S3 through the session proxy (Redis db 8)."""
    broker_url = redis_server.url.rsplit("/", 1)[0] + "/8"
    redis.Redis.from_url(broker_url).flushdb()
    env = worker_env(
        moto_server, proxy_session, broker_url, page_size="20", batch_size="4", concurrency="4",
        retry_mode="standard", max_attempts="10", visibility_timeout="120", task_time_limit="100", **MULTIPART,
    )
    pool = WorkerPool(env=env, broker_url=broker_url)
    pool.start("fw1")
    pool.start("fw2")
    yield pool
    pool.stop_all()


def verify_cli(source_server: MotoServer, source: str, dest: str, dest_server: MotoServer | None = None) -> dict:
    """`bucketsync verify --json` straight against moto; returns the parsed result and exit code."""
    # The oracle runs in this process (the console script's main(): same output and exit code, no new interpreter).
    done = run_cli_in_process("verify", f"s3://{source}", f"s3://{dest}", "--json", env=cli_env(source_server, dest_server))
    assert done.returncode in (0, 1), f"verify exit {done.returncode}: {done.stderr}"
    result = json.loads(done.stdout)
    result["exit_code"] = done.returncode
    return result


def assert_replica(source_server: MotoServer, s3_source, source: str, dest: str,
                   dest_server: MotoServer | None = None, s3_dest=None) -> None:
    """The destination is a complete and correct replica: by `bucketsync verify` and by compare_buckets."""
    result = verify_cli(source_server, source, dest, dest_server)
    assert result["exit_code"] == 0 and result["equal"], json.dumps(result["differences"], indent=1)[:3000]
    assert compare_buckets(s3_source, source, s3_dest or s3_source, dest) == []



def wait_until_ended(ledger, run_id: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        summary = ledger.summary(run_id)
        if summary is not None and summary.state != "running":
            return summary.state
        time.sleep(0.25)
    return "running"
