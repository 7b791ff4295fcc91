"""Client CPU per S3 request through bucketsync's own client (engine/s3.py `make_client`): what bounds the
lock pass, which sends two HeadObject per unchanged object of a lock-enabled source (docs/scale.md).

    .venv/bin/python bench/request_cpu.py [--endpoint-url URL --access-key-id K --secret-access-key S]

Without --endpoint-url it starts moto's server on a free port. One thread: the requests hold the GIL for
most of their CPU, so more threads in one process send them no faster. The server runs on this machine
too; only this process's CPU is counted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bucketsync.core.settings import Settings  # noqa: E402
from bucketsync.engine.s3 import make_client  # noqa: E402
from verify_vs_sync import start_moto  # noqa: E402


def cpu_ms_per_call(call, count: int) -> float:
    started = time.process_time()
    for index in range(count):
        call(index)
    return (time.process_time() - started) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url")
    parser.add_argument("--access-key-id")
    parser.add_argument("--secret-access-key")
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    stop = None
    url, access_key_id, secret_access_key = args.endpoint_url, args.access_key_id, args.secret_access_key
    if url is None:
        _, url, (access_key_id, secret_access_key, _, _), stop = start_moto()
    try:
        side = {"endpoint_url": url, "access_key_id": access_key_id, "secret_access_key": secret_access_key}
        settings = Settings(source=side, dest=side)
        client = make_client(settings.source, settings)
        bucket = f"request-cpu-{uuid.uuid4().hex[:8]}"
        client.create_bucket(Bucket=bucket)
        keys = [f"k/{index:06d}" for index in range(args.objects)]
        for key in keys:
            client.put_object(Bucket=bucket, Key=key, Body=b"x" * 1024)
        cpu_ms_per_call(lambda i: client.head_object(Bucket=bucket, Key=keys[i % len(keys)]), 100)  # warm
        head = cpu_ms_per_call(lambda i: client.head_object(Bucket=bucket, Key=keys[i % len(keys)]), args.requests)
        listing = cpu_ms_per_call(lambda i: client.list_objects_v2(Bucket=bucket, MaxKeys=1000), 20)
        print(f"server {url}")
        print(f"HeadObject: {head:.2f} ms of client CPU each ({args.requests} requests)")
        print(f"ListObjectsV2 of {min(1000, args.objects)} keys: {listing:.1f} ms of client CPU each")
        print(f"lock pass bound: {1000 / (2 * head):.0f} unchanged objects a second per process (two HEADs each)")
    finally:
        if stop is not None:
            stop()


if __name__ == "__main__":
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    main()
