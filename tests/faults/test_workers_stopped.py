"""Workers stopped in the middle of a distributed run: nothing lost, nothing counted twice.

The proxy holds one S3 request of a batch in flight (`hold`), so the stop lands at a known moment:
- SIGTERM (what `docker compose stop` sends): Celery's warm shutdown finishes the running batches,
  which are acknowledged and counted; the batches it had reserved go back to the queue; nothing is
  copied twice.
- SIGKILL while a multipart copy is in flight: the batch was never acknowledged, comes back after the
  visibility timeout, and another worker copies it again from the start; the ledger counts it once.
  The killed worker's upload stays incomplete at the destination (a lifecycle rule aborts those).
"""

from __future__ import annotations

import json
import os
import signal
import time

import redis

from bucketsync.distributed.ledger import Ledger
from conftest import unique_bucket
from tests.distributed.conftest import WorkerPool, kill_with_its_pool, submit_detached
from tests.integration.helpers import Seed, fixture_set, in_days, seed

from .conftest import MULTIPART, MiB, assert_replica, versions_per_key, wait_until_ended, worker_env


def new_pair(s3) -> tuple[str, str]:
    source, dest = unique_bucket("wsrc"), unique_bucket("wdst")
    s3.create_bucket(Bucket=source, ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket=dest, ObjectLockEnabledForBucket=True)
    return source, dest


def pool_on(redis_server, db: int, moto_server, proxy, **settings: str) -> WorkerPool:
    broker_url = redis_server.url.rsplit("/", 1)[0] + f"/{db}"
    redis.Redis.from_url(broker_url).flushdb()
    env = worker_env(moto_server, proxy, broker_url, page_size="20", batch_size="4", concurrency="2", **settings)
    return WorkerPool(env=env, broker_url=broker_url)


def submit(pool: WorkerPool, source: str, dest: str) -> str:
    return submit_detached(source, dest, pool.env)


def nth(operation: str, n: int, key_prefix: str = ""):
    """A matcher for the n-th request of an operation (on keys under `key_prefix`)."""
    seen = []

    def match(request) -> bool:
        if request.operation == operation and (request.key or "").startswith(key_prefix):
            seen.append(request.key)
            return len(seen) == n
        return False

    return match


def test_worker_stopped_with_sigterm_mid_run(s3, moto_server, redis_server, proxy, tmp_path):
    pool = pool_on(redis_server, 9, moto_server, proxy, visibility_timeout="10", task_time_limit="8")
    source, dest = new_pair(s3)
    seed(s3, source, fixture_set() + [Seed(f"plain/{n:03d}", b"x" * n) for n in range(40)])
    expected = len(fixture_set()) + 40
    proxy.on(nth("CopyObject", 12), "hold")
    ledger = Ledger.from_url(pool.broker_url, 3600)
    try:
        victim = pool.start("term", concurrency=2)
        run_id = submit(pool, source, dest)
        assert proxy.held.wait(60), "no copy reached the proxy"
        victim.send_signal(signal.SIGTERM)  # warm shutdown: stop taking work, finish what runs
        time.sleep(1.0)
        assert victim.poll() is None, "the worker must wait for its running batch"
        proxy.release()
        assert victim.wait(timeout=30) == 0
        at_stop = ledger.summary(run_id)
        assert 0 < at_stop.copied < expected, at_stop
        pool.start("after-term", concurrency=2)
        state = wait_until_ended(ledger, run_id, timeout=90)
        summary = ledger.summary(run_id)
    finally:
        pool.stop_all()
    logs = pool.log_text(tail=None)
    assert "Warm shutdown" in logs or "warm shutdown" in logs.lower(), logs[-2000:]
    assert state == "finished", logs[-3000:]
    assert (summary.listed, summary.copied, summary.failed) == (expected, expected, 0), summary.failures
    assert_replica(moto_server, s3, source, dest)
    # A graceful stop repeats nothing: every object was copied exactly once.
    assert max(versions_per_key(s3, dest).values()) == 1


def test_worker_killed_during_a_multipart_copy(s3, moto_server, redis_server, proxy, tmp_path):
    pool = pool_on(redis_server, 10, moto_server, proxy, visibility_timeout="5", task_time_limit="4",
                   batch_lease_seconds="3", **MULTIPART)
    source, dest = new_pair(s3)
    small = [Seed(f"small/{n:02d}", f"small {n}".encode(), mode="GOVERNANCE", retain_until=in_days(1)) for n in range(10)]
    seed(s3, source, small)
    big = {f"big/{n}.bin": os.urandom(6 * MiB) for n in range(3)}
    for key, body in big.items():
        s3.put_object(Bucket=source, Key=key, Body=body, ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=in_days(2),
                      Metadata={"part": "of the test"})
    expected = len(small) + len(big)
    proxy.on(nth("UploadPartCopy", 1, "big/"), "hold")
    ledger = Ledger.from_url(pool.broker_url, 3600)
    try:
        victim = pool.start("kill", concurrency=2)
        run_id = submit(pool, source, dest)
        assert proxy.held.wait(60), "no multipart copy reached the proxy"
        kill_with_its_pool(victim)
        proxy.release()  # the held part lands in an upload nobody will complete
        pool.start("rescuer", concurrency=2)
        state = wait_until_ended(ledger, run_id, timeout=90)
        summary = ledger.summary(run_id)
    finally:
        pool.stop_all()
    assert state == "finished", pool.log_text()
    assert (summary.listed, summary.copied, summary.failed) == (expected, expected, 0), summary.failures
    assert summary.bytes_copied == sum(len(item.body) for item in small) + sum(len(body) for body in big.values())
    assert_replica(moto_server, s3, source, dest)
    # One incomplete upload per multipart copy the kill interrupted (this batch ran two threads).
    orphans = s3.list_multipart_uploads(Bucket=dest).get("Uploads", [])
    assert 1 <= len(orphans) <= len(big) and all(upload["Key"].startswith("big/") for upload in orphans), orphans


def restore_unacked_as_the_visibility_timeout_would(broker_url: str, task: str = "bucketsync.copy_batch") -> int:
    """Put the messages nobody acknowledged back on the queue, as kombu does once the visibility timeout
    (1 h by default) has passed; returns how many messages of `task` (copy batches) were among them."""
    client = redis.Redis.from_url(broker_url)
    batches = 0
    for tag, raw in client.hgetall("unacked").items():
        message, _exchange, routing_key = json.loads(raw)
        client.lpush(routing_key or "bucketsync", json.dumps(message))
        client.hdel("unacked", tag)
        client.zrem("unacked_index", tag)
        batches += message["headers"]["task"] == task
    return batches


def test_worker_killed_the_run_finishes_by_itself_and_writes_nothing_twice(s3, moto_server, redis_server, proxy):
    """Default settings but a short batch lease, no `resume`: the dead worker's batches go out again when their
    leases lapse, keys it wrote are not written again, and its own messages, delivered again later, write nothing."""
    # A short batch lease, and a short stall time for the one message kombu can lose outright (a worker killed
    # between taking it from Redis and recording it as unacknowledged): the sweep then publishes it again.
    pool = pool_on(redis_server, 21, moto_server, proxy, batch_lease_seconds="3", stalled_after_seconds="10")
    source, dest = new_pair(s3)
    items = [Seed(f"plain/{n:03d}", f"object {n}".encode(), mode="GOVERNANCE", retain_until=in_days(1)) for n in range(60)]
    seed(s3, source, items)
    proxy.on(nth("CopyObject", 40), "hold")  # late in the run: the listing is done, batches are in flight
    ledger = Ledger.from_url(pool.broker_url, 3600)
    try:
        victim = pool.start("kill", concurrency=2)
        run_id = submit(pool, source, dest)
        assert proxy.held.wait(60), "no copy reached the proxy"
        kill_with_its_pool(victim)
        proxy.release()  # the held copy lands: a key written by a batch that was never counted
        time.sleep(1)
        started = time.monotonic()
        pool.start("after-kill", concurrency=2)
        deadline = time.monotonic() + 120  # "stalled" is a moment here: the sweep publishes what it misses
        while (state := ledger.summary(run_id).state) != "finished" and time.monotonic() < deadline:
            time.sleep(0.2)
        took = time.monotonic() - started
        assert state == "finished", pool.log_text()
        time.sleep(1)  # the live worker's last acknowledgements
        restored = restore_unacked_as_the_visibility_timeout_would(pool.broker_url)
        deadline = time.monotonic() + 30
        while ledger.summary(run_id).duplicate_deliveries < restored and time.monotonic() < deadline:
            time.sleep(0.2)
        summary = ledger.summary(run_id)
    finally:
        pool.stop_all()
    print(f"finished {took:.1f} s after the new worker started; {restored} batch(es) of the dead worker restored")
    assert (summary.listed, summary.copied, summary.failed) == (60, 60, 0), summary.failures
    assert summary.bytes_copied == sum(len(item.body) for item in items)
    assert restored >= 1 and summary.duplicate_deliveries >= restored, (restored, summary.duplicate_deliveries)
    assert "checked before writing" in pool.log_text(tail=None)
    assert max(versions_per_key(s3, dest).values()) == 1
    assert_replica(moto_server, s3, source, dest)
