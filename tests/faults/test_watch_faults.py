"""`bucketsync watch` under faults: the watcher killed after it answered, its AMQP connection cut while
changes arrive; on workers, a worker killed and Redis restarted in the middle of a storm of changes. After
each, `verify` finds no difference and no key has more versions than its source."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis

from conftest import bucketsync_env, create_bucket, free_port, run_cli, unique_bucket
from tests.integration.helpers import cli_env


RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"


def versions(client, bucket: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []):
            counts[version["Key"]] = counts.get(version["Key"], 0) + 1
    return counts


def record(s3, bucket: str, key: str) -> dict:
    head = s3.head_object(Bucket=bucket, Key=key)
    return {"eventName": "ObjectCreated:Put", "eventTime": datetime.now(timezone.utc).isoformat(),
            "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": head["ContentLength"],
                                                          "eTag": head["ETag"].strip('"'), "versionId": head.get("VersionId")}}}


def start_watch(source: str, dest: str, env: dict[str, str], *options: str, log: Path) -> subprocess.Popen:
    executable = Path(sys.executable).with_name("bucketsync")
    process = subprocess.Popen([str(executable), "watch", f"s3://{source}", f"s3://{dest}", *options],
                               env=bucketsync_env(env), stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while b"watching" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text(errors="replace")[-3000:])
        time.sleep(0.1)
    return process


def wait_for(predicate, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def pair(s3) -> tuple[str, str]:
    source, dest = unique_bucket("wfsrc"), unique_bucket("wfdst")
    create_bucket(s3, source, object_lock=True)
    create_bucket(s3, dest, object_lock=True)
    return source, dest


def test_a_watcher_killed_after_answering_replicates_what_it_answered_for_when_it_starts_again(moto_server, s3, tmp_path):
    source, dest = pair(s3)
    env = cli_env(moto_server, concurrency="2")
    port, journal, log = free_port(), tmp_path / "journal.sqlite", tmp_path / "watch.log"
    options = ("--events-http", f"127.0.0.1:{port}", "--journal", str(journal))
    keys = [f"k{n:03d}" for n in range(60)]
    for key in keys:
        s3.put_object(Bucket=source, Key=key, Body=key.encode())
    watch = start_watch(source, dest, env, *options, log=log)
    answered = 0
    for start in range(0, len(keys), 5):
        body = json.dumps({"Records": [record(s3, source, key) for key in keys[start:start + 5]]}).encode()
        with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/", data=body, method="POST"),
                                    timeout=10) as answer:
            answered += 5 if answer.status == 200 else 0
    watch.send_signal(signal.SIGKILL)  # killed with work queued: only the journal knows it
    watch.wait(10)
    assert answered == 60
    copied_before_restart = len(versions(s3, dest))
    watch = start_watch(source, dest, env, *options, log=log)
    try:
        assert wait_for(lambda: len(versions(s3, dest)) == 60), f"{len(versions(s3, dest))} of 60 (before restart: {copied_before_restart})"
    finally:
        watch.send_signal(signal.SIGTERM)
        assert watch.wait(30) == 0, log.read_text()[-2000:]
    assert versions(s3, dest) == {key: 1 for key in keys}
    checked = run_cli("verify", f"s3://{source}", f"s3://{dest}", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_an_amqp_connection_cut_while_changes_arrive_loses_none(moto_server, s3, tmp_path):
    from kombu import Connection, Exchange, Producer

    source, dest = pair(s3)
    exchange_name, queue = f"bucketsync-fault-{uuid.uuid4().hex[:8]}", f"bucketsync-fault-q-{uuid.uuid4().hex[:8]}"
    env = cli_env(moto_server, concurrency="2", events__amqp_queue=queue)
    log = tmp_path / "watch.log"
    watch = start_watch(source, dest, env, "--events-amqp", f"{RABBITMQ}?exchange={exchange_name}&topic=t",
                        "--journal", str(tmp_path / "j.sqlite"), log=log)
    keys = [f"a{n:03d}" for n in range(40)]
    try:
        time.sleep(1)  # the consumer declares the exchange and binds its queue
        exchange = Exchange(exchange_name, type="topic", durable=True)
        for n, key in enumerate(keys):
            s3.put_object(Bucket=source, Key=key, Body=key.encode())
            with Connection(RABBITMQ) as connection:  # the server's side: one connection per event
                Producer(connection, exchange=exchange, routing_key="t").publish(
                    json.dumps({"Records": [record(s3, source, key)]}), content_type="application/json", delivery_mode=2)
            if n in (10, 25):  # cut the watcher's broker connection twice while changes arrive
                subprocess.run(["rabbitmqctl", "close_all_connections", "bucketsync fault test"],
                               capture_output=True, timeout=60)
        assert wait_for(lambda: len(versions(s3, dest)) == 40, timeout=90), len(versions(s3, dest))
    finally:
        watch.send_signal(signal.SIGTERM)
        watch.wait(30)
    assert versions(s3, dest) == {key: 1 for key in keys}
    assert b"reconnecting" in log.read_bytes()
    checked = run_cli("verify", f"s3://{source}", f"s3://{dest}", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr


# ---------------------------------------------------------------- on workers: a worker killed, Redis restarted


def push_until_taken(address, records: list[dict], patience: float = 60) -> None:
    """POST one notification and, like a persistent RGW topic, push it again until it is answered 200."""
    body = json.dumps({"Records": records}).encode()
    deadline = time.monotonic() + patience
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(f"http://{address[0]}:{address[1]}/", data=body,
                                                               method="POST"), timeout=10) as answer:
                if answer.status == 200:
                    return
        except OSError:  # 503 (not taken in), a reset or a timeout: pushed again
            pass
        assert time.monotonic() < deadline, f"not taken in within {patience} s"
        time.sleep(0.3)


def storm(s3, source: str, address, keys: list[str], midway) -> None:
    """Each key written and announced on its own push; `midway()` runs after the first third."""
    for n, key in enumerate(keys):
        s3.put_object(Bucket=source, Key=key, Body=f"{key} {n}".encode())
        push_until_taken(address, [record(s3, source, key)])
        if n == len(keys) // 3:
            midway()


def assert_watched_replica(s3, moto_server, source: str, dest: str, keys: list[str], supervise=lambda: None) -> None:
    """Every key replicated once and verify clean; `supervise()` is called while waiting (restarting workers
    that exited, as compose's restart policy does)."""
    from .conftest import assert_replica

    def replicated() -> bool:
        supervise()
        return set(versions(s3, dest)) == set(keys)

    assert wait_for(replicated, timeout=90), sorted(set(keys) - set(versions(s3, dest)))
    time.sleep(1)  # a late look would show as a second version
    assert versions(s3, dest) == {key: 1 for key in keys}  # one destination version per source version
    assert_replica(moto_server, s3, source, dest)  # verify finds no difference


def test_a_worker_killed_mid_storm_loses_no_change_and_writes_none_twice(moto_server, redis_server, s3, proxy, tmp_path):
    """The only worker is killed (SIGKILL, its pool too) while a copy of its is in flight (held by the proxy,
    then let through: a key written by a worker that never finished its task); a new worker starts, the
    dead one's unacknowledged messages come back (as after the visibility timeout) and its key lease
    lapses (3 s): every announced key is replicated once."""
    from tests.distributed.conftest import WorkerPool, kill_with_its_pool
    from tests.distributed.test_watch_workers import WatchProcess

    from .conftest import worker_env
    from .test_workers_stopped import nth, restore_unacked_as_the_visibility_timeout_would

    broker_url = redis_server.url.rsplit("/", 1)[0] + "/23"
    redis.Redis.from_url(broker_url).flushdb()
    env = worker_env(moto_server, proxy, broker_url, concurrency="2", batch_lease_seconds="3")
    pool = WorkerPool(env=env, broker_url=broker_url)
    source, dest = pair(s3)
    keys = [f"kw/{n:03d}" for n in range(20)]
    proxy.on(nth("CopyObject", 6), "hold")
    victim = pool.start("watch-victim", concurrency=2)
    watch = WatchProcess(source, dest, env, tmp_path / "watch.log")
    try:
        def kill_the_worker() -> None:
            assert proxy.held.wait(60), "no copy reached the proxy"
            kill_with_its_pool(victim)
            proxy.release()  # the held copy lands: written, never counted
            pool.start("watch-after-kill", concurrency=2)

        storm(s3, source, watch.http_address, keys, kill_the_worker)
        restored = restore_unacked_as_the_visibility_timeout_would(broker_url, "bucketsync.watch_key")
        assert_watched_replica(s3, moto_server, source, dest, keys)
    finally:
        watch.stop()
        pool.stop_all()
    assert restored >= 1  # the dead worker's messages were among them


def test_redis_restarted_mid_storm_loses_no_change_and_writes_none_twice(moto_server, s3, tmp_path):
    """Redis (append-only file, fsync always) killed and started again on its port 2 s later while changes
    arrive: pushes meanwhile get 503 and are pushed again; workers that lost their broker are restarted as
    a supervisor would; every announced key is replicated once."""
    from conftest import start_redis, stop
    from tests.distributed.conftest import WorkerPool, broker_env
    from tests.distributed.test_redis_faults import restart_redis
    from tests.distributed.test_watch_workers import WatchProcess

    server = start_redis("--appendonly", "yes", "--appendfsync", "always")
    env = broker_env(moto_server, server.url, concurrency="2", batch_lease_seconds="3", visibility_timeout="8",
                     task_time_limit="6")
    pool = WorkerPool(env=env, broker_url=server.url)
    source, dest = pair(s3)
    keys = [f"kr/{n:03d}" for n in range(20)]
    pool.start("watch-redis", concurrency=2)
    watch = WatchProcess(source, dest, env, tmp_path / "watch.log")
    restarter = None
    try:
        def restart_later() -> None:
            time.sleep(2)
            restart_redis(server, "always")

        def kill_redis() -> None:
            nonlocal restarter
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait()
            restarter = threading.Thread(target=restart_later)
            restarter.start()

        storm(s3, source, watch.http_address, keys, kill_redis)
        restarter.join()
        # A worker whose consumer dies restoring messages on the broken connection (kombu) exits a moment later.
        assert_watched_replica(s3, moto_server, source, dest, keys, supervise=pool.restart_exited)
        assert watch.process.poll() is None, "the watch exited when Redis went away"
    finally:
        watch.stop()
        pool.stop_all()
        stop(server.process)
