"""Records what `aws s3 sync --dryrun` copies for each case of tests/unit/test_filters.py (run by hand).

    .venv/bin/python tests/unit/record_aws_filters.py   # needs `aws` (awscli) on PATH

Starts a moto server, seeds a bucket under a prefix with KEYS, runs `aws s3 sync s3://src/p/ s3://dst/`
with each case's filters, and writes which keys aws-cli would copy to recorded/aws_filters.json. The unit
table is checked against that file, so bucketsync's filters keep aws-cli's semantics.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.unit.filter_cases import CASES, KEYS  # noqa: E402

OUT = Path(__file__).with_name("recorded") / "aws_filters.json"


def main() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3)
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "us-east-1"}
        s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
        s3.create_bucket(Bucket="src")
        s3.create_bucket(Bucket="dst")
        for key in KEYS:
            s3.put_object(Bucket="src", Key="p/" + key, Body=b"x")
        recorded = {}
        for name, rules in CASES.items():
            args = [item for kind, pattern in rules for item in (f"--{kind}", pattern)]
            done = subprocess.run(["aws", "--endpoint-url", url, "s3", "sync", "s3://src/p/", "s3://dst/", "--dryrun", *args],
                                  env=env, capture_output=True, text=True, check=True)
            copied = re.findall(r"\(dryrun\) copy: s3://src/p/(.*) to s3://dst/", done.stdout)
            recorded[name] = sorted(copied)
        OUT.write_text(json.dumps({"aws": subprocess.run(["aws", "--version"], capture_output=True, text=True).stdout.strip()
                                   or "aws-cli", "copied": recorded}, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {OUT}")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
