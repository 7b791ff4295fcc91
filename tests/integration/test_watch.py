"""`watch` on moto: notifications pushed over HTTP and delivered through moto's SQS are replicated with
their locks, duplicates and late events write nothing, a burst on one key is one copy, and what was taken
in before a stop is replicated after the restart."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from bucketsync.run.context import prepare_run
from bucketsync.core.settings import load_settings
from bucketsync.run.watch_run import WatchService
from conftest import create_bucket, free_port, set_side_env, unique_bucket



def versions(client, bucket: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
            counts[version["Key"]] = counts.get(version["Key"], 0) + 1
    return counts


def record(client, bucket: str, key: str, sequencer: str) -> dict:
    head = client.head_object(Bucket=bucket, Key=key)
    return {
        "eventName": "ObjectCreated:Put",
        "eventTime": datetime.now(timezone.utc).isoformat(),
        "s3": {"bucket": {"name": bucket}, "object": {
            "key": urllib.request.quote(key).replace("%20", "+"), "size": head["ContentLength"],
            "eTag": head["ETag"].strip('"'), "versionId": head.get("VersionId"), "sequencer": sequencer}},
    }


def post(address, records: list[dict]) -> int:
    request = urllib.request.Request(f"http://{address[0]}:{address[1]}/", data=json.dumps({"Records": records}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status


def start_service(monkeypatch, moto_server, tmp_path, source: str, dest: str, **events) -> WatchService:
    set_side_env(monkeypatch, "source", moto_server)
    set_side_env(monkeypatch, "dest", moto_server)
    settings = load_settings(events={"journal": str(tmp_path / "journal.sqlite"), **events}, concurrency=4)
    request, ctx = prepare_run(settings, f"s3://{source}", f"s3://{dest}", all_versions=settings.all_versions)
    service = WatchService(settings, request, ctx, tmp_path / "journal.sqlite")
    service.start()
    return service


@pytest.fixture
def locked_pair(s3):
    source, dest = unique_bucket("wsrc"), unique_bucket("wdst")
    create_bucket(s3, source, object_lock=True)
    create_bucket(s3, dest, object_lock=True)
    return source, dest


def test_http_pushes_are_replicated_with_locks_and_duplicates_write_nothing(monkeypatch, moto_server, s3, tmp_path, locked_pair):
    source, dest = locked_pair
    until = datetime.now(timezone.utc) + timedelta(days=2)
    keys = ["plain.txt", "with space & plus+.txt", "dir/locked.bin"]
    for index, key in enumerate(keys):
        extra = {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": until} if "locked" in key else {}
        s3.put_object(Bucket=source, Key=key, Body=f"body {index}".encode(), ContentMD5=None or _md5(f"body {index}"), **extra)
    service = start_service(monkeypatch, moto_server, tmp_path, source, dest, http=f"127.0.0.1:{free_port()}")
    try:
        records = [record(s3, source, key, f"{index + 1:04X}") for index, key in enumerate(keys)]
        assert post(service.http_address, records) == 200
        assert service.watcher.wait_idle(30)
        assert versions(s3, dest) == {key: 1 for key in keys}
        locked = s3.head_object(Bucket=dest, Key="dir/locked.bin")
        assert locked["ObjectLockMode"] == "GOVERNANCE"
        assert service.watcher.counts["copied"] == 3

        assert post(service.http_address, records) == 200  # delivered again
        assert post(service.http_address, records[:1]) == 200
        assert service.watcher.wait_idle(30)
        assert versions(s3, dest) == {key: 1 for key in keys}
        assert service.watcher.counts["duplicate"] == 4 and service.watcher.counts["copied"] == 3

        for n in range(20):  # a burst on one key
            s3.put_object(Bucket=source, Key="plain.txt", Body=f"burst {n}".encode())
        burst = [record(s3, source, "plain.txt", f"{100 + n:04X}") for n in range(20)]
        assert post(service.http_address, burst) == 200
        assert service.watcher.wait_idle(30)
        assert versions(s3, dest)["plain.txt"] <= 3  # the newest state, not one version per event
        assert s3.get_object(Bucket=dest, Key="plain.txt")["Body"].read() == b"burst 19"
        scraped = service.metrics.registry.get_sample_value("bucketsync_events_total", {"result": "duplicate"})
        assert scraped >= 4
        assert service.metrics.registry.get_sample_value("bucketsync_replication_lag_seconds_count") >= 4
    finally:
        service.stop()


def _md5(text: str) -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.md5(text.encode()).digest()).decode()


def test_a_body_that_is_no_notification_gets_400_and_nothing_is_taken_in(monkeypatch, moto_server, s3, tmp_path, locked_pair):
    source, dest = locked_pair
    service = start_service(monkeypatch, moto_server, tmp_path, source, dest, http=f"127.0.0.1:{free_port()}")
    try:
        request = urllib.request.Request(f"http://{service.http_address[0]}:{service.http_address[1]}/",
                                         data=b"hello", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 400
        assert len(service.journal) == 0
    finally:
        service.stop()


def test_changes_taken_in_before_a_stop_are_replicated_after_the_restart(monkeypatch, moto_server, s3, tmp_path, locked_pair):
    source, dest = locked_pair
    s3.put_object(Bucket=source, Key="late.txt", Body=b"x", ContentMD5=_md5("x"))
    first = start_service(monkeypatch, moto_server, tmp_path, source, dest, http=f"127.0.0.1:{free_port()}")
    first.watcher.stop(1)  # no worker left: what comes in now is only recorded
    assert post(first.http_address, [record(s3, source, "late.txt", "0001")]) == 200
    first.stop(1)
    assert "late.txt" not in versions(s3, dest)
    second = start_service(monkeypatch, moto_server, tmp_path, source, dest, http=f"127.0.0.1:{free_port()}")
    try:
        assert second.watcher.wait_idle(30)
        assert versions(s3, dest) == {"late.txt": 1}
        assert len(second.journal) == 0
    finally:
        second.stop()


def test_notifications_delivered_through_sqs_are_replicated(monkeypatch, moto_server, s3, tmp_path):
    source, dest = unique_bucket("qsrc"), unique_bucket("qdst")
    create_bucket(s3, source)
    create_bucket(s3, dest)
    s3.put_bucket_versioning(Bucket=source, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_versioning(Bucket=dest, VersioningConfiguration={"Status": "Enabled"})
    import boto3

    sqs = boto3.client("sqs", endpoint_url=moto_server.url, aws_access_key_id=moto_server.access_key,
                       aws_secret_access_key=moto_server.secret_key, region_name=moto_server.region)
    queue_url = sqs.create_queue(QueueName=unique_bucket("events"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=source, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]})
    service = start_service(monkeypatch, moto_server, tmp_path, source, dest, sqs_queue_url=queue_url)
    try:
        for n in range(5):
            s3.put_object(Bucket=source, Key=f"q/{n}.txt", Body=f"{n}".encode())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(versions(s3, dest)) < 5:
            time.sleep(0.2)
        assert versions(s3, dest) == {f"q/{n}.txt": 1 for n in range(5)}
    finally:
        service.stop()


def test_with_all_versions_each_announced_key_gets_its_whole_history_once(monkeypatch, moto_server, s3, tmp_path, locked_pair):
    source, dest = locked_pair
    for n in range(3):
        s3.put_object(Bucket=source, Key="h.txt", Body=f"version {n}".encode(), ContentMD5=_md5(f"version {n}"))
    monkeypatch.setenv("BUCKETSYNC_ALL_VERSIONS", "true")
    service = start_service(monkeypatch, moto_server, tmp_path, source, dest, http=f"127.0.0.1:{free_port()}")
    try:
        assert service.request.all_versions
        records = [record(s3, source, "h.txt", f"{n:04X}") for n in range(1, 4)]
        assert post(service.http_address, records[:1]) == 200
        assert service.watcher.wait_idle(30)
        bodies = [s3.get_object(Bucket=dest, Key="h.txt", VersionId=v["VersionId"])["Body"].read()
                  for v in reversed(s3.list_object_versions(Bucket=dest)["Versions"])]
        assert bodies == [b"version 0", b"version 1", b"version 2"]  # oldest first, as the source wrote them
        assert post(service.http_address, records[1:]) == 200  # later events of the same history
        assert service.watcher.wait_idle(30)
        assert versions(s3, dest) == {"h.txt": 3}
    finally:
        service.stop()
