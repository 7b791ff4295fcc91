"""`verify` takes the choices of `sync` that change what is compared, and lists as `sync` does (issue 21, item 4):
each side's SSE-C key on its HEADs and GETs, --exclude/--include (a filtered replica verifies clean), and the key
space listed in ranges at once."""

from __future__ import annotations

import json
import re

import pytest

from bucketsync.cli import DEBUG_VARIABLE
from conftest import create_bucket, run_cli, unique_bucket
from tests.faults.conftest import proxy, proxy_session, through  # noqa: F401 (the recording proxy, as fixtures)

from .helpers import cli_env, explain, put_multipart, sync
from .test_copy_options import CUSTOMER_MD5, DEST_KEY, SOURCE_KEY, md5_of_key


MiB = 1024 * 1024
PREFIXED = [f"q{n % 9:02d}/part-{n:03d}" for n in range(45)]


@pytest.fixture
def pair(s3):
    source, dest = unique_bucket("vsrc"), unique_bucket("vdst")
    create_bucket(s3, source)
    create_bucket(s3, dest)
    return source, dest


def verify(*args: str, env: dict) -> tuple[int, dict, str]:
    done = run_cli("verify", *args, "--json", env=env)
    assert done.returncode in (0, 1), f"verify exit {done.returncode}: {done.stderr}"
    return done.returncode, json.loads(done.stdout), done.stderr


def test_each_sides_sse_c_key_goes_on_its_heads_and_gets(moto_server, s3, proxy, pair):
    """moto ignores SSE-C, so the requests are asserted (an SSE-C object's HEAD without its key is a 400 on S3)."""
    source, dest = pair
    for bucket in (source, dest):
        s3.put_object(Bucket=bucket, Key="small", Body=b"small")
    put_multipart(s3, source, "big", 6 * MiB, 5 * MiB)  # layouts differ: both sides are read (GET)
    s3.put_object(Bucket=dest, Key="big", Body=s3.get_object(Bucket=source, Key="big")["Body"].read())
    env = cli_env(through(proxy, moto_server), source__sse_c_key=SOURCE_KEY, dest__sse_c_key=DEST_KEY)

    proxy.exchanges.clear()
    code, result, _ = verify(f"s3://{source}", f"s3://{dest}", env=env)

    assert (code, result["compared"], result["difference_count"]) == (0, 2, 0), result
    reads = [(e.request.operation, e.request.bucket, e.request.headers.get(CUSTOMER_MD5)) for e in proxy.exchanges
             if e.request.operation in ("HeadObject", "GetObject") and e.request.key in ("small", "big")]
    wanted = {source: md5_of_key(SOURCE_KEY), dest: md5_of_key(DEST_KEY)}
    assert sorted(op for op, _, _ in reads) == ["GetObject"] * 2 + ["HeadObject"] * 4
    assert [(op, bucket, key) for op, bucket, key in reads if key != wanted[bucket]] == []


def test_a_filtered_replica_verifies_clean(moto_server, s3, pair, tmp_path):
    source, dest = pair
    for key in ("keep/a.txt", "keep/b.txt", "logs/x.log", "logs/keep.txt", "tmp/y"):
        s3.put_object(Bucket=source, Key=key, Body=key.encode())
    s3.put_object(Bucket=dest, Key="tmp/only-at-dest", Body=b"left alone")  # excluded: no difference either
    filters = ("--exclude", "logs/*", "--exclude", "tmp/*", "--include", "logs/keep.txt")
    env = cli_env(moto_server)
    result = sync(f"s3://{source}", f"s3://{dest}", *filters, env=env, report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result)

    code, found, _ = verify(f"s3://{source}", f"s3://{dest}", *filters, env=env)
    assert (code, found["difference_count"], found["compared"]) == (0, 0, 3), found
    assert (found["source_objects"], found["excluded"], found["destination_objects"]) == (3, 2, 3)

    code, found, _ = verify(f"s3://{source}", f"s3://{dest}", env=env)  # unfiltered: the left-out keys differ
    assert code == 1 and {(d["key"], d["what"]) for d in found["differences"]} == {
        ("logs/x.log", "missing"), ("tmp/y", "missing"), ("tmp/only-at-dest", "extra")}


def test_verify_lists_in_key_ranges_as_sync_does(moto_server, s3, pair, tmp_path):
    source, dest = pair
    for key in PREFIXED:
        s3.put_object(Bucket=source, Key=key, Body=key.encode())
    env = cli_env(moto_server, page_size="3", listing_ranges="4", concurrency="4")  # ~15 pages: 3 or 4 ranges
    assert sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=tmp_path / "r.json").returncode == 0
    s3.put_object(Bucket=dest, Key="q04/part-013", Body=b"q04/part-XXX")  # same size, other bytes
    s3.delete_object(Bucket=dest, Key="q08/part-044")

    code, found, stderr = verify(f"s3://{source}", f"s3://{dest}", env={**env, DEBUG_VARIABLE: "1"})

    assert re.search(r"listing [234] key ranges at once", stderr), stderr
    assert code == 1 and found["source_objects"] == len(PREFIXED) and found["compared"] == len(PREFIXED) - 1
    assert {(d["key"], d["what"]) for d in found["differences"]} == {
        ("q04/part-013", "etag"), ("q08/part-044", "missing")}


def test_a_filtered_history_replica_verifies_clean(moto_server, s3, locked_buckets, tmp_path):
    """--all-versions with filters: the left-out keys' histories are compared on neither side."""
    source, dest = locked_buckets
    for body in (b"v1", b"v2"):
        s3.put_object(Bucket=source, Key="doc", Body=body)
        s3.put_object(Bucket=source, Key="tmp/scratch", Body=body)
    s3.put_object(Bucket=dest, Key="tmp/only-at-dest", Body=b"left alone")
    env = cli_env(moto_server)
    result = sync(f"s3://{source}", f"s3://{dest}", "--all-versions", "--exclude", "tmp/*", env=env,
                  report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result)

    code, found, _ = verify(f"s3://{source}", f"s3://{dest}", "--all-versions", "--exclude", "tmp/*", env=env)
    assert (code, found["difference_count"], found["source_objects"], found["excluded"]) == (0, 0, 2, 2), found
    code, found, _ = verify(f"s3://{source}", f"s3://{dest}", "--all-versions", env=env)
    assert code == 1 and {d["key"] for d in found["differences"]} == {"tmp/scratch"}
