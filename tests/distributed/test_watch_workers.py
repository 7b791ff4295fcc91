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

from bucketsync.run.context import prepare_run
from bucketsync.ops.metrics import exposition, watch_families
from bucketsync.core.settings import load_settings
from bucketsync.distributed.watch_intake import DistributedWatch
from bucketsync.distributed.watch_counts import watch_totals
from conftest import create_bucket, free_port, set_side_env, unique_bucket



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


def test_changes_are_replicated_by_the_workers_once_each(monkeypatch, moto_server, s3, workers):
    source, dest = unique_bucket("dwsrc"), unique_bucket("dwdst")
    create_bucket(s3, source, object_lock=True)
    create_bucket(s3, dest, object_lock=True)
    set_side_env(monkeypatch, "source", moto_server)
    set_side_env(monkeypatch, "dest", moto_server)
    settings = load_settings(broker_url=workers.broker_url, events={"http": f"127.0.0.1:{free_port()}"})
    request, _ = prepare_run(settings, f"s3://{source}", f"s3://{dest}")
    service = DistributedWatch(settings, request)
    service.start()
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
