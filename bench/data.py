"""Making and changing the workloads' objects with plain boto3, and reading buckets back."""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import ClientError

from common import run_pool

LockTuple = tuple[str | None, str | None, bool]  # (mode, retain-until ISO to the second, legal hold on)


@dataclass(frozen=True)
class Item:
    key: str
    body: bytes
    args: dict[str, Any] = field(default_factory=dict)  # extra put_object arguments (lock state)


def create_bucket(client, bucket: str, lock: bool = False) -> None:
    args = {"Bucket": bucket}
    if lock:
        args["ObjectLockEnabledForBucket"] = True
    client.create_bucket(**args)


def put_items(client, bucket: str, items: Iterable[Item], threads: int = 16, label: str = "") -> int:
    """put_object every item on a thread pool; returns how many. Lock arguments need Content-MD5."""
    count = 0
    started = time.monotonic()

    def put(item: Item) -> None:
        args = dict(item.args)
        if args:
            args["ContentMD5"] = base64.b64encode(hashlib.md5(item.body).digest()).decode()
        client.put_object(Bucket=bucket, Key=item.key, Body=item.body, **args)

    def counted() -> Iterator[Item]:
        nonlocal count
        for item in items:
            count += 1
            if count % 20000 == 0:
                print(f"bench:   seeded {count} objects into {bucket} ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
            yield item

    errors = run_pool(put, counted(), threads)
    if errors:
        raise RuntimeError(f"seeding {bucket}{label}: {len(errors)} puts failed, first: {errors[0]}")
    return count


def list_all(client, bucket: str) -> dict[str, tuple[int, str]]:
    """key -> (size, ETag without quotes)."""
    listing: dict[str, tuple[int, str]] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 1000}):
        for item in page.get("Contents", ()):
            listing[item["Key"]] = (item["Size"], item["ETag"].strip('"'))
    return listing


def delete_bucket(client, bucket: str) -> bool:
    """Empty and delete a bucket without versioning; False where the server refuses (locked objects)."""
    try:
        keys = list(list_all(client, bucket))
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        client.delete_bucket(Bucket=bucket)
        return True
    except ClientError:
        return False


def lock_of(head: dict[str, Any]) -> LockTuple:
    mode = head.get("ObjectLockMode")
    until = head.get("ObjectLockRetainUntilDate")
    if not mode or until is None:
        mode, until_text = None, None
    else:
        until_text = until.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (mode, until_text, head.get("ObjectLockLegalHoldStatus") == "ON")


def read_locks(client, bucket: str, keys: Iterable[str], threads: int = 16) -> dict[str, LockTuple | None]:
    """HeadObject per key (moto answers GetObjectRetention with HTTP 500); None for a missing key."""
    result: dict[str, LockTuple | None] = {}

    def head(key: str) -> None:
        try:
            result[key] = lock_of(client.head_object(Bucket=bucket, Key=key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                result[key] = None
            else:
                raise

    errors = run_pool(head, keys, threads)
    if errors:
        raise RuntimeError(f"reading lock state in {bucket}: {len(errors)} HEADs failed, first: {errors[0]}")
    return result


# ---------------------------------------------------------------- the workloads' objects


def small_objects(count: int, prefixes: int, size: int, start: int = 0) -> Iterator[Item]:
    """W1/W3: `count` random objects of `size` bytes spread over `prefixes` prefixes."""
    for index in range(start, start + count):
        yield Item(f"p{index % prefixes:02d}/obj-{index:07d}", os.urandom(size))


def large_objects(count: int, size: int) -> Iterator[Item]:
    """W2: random bodies, one generated per put (not all held at once)."""
    for index in range(count):
        yield Item(f"large/obj-{index:03d}", os.urandom(size))


def put_random_multipart(client, bucket: str, key: str, size: int, part_size: int, threads: int = 4) -> str:
    """One object of `size` random bytes as a multipart upload of `part_size` parts, generated part by part
    (at most `threads` × 4 parts in memory, never the whole object); returns the MD5 of its bytes."""
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    digest = hashlib.md5()
    etags: dict[int, str] = {}

    def parts() -> Iterator[tuple[int, bytes]]:
        for number, start in enumerate(range(0, size, part_size), start=1):
            body = os.urandom(min(part_size, size - start))
            digest.update(body)
            yield number, body

    def put(part: tuple[int, bytes]) -> None:
        number, body = part
        etags[number] = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=body)["ETag"]

    errors = run_pool(put, parts(), threads)
    if errors:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
        raise RuntimeError(f"seeding {bucket}/{key}: {len(errors)} parts failed, first: {errors[0]}")
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": number, "ETag": etags[number]} for number in sorted(etags)]})
    return digest.hexdigest()


def empty_objects(start: int, stop: int, prefixes: int = 50) -> Iterator[Item]:
    """W5: 0-byte objects."""
    for index in range(start, stop):
        yield Item(f"p{index % prefixes:02d}/empty-{index:07d}", b"")


def locked_objects(count: int, size: int, now: datetime, unit: timedelta = timedelta(days=1)) -> Iterator[Item]:
    """W4: half with retention (GOVERNANCE and COMPLIANCE alternating, 1–60 units: days on moto, hours on
    a server given by URL, where COMPLIANCE objects cannot be deleted before then), a quarter with legal hold."""
    for index in range(count):
        args: dict[str, Any] = {}
        if index % 2 == 0:
            args["ObjectLockMode"] = "GOVERNANCE" if index % 4 == 0 else "COMPLIANCE"
            args["ObjectLockRetainUntilDate"] = now + unit * (1 + index % 60) + timedelta(seconds=index)
        if index % 4 in (0, 1):
            args["ObjectLockLegalHoldStatus"] = "ON"
        yield Item(f"p{index % 20:02d}/locked-{index:06d}", os.urandom(size), args)


def overwrite_some(client, bucket: str, keys: list[str], size: int, threads: int = 16) -> None:
    """W3: new random content, same size (so only the timestamp and ETag tell the change)."""
    put_items(client, bucket, (Item(key, os.urandom(size)) for key in keys), threads)


def change_locks(client, bucket: str, keys: list[str], current: dict[str, LockTuple | None], threads: int = 16,
                 unit: timedelta = timedelta(days=1)) -> dict[str, str]:
    """W4: extend the retention of every other key that has one by 10 units; toggle the legal hold of the rest.

    Returns key -> what was changed.
    """
    changes: dict[str, str] = {}
    for position, key in enumerate(keys):
        mode, until, _ = current[key] or (None, None, False)
        changes[key] = "extend" if mode and position % 2 == 0 else "toggle-hold"

    def change(key: str) -> None:
        mode, until, hold = current[key] or (None, None, False)
        if changes[key] == "extend":
            later = datetime.strptime(until, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc) + unit * 10
            client.put_object_retention(Bucket=bucket, Key=key, Retention={"Mode": mode, "RetainUntilDate": later})
        else:
            client.put_object_legal_hold(Bucket=bucket, Key=key, LegalHold={"Status": "OFF" if hold else "ON"})

    errors = run_pool(change, keys, threads)
    if errors:
        raise RuntimeError(f"changing lock state in {bucket}: {len(errors)} failed, first: {errors[0]}")
    return changes
