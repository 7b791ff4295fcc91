"""Checking a replica against making it: `bucketsync sync` (first copy, then no-change) and `bucketsync verify`
after each, on one bucket, on Ceph RGW (default) or moto.

    .venv/bin/python bench/verify_vs_sync.py [--objects 2000] [--server rgw|moto]

The source has Object Lock; its 1 KiB objects lie under 20 prefixes, a third under GOVERNANCE retention, a fifth
tagged. Printed per command: wall seconds, exit code and the first line of its output. The RGW cluster is the
test suite's (tests/ceph_rgw.py), started and stopped here.
"""

from __future__ import annotations

import argparse
import datetime
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def start_moto():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    url = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    return client, url, ("t", "t", "us-east-1", "auto"), lambda: (process.terminate(), process.wait())


def start_rgw():
    sys.path.insert(0, str(REPO / "tests"))
    from ceph_rgw import start_ceph_rgw

    rgw = start_ceph_rgw()
    return rgw.client(), rgw.url, (rgw.access_key, rgw.secret_key, rgw.region, "path"), rgw.stop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--server", choices=("rgw", "moto"), default="rgw")
    args = parser.parse_args()
    s3, url, (key, secret, region, style), stop = (start_rgw if args.server == "rgw" else start_moto)()
    try:
        source, dest = "bench-verify-src", "bench-verify-dst"
        for bucket in (source, dest):
            s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)

        def put(i: int) -> None:
            extra: dict = {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": until} if i % 3 == 0 else {}
            if i % 5 == 0:
                extra["Tagging"] = "team=ledger"
            s3.put_object(Bucket=source, Key=f"p{i % 20:02d}/obj-{i:06d}", Body=b"x" * 1024, **extra)

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(put, range(args.objects)))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BUCKETSYNC_"))}
        for side in ("SOURCE", "DEST"):
            env.update({f"BUCKETSYNC_{side}__ENDPOINT_URL": url, f"BUCKETSYNC_{side}__ACCESS_KEY_ID": key,
                        f"BUCKETSYNC_{side}__SECRET_ACCESS_KEY": secret, f"BUCKETSYNC_{side}__REGION": region,
                        f"BUCKETSYNC_{side}__ADDRESSING_STYLE": style})

        def timed(*command: str) -> None:
            started = time.monotonic()
            done = subprocess.run([str(BIN / "bucketsync"), *command], env=env, capture_output=True, text=True)
            first = (done.stdout.strip() or done.stderr.strip()).splitlines()[0][:100]
            print(f"{time.monotonic() - started:7.2f} s  exit {done.returncode}  bucketsync {command[0]}  | {first}", flush=True)

        for _ in range(2):  # a first copy and its check; then a no-change re-sync and its check
            timed("sync", f"s3://{source}", f"s3://{dest}")
            timed("verify", f"s3://{source}", f"s3://{dest}")
    finally:
        stop()


if __name__ == "__main__":
    main()
