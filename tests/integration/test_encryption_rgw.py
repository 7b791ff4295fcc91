"""Encrypted copies on Ceph RGW, which really encrypts: SSE-C on both sides (the source's key on every read
and copy, the destination's on every write), SSE-KMS with RGW's `testing` KMS backend; a second run copies
nothing, a changed source is copied again. Neither key appears in the report or the output."""

from __future__ import annotations

import base64
import os
import time

import pytest
from botocore.exceptions import ClientError

from ceph_rgw import KMS_TEST_KEY_ID
from conftest import create_bucket, unique_bucket
from .helpers import cli_env, explain, put_multipart, sync

MiB = 1024 * 1024
SOURCE_KEY = os.urandom(32)
DEST_KEY = os.urandom(32)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def customer(key: bytes) -> dict:
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


def test_sse_c_on_both_sides(rgw_server, tmp_path):
    s3 = rgw_server.client()
    source, dest = create_bucket(s3, unique_bucket("esrc")), create_bucket(s3, unique_bucket("edst"))
    small = b"secret bytes " * 100
    s3.put_object(Bucket=source, Key="small.txt", Body=small, Metadata={"owner": "ops"}, **customer(SOURCE_KEY))
    big = os.urandom(11 * MiB)
    upload = s3.create_multipart_upload(Bucket=source, Key="big.bin", **customer(SOURCE_KEY))
    parts = []
    for number, start in enumerate(range(0, len(big), 5 * MiB), start=1):
        answer = s3.upload_part(Bucket=source, Key="big.bin", UploadId=upload["UploadId"], PartNumber=number,
                                Body=big[start:start + 5 * MiB], **customer(SOURCE_KEY))
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    s3.complete_multipart_upload(Bucket=source, Key="big.bin", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": parts})
    time.sleep(1.1)  # the copies are written in a later second than the sources (change detection by time)
    env = cli_env(rgw_server, source__sse_c_key=b64(SOURCE_KEY), dest__sse_c_key=b64(DEST_KEY),
                  multipart_threshold=str(5 * MiB), multipart_chunksize=str(5 * MiB))

    first = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=tmp_path / "1.json")
    assert first.returncode == 0, explain(first)
    assert first.report["copied"] == 2
    copied = s3.get_object(Bucket=dest, Key="small.txt", **customer(DEST_KEY))
    assert copied["Body"].read() == small and copied["Metadata"] == {"owner": "ops"}
    assert s3.get_object(Bucket=dest, Key="big.bin", **customer(DEST_KEY))["Body"].read() == big
    with pytest.raises(ClientError):  # encrypted with the destination's key, not the source's
        s3.get_object(Bucket=dest, Key="small.txt", **customer(SOURCE_KEY))

    again = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=tmp_path / "2.json")
    assert again.returncode == 0, explain(again)
    assert (again.report["copied"], again.report["skipped"]) == (0, 2)

    changed = b"SECRET BYTES " * 100  # the same size: only the time tells
    s3.put_object(Bucket=source, Key="small.txt", Body=changed, **customer(SOURCE_KEY))
    time.sleep(1.1)
    third = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=tmp_path / "3.json")
    assert third.returncode == 0, explain(third)
    assert (third.report["copied"], third.report["skipped"]) == (1, 1)
    assert s3.get_object(Bucket=dest, Key="small.txt", **customer(DEST_KEY))["Body"].read() == changed

    for result in (first, again, third):
        for key in (SOURCE_KEY, DEST_KEY):
            assert b64(key) not in result.stdout + result.stderr + str(result.report)


def test_sse_c_source_without_its_key_fails_per_object_with_the_servers_reason(rgw_server, tmp_path):
    s3 = rgw_server.client()
    source, dest = create_bucket(s3, unique_bucket("esrc")), create_bucket(s3, unique_bucket("edst"))
    s3.put_object(Bucket=source, Key="locked-away.txt", Body=b"x", **customer(SOURCE_KEY))
    result = sync(f"s3://{source}", f"s3://{dest}", env=cli_env(rgw_server), report_path=tmp_path / "r.json")
    assert result.returncode == 1, explain(result)
    assert result.report["failed"] == 1 and result.report["failures"][0]["key"] == "locked-away.txt"


def test_sse_kms_copies_with_rgw_testing_backend(rgw_server, tmp_path):
    s3 = rgw_server.client()
    source, dest = create_bucket(s3, unique_bucket("ksrc")), create_bucket(s3, unique_bucket("kdst"))
    s3.put_object(Bucket=source, Key="plain.txt", Body=b"plain " * 50)
    put_multipart(s3, source, "big.bin", 11 * MiB, 5 * MiB)
    time.sleep(1.1)
    env = cli_env(rgw_server, multipart_threshold=str(5 * MiB), multipart_chunksize=str(5 * MiB))
    options = ("--sse", "aws:kms", "--sse-kms-key-id", KMS_TEST_KEY_ID)

    first = sync(f"s3://{source}", f"s3://{dest}", *options, env=env, report_path=tmp_path / "1.json")
    assert first.returncode == 0, explain(first)
    assert first.report["copied"] == 2
    for key in ("plain.txt", "big.bin"):
        head = s3.head_object(Bucket=dest, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms" and head.get("SSEKMSKeyId") == KMS_TEST_KEY_ID
    assert s3.get_object(Bucket=dest, Key="plain.txt")["Body"].read() == b"plain " * 50

    again = sync(f"s3://{source}", f"s3://{dest}", *options, env=env, report_path=tmp_path / "2.json")
    assert again.returncode == 0, explain(again)
    assert (again.report["copied"], again.report["skipped"]) == (0, 2)
