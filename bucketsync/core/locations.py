"""Parsing `s3://bucket[/prefix]` and mapping keys between source and destination."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UsageError

# S3 bucket naming rules (general purpose buckets); dots allowed, no IP-address form.
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_RE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class Location:
    bucket: str
    prefix: str = ""

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def relative_key(self, key: str) -> str:
        return key[len(self.prefix):]

    def absolute_key(self, relative_key: str) -> str:
        return self.prefix + relative_key


def parse_location(url: str) -> Location:
    """`s3://bucket` or `s3://bucket/prefix`; a non-empty prefix is a folder (a `/` is appended)."""
    if not url.startswith("s3://"):
        raise UsageError(f"not an S3 URL: {url!r} (expected s3://bucket or s3://bucket/prefix)")
    rest = url[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise UsageError(f"no bucket name in {url!r}")
    # fullmatch: `$` would also match before a trailing newline ("bucket\n")
    if not _BUCKET_RE.fullmatch(bucket) or ".." in bucket or _IP_RE.fullmatch(bucket):
        raise UsageError(
            f"invalid bucket name {bucket!r} in {url!r}: 3-63 characters, lowercase letters, digits, '.' and '-'"
        )
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return Location(bucket=bucket, prefix=prefix)


def check_not_overlapping(source: Location, dest: Location, same_endpoint: bool) -> None:
    """Refuse a destination that lies inside the source (or the reverse) on the same server."""
    if not same_endpoint or source.bucket != dest.bucket:
        return
    if source.prefix.startswith(dest.prefix) or dest.prefix.startswith(source.prefix):
        raise UsageError(f"source {source} and destination {dest} overlap in the same bucket")
