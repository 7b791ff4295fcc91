"""`watch` on Ceph RGW with the server's own notifications: a synchronous HTTP topic pushing to the
watcher (the PUT waits for its answer) and an AMQP topic through RabbitMQ. Replicated with locks, a
burst on one key is one copy of its newest state, delivered-again events write nothing."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from bucketsync.run.context import prepare_run
from bucketsync.core.settings import load_settings
from bucketsync.run.watch_run import WatchService
from conftest import create_bucket, free_port, set_side_env, unique_bucket


RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"


def versions(client, bucket: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
            counts[version["Key"]] = counts.get(version["Key"], 0) + 1
    return counts


def topic(rgw, name: str, attributes: dict[str, str]) -> str:
    sns = boto3.client("sns", endpoint_url=rgw.url, aws_access_key_id=rgw.access_key,
                       aws_secret_access_key=rgw.secret_key, region_name=rgw.region)
    return sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]


def notify(s3, bucket: str, arn: str) -> None:
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"TopicConfigurations": [
        {"Id": "bucketsync-watch", "TopicArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]})


def start(monkeypatch, rgw, tmp_path, source: str, dest: str, **events) -> WatchService:
    set_side_env(monkeypatch, "source", rgw)
    set_side_env(monkeypatch, "dest", rgw)
    settings = load_settings(events=events, concurrency=4)
    request, ctx = prepare_run(settings, f"s3://{source}", f"s3://{dest}")
    service = WatchService(settings, request, ctx, tmp_path / f"journal-{uuid.uuid4().hex[:6]}.sqlite")
    service.start()
    return service


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def write_and_check(s3, service: WatchService, source: str, dest: str) -> None:
    until = datetime.now(timezone.utc) + timedelta(days=1)
    keys = [f"k/{n:02d} with space.txt" for n in range(10)]
    for n, key in enumerate(keys):
        lock = {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": until} if n % 3 == 0 else {}
        s3.put_object(Bucket=source, Key=key, Body=f"v1 {n}".encode(), **lock)
    for n in range(15):  # a burst on one key
        s3.put_object(Bucket=source, Key="hot.txt", Body=f"hot {n}".encode())
    assert wait_for(lambda: len(versions(s3, dest)) == 11 and service.watcher.pending == 0)
    assert service.watcher.wait_idle(30)
    copied = versions(s3, dest)
    assert {key: copied[key] for key in keys} == {key: 1 for key in keys}
    # Never more copies than the source has versions (a synchronous topic spaces the PUTs by its own round
    # trip, so a fast watcher may well copy each one; collapsing bursts is asserted where events arrive at once).
    assert copied["hot.txt"] <= 15
    assert s3.get_object(Bucket=dest, Key="hot.txt")["Body"].read() == b"hot 14"
    assert s3.head_object(Bucket=dest, Key=keys[0]).get("ObjectLockMode") == "GOVERNANCE"
    before = versions(s3, dest)
    time.sleep(1)  # nothing late: no event is worked on twice
    assert versions(s3, dest) == before and len(service.journal) == 0


def test_rgw_http_notifications_are_replicated(monkeypatch, rgw_server, tmp_path):
    s3 = rgw_server.client()
    source, dest = unique_bucket("whsrc"), unique_bucket("whdst")
    create_bucket(s3, source, object_lock=True)
    create_bucket(s3, dest, object_lock=True)
    port = free_port()
    service = start(monkeypatch, rgw_server, tmp_path, source, dest, http=f"127.0.0.1:{port}")
    try:
        arn = topic(rgw_server, f"http-{uuid.uuid4().hex[:8]}", {"push-endpoint": f"http://127.0.0.1:{port}",
                                                                 "persistent": "false"})
        notify(s3, source, arn)
        write_and_check(s3, service, source, dest)
    finally:
        service.stop()


def test_rgw_amqp_notifications_are_replicated(monkeypatch, rgw_server, tmp_path):
    s3 = rgw_server.client()
    source, dest = unique_bucket("wasrc"), unique_bucket("wadst")
    create_bucket(s3, source, object_lock=True)
    create_bucket(s3, dest, object_lock=True)
    exchange, name = f"bucketsync-test-{uuid.uuid4().hex[:8]}", f"amqp-{uuid.uuid4().hex[:8]}"
    service = start(monkeypatch, rgw_server, tmp_path, source, dest,
                    amqp_url=f"{RABBITMQ}?exchange={exchange}&topic={name}", amqp_queue=f"q-{name}")
    try:
        time.sleep(1)  # the consumer declares the exchange and binds its queue
        arn = topic(rgw_server, name, {"push-endpoint": "amqp://127.0.0.1:5672", "amqp-exchange": exchange,
                                       "amqp-ack-level": "broker", "persistent": "false"})
        notify(s3, source, arn)
        write_and_check(s3, service, source, dest)
    finally:
        service.stop()
