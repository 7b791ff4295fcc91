"""The ceiling: the fewest S3 requests a sync needs, sent by a raw boto3 thread pool, nothing else.

Run as its own process by the bench (so it is measured like every tool, interpreter start included):

    python bench/ceiling.py --endpoint-url URL --source SRC --dest DST [--locks] [--threads 16]

Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Lists both buckets (two threads at once),
then per source key:
- missing or different (size, ETag) at the destination: CopyObject; with --locks one HeadObject of the
  source first and the lock state set in the CopyObject itself;
- the same, with --locks: HeadObject of both sides, then PutObjectRetention / PutObjectLegalHold where
  the destination differs;
- the same, without --locks: nothing.
With --all-versions (W8): lists both buckets' versions; a key whose destination holds fewer entries than
the source gets the missing ones written oldest first, one after another (HeadObject of the version with
--locks, CopyObject pinned to its VersionId with the lock inside it; DeleteObject for a delete marker),
keys in parallel; a key whose destination holds as many gets, with --locks, HeadObject of each version on
both sides (paired by position) and PutObjectRetention / PutObjectLegalHold with VersionId where they differ.
Prints one JSON line: listed, copied, lock_updated, failed, seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

MISSING_LOCK_CHECKSUM = "MissingUploadObjectWithObjectLockHeaders"


def make_client(url: str, region: str, threads: int):
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        config=Config(
            retries={"mode": "standard", "max_attempts": 5},
            max_pool_connections=threads + 4,
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def list_bucket(client, bucket: str) -> dict[str, tuple[int, str]]:
    listing = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 1000}):
        for item in page.get("Contents", ()):
            listing[item["Key"]] = (item["Size"], item["ETag"])
    return listing


def list_histories(client, bucket: str) -> dict[str, list[dict]]:
    """Per key, its versions and delete markers oldest first (LastModified, then the listed order)."""
    histories: dict[str, list[dict]] = {}
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 1000}):
        for item in page.get("Versions", ()):
            histories.setdefault(item["Key"], []).append(item)
        for item in page.get("DeleteMarkers", ()):
            histories.setdefault(item["Key"], []).append({**item, "marker": True})
    for key, entries in histories.items():
        entries.reverse()
        entries.sort(key=lambda item: (item["LastModified"], bool(item.get("IsLatest"))))  # the latest last
    return histories


def lock_args(head: dict) -> dict:
    args = {}
    if head.get("ObjectLockMode") and head.get("ObjectLockRetainUntilDate"):
        args["ObjectLockMode"] = head["ObjectLockMode"]
        args["ObjectLockRetainUntilDate"] = head["ObjectLockRetainUntilDate"]
    if head.get("ObjectLockLegalHoldStatus") == "ON":
        args["ObjectLockLegalHoldStatus"] = "ON"
    return args


def declare_checksum(request, **_):
    """moto wants a checksum declaration on CopyObject with lock headers (AWS does not); no body to hash."""
    if "x-amz-object-lock-mode" in request.headers or "x-amz-object-lock-legal-hold" in request.headers:
        request.headers["x-amz-sdk-checksum-algorithm"] = "CRC32"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--source", required=True)
    parser.add_argument("--dest", required=True)
    parser.add_argument("--locks", action="store_true")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--all-versions", action="store_true")
    args = parser.parse_args()
    if args.all_versions:
        return copy_histories(args)
    started = time.monotonic()
    client = make_client(args.endpoint_url, args.region, args.threads)
    checksum_declared = threading.Event()
    counts = {"listed": 0, "copied": 0, "lock_updated": 0, "failed": 0}
    guard = threading.Lock()
    first_error: list[str] = []

    def count(name: str) -> None:
        with guard:
            counts[name] += 1

    def copy(key: str) -> None:
        extra = lock_args(client.head_object(Bucket=args.source, Key=key)) if args.locks else {}
        request = {"Bucket": args.dest, "Key": key, "CopySource": {"Bucket": args.source, "Key": key}, **extra}
        try:
            client.copy_object(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != MISSING_LOCK_CHECKSUM:
                raise
            with guard:  # several threads may meet the refusal before the first one registers the fix
                if not checksum_declared.is_set():
                    client.meta.events.register("before-sign.s3.CopyObject", declare_checksum)
                    checksum_declared.set()
            client.copy_object(**request)
        count("copied")

    def check_lock(key: str) -> None:
        wanted = lock_args(client.head_object(Bucket=args.source, Key=key))
        dest_head = client.head_object(Bucket=args.dest, Key=key)
        held = lock_args(dest_head)
        changed = False
        if wanted.get("ObjectLockMode") and (
            wanted["ObjectLockMode"] != held.get("ObjectLockMode")
            or wanted["ObjectLockRetainUntilDate"] != held.get("ObjectLockRetainUntilDate")
        ):
            bypass = {"BypassGovernanceRetention": True} if held.get("ObjectLockMode") == "GOVERNANCE" else {}
            client.put_object_retention(
                Bucket=args.dest, Key=key,
                Retention={"Mode": wanted["ObjectLockMode"], "RetainUntilDate": wanted["ObjectLockRetainUntilDate"]},
                **bypass,
            )
            changed = True
        if wanted.get("ObjectLockLegalHoldStatus") != held.get("ObjectLockLegalHoldStatus"):
            status = "ON" if wanted.get("ObjectLockLegalHoldStatus") == "ON" else "OFF"
            client.put_object_legal_hold(Bucket=args.dest, Key=key, LegalHold={"Status": status})
            changed = True
        if changed:
            count("lock_updated")

    def guarded(work, key: str) -> None:
        try:
            work(key)
        except Exception as exc:  # counted and reported; the other keys go on
            count("failed")
            with guard:
                if not first_error:
                    first_error.append(f"{key}: {exc}")
        finally:
            in_flight.release()

    with ThreadPoolExecutor(max_workers=2) as listers:
        source_future = listers.submit(list_bucket, client, args.source)
        dest_future = listers.submit(list_bucket, client, args.dest)
        source, dest = source_future.result(), dest_future.result()
    counts["listed"] = len(source)
    in_flight = threading.BoundedSemaphore(args.threads * 4)
    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        for key in sorted(source):
            if dest.get(key) != source[key]:
                work = copy
            elif args.locks:
                work = check_lock
            else:
                continue
            in_flight.acquire()
            pool.submit(guarded, work, key)
    counts["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(counts))
    if first_error:
        print(f"ceiling: {counts['failed']} failed, first: {first_error[0]}", file=sys.stderr)
    return 1 if counts["failed"] else 0


def copy_histories(args) -> int:
    started = time.monotonic()
    client = make_client(args.endpoint_url, args.region, args.threads)
    client.meta.events.register("before-sign.s3.CopyObject", declare_checksum)
    counts = {"listed": 0, "copied": 0, "lock_updated": 0, "failed": 0}
    guard = threading.Lock()
    first_error: list[str] = []

    def count(name: str) -> None:
        with guard:
            counts[name] += 1

    def write(key: str, entries: list[dict]) -> None:
        for item in entries:
            if item.get("marker"):
                client.delete_object(Bucket=args.dest, Key=key)
                continue
            source = {"Bucket": args.source, "Key": key, "VersionId": item["VersionId"]}
            extra = lock_args(client.head_object(**source)) if args.locks else {}
            client.copy_object(Bucket=args.dest, Key=key, CopySource=source, **extra)
            count("copied")

    def check(key: str, pairs: list[tuple[dict, dict]]) -> None:
        for source, dest in pairs:
            if source.get("marker"):
                continue
            wanted = lock_args(client.head_object(Bucket=args.source, Key=key, VersionId=source["VersionId"]))
            held = lock_args(client.head_object(Bucket=args.dest, Key=key, VersionId=dest["VersionId"]))
            if wanted.get("ObjectLockMode") and wanted.get("ObjectLockRetainUntilDate") != held.get("ObjectLockRetainUntilDate"):
                client.put_object_retention(
                    Bucket=args.dest, Key=key, VersionId=dest["VersionId"],
                    Retention={"Mode": wanted["ObjectLockMode"], "RetainUntilDate": wanted["ObjectLockRetainUntilDate"]},
                )
                count("lock_updated")
            if wanted.get("ObjectLockLegalHoldStatus") != held.get("ObjectLockLegalHoldStatus"):
                status = "ON" if wanted.get("ObjectLockLegalHoldStatus") == "ON" else "OFF"
                client.put_object_legal_hold(Bucket=args.dest, Key=key, VersionId=dest["VersionId"], LegalHold={"Status": status})
                count("lock_updated")

    def guarded(work, key: str, argument) -> None:
        try:
            work(key, argument)
        except Exception as exc:  # counted and reported; the other keys go on
            count("failed")
            with guard:
                if not first_error:
                    first_error.append(f"{key}: {exc}")
        finally:
            in_flight.release()

    with ThreadPoolExecutor(max_workers=2) as listers:
        source_future = listers.submit(list_histories, client, args.source)
        dest_future = listers.submit(list_histories, client, args.dest)
        source, dest = source_future.result(), dest_future.result()
    counts["listed"] = sum(len(entries) for entries in source.values())
    in_flight = threading.BoundedSemaphore(args.threads * 4)
    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        for key in sorted(source):
            held = dest.get(key, [])
            if len(held) < len(source[key]):
                work, argument = write, source[key][len(held):]
            elif args.locks:
                work, argument = check, list(zip(source[key], held))
            else:
                continue
            in_flight.acquire()
            pool.submit(guarded, work, key, argument)
    counts["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(counts))
    if first_error:
        print(f"ceiling: {counts['failed']} failed, first: {first_error[0]}", file=sys.stderr)
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
