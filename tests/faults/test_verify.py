"""`bucketsync verify`: every kind of difference found, named once, and nothing that is not one.

The other fault tests use verify as their oracle; here it is checked against buckets prepared with one
known difference (or deliberate non-difference) per key. Its pure rules are tabled in
tests/unit/test_verify_rules.py.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from bucketsync.core.locations import Location
from bucketsync.run.verify import verify
from conftest import create_bucket, run_cli, unique_bucket
from tests.integration.helpers import Seed, cli_env, explain, fixture_set, put_multipart, seed, sync

from .conftest import MiB, verify_cli


def in_days(n: float) -> datetime:
    return (datetime.now(timezone.utc) + timedelta(days=n)).replace(microsecond=0)


def test_every_difference_is_found_and_nothing_else(s3_server):
    s3 = s3_server.client()
    source, dest = unique_bucket("vsrc"), unique_bucket("vdst")
    for bucket in (source, dest):
        create_bucket(s3, bucket, object_lock=True)

    def both(key: str, body: bytes, dest_body: bytes | None = None, src: dict | None = None, dst: dict | None = None):
        s3.put_object(Bucket=source, Key=key, Body=body, **(src or {}))
        s3.put_object(Bucket=dest, Key=key, Body=body if dest_body is None else dest_body, **(dst or {}))

    lock = {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": in_days(2)}
    both("same.txt", b"same", src={"ContentType": "text/plain", "Metadata": {"a": "1"}, "Tagging": "t=1", **lock},
         dst={"ContentType": "text/plain", "Metadata": {"a": "1"}, "Tagging": "t=1", **lock})
    s3.put_object(Bucket=source, Key="missing.txt", Body=b"m")
    s3.put_object(Bucket=dest, Key="extra.txt", Body=b"e")
    both("size.txt", b"four", b"three")
    both("etag.txt", b"aaaa", b"bbbb")
    both("type.txt", b"t", src={"ContentType": "text/html"}, dst={"ContentType": "text/plain"})
    both("cache.txt", b"c", src={"CacheControl": "max-age=60"})
    both("disposition.txt", b"d", src={"ContentDisposition": "attachment"})
    both("encoding.txt", b"e", src={"ContentEncoding": "gzip"})
    both("metadata.txt", b"m", src={"Metadata": {"owner": "a"}}, dst={"Metadata": {"owner": "b"}})
    both("tags.txt", b"t", src={"Tagging": "a=1&b=2"}, dst={"Tagging": "a=1"})
    both("retention-missing.txt", b"r", src=lock)
    both("retention-shorter.txt", b"r", src=lock, dst={**lock, "ObjectLockRetainUntilDate": in_days(1)})
    both("retention-longer.txt", b"r", src=lock, dst={**lock, "ObjectLockRetainUntilDate": in_days(9)})  # no difference
    seed(s3, source, [Seed("retention-expired.txt", b"r", mode="GOVERNANCE", retain_until=in_days(-1))])
    s3.put_object(Bucket=dest, Key="retention-expired.txt", Body=b"r")  # no difference
    both("legal-hold.txt", b"h", src={"ObjectLockLegalHoldStatus": "ON"})
    # Same bytes, different part layouts: equal (read and hashed); different bytes, same size: a difference.
    body = os.urandom(6 * MiB)
    source_etag = put_multipart(s3, source, "layout-same.bin", 6 * MiB, 5 * MiB)
    same_bytes = s3.get_object(Bucket=source, Key="layout-same.bin")["Body"].read()
    s3.put_object(Bucket=dest, Key="layout-same.bin", Body=same_bytes)
    s3.put_object(Bucket=source, Key="layout-other.bin", Body=body)
    put_multipart(s3, dest, "layout-other.bin", 6 * MiB, 5 * MiB)
    assert source_etag.endswith('-2"')

    report = verify(s3, s3, Location(source), Location(dest), concurrency=4)

    found = sorted((item.key, item.what) for item in report.differences)
    assert found == sorted([
        ("missing.txt", "missing"), ("extra.txt", "extra"), ("size.txt", "size"), ("etag.txt", "etag"),
        ("type.txt", "ContentType"), ("cache.txt", "CacheControl"), ("disposition.txt", "ContentDisposition"),
        ("encoding.txt", "ContentEncoding"), ("metadata.txt", "metadata"), ("tags.txt", "tags"),
        ("retention-missing.txt", "retention"), ("retention-shorter.txt", "retention"),
        ("legal-hold.txt", "legal_hold"), ("layout-other.bin", "bytes"),
    ])
    assert report.difference_count == len(found) and report.error_count == 0 and report.exit_code() == 1
    assert (report.source_objects, report.destination_objects, report.compared) == (17, 17, 16)

    # The command: the same list as text, exit 1; with --json, the same differences.
    text = run_cli("verify", f"s3://{source}", f"s3://{dest}", env=cli_env(s3_server))
    assert text.returncode == 1 and text.stderr == "", text.stderr
    assert "14 differences" in text.stdout and "'missing.txt': missing at the destination" in text.stdout
    assert "'tags.txt': tags differs" in text.stdout


def test_prefixes_are_compared_relative(s3_server):
    s3 = s3_server.client()
    bucket = create_bucket(s3, unique_bucket("vpre"))
    for prefix in ("one/", "two/"):
        s3.put_object(Bucket=bucket, Key=prefix + "k.txt", Body=b"k", ContentType="text/plain")
    s3.put_object(Bucket=bucket, Key="one/only-here.txt", Body=b"x")
    done = run_cli("verify", f"s3://{bucket}/one", f"s3://{bucket}/two", "--json", env=cli_env(s3_server))
    assert done.returncode == 1
    assert '"key": "only-here.txt"' in done.stdout and '"compared": 1' in done.stdout


def test_nothing_found_after_a_sync_and_tags_removed_by_hand_are(s3_server, tmp_path):
    """Issue 12: after a sync, verify finds nothing; a replica whose tags were then removed by hand is a
    difference (exit 1), named by key and kind."""
    s3 = s3_server.client()
    source, dest = (create_bucket(s3, unique_bucket(stem), object_lock=True) for stem in ("vsrc", "vdst"))
    seeds = fixture_set()
    seed(s3, source, seeds)
    put_multipart(s3, source, "big/tagged.bin", 6 * MiB, 5 * MiB, tags={"kind": "big"}, Metadata={"owner": "ops"})
    result = sync(f"s3://{source}", f"s3://{dest}", env=cli_env(s3_server), report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result)

    clean = verify_cli(s3_server, source, dest)

    assert clean["exit_code"] == 0 and clean["equal"], clean["differences"]
    assert clean["compared"] == len(seeds) + 1

    # By version id: on a versioned bucket Ceph RGW answers DeleteObjectTagging without one with 204 and
    # removes nothing.
    current = s3.head_object(Bucket=dest, Key="headers/page.html.gz")["VersionId"]
    s3.delete_object_tagging(Bucket=dest, Key="headers/page.html.gz", VersionId=current)
    tampered = verify_cli(s3_server, source, dest)

    assert tampered["exit_code"] == 1 and not tampered["equal"]
    assert [(item["key"], item["what"]) for item in tampered["differences"]] == [("headers/page.html.gz", "tags")]
