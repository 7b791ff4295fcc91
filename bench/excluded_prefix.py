"""An excluded prefix: what listing it costs, with and without bucketsync's skip, and with aws s3 sync.

    .venv/bin/python bench/excluded_prefix.py [--excluded 100000] [--kept 1000] [--repeats 2]

The source holds `--excluded` 0-byte keys under `logs/` and `--kept` under `data/` (preloaded into
bench/moto_server.py, which lists from a sorted index like a real server). Each tool copies it into a
fresh destination with `--exclude 'logs/*'`:

    bucketsync           skips logs/: once a listing page ends inside it, the next starts after it
    bucketsync-noskip    the same keys chosen with `--exclude 'logs/*' --include 'logs/none/*'`: a later
                         include under logs/ forbids the skip, so every page of logs/ is listed and discarded
    aws                  aws s3 sync --exclude 'logs/*' (lists everything, as aws-cli always does)

Printed per run: wall seconds, ListObjectsV2 requests on the source (counted in the server's access log),
and the destination's key count (must be `--kept`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

BENCH = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
KEY, SECRET = "bench", "bench-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(excluded: int, kept: int, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(BENCH / "moto_server.py"), "--preload", f"src={excluded}@logs/",
         "--preload", f"src={kept}@data/", "-H", "127.0.0.1", "-p", str(port)],
        stdout=open(log, "wb"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(log.read_text()[-2000:])
            time.sleep(0.5)
    raise RuntimeError("moto did not start")


def list_requests(log: Path, bucket: str) -> int:
    return sum(1 for line in log.read_text(errors="replace").splitlines() if f"GET /{bucket}?" in line and "list-type=2" in line)


def commands(tool: str, url: str, dest: str) -> list[str]:
    if tool == "aws":
        aws = shutil.which("aws", path=str(VENV_BIN)) or shutil.which("aws")
        return [aws, "s3", "sync", "s3://src/", f"s3://{dest}/", "--endpoint-url", url, "--exclude", "logs/*",
                "--only-show-errors", "--no-progress"]
    extra = ["--include", "logs/none/*"] if tool == "bucketsync-noskip" else []
    return [str(VENV_BIN / "bucketsync"), "sync", "s3://src", f"s3://{dest}", "--exclude", "logs/*", *extra]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--excluded", type=int, default=100_000)
    parser.add_argument("--kept", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--tools", default="bucketsync,bucketsync-noskip,aws")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-excluded-"))
    log = work / "moto.log"
    started = time.monotonic()
    server, url = start_server(args.excluded, args.kept, log)
    print(f"source: {args.excluded} keys under logs/ (excluded), {args.kept} under data/; "
          f"server ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
    s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name="us-east-1")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BUCKETSYNC_"))}
    env |= {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true"}
    for side in ("SOURCE", "DEST"):
        env |= {f"BUCKETSYNC_{side}__ENDPOINT_URL": url, f"BUCKETSYNC_{side}__ACCESS_KEY_ID": KEY,
                f"BUCKETSYNC_{side}__SECRET_ACCESS_KEY": SECRET, f"BUCKETSYNC_{side}__REGION": "us-east-1"}
    print("| tool | run | wall s | ListObjectsV2 on the source | keys copied |")
    print("|---|---|---|---|---|")
    try:
        for repeat in range(args.repeats):
            for tool in args.tools.split(","):
                dest = f"dst-{tool}-{repeat}"
                s3.create_bucket(Bucket=dest)
                before = list_requests(log, "src")
                began = time.monotonic()
                done = subprocess.run(commands(tool, url, dest), env=env, capture_output=True, text=True)
                wall = time.monotonic() - began
                if done.returncode != 0:
                    print(f"{tool} failed ({done.returncode}): {done.stderr[-500:]}", file=sys.stderr)
                time.sleep(0.5)  # the access log is written after the answer
                copied = s3.list_objects_v2(Bucket=dest).get("KeyCount", 0) if args.kept <= 1000 else "-"
                print(f"| {tool} | {repeat + 1} | {wall:.1f} | {list_requests(log, 'src') - before} | {copied} |", flush=True)
    finally:
        server.terminate()
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
