"""Parsing s3:// URLs and refusing overlapping source and destination."""

from __future__ import annotations

import pytest

from bucketsync.core.errors import UsageError
from bucketsync.core.locations import Location, check_not_overlapping, parse_location


@pytest.mark.parametrize(
    "url, bucket, prefix",
    [
        ("s3://bucket", "bucket", ""),
        ("s3://bucket/", "bucket", ""),
        ("s3://bucket/p", "bucket", "p/"),
        ("s3://bucket/p/", "bucket", "p/"),
        ("s3://bucket/a/b/c", "bucket", "a/b/c/"),
        ("s3://bucket/a b+c%20#x?y", "bucket", "a b+c%20#x?y/"),
        ("s3://bucket//lead", "bucket", "/lead/"),
        ("s3://bucket/\u65e5\u672c", "bucket", "\u65e5\u672c/"),
        ("s3://abc", "abc", ""),
        ("s3://" + "a" * 63, "a" * 63, ""),
        ("s3://my.bucket-1", "my.bucket-1", ""),
        ("s3://1bucket9", "1bucket9", ""),
        ("s3://1.2.3.a", "1.2.3.a", ""),
    ],
)
def test_parse_location(url, bucket, prefix):
    location = parse_location(url)
    assert location == Location(bucket=bucket, prefix=prefix)
    assert str(location) == f"s3://{bucket}/{prefix}"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "bucket",
        "bucket/prefix",
        "/bucket/prefix",
        "s3:/bucket",
        "s3:bucket",
        "https://bucket",
        "S3://bucket",
        "s3://",
        "s3:///prefix",
        "s3://Bucket",
        "s3://BUCKET/p",
        "s3://ab",
        "s3://a",
        "s3://" + "a" * 64,
        "s3://my_bucket",
        "s3://192.168.1.1",
        "s3://10.0.0.1/p",
        "s3://my..bucket",
        "s3://-bucket",
        "s3://bucket-",
        "s3://.bucket",
        "s3://bucket.",
        "s3://buck et",
        "s3://b\u00fccket",
        "s3://bucket\n",
        "s3://bucket\n/prefix",
        "s3://bucket\t",
    ],
)
def test_parse_location_refuses(url):
    with pytest.raises(UsageError) as raised:
        parse_location(url)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "prefix, key, relative",
    [("", "a/b", "a/b"), ("p/", "p/a b", "a b"), ("p/", "p/", ""), ("/x/", "/x//y", "/y")],
)
def test_relative_and_absolute_keys(prefix, key, relative):
    location = Location("bucket", prefix)
    assert location.relative_key(key) == relative
    assert location.absolute_key(relative) == key


# id, source URL, dest URL, same endpoint, overlapping?
OVERLAP = [
    ("same bucket, whole bucket both", "s3://b1b", "s3://b1b", True, True),
    ("same bucket and prefix", "s3://b1b/p", "s3://b1b/p/", True, True),
    ("dest inside source", "s3://b1b/p", "s3://b1b/p/q", True, True),
    ("source inside dest", "s3://b1b/p/q", "s3://b1b/p", True, True),
    ("whole bucket vs prefix", "s3://b1b", "s3://b1b/p", True, True),
    ("sibling prefixes", "s3://b1b/p", "s3://b1b/q", True, False),
    ("prefix of the name, not of the folder", "s3://b1b/a", "s3://b1b/ab", True, False),
    ("different buckets", "s3://b1b", "s3://b2b", True, False),
    ("same bucket name on another endpoint", "s3://b1b", "s3://b1b", False, False),
    ("nested on another endpoint", "s3://b1b/p", "s3://b1b/p/q", False, False),
]


@pytest.mark.parametrize("source, dest, same_endpoint, overlaps", [c[1:] for c in OVERLAP], ids=[c[0] for c in OVERLAP])
def test_check_not_overlapping(source, dest, same_endpoint, overlaps):
    src, dst = parse_location(source), parse_location(dest)
    if overlaps:
        with pytest.raises(UsageError, match="overlap"):
            check_not_overlapping(src, dst, same_endpoint=same_endpoint)
    else:
        assert check_not_overlapping(src, dst, same_endpoint=same_endpoint) is None
