"""Storage class and encryption of the copies, on moto: the class carried over or set, archive-class
objects failed with their reason, bad choices refused in one line, and the SSE-C / SSE-KMS headers on
every request that needs them (moto ignores SSE-C, so here the requests are asserted; Ceph RGW, which
encrypts, is in test_encryption_rgw.py)."""

from __future__ import annotations

import base64
import os

import pytest

from bucketsync.run.context import prepare_run
from bucketsync.engine.execute import execute
from bucketsync.core.model import ObjectEntry
from bucketsync.core.plan import PlannedAction
from bucketsync.core.settings import load_settings
from conftest import create_bucket, set_side_env, unique_bucket
from tests.faults.conftest import (  # noqa: F401 (the recording proxies, as fixtures)
    other_proxy,
    other_proxy_session,
    proxy,
    proxy_session,
    through,
)

from .helpers import check_error_exit, cli_env, explain, list_keys, put_multipart, sync

MiB = 1024 * 1024
SOURCE_KEY = base64.b64encode(b"s" * 32).decode()
DEST_KEY = base64.b64encode(b"d" * 32).decode()
CUSTOMER = "x-amz-server-side-encryption-customer-algorithm"
CUSTOMER_MD5 = "x-amz-server-side-encryption-customer-key-md5"
COPY_SOURCE_CUSTOMER_MD5 = "x-amz-copy-source-server-side-encryption-customer-key-md5"


def md5_of_key(key_b64: str) -> str:
    import hashlib

    return base64.b64encode(hashlib.md5(base64.b64decode(key_b64)).digest()).decode()


@pytest.fixture
def pair(s3):
    source, dest = unique_bucket("csrc"), unique_bucket("cdst")
    create_bucket(s3, source)
    create_bucket(s3, dest)
    return source, dest


def classes(s3, bucket: str) -> dict[str, str]:
    return {key: item.get("StorageClass", "STANDARD") for key, item in list_keys(s3, bucket).items()}


def test_storage_class_is_carried_over_or_set(s3, moto_server, pair, tmp_path):
    source, dest = pair
    s3.put_object(Bucket=source, Key="ia.txt", Body=b"infrequent", StorageClass="STANDARD_IA")
    s3.put_object(Bucket=source, Key="std.txt", Body=b"standard")
    put_multipart(s3, source, "big-ir.bin", 11 * MiB, 5 * MiB, StorageClass="GLACIER_IR")
    result = sync(f"s3://{source}", f"s3://{dest}", env=cli_env(moto_server), report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result)
    assert classes(s3, dest) == {"ia.txt": "STANDARD_IA", "std.txt": "STANDARD", "big-ir.bin": "GLACIER_IR"}

    other = unique_bucket("cdst")
    create_bucket(s3, other)
    result = sync(f"s3://{source}", f"s3://{other}", "--storage-class", "ONEZONE_IA", env=cli_env(moto_server),
                  report_path=tmp_path / "r2.json")
    assert result.returncode == 0, explain(result)
    assert set(classes(s3, other).values()) == {"ONEZONE_IA"}


def test_streamed_copies_keep_the_storage_class(s3, moto_server, other_moto_server, tmp_path):
    source = create_bucket(s3, unique_bucket("csrc"))
    other_s3 = other_moto_server.client()
    dest = create_bucket(other_s3, unique_bucket("cdst"))
    s3.put_object(Bucket=source, Key="ia.txt", Body=b"infrequent", StorageClass="STANDARD_IA")
    put_multipart(s3, source, "big-ia.bin", 11 * MiB, 5 * MiB, StorageClass="STANDARD_IA")
    result = sync(f"s3://{source}", f"s3://{dest}", env=cli_env(moto_server, other_moto_server),
                  report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result)
    assert classes(other_s3, dest) == {"ia.txt": "STANDARD_IA", "big-ia.bin": "STANDARD_IA"}


def test_archived_objects_fail_with_their_reason_and_the_rest_is_copied(s3, moto_server, pair, tmp_path):
    source, dest = pair
    s3.put_object(Bucket=source, Key="cold.bin", Body=b"frozen", StorageClass="GLACIER")
    s3.put_object(Bucket=source, Key="deep.bin", Body=b"deeper", StorageClass="DEEP_ARCHIVE")
    s3.put_object(Bucket=source, Key="warm.txt", Body=b"readable")
    result = sync(f"s3://{source}", f"s3://{dest}", env=cli_env(moto_server), report_path=tmp_path / "r.json")
    assert result.returncode == 1, explain(result)
    assert (result.report["copied"], result.report["failed"]) == (1, 2)
    reasons = {item["key"]: item["reason"] for item in result.report["failures"]}
    assert "storage class GLACIER and not restored" in reasons["cold.bin"]
    assert "storage class DEEP_ARCHIVE and not restored" in reasons["deep.bin"]
    assert all("restore it" in reason for reason in reasons.values())
    assert "cold.bin" in result.stdout and "GLACIER" in result.stdout
    assert sorted(list_keys(s3, dest)) == ["warm.txt"]


@pytest.mark.parametrize(
    "options, fragment",
    [
        (("--storage-class", "GLACIERR"), "unknown storage class 'GLACIERR'"),
        (("--sse", "aes256"), "--sse must be AES256 or aws:kms"),
        (("--sse-kms-key-id", "alias/x"), "--sse-kms-key-id needs --sse aws:kms"),
    ],
)
def test_bad_copy_choices_are_usage_errors(s3, moto_server, pair, tmp_path, options, fragment):
    source, dest = pair
    s3.put_object(Bucket=source, Key="a", Body=b"a")
    result = sync(f"s3://{source}", f"s3://{dest}", *options, env=cli_env(moto_server), report_path=tmp_path / "r.json")
    check_error_exit(result, fragment)
    assert list_keys(s3, dest) == {}


def test_a_bad_sse_c_key_is_a_settings_error_that_does_not_show_it(s3, moto_server, pair, tmp_path):
    source, dest = pair
    bad = base64.b64encode(b"sixteen byte key").decode()
    result = sync(f"s3://{source}", f"s3://{dest}", env=cli_env(moto_server, source__sse_c_key=bad),
                  report_path=tmp_path / "r.json")
    check_error_exit(result, "source.sse_c_key", "32 bytes")
    assert bad not in result.stderr


# ---------------------------------------------------------------- the requests sent


def copy_one(ctx, s3, bucket: str, key: str):
    listed = list_keys(s3, bucket)[key]
    outcome = execute(ctx, PlannedAction("copy", key, source=ObjectEntry(key, listed["Size"], listed["ETag"])))
    assert outcome.status == "copied", outcome
    return outcome


def prepare(monkeypatch, source_server, dest_server, source: str, dest: str, **run):
    set_side_env(monkeypatch, "source", source_server)
    set_side_env(monkeypatch, "dest", dest_server)
    monkeypatch.setenv("BUCKETSYNC_SOURCE__SSE_C_KEY", SOURCE_KEY)
    monkeypatch.setenv("BUCKETSYNC_DEST__SSE_C_KEY", DEST_KEY)
    settings = load_settings(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    return prepare_run(settings, f"s3://{source}", f"s3://{dest}", **run)[1]


def by_side(exchanges, source: str) -> list[tuple[str, str, str | None, str | None]]:
    """(operation, side, the customer key's MD5, the copy source's customer key MD5) per request."""
    return [
        (e.request.operation, "source" if e.request.bucket == source else "dest",
         e.request.headers.get(CUSTOMER_MD5), e.request.headers.get(COPY_SOURCE_CUSTOMER_MD5))
        for e in exchanges if e.request.bucket and not (e.request.key or "").startswith("bucketsync-quirk-probe-")
    ]


def test_sse_c_copies_on_one_endpoint_stream_with_each_sides_key(monkeypatch, moto_server, s3, proxy, pair):
    """Never server-side: Ceph RGW 16.2 refuses CopyObject / UploadPartCopy of SSE-C sources."""
    source, dest = pair
    s3.put_object(Bucket=source, Key="small", Body=b"small")
    put_multipart(s3, source, "big", 11 * MiB, 5 * MiB)
    ctx = prepare(monkeypatch, through(proxy, moto_server), through(proxy, moto_server), source, dest)
    assert not ctx.server_side
    src, dst = md5_of_key(SOURCE_KEY), md5_of_key(DEST_KEY)

    proxy.exchanges.clear()
    copy_one(ctx, s3, source, "small")
    copy_one(ctx, s3, source, "big")
    assert by_side(proxy.exchanges, source) == [
        ("GetObject", "source", src, None), ("GetObjectTagging", "source", None, None),
        ("PutObject", "dest", dst, None),
        ("HeadObject", "dest", dst, None),  # the first writes of a run are read back, with the destination's key
        ("GetObject", "source", src, None), ("GetObjectTagging", "source", None, None),
        ("HeadObject", "source", src, None),  # its first part's size
        ("CreateMultipartUpload", "dest", dst, None),
        ("UploadPart", "dest", dst, None), ("UploadPart", "dest", dst, None), ("UploadPart", "dest", dst, None),
        ("CompleteMultipartUpload", "dest", None, None),
        ("HeadObject", "dest", dst, None),
    ]
    assert all(e.request.headers.get(CUSTOMER) in (None, "AES256") for e in proxy.exchanges)


def test_streamed_copies_send_each_sides_sse_c_key(monkeypatch, moto_server, other_moto_server, s3, proxy, other_proxy):
    source = create_bucket(s3, unique_bucket("csrc"))
    dest = create_bucket(other_moto_server.client(), unique_bucket("cdst"))
    s3.put_object(Bucket=source, Key="small", Body=b"small")
    s3.put_object(Bucket=source, Key="big", Body=os.urandom(11 * MiB))
    ctx = prepare(monkeypatch, through(proxy, moto_server), through(other_proxy, other_moto_server), source, dest)
    src, dst = md5_of_key(SOURCE_KEY), md5_of_key(DEST_KEY)

    proxy.exchanges.clear(), other_proxy.exchanges.clear()
    copy_one(ctx, s3, source, "small")
    copy_one(ctx, s3, source, "big")
    assert by_side(proxy.exchanges, source) == [
        ("GetObject", "source", src, None), ("GetObjectTagging", "source", None, None)
    ] * 2
    assert by_side(other_proxy.exchanges, source) == [
        ("PutObject", "dest", dst, None),
        ("HeadObject", "dest", dst, None),  # the first writes of a run are read back, with the destination's key
        ("CreateMultipartUpload", "dest", dst, None),
        ("UploadPart", "dest", dst, None), ("UploadPart", "dest", dst, None), ("UploadPart", "dest", dst, None),
        ("CompleteMultipartUpload", "dest", None, None),
        ("HeadObject", "dest", dst, None),
    ]


def test_sse_kms_and_storage_class_go_on_the_writes(monkeypatch, moto_server, s3, proxy, pair):
    source, dest = pair
    s3.put_object(Bucket=source, Key="small", Body=b"small", StorageClass="STANDARD_IA")
    set_side_env(monkeypatch, "source", through(proxy, moto_server))
    set_side_env(monkeypatch, "dest", through(proxy, moto_server))
    _, ctx = prepare_run(load_settings(), f"s3://{source}", f"s3://{dest}", sse="aws:kms", sse_kms_key_id="alias/replica")
    proxy.exchanges.clear()
    listed = list_keys(s3, source)["small"]
    entry = ObjectEntry("small", listed["Size"], listed["ETag"], storage_class=listed["StorageClass"])
    assert execute(ctx, PlannedAction("copy", "small", source=entry)).status == "copied"
    [copy] = [e for e in proxy.exchanges if e.request.operation == "CopyObject"]
    headers = copy.request.headers
    assert headers["x-amz-server-side-encryption"] == "aws:kms"
    assert headers["x-amz-server-side-encryption-aws-kms-key-id"] == "alias/replica"
    assert headers["x-amz-storage-class"] == "STANDARD_IA"
