"""Each S3 call takes only what its allow-list names; a stray explicit argument is a bug. No I/O."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bucketsync.engine.s3_calls import ALLOWED_ARGS, request_args

UNTIL = datetime(2030, 1, 1, tzinfo=timezone.utc)
CARRY = {
    "ContentType": "text/plain",
    "CacheControl": "no-cache",
    "Metadata": {"owner": "ops"},
    "Tagging": "a=1",
    "ObjectLockMode": "GOVERNANCE",
    "ObjectLockRetainUntilDate": UNTIL,
    "ObjectLockLegalHoldStatus": "ON",
}
LOCK = {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": UNTIL, "ObjectLockLegalHoldStatus": "ON"}
TARGET = {"Bucket": "b", "Key": "k"}


@pytest.mark.parametrize(
    "operation, args, expected",
    [
        # the directives carry headers, metadata and tags: a copy takes only the lock from what is carried
        ("copy_object", {**TARGET, "CopySource": {"Bucket": "s", "Key": "k"}, "MetadataDirective": "COPY"},
         {**TARGET, "CopySource": {"Bucket": "s", "Key": "k"}, "MetadataDirective": "COPY", **LOCK}),
        ("create_multipart_upload", TARGET, {**TARGET, **CARRY}),
        ("put_object", {**TARGET, "Body": b"x", "ContentMD5": "m"}, {**TARGET, "Body": b"x", "ContentMD5": "m", **CARRY}),
        ("upload_part", {**TARGET, "UploadId": "u", "PartNumber": 1, "Body": b"x"},
         {**TARGET, "UploadId": "u", "PartNumber": 1, "Body": b"x"}),
        ("upload_part_copy", {**TARGET, "UploadId": "u", "PartNumber": 1, "CopySourceRange": None},
         {**TARGET, "UploadId": "u", "PartNumber": 1}),  # None: left out (the empty part names no range)
        # a rewrite (MetadataDirective REPLACE) names metadata and headers itself: those it is sent
        ("copy_object", {**TARGET, "CopySource": {"Bucket": "b", "Key": "k"}, "MetadataDirective": "REPLACE",
                         "Metadata": {"m": "1"}, "ContentType": "text/html"},
         {**TARGET, "CopySource": {"Bucket": "b", "Key": "k"}, "MetadataDirective": "REPLACE",
          "Metadata": {"m": "1"}, "ContentType": "text/html", **LOCK}),
        ("put_object_tagging", {**TARGET, "VersionId": "v", "Tagging": {"TagSet": []}},
         {**TARGET, "VersionId": "v", "Tagging": {"TagSet": []}}),
        ("head_object", {**TARGET, "VersionId": None}, TARGET),
        ("complete_multipart_upload", {**TARGET, "UploadId": "u"}, {**TARGET, "UploadId": "u"}),
    ],
)
def test_request_args_take_only_what_the_call_allows(operation, args, expected):
    assert request_args(operation, args, CARRY) == expected


@pytest.mark.parametrize(
    "operation, stray",
    [
        ("copy_object", "Tagging"),  # the TaggingDirective COPY carries the tags
        ("create_multipart_upload", "MetadataDirective"),  # CopyObject only (s3transfer strips it too)
        ("upload_part", "ObjectLockMode"),
        ("head_object", "IfMatch"),
    ],
)
def test_a_stray_explicit_argument_is_refused(operation, stray):
    with pytest.raises(TypeError, match=stray):
        request_args(operation, {**TARGET, stray: "x"})


def test_every_list_names_its_target():
    assert all({"Bucket", "Key"} <= allowed for allowed in ALLOWED_ARGS.values())
