"""The exact S3 requests each copy path sends, as s3transfer's tests/unit/test_copies.py asserts them.

The engine runs in this process against real moto servers through the recording proxy
(tests/faults/proxy.py); each test executes one planned copy and reads back, in order, the operations
the proxy saw, their key arguments and headers. These first tests copy on a run that has already seen
its server honour tags, metadata and headers on every write path (`proven`), so only the lock is read
back; the tests at the end show the read-backs of a run's first writes, and what a server that ignores
them costs:

    server-side single     HeadObject, CopyObject (version pin, directives, lock headers), read-back
    server-side multipart  CreateMultipartUpload (metadata, tags, lock), UploadPartCopy per range (in parallel),
                           CompleteMultipartUpload, read-back, lock set after (moto ignores it on create)
    streamed single        GetObject (If-Match), PutObject (Content-MD5, metadata, tags, lock), read-back
    streamed multipart     GetObject, CreateMultipartUpload, UploadPart per part (Content-MD5, in parallel), complete
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from datetime import datetime
from urllib.parse import parse_qs, unquote

import pytest

from bucketsync.run.context import prepare_run
from bucketsync.engine.execute import execute
from bucketsync.core.model import ObjectEntry
from bucketsync.core.plan import PlannedAction
from bucketsync.core.settings import load_settings
from bucketsync.core.write_checks import ATTRIBUTES, TRUSTED_AFTER, WRITE_PATHS
from conftest import set_side_env, unique_bucket
from tests.faults.conftest import (  # noqa: F401 (the recording proxies, as fixtures)
    other_proxy,
    other_proxy_session,
    proxy,
    proxy_session,
    through,
)
from tests.faults.proxy import Exchange

from .helpers import Seed, compare_object, in_days, list_keys, put_multipart, put_parts, seed

MiB = 1024 * 1024
RETAIN_UNTIL = in_days(3)
LOCKED = dict(mode="GOVERNANCE", retain_until=RETAIN_UNTIL, legal_hold=True)
DESCRIBED = dict(headers={"ContentType": "text/x-test"}, metadata={"owner": "ops"}, tags={"class": "a b"})
LOCK_HEADERS = ("x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold")


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def copy_source(exchange: Exchange) -> tuple[str, str, str | None]:
    """(bucket, key, versionId) named by a copy request's x-amz-copy-source header."""
    header = exchange.request.headers["x-amz-copy-source"]
    path, _, query = header.partition("?")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    return bucket, key, parse_qs(query).get("versionId", [None])[0]


def sent(proxy, *buckets: str) -> list[Exchange]:
    """What the proxy forwarded for these buckets, in order (the quirk probe left out)."""
    return [
        exchange for exchange in proxy.exchanges
        if exchange.request.bucket in buckets and not (exchange.request.key or "").startswith("bucketsync-quirk-probe-")
    ]


def operations(exchanges: list[Exchange], source: str) -> list[tuple[str, str]]:
    return [(e.request.operation, "source" if e.request.bucket == source else "dest") for e in exchanges]


def query(exchange: Exchange, name: str) -> str | None:
    return exchange.request.query.get(name, [None])[0]


def assert_lock_headers(exchange: Exchange) -> None:
    headers = exchange.request.headers
    assert headers["x-amz-object-lock-mode"] == "GOVERNANCE"
    assert datetime.fromisoformat(headers["x-amz-object-lock-retain-until-date"].replace("Z", "+00:00")) == RETAIN_UNTIL
    assert headers["x-amz-object-lock-legal-hold"] == "ON"


def assert_describes_object(exchange: Exchange) -> None:
    """Content headers, metadata and tags sent with an upload (not with a copy: its directives carry them)."""
    headers = exchange.request.headers
    assert headers["content-type"] == "text/x-test"
    assert headers["x-amz-meta-owner"] == "ops"
    assert parse_qs(headers["x-amz-tagging"]) == {"class": ["a b"]}


def assert_carries_nothing(exchange: Exchange) -> None:
    headers = exchange.request.headers
    assert not [name for name in headers if name.startswith(("x-amz-meta-", "x-amz-object-lock", "x-amz-tagging"))], headers
    assert "x-amz-metadata-directive" not in headers and "x-amz-tagging-directive" not in headers


def completed_part_numbers(complete) -> list[int]:
    """The part numbers a CompleteMultipartUpload request lists, in its order."""
    assert complete.request.operation == "CompleteMultipartUpload"
    return [int(number) for number in re.findall(rb"<PartNumber>(\d+)</PartNumber>", complete.request.body)]


def prepare(monkeypatch, source_server, dest_server, source: str, dest: str, **settings):
    set_side_env(monkeypatch, "source", source_server)
    set_side_env(monkeypatch, "dest", dest_server)
    return prepare_run(load_settings(**settings), f"s3://{source}", f"s3://{dest}")


def proven(prepared):
    """The context of `prepare`'s run, once its server has held tags, metadata and headers on every path."""
    _, ctx = prepared
    for path in WRITE_PATHS:
        for attribute in ATTRIBUTES:
            for _ in range(TRUSTED_AFTER):
                ctx.write_checks.record(path, attribute, True)
    return ctx


def copy_one(ctx, client, bucket: str, key: str):
    """Execute the planned copy of `key` as listed now; the outcome."""
    listed = list_keys(client, bucket)[key]
    action = PlannedAction("copy", key, source=ObjectEntry(key, listed["Size"], listed["ETag"]))
    outcome = execute(ctx, action)
    assert outcome.status == "copied", outcome
    return outcome


@pytest.fixture
def locked_pair(s3):
    source, dest = unique_bucket("qsrc"), unique_bucket("qdst")
    s3.create_bucket(Bucket=source, ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket=dest, ObjectLockEnabledForBucket=True)
    return source, dest


@pytest.fixture
def plain_pair(s3):
    source, dest = unique_bucket("qsrc"), unique_bucket("qdst")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=dest)
    return source, dest


# ---------------------------------------------------------------- server-side


def test_server_side_single_copy_is_pinned_to_the_version_and_carries_the_lock(monkeypatch, moto_server, s3, proxy, locked_pair):
    source, dest = locked_pair
    seed(s3, source, [Seed("dir/a b.txt", b"single part", **LOCKED, **DESCRIBED)])
    version_id = s3.head_object(Bucket=source, Key="dir/a b.txt")["VersionId"]
    ctx = proven(prepare(monkeypatch, through(proxy, moto_server), through(proxy, moto_server), source, dest))
    proxy.exchanges.clear()

    outcome = copy_one(ctx, s3, source, "dir/a b.txt")

    exchanges = sent(proxy, source, dest)
    assert operations(exchanges, source) == [("HeadObject", "source"), ("CopyObject", "dest"), ("HeadObject", "dest")]
    head, copy, read_back = exchanges
    assert head.request.key == "dir/a b.txt" and query(head, "versionId") is None
    assert copy.request.key == "dir/a b.txt"
    assert copy_source(copy) == (source, "dir/a b.txt", version_id)
    assert "x-amz-copy-source-if-match" not in copy.request.headers  # the version id pins it
    headers = copy.request.headers
    assert (headers["x-amz-metadata-directive"], headers["x-amz-tagging-directive"]) == ("COPY", "COPY")
    assert_lock_headers(copy)
    assert not [name for name in headers if name.startswith("x-amz-meta-")] and "x-amz-tagging" not in headers
    new_version = s3.head_object(Bucket=dest, Key="dir/a b.txt")["VersionId"]
    assert query(read_back, "versionId") == new_version  # the lock is read back from the new version itself
    assert outcome.version_id == version_id and outcome.notes == ()


def test_server_side_single_copy_of_an_unversioned_source_is_pinned_by_etag(monkeypatch, moto_server, s3, proxy, plain_pair):
    source, dest = plain_pair
    s3.put_object(Bucket=source, Key="plain.txt", Body=b"no lock, no versions")
    ctx = proven(prepare(monkeypatch, through(proxy, moto_server), through(proxy, moto_server), source, dest))
    proxy.exchanges.clear()

    copy_one(ctx, s3, source, "plain.txt")

    exchanges = sent(proxy, source, dest)
    assert operations(exchanges, source) == [("CopyObject", "dest")]  # no HEAD: nothing to read first
    [copy] = exchanges
    assert copy_source(copy) == (source, "plain.txt", None)
    assert copy.request.headers["x-amz-copy-source-if-match"] == s3.head_object(Bucket=source, Key="plain.txt")["ETag"]
    assert not [name for name in copy.request.headers if name.startswith("x-amz-object-lock")]


def test_server_side_multipart_copy_of_a_large_single_part_object(monkeypatch, moto_server, s3, proxy, locked_pair):
    """11 MiB above a 5 MiB threshold: three UploadPartCopy ranges of 5, 5 and 1 MiB, each pinned to the version."""
    source, dest = locked_pair
    body = os.urandom(11 * MiB)
    seed(s3, source, [Seed("big.bin", body, **LOCKED, **DESCRIBED)])
    version_id = s3.head_object(Bucket=source, Key="big.bin")["VersionId"]
    ctx = proven(prepare(monkeypatch, through(proxy, moto_server), through(proxy, moto_server), source, dest,
                     multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))
    proxy.exchanges.clear()

    outcome = copy_one(ctx, s3, source, "big.bin")

    exchanges = sent(proxy, source, dest)
    assert operations(exchanges, source) == [
        ("HeadObject", "source"), ("GetObjectTagging", "source"), ("CreateMultipartUpload", "dest"),
        ("UploadPartCopy", "dest"), ("UploadPartCopy", "dest"), ("UploadPartCopy", "dest"),
        ("CompleteMultipartUpload", "dest"), ("HeadObject", "dest"),
        ("PutObjectRetention", "dest"), ("PutObjectLegalHold", "dest"),  # moto ignores lock args on create
    ]
    tagging, create, *parts = exchanges[1:6]
    complete = exchanges[6]
    assert query(tagging, "versionId") == version_id
    assert_describes_object(create)
    assert_lock_headers(create)
    assert "x-amz-metadata-directive" not in create.request.headers  # directives are for CopyObject only
    upload_id = {query(part, "uploadId") for part in parts}
    assert len(upload_id) == 1 and upload_id != {None}
    # The parts run in parallel: sent in any order, each its own range; completed in part-number order.
    assert sorted((query(part, "partNumber"), part.request.headers["x-amz-copy-source-range"]) for part in parts) == [
        ("1", f"bytes=0-{5 * MiB - 1}"), ("2", f"bytes={5 * MiB}-{10 * MiB - 1}"),
        ("3", f"bytes={10 * MiB}-{11 * MiB - 1}"),
    ]
    assert completed_part_numbers(complete) == [1, 2, 3]
    assert {copy_source(part) for part in parts} == {(source, "big.bin", version_id)}
    assert not any("x-amz-copy-source-if-match" in part.request.headers for part in parts)
    for part in parts:
        assert_carries_nothing(part)
    assert outcome.bytes_copied == 11 * MiB and "lock_set_after_write" in outcome.notes
    assert s3.get_object(Bucket=dest, Key="big.bin")["Body"].read() == body


def test_a_failed_part_aborts_the_upload_after_the_other_parts_have_ended(
    monkeypatch, moto_server, s3, proxy, locked_pair
):
    """Parts run in parallel; part 2 is refused: nothing is completed, and the abort comes last."""
    source, dest = locked_pair
    seed(s3, source, [Seed("big.bin", os.urandom(16 * MiB))])
    ctx = proven(prepare(monkeypatch, through(proxy, moto_server), through(proxy, moto_server), source, dest,
                         multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))
    proxy.on(lambda request: request.operation == "UploadPartCopy" and request.query.get("partNumber") == ["2"],
             action="error", error=(403, "AccessDenied", "Access Denied"))
    proxy.exchanges.clear()

    listed = list_keys(s3, source)["big.bin"]
    outcome = execute(ctx, PlannedAction("copy", "big.bin", source=ObjectEntry("big.bin", listed["Size"], listed["ETag"])))

    assert outcome.status == "failed" and "AccessDenied" in outcome.reason, outcome
    ops = [op for op, _ in operations(sent(proxy, source, dest), source)]
    assert "CompleteMultipartUpload" not in ops
    assert ops[-1] == "AbortMultipartUpload" and ops.count("AbortMultipartUpload") == 1
    assert 2 <= ops.count("UploadPartCopy") <= 4  # part 2 and the others already started; none after the abort
    assert s3.list_multipart_uploads(Bucket=dest).get("Uploads", []) == []
    assert list_keys(s3, dest) == {}


def test_server_side_multipart_copy_keeps_the_source_part_layout(monkeypatch, moto_server, s3, proxy, locked_pair):
    """A 2 × 6 MiB multipart source copies in 6 MiB parts (read with HEAD PartNumber=1): the same ETag."""
    source, dest = locked_pair
    etag = put_multipart(s3, source, "layout.bin", 12 * MiB, 6 * MiB)
    ctx = proven(prepare(monkeypatch, through(proxy, moto_server), through(proxy, moto_server), source, dest,
                     multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))
    proxy.exchanges.clear()

    copy_one(ctx, s3, source, "layout.bin")

    exchanges = sent(proxy, source, dest)
    assert operations(exchanges, source) == [
        ("HeadObject", "source"), ("HeadObject", "source"), ("GetObjectTagging", "source"),
        ("CreateMultipartUpload", "dest"), ("UploadPartCopy", "dest"), ("UploadPartCopy", "dest"),
        ("CompleteMultipartUpload", "dest"),
    ]  # no lock asked: nothing to read back
    assert query(exchanges[1], "partNumber") == "1"
    assert sorted((query(e, "partNumber"), e.request.headers["x-amz-copy-source-range"]) for e in exchanges[4:6]) == [
        ("1", f"bytes=0-{6 * MiB - 1}"), ("2", f"bytes={6 * MiB}-{12 * MiB - 1}"),
    ]
    assert completed_part_numbers(exchanges[6]) == [1, 2]
    assert s3.head_object(Bucket=dest, Key="layout.bin")["ETag"] == etag


def test_a_layout_not_of_equal_parts_is_aborted_before_completing_and_copied_in_the_parts_the_server_reports(
    monkeypatch, moto_server, s3, proxy, locked_pair
):
    """5 + 6 + 1 MiB: N-1 parts of the first part's size would be 5 + 5 + 2 MiB, another ETag. That upload is
    aborted (no version), every part's size asked, and the copy made in those: one version, the source's ETag."""
    source, dest = locked_pair
    etag = put_parts(s3, source, "uneven.bin", [5 * MiB, 6 * MiB, 1 * MiB])
    ctx = proven(prepare(monkeypatch, through(proxy, moto_server), through(proxy, moto_server), source, dest,
                         multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))
    proxy.exchanges.clear()

    copy_one(ctx, s3, source, "uneven.bin")

    exchanges = sent(proxy, source, dest)
    assert operations(exchanges, source) == [
        ("HeadObject", "source"), ("HeadObject", "source"), ("GetObjectTagging", "source"),
        ("CreateMultipartUpload", "dest"), *[("UploadPartCopy", "dest")] * 3, ("AbortMultipartUpload", "dest"),
        ("HeadObject", "source"), ("HeadObject", "source"), ("HeadObject", "source"), ("GetObjectTagging", "source"),
        ("CreateMultipartUpload", "dest"), *[("UploadPartCopy", "dest")] * 3, ("CompleteMultipartUpload", "dest"),
    ]
    assert [query(e, "partNumber") for e in exchanges[8:11]] == ["1", "2", "3"]
    assert sorted(e.request.headers["x-amz-copy-source-range"] for e in exchanges[13:16]) == sorted([
        f"bytes=0-{5 * MiB - 1}", f"bytes={5 * MiB}-{11 * MiB - 1}", f"bytes={11 * MiB}-{12 * MiB - 1}",
    ])
    assert s3.head_object(Bucket=dest, Key="uneven.bin")["ETag"] == etag
    assert len(s3.list_object_versions(Bucket=dest, Prefix="uneven.bin")["Versions"]) == 1


def test_server_side_multipart_copy_of_an_unversioned_source_checks_the_etag_before_completing(
    monkeypatch, moto_server, s3, proxy, plain_pair
):
    source, dest = plain_pair
    s3.put_object(Bucket=source, Key="big.bin", Body=os.urandom(6 * MiB))
    etag = s3.head_object(Bucket=source, Key="big.bin")["ETag"]
    ctx = proven(prepare(monkeypatch, through(proxy, moto_server), through(proxy, moto_server), source, dest,
                     multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))
    proxy.exchanges.clear()

    copy_one(ctx, s3, source, "big.bin")

    exchanges = sent(proxy, source, dest)
    assert operations(exchanges, source) == [
        # HEAD names no tag count for an untagged object (S3 leaves the header out), so tags are read.
        ("HeadObject", "source"), ("GetObjectTagging", "source"), ("CreateMultipartUpload", "dest"),
        ("UploadPartCopy", "dest"), ("UploadPartCopy", "dest"),
        ("HeadObject", "source"),  # pinned by ETag only: the source must still be that version
        ("CompleteMultipartUpload", "dest"),
    ]
    assert query(exchanges[1], "versionId") is None
    for part in exchanges[3:5]:
        assert part.request.headers["x-amz-copy-source-if-match"] == etag
        assert copy_source(part) == (source, "big.bin", None)
    create = exchanges[2]
    assert not [name for name in create.request.headers if name.startswith("x-amz-object-lock")]


# ---------------------------------------------------------------- streamed


def test_streamed_single_put_carries_md5_metadata_tags_and_lock(
    monkeypatch, moto_server, other_moto_server, s3, proxy, other_proxy
):
    source, dest = unique_bucket("qsrc"), unique_bucket("qdst")
    remote = other_moto_server.client()
    s3.create_bucket(Bucket=source, ObjectLockEnabledForBucket=True)
    remote.create_bucket(Bucket=dest, ObjectLockEnabledForBucket=True)
    body = b"streamed through this process " * 1000
    seed(s3, source, [Seed("s/one.txt", body, **LOCKED, **DESCRIBED)])
    version_id = s3.head_object(Bucket=source, Key="s/one.txt")["VersionId"]
    etag = s3.head_object(Bucket=source, Key="s/one.txt")["ETag"]
    ctx = proven(prepare(monkeypatch, through(proxy, moto_server), through(other_proxy, other_moto_server), source, dest))
    assert not ctx.server_side
    proxy.exchanges.clear()
    other_proxy.exchanges.clear()

    outcome = copy_one(ctx, s3, source, "s/one.txt")

    reads = sent(proxy, source)
    writes = sent(other_proxy, dest)
    assert [e.request.operation for e in reads] == ["GetObject", "GetObjectTagging"]
    assert reads[0].request.headers["if-match"] == etag
    assert query(reads[1], "versionId") == version_id
    assert [e.request.operation for e in writes] == ["PutObject", "HeadObject"]
    put = writes[0]
    assert put.request.body == body
    assert put.request.headers["content-md5"] == md5_b64(body)
    assert int(put.request.headers["content-length"]) == len(body)
    assert_describes_object(put)
    assert_lock_headers(put)
    assert query(writes[1], "versionId") == remote.head_object(Bucket=dest, Key="s/one.txt")["VersionId"]
    assert outcome.version_id == version_id and outcome.bytes_copied == len(body)
    assert remote.head_object(Bucket=dest, Key="s/one.txt")["ETag"] == etag  # single-part stays single-part


def test_streamed_multipart_upload_sends_each_part_with_its_md5(
    monkeypatch, moto_server, other_moto_server, s3, proxy, other_proxy
):
    """A 2 × 6 MiB multipart source streams in its own 6 MiB parts, each with its Content-MD5."""
    source, dest = unique_bucket("qsrc"), unique_bucket("qdst")
    remote = other_moto_server.client()
    s3.create_bucket(Bucket=source, ObjectLockEnabledForBucket=True)
    remote.create_bucket(Bucket=dest, ObjectLockEnabledForBucket=True)
    etag = put_multipart(s3, source, "m.bin", 12 * MiB, 6 * MiB, lock=Seed("", b"", **LOCKED),
                         ContentType="text/x-test", Metadata={"owner": "ops"}, Tagging="class=a+b")
    body = s3.get_object(Bucket=source, Key="m.bin")["Body"].read()
    ctx = proven(prepare(monkeypatch, through(proxy, moto_server), through(other_proxy, other_moto_server), source, dest,
                     multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))
    proxy.exchanges.clear()
    other_proxy.exchanges.clear()

    outcome = copy_one(ctx, s3, source, "m.bin")

    assert [e.request.operation for e in sent(proxy, source)] == ["GetObject", "GetObjectTagging", "HeadObject"]
    assert query(sent(proxy, source)[2], "partNumber") == "1"
    writes = sent(other_proxy, dest)
    assert [e.request.operation for e in writes] == [
        "CreateMultipartUpload", "UploadPart", "UploadPart", "CompleteMultipartUpload", "HeadObject",
        "PutObjectRetention", "PutObjectLegalHold",
    ]
    create, *parts = writes[:3]
    assert_describes_object(create)
    assert_lock_headers(create)
    parts.sort(key=lambda part: int(query(part, "partNumber")))  # uploaded in parallel: in any order
    assert [query(part, "partNumber") for part in parts] == ["1", "2"]
    assert completed_part_numbers(writes[3]) == [1, 2]
    assert [part.request.body for part in parts] == [body[: 6 * MiB], body[6 * MiB :]]
    assert [part.request.headers["content-md5"] for part in parts] == [md5_b64(body[: 6 * MiB]), md5_b64(body[6 * MiB :])]
    for part in parts:
        assert_carries_nothing(part)
    assert remote.head_object(Bucket=dest, Key="m.bin")["ETag"] == etag
    assert "lock_set_after_write" in outcome.notes


# ---------------------------------------------------------------- read-backs of tags, metadata, headers


def test_a_runs_first_plain_copies_are_read_back_until_the_server_has_proved_itself(
    monkeypatch, moto_server, s3, proxy, plain_pair
):
    """A plain copy needs no HEAD; while copy_object is unproven it reads its source and its copy back."""
    source, dest = plain_pair
    keys = [f"plain/{number}.txt" for number in range(TRUSTED_AFTER + 1)]
    seed(s3, source, [Seed(key, b"described", **DESCRIBED) for key in keys])
    _, ctx = prepare(monkeypatch, through(proxy, moto_server), through(proxy, moto_server), source, dest)

    per_copy = []
    for key in keys:
        proxy.exchanges.clear()
        outcome = copy_one(ctx, s3, source, key)
        per_copy.append(operations(sent(proxy, source, dest), source))
        assert outcome.notes == ()  # moto's COPY directives carry everything: nothing set after

    checked = [
        ("HeadObject", "source"), ("CopyObject", "dest"), ("GetObjectTagging", "source"),
        ("HeadObject", "dest"), ("GetObjectTagging", "dest"),
    ]
    assert per_copy == [checked] * TRUSTED_AFTER + [[("CopyObject", "dest")]]
    assert ctx.write_checks.is_trusted("copy_object")
    assert compare_object(s3, source, keys[-1], s3, dest, keys[-1]) == []


def test_a_runs_first_streamed_puts_are_read_back_and_then_trusted(
    monkeypatch, moto_server, other_moto_server, s3, proxy, other_proxy
):
    source, dest = unique_bucket("qsrc"), unique_bucket("qdst")
    remote = other_moto_server.client()
    s3.create_bucket(Bucket=source)
    remote.create_bucket(Bucket=dest)
    keys = [f"s/{number}.txt" for number in range(TRUSTED_AFTER + 2)]
    seed(s3, source, [Seed(key, b"streamed", **DESCRIBED) for key in keys])
    _, ctx = prepare(monkeypatch, through(proxy, moto_server), through(other_proxy, other_moto_server), source, dest)

    writes = []
    for key in keys:
        other_proxy.exchanges.clear()
        copy_one(ctx, s3, source, key)
        writes.append([e.request.operation for e in sent(other_proxy, dest)])

    assert writes == [["PutObject", "HeadObject", "GetObjectTagging"]] * TRUSTED_AFTER + [["PutObject"]] * 2
    assert ctx.write_checks.saved_requests == 2 * 2  # a HEAD and a tag read per trusted copy
    assert compare_object(s3, source, keys[-1], remote, dest, keys[-1]) == []


def test_tags_and_metadata_a_server_ignored_on_create_multipart_upload_are_set_after(
    monkeypatch, moto_server, s3, proxy, locked_pair
):
    """The proxy keeps x-amz-tagging and x-amz-meta-* from moto on CreateMultipartUpload (as Ceph RGW drops
    the tags there): the copy is rewritten with its metadata (a new version), then tagged and locked."""
    source, dest = locked_pair
    body = os.urandom(6 * MiB)
    seed(s3, source, [Seed("big.bin", body, **LOCKED, **DESCRIBED)])
    _, ctx = prepare(monkeypatch, through(proxy, moto_server), through(proxy, moto_server), source, dest,
                     multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    proxy.on(lambda request: request.operation == "CreateMultipartUpload", times=None,
             strip_request_headers=("x-amz-tagging", "x-amz-meta-"))
    proxy.exchanges.clear()

    outcome = copy_one(ctx, s3, source, "big.bin")

    ops = operations(sent(proxy, source, dest), source)
    assert ops[:10] == [
        ("HeadObject", "source"), ("GetObjectTagging", "source"), ("CreateMultipartUpload", "dest"),
        ("UploadPartCopy", "dest"), ("UploadPartCopy", "dest"), ("CompleteMultipartUpload", "dest"),
        ("HeadObject", "dest"),  # one read-back: lock, metadata, headers and the tag count (0: no tag read)
        ("CopyObject", "dest"), ("HeadObject", "dest"),  # the rewrite with the metadata, and its check
        ("PutObjectTagging", "dest"),
    ]
    # The lock: asked on the rewrite too (moto applies it on CopyObject), else set after.
    assert set(ops[10:]) <= {("PutObjectRetention", "dest"), ("PutObjectLegalHold", "dest")}
    rewrite = sent(proxy, source, dest)[7]
    assert rewrite.request.headers["x-amz-metadata-directive"] == "REPLACE"
    assert rewrite.request.headers["x-amz-meta-owner"] == "ops"
    assert rewrite.request.headers["content-type"] == "text/x-test"
    assert {"tags_set_after_write", "metadata_set_after_write"} <= set(outcome.notes)
    assert compare_object(s3, source, "big.bin", s3, dest, "big.bin") == []
    assert s3.get_object(Bucket=dest, Key="big.bin")["Body"].read() == body
    # The version the upload wrote stays behind, noncurrent; the rewritten one is current and locked.
    assert len(s3.list_object_versions(Bucket=dest, Prefix="big.bin")["Versions"]) == 2
    assert ctx.write_checks.summary()["create_multipart_upload/tags"] == "ignored"
    assert ctx.write_checks.summary()["create_multipart_upload/metadata"] == "ignored"
    assert ctx.write_checks.summary()["create_multipart_upload/headers"] == "checking"  # held: counted once


def test_the_metadata_rewrite_asks_for_the_storage_class_and_encryption_the_copy_asked_for(
    monkeypatch, moto_server, s3, proxy, locked_pair
):
    """`--storage-class STANDARD_IA --sse AES256`: the server drops the metadata on CreateMultipartUpload, and
    the version rewritten onto itself with it is still asked to be STANDARD_IA and encrypted."""
    source, dest = locked_pair
    seed(s3, source, [Seed("big.bin", os.urandom(6 * MiB), **LOCKED, **DESCRIBED)])
    set_side_env(monkeypatch, "source", through(proxy, moto_server))
    set_side_env(monkeypatch, "dest", through(proxy, moto_server))
    _, ctx = prepare_run(load_settings(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB),
                         f"s3://{source}", f"s3://{dest}", storage_class="STANDARD_IA", sse="AES256")
    proxy.on(lambda request: request.operation == "CreateMultipartUpload", times=None,
             strip_request_headers=("x-amz-meta-",))
    proxy.exchanges.clear()

    outcome = copy_one(ctx, s3, source, "big.bin")

    assert "metadata_set_after_write" in outcome.notes
    create, rewrite = [e for e in sent(proxy, dest) if e.request.operation in ("CreateMultipartUpload", "CopyObject")]
    for write in (create, rewrite):
        assert write.request.headers["x-amz-storage-class"] == "STANDARD_IA"
        assert write.request.headers["x-amz-server-side-encryption"] == "AES256"
    assert rewrite.request.headers["x-amz-metadata-directive"] == "REPLACE"
    current = s3.head_object(Bucket=dest, Key="big.bin")
    assert current["StorageClass"] == "STANDARD_IA" and current["Metadata"] == {"owner": "ops"}


# ---------------------------------------------------------------- watch: one announced key


def test_a_watched_key_is_read_with_one_head_a_side_and_a_repeat_writes_nothing(monkeypatch, moto_server, s3, proxy, locked_pair):
    """`watch` on its first write (nothing proven yet), an untagged object of a locked source: one HEAD of
    each side, the copy of the version the source's HEAD found, the read-back; no listing, no second
    source HEAD, no tag read. The same key again: the two HEADs only (its lock settled from them)."""
    from bucketsync.run.replicate_key import replicate_key

    source, dest = locked_pair
    seed(s3, source, [Seed("w/a.txt", b"announced", **LOCKED)])
    version_id = s3.head_object(Bucket=source, Key="w/a.txt")["VersionId"]
    request, ctx = prepare(monkeypatch, through(proxy, moto_server), through(proxy, moto_server), source, dest)
    proxy.exchanges.clear()

    outcome = replicate_key(ctx, request, "w/a.txt")

    assert outcome.status == "copied" and outcome.version_id == version_id, outcome
    exchanges = sent(proxy, source, dest)
    ops = operations(exchanges, source)
    assert sorted(ops[:2]) == [("HeadObject", "dest"), ("HeadObject", "source")]  # at once, in either order
    assert ops[2:] == [("CopyObject", "dest"), ("HeadObject", "dest")]
    assert copy_source(exchanges[2]) == (source, "w/a.txt", version_id)
    assert_lock_headers(exchanges[2])
    proxy.exchanges.clear()

    again = replicate_key(ctx, request, "w/a.txt")

    assert again.status == "skipped", again
    assert sorted(operations(sent(proxy, source, dest), source)) == [("HeadObject", "dest"), ("HeadObject", "source")]
    assert len(s3.list_object_versions(Bucket=dest)["Versions"]) == 1
