"""`watch` with a broker on real workers: announced changes become `watch_key` messages, each key is
looked at by one worker at a time, a burst costs at most two looks, repeats write nothing, and the counts
reach the exporter through Redis."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime, timezone

import pytest
import redis

import signal
import subprocess
import sys
from pathlib import Path

from bucketsync.ops.metrics import exposition, watch_families
from bucketsync.distributed.watch_counts import watch_totals
from conftest import bucketsync_env, create_bucket, free_port, unique_bucket



def versions(client, bucket: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []):
            counts[version["Key"]] = counts.get(version["Key"], 0) + 1
    return counts


def event(s3, bucket: str, key: str, sequencer: str) -> dict:
    head = s3.head_object(Bucket=bucket, Key=key)
    return {"eventName": "ObjectCreated:Put", "eventTime": datetime.now(timezone.utc).isoformat(),
            "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": head["ContentLength"],
                                                          "eTag": head["ETag"].strip('"'), "sequencer": sequencer}}}


def post(address, records) -> int:
    request = urllib.request.Request(f"http://{address[0]}:{address[1]}/", method="POST",
                                     data=json.dumps({"Records": records}).encode())
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status


class WatchProcess:
    """`bucketsync watch` with the workers' broker, as a process of its own (Celery keeps the broker of its
    first configuration in a process: the test process's may be another test's)."""

    def __init__(self, source: str, dest: str, env: dict[str, str], log: Path) -> None:
        self.http_address = ("127.0.0.1", free_port())
        executable = Path(sys.executable).with_name("bucketsync")
        self.process = subprocess.Popen(
            [str(executable), "watch", f"s3://{source}", f"s3://{dest}", "--events-http", f"127.0.0.1:{self.http_address[1]}"],
            env=bucketsync_env(env), stdout=open(log, "wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while b"watching" not in log.read_bytes():
            assert self.process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        self.watch = log.read_text().split("as watch=")[1].split(";")[0].split(")")[0]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


def test_changes_are_replicated_by_the_workers_once_each(moto_server, s3, workers, tmp_path):
    source, dest = unique_bucket("dwsrc"), unique_bucket("dwdst")
    create_bucket(s3, source, object_lock=True)
    create_bucket(s3, dest, object_lock=True)
    service = WatchProcess(source, dest, workers.env, tmp_path / "watch.log")
    client = redis.Redis.from_url(workers.broker_url)
    try:
        records = []
        for n in range(12):
            s3.put_object(Bucket=source, Key=f"d/{n}.txt", Body=f"{n}".encode())
            records.append(event(s3, source, f"d/{n}.txt", f"{n + 1:04X}"))
        assert post(service.http_address, records) == 200
        for n in range(10):  # a burst on one key
            s3.put_object(Bucket=source, Key="hot.txt", Body=f"hot {n}".encode())
            assert post(service.http_address, [event(s3, source, "hot.txt", f"{100 + n:04X}")]) == 200
        assert post(service.http_address, records[:3]) == 200  # delivered again

        def settled() -> bool:
            totals = watch_totals(client).get(service.watch)
            return totals is not None and sum(totals["events"].values()) == 25 and totals["pending"] == 0

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not settled():
            time.sleep(0.3)
        assert settled(), watch_totals(client)
        copied = versions(s3, dest)
        assert {k: v for k, v in copied.items() if k != "hot.txt"} == {f"d/{n}.txt": 1 for n in range(12)}
        assert copied["hot.txt"] <= 10
        assert s3.get_object(Bucket=dest, Key="hot.txt")["Body"].read() == b"hot 9"
        events = watch_totals(client)[service.watch]["events"]
        assert events.get("copied", 0) >= 13 and events.get("copied", 0) + events.get("skipped", 0) + events.get(
            "duplicate", 0) == 25
        text = exposition(watch_families(watch_totals(client)))
        assert f'bucketsync_events_total{{result="copied",watch="{service.watch}"}}' in text
        assert f'bucketsync_replication_lag_seconds_count{{watch="{service.watch}"}}' in text
    finally:
        service.stop()
