"""`bucketsync watch` under faults: the watcher killed after it answered, its AMQP connection cut while
changes arrive. After each, `verify` finds no difference and no key has more versions than its source."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

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
