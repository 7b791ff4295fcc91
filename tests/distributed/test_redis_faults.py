"""Redis restarting (AOF on) or full (noeviction) in the middle of a distributed run: nothing lost, nothing
counted twice; a stalled run is finished by `bucketsync resume`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from conftest import redis_binary, run_cli, run_cli_in_process, start_redis, stop, wait_for_port
from tests.distributed.conftest import WorkerPool, broker_env, submit_detached
from tests.distributed.test_distributed import make_pair
from tests.integration.helpers import compare_buckets, fixture_set, versions_per_key

from bucketsync.distributed.ledger import Ledger


def wait_for_state(ledger: Ledger, run_id: str, stalled_after: float, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            summary = ledger.summary(run_id, stalled_after)
        except redis.ConnectionError:
            summary = None
        if summary is not None and summary.state != "running":
            return summary.state
        time.sleep(0.3)
    return "running"


def run_on_restartable_redis(s3, moto_server, appendfsync: str, stalled_after: str):
    """The restart tests' setup: Redis with its append-only file, a worker pool (not started) with small
    pages and batches, and a source of 250 hash-named objects plus the fixture set (listed in ranges).
    Returns what they need."""
    server = start_redis("--appendonly", "yes", "--appendfsync", appendfsync)
    env = broker_env(moto_server, server.url, page_size="25", batch_size="5", concurrency="2",
                     visibility_timeout="8", task_time_limit="6", batch_lease_seconds="3",
                     stalled_after_seconds=stalled_after)
    pool = WorkerPool(env=env, broker_url=server.url)
    source, dest = make_pair(s3, plain=250, flat=True)
    return server, env, pool, source, dest, 250 + len(fixture_set())


def restart_redis(server, appendfsync: str) -> None:
    """Start Redis again on the same port and directory (its append-only file), after it went down."""
    server.process = subprocess.Popen(
        [redis_binary(), "--port", str(server.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
         "--appendfsync", appendfsync, "--dir", str(server.workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_for_port(server.port, server.process)


def test_redis_killed_and_restarted_mid_run(s3, moto_server, tmp_path):
    server, env, pool, source, dest, expected = run_on_restartable_redis(s3, moto_server, "everysec", stalled_after="15")
    ledger = Ledger.from_url(server.url, 3600)
    try:
        pool.start("r1", concurrency=2)
        run_id = submit_detached(source, dest, env)
        deadline = time.monotonic() + 60
        while ledger.summary(run_id).copied < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(server.process.pid, signal.SIGKILL)  # a crash: whatever the last second wrote may be gone
        server.process.wait()
        time.sleep(2)
        restart_redis(server, "everysec")
        time.sleep(3)
        assert pool.restart_exited() == 0, "a worker exited when its broker connection dropped:\n" + pool.log_text()
        state = wait_for_state(ledger, run_id, stalled_after=15, timeout=120)
        if state == "stalled":
            assert pool.restart_exited() == 0, pool.log_text()
            status = run_cli_in_process("status", run_id, "--json", env=env)
            assert json.loads(status.stdout)["state"] == "stalled"
            resumed = run_cli("resume", run_id, env=env)
            assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        state = wait_for_state(ledger, run_id, stalled_after=15, timeout=120)
        summary = ledger.summary(run_id)
        ranges = len(ledger.range_ends(run_id))
    finally:
        pool.stop_all()
        stop(server.process)
    assert state == "finished", pool.log_text()
    assert ranges >= 2  # listed in ranges
    assert summary.listed == expected
    # A page whose registration was in the lost second is listed again; the objects its first listing
    # already copied are then found in place (skipped). Every listed object is accounted for once.
    assert summary.copied + summary.skipped == expected, (summary.copied, summary.skipped, expected)
    assert summary.copied > 0, summary.copied
    assert summary.failed == 0, summary.failures
    assert compare_buckets(s3, source, s3, dest) == []
    copied_twice = sum(count - 1 for count in versions_per_key(s3, dest).values())
    # At-least-once delivery re-runs the batches in flight at the crash and those whose counting was in
    # the last second of the append-only file (appendfsync everysec loses it with a SIGKILL), never the
    # whole run: what was counted before that second is not copied again.
    assert copied_twice < expected // 2, copied_twice


def test_redis_down_at_submit_is_a_clear_error(s3, moto_server, tmp_path):
    from conftest import free_port

    source, dest = make_pair(s3)
    env = broker_env(moto_server, f"redis://127.0.0.1:{free_port()}/0")
    done = run_cli("sync", f"s3://{source}", f"s3://{dest}", env=env)
    assert done.returncode == 2
    assert "cannot reach Redis" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_full_redis_makes_the_run_wait_then_complete(s3, moto_server, tmp_path):
    server = start_redis("--maxmemory-policy", "noeviction")
    # Waiting out the full Redis must fit in the task's time limit; a worker that Celery lets die
    # (it cannot acknowledge while Redis refuses writes) has its messages back after the visibility timeout.
    env = broker_env(moto_server, server.url, page_size="20", batch_size="5", concurrency="2",
                     visibility_timeout="12", task_time_limit="10")
    pool = WorkerPool(env=env, broker_url=server.url)
    source, dest = make_pair(s3, plain=200)
    expected = 200 + len(fixture_set())
    admin = redis.Redis.from_url(server.url)
    ledger = Ledger.from_url(server.url, 3600)
    try:
        pool.start("oom", concurrency=2)
        run_id = submit_detached(source, dest, env)
        admin.config_set("maxmemory", admin.info("memory")["used_memory"])  # full from now on
        time.sleep(3)
        assert ledger.summary(run_id).state == "running"
        admin.config_set("maxmemory", 0)  # memory frees
        # Celery's consumer cannot acknowledge a message while Redis refuses writes and may exit (even
        # a few seconds later); compose.yaml restarts such a worker (restart: unless-stopped): so does this.
        deadline = time.monotonic() + 150
        state = "running"
        while state == "running" and time.monotonic() < deadline:
            for process in list(pool.processes):
                if process.poll() is not None:
                    pool.processes.remove(process)
                    pool.start(f"oom-restarted{time.monotonic_ns()}")
            state = wait_for_state(ledger, run_id, stalled_after=0, timeout=2)
        summary = ledger.summary(run_id)
    finally:
        pool.stop_all()
        stop(server.process)
    logs = pool.log_text(tail=None)
    assert "Redis unavailable" in logs and "maxmemory" in logs, logs[-4000:]
    assert state == "finished", (state, logs[-3000:])
    assert (summary.listed, summary.copied, summary.failed) == (expected, expected, 0)
    assert compare_buckets(s3, source, s3, dest) == []


def test_a_follower_rides_out_a_redis_restart(redis_server):
    """follow_run (behind `bucketsync sync` with a broker) waits while Redis restarts, then reports the end."""
    import threading

    from bucketsync.distributed.submit import follow_run
    from bucketsync.core.outcomes import ObjectOutcome, utc_now_iso

    server = start_redis("--appendonly", "yes", "--appendfsync", "always")
    try:
        ledger = Ledger.from_url(server.url, 600)
        run_id = f"restart{time.time_ns()}"
        ledger.create_run(run_id, {"source": "s3://a/", "destination": "s3://b/", "dry_run": False}, {}, utc_now_iso())
        ledger.register_page(run_id, 0, batches=[[{"key": "k"}]], listed=1, skipped=0, token=None, last_key="k",
                             is_last=True, finished_at=utc_now_iso())
        followed: list = []
        failed: list = []

        def follow() -> None:
            try:
                followed.append(follow_run(ledger, run_id, poll_seconds=0.2, redis_patience=60))
            except Exception as exc:  # what the old follower did: die with the connection error
                failed.append(exc)

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        time.sleep(0.5)
        redis.Redis.from_url(server.url).shutdown()
        server.process.wait()
        time.sleep(2)  # the follower polls a Redis that is not there
        restart_redis(server, "always")
        assert ledger.record_batch(run_id, 0, 0, [ObjectOutcome("k", "copied")], utc_now_iso()) == 3
        follower.join(timeout=30)
    finally:
        stop(server.process)
    assert not failed, failed
    assert followed and followed[0].state == "finished" and followed[0].copied == 1


def test_a_follower_gives_up_on_an_unreachable_redis_after_its_patience():
    import pytest

    from conftest import free_port
    from bucketsync.distributed.submit import follow_run
    from bucketsync.core.errors import BrokerUnreachable

    ledger = Ledger.from_url(f"redis://127.0.0.1:{free_port()}/0", 60)
    started = time.monotonic()
    with pytest.raises(BrokerUnreachable, match=r"lost Redis for \d+ s .*bucketsync status run-x"):
        follow_run(ledger, "run-x", poll_seconds=0.1, redis_patience=1.0)
    assert time.monotonic() - started < 30
