"""Seeding buckets, running the CLI, and comparing what two buckets hold. Real S3 calls, no mocks."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
import os
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from conftest import MotoServer, in_process_fits, run_cli, run_cli_in_process

MiB = 1024 * 1024

# Headers that must travel with an object (boto3 names), besides user metadata.
CONTENT_HEADERS = ("ContentType", "CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage")

# Keys that break naive URL or shell building.
AWKWARD_KEYS = (
    "with space.txt",
    "ünïcödé/日本語.txt",
    "a+b.txt",
    "100%.txt",
    "hash#tag.txt",
    "what?.txt",
    "/leading-slash.txt",
    "double//slash.txt",
)


def in_days(days: float) -> datetime:
    """A retain-until date in the future, in whole seconds (S3 keeps retention to the second)."""
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0)


@dataclass(frozen=True)
class Seed:
    """One object to create in a source bucket."""

    key: str
    body: bytes
    mode: str | None = None  # GOVERNANCE / COMPLIANCE
    retain_until: datetime | None = None
    legal_hold: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def put_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {**self.headers, "Metadata": self.metadata}
        if self.tags:
            args["Tagging"] = urlencode(self.tags, quote_via=quote)  # RGW takes "+" literally: spaces as %20
        if self.mode:
            args["ObjectLockMode"] = self.mode
            args["ObjectLockRetainUntilDate"] = self.retain_until
        if self.legal_hold:
            args["ObjectLockLegalHoldStatus"] = "ON"
        return args


def fixture_set() -> list[Seed]:
    """Every lock combination, every content header, metadata, tags, and the awkward keys."""
    seeds = [
        Seed("lock/governance.txt", b"governance", mode="GOVERNANCE", retain_until=in_days(2)),
        Seed("lock/compliance.txt", b"compliance", mode="COMPLIANCE", retain_until=in_days(3)),
        Seed("lock/legal-hold.txt", b"legal hold", legal_hold=True),
        Seed("lock/both.txt", b"retention and hold", mode="GOVERNANCE", retain_until=in_days(4), legal_hold=True),
        Seed("lock/none.txt", b"no lock at all"),
        Seed("lock/expired.txt", b"retention in the past", mode="GOVERNANCE", retain_until=datetime(2020, 1, 1, tzinfo=timezone.utc)),
        Seed("empty", b"", legal_hold=True, tags={"size": "0"}),
        Seed(
            "headers/page.html.gz",
            b"\x1f\x8b not really gzip, but the header must survive",
            mode="COMPLIANCE",
            retain_until=in_days(5),
            headers={
                "ContentType": "text/html; charset=utf-8",
                "CacheControl": "max-age=3600, public",
                "ContentDisposition": 'attachment; filename="page one.html"',
                "ContentEncoding": "gzip",
                "ContentLanguage": "de-CH",
            },
            metadata={"owner": "ops-team", "checksum-sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
            tags={"project": "bucketsync", "class": "a b+c"},
        ),
    ]
    seeds += [
        Seed(key, f"body of {key}".encode(), mode="GOVERNANCE", retain_until=in_days(1), tags={"awkward": "yes"})
        for key in AWKWARD_KEYS
    ]
    return seeds


def seed(client, bucket: str, seeds: list[Seed], prefix: str = "") -> None:
    """Write `seeds`. A retention already in the past is written as it is where the server takes it (moto);
    where it is refused (Ceph RGW, like AWS, answers InvalidArgument) it is written to run out two seconds
    later, and seed returns once it has: either way the source then holds an expired retention."""
    expires_at = None
    for item in seeds:
        args = item.put_args()
        try:
            client.put_object(Bucket=bucket, Key=prefix + item.key, Body=item.body, **args)
        except client.exceptions.ClientError as error:
            expired = item.retain_until is not None and item.retain_until <= datetime.now(timezone.utc)
            if not expired or error.response.get("Error", {}).get("Code") != "InvalidArgument":
                raise
            expires_at = (datetime.now(timezone.utc) + timedelta(seconds=3)).replace(microsecond=0)
            args["ObjectLockRetainUntilDate"] = expires_at
            client.put_object(Bucket=bucket, Key=prefix + item.key, Body=item.body, **args)
    if expires_at is not None:
        time.sleep(max(0.0, (expires_at - datetime.now(timezone.utc)).total_seconds()) + 0.5)


def put_multipart(
    client, bucket: str, key: str, size: int, part_size: int, *, lock: Seed | None = None,
    tags: dict[str, str] | None = None, **args
) -> str:
    """Upload `size` bytes in parts of `part_size`, then set `tags` and `lock`'s lock state; returns the
    ETag (`"…-N"`).

    Tags and lock are set after completion: moto and Ceph RGW ignore lock arguments on
    CreateMultipartUpload, and RGW ignores x-amz-tagging there too.
    """
    data = os.urandom(size)
    upload = client.create_multipart_upload(Bucket=bucket, Key=key, **args)
    parts = []
    for number, start in enumerate(range(0, size, part_size), start=1):
        result = client.upload_part(
            Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=data[start : start + part_size]
        )
        parts.append({"PartNumber": number, "ETag": result["ETag"]})
    client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    etag = client.head_object(Bucket=bucket, Key=key)["ETag"]  # RGW answers CompleteMultipartUpload with ETag ""
    if tags:
        client.put_object_tagging(
            Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}
        )
    if lock is not None and lock.mode:
        client.put_object_retention(
            Bucket=bucket, Key=key, Retention={"Mode": lock.mode, "RetainUntilDate": lock.retain_until}
        )
    if lock is not None and lock.legal_hold:
        client.put_object_legal_hold(Bucket=bucket, Key=key, LegalHold={"Status": "ON"})
    return etag


def put_parts(client, bucket: str, key: str, sizes: list[int], seed_value: int = 0) -> str:
    """Upload random bytes in parts of exactly these sizes (uneven layouts: equal parts, a longer last part,
    sizes not a whole number of MiB); returns the ETag (`"…-N"`)."""
    data = random.Random(seed_value).randbytes(sum(sizes))
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)
    parts, start = [], 0
    for number, size in enumerate(sizes, start=1):
        result = client.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=number,
                                    Body=data[start:start + size])
        parts.append({"PartNumber": number, "ETag": result["ETag"]})
        start += size
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts})
    return client.head_object(Bucket=bucket, Key=key)["ETag"]


def version_count(client, bucket: str) -> int:
    return sum(versions_per_key(client, bucket).values())


# ---------------------------------------------------------------- reading and comparing


def list_keys(client, bucket: str, prefix: str = "") -> dict[str, dict]:
    """Current objects under `prefix`: relative key -> listing item."""
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", ()):
            found[item["Key"][len(prefix):]] = item
    return found


def object_state(client, bucket: str, key: str) -> dict[str, Any]:
    """What an object is, as a replica must reproduce it: bytes, headers, metadata, tags, lock."""
    head = client.head_object(Bucket=bucket, Key=key)
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    tags = client.get_object_tagging(Bucket=bucket, Key=key).get("TagSet", [])  # RGW: no TagSet when untagged
    until = head.get("ObjectLockRetainUntilDate")
    if until is not None and until <= datetime.now(timezone.utc):
        until = None  # an expired retention protects nothing and is not carried over
    return {
        "bytes": body,
        **{name: head.get(name) for name in CONTENT_HEADERS},
        "Metadata": head.get("Metadata", {}),
        "tags": sorted((tag["Key"], tag["Value"]) for tag in tags),
        "lock_mode": head.get("ObjectLockMode") if until else None,
        "retain_until": until.astimezone(timezone.utc).replace(microsecond=0) if until else None,
        "legal_hold": head.get("ObjectLockLegalHoldStatus") == "ON",
    }


def compare_object(src_client, src_bucket: str, src_key: str, dst_client, dst_bucket: str, dst_key: str) -> list[str]:
    """Differences between a source object and its replica; empty when the replica is faithful."""
    source = object_state(src_client, src_bucket, src_key)
    dest = object_state(dst_client, dst_bucket, dst_key)
    differences = []
    for name, wanted in source.items():
        got = dest[name]
        if got != wanted:
            shown = (f"{len(wanted)} bytes", f"{len(got)} bytes") if name == "bytes" else (wanted, got)
            differences.append(f"{src_key!r}: {name} source={shown[0]!r} destination={shown[1]!r}")
    return differences


def compare_buckets(
    src_client, src_bucket: str, dst_client, dst_bucket: str, src_prefix: str = "", dst_prefix: str = ""
) -> list[str]:
    """Every difference between the source tree and the destination tree (missing, extra, or unlike)."""
    source = list_keys(src_client, src_bucket, src_prefix)
    dest = list_keys(dst_client, dst_bucket, dst_prefix)
    differences = [f"{key!r}: missing at the destination" for key in sorted(source.keys() - dest.keys())]
    differences += [f"{key!r}: only at the destination" for key in sorted(dest.keys() - source.keys())]
    # Six requests an object: eight objects at a time (boto3 clients are thread-safe), in key order.
    with ThreadPoolExecutor(8) as pool:
        for found in pool.map(
            lambda key: compare_object(src_client, src_bucket, src_prefix + key, dst_client, dst_bucket, dst_prefix + key),
            sorted(source.keys() & dest.keys()),
        ):
            differences += found
    return differences


def etags(client, bucket: str, prefix: str = "") -> dict[str, str]:
    return {key: item["ETag"] for key, item in list_keys(client, bucket, prefix).items()}


# ---------------------------------------------------------------- running the CLI


def cli_env(
    source: MotoServer,
    dest: MotoServer | None = None,
    *,
    source_keys: tuple[str, str] | None = None,
    dest_keys: tuple[str, str] | None = None,
    **extra: str,
) -> dict[str, str]:
    """BUCKETSYNC_* variables for a subprocess: per-side endpoint, keys and region, plus `extra`.

    Each side's keys are its server's own unless given; the destination is the source's server unless given.
    """
    if dest is None:
        dest, dest_keys = source, dest_keys or source_keys
    env = {}
    for side, server, keys in (("SOURCE", source, source_keys), ("DEST", dest, dest_keys)):
        env[f"BUCKETSYNC_{side}__ENDPOINT_URL"] = server.url
        env[f"BUCKETSYNC_{side}__ACCESS_KEY_ID"] = keys[0] if keys else server.access_key
        env[f"BUCKETSYNC_{side}__SECRET_ACCESS_KEY"] = keys[1] if keys else server.secret_key
        env[f"BUCKETSYNC_{side}__REGION"] = server.region
    env.update({f"BUCKETSYNC_{name.upper()}": value for name, value in extra.items()})
    return env


@dataclass
class SyncResult:
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None


def sync(source_url: str, dest_url: str, *options: str, env: dict[str, str], report_path: Path,
         subprocess: bool = False) -> SyncResult:
    """`bucketsync sync` with --report-json; the report is parsed when written. An embedded run goes through
    the console script's main() in this process (run_cli_in_process), unless `subprocess` or it needs one;
    the CLI's process contract (exit codes, environment, messages) is tested as a subprocess elsewhere."""
    if report_path.exists():
        report_path.unlink()
    args = ("sync", source_url, dest_url, *options, "--report-json", str(report_path))
    in_process = not subprocess and in_process_fits(args, env)
    done = run_cli_in_process(*args, env=env) if in_process else run_cli(*args, env=env)
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else None
    return SyncResult(done.returncode, done.stdout, done.stderr, report)


def explain(result: SyncResult) -> str:
    """A failure message that shows what the run said."""
    report = getattr(result, "report", None)
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\nreport: {report}"


# CLI contracts once broken in cli.py; each test that depends on one names it in its assertion.
EXIT_CODE_LOST = "main() must pass typer.Exit codes on (app(standalone_mode=False) returns them)"
ERROR_WRAPPED = "errors must be one line: the stderr console must not wrap"
USAGE_AS_INTERNAL = "usage errors must be reported as such (typer vendors click as typer._click)"


def expect_cli(condition: bool, contract: str) -> None:
    assert condition, f"CLI contract broken: {contract}"


def check_error_exit(result, *fragments: str) -> str:
    """Exit 2, nothing on stdout, no traceback, one `bucketsync: …` line on stderr naming `fragments`."""
    lines = result.stderr.splitlines()
    assert result.returncode == 2, explain(result)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == "", result.stdout
    assert lines and lines[0].startswith("bucketsync: "), result.stderr
    message = " ".join(line.strip() for line in lines)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {result.stderr!r}"
    expect_cli(len(lines) == 1, ERROR_WRAPPED)
    return message


def versions_per_key(client, bucket: str) -> Counter:
    """How many versions each key has: more than one at a versioned destination means copied again."""
    counts: Counter = Counter()
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []):
            counts[version["Key"]] += 1
    return counts


@dataclass
class InProcessResult:
    """What `invoke_cli` saw: as subprocess.CompletedProcess names it, for check_error_exit and explain."""

    returncode: int
    stdout: str
    stderr: str
    args: tuple = ()


def invoke_cli(*args: str, env: dict | None = None) -> InProcessResult:
    """`bucketsync ARGS` in this process (typer's CliRunner isolating stdio and the environment), through
    cli.main as the console script runs it: exit codes and one-line errors as an operator sees them."""
    import sys as _sys

    from typer.testing import CliRunner

    from bucketsync import cli

    runner = CliRunner()
    saved_argv = _sys.argv
    code = 0
    with runner.isolation(env=env) as streams:
        _sys.argv = ["bucketsync", *args]
        try:
            cli.main()
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        finally:
            _sys.argv = saved_argv
        stdout, stderr = streams[0].getvalue(), streams[1].getvalue()
    return InProcessResult(code, stdout.decode(), stderr.decode(), args)
