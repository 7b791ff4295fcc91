"""Reading the source version a copy pins and carries: its HEAD (or GET) answer, first part and tags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from ..core.copy_options import CopyOptions
from ..core.lockrules import write_lock_args
from ..core.model import LockState, same_etag
from .s3_calls import CONTENT_HEADERS, call


class SourceChanged(Exception):
    """The source moved to another version while a multipart copy pinned only by ETag was running."""


@dataclass(frozen=True)
class SourceVersion:
    """What the copy pins and carries: read from a HEAD (or GET) of the source."""

    version_id: str | None
    etag: str
    size: int
    lock: LockState
    head: dict[str, Any]

    @property
    def storage_class(self) -> str | None:
        return self.head.get("StorageClass")  # HEAD and GET leave it out for STANDARD

    @classmethod
    def from_response(cls, response: dict[str, Any]) -> "SourceVersion":
        return cls(
            version_id=response.get("VersionId"),
            etag=response["ETag"],
            size=int(response["ContentLength"]),
            lock=LockState.from_head(response),
            head=response,
        )


def read_source_version(
    client, bucket: str, key: str, version_id: str | None = None, reads: Mapping[str, Any] | None = None
) -> SourceVersion:
    """The key's current version, or the version `version_id` (`--all-versions`), as HEAD describes it.
    `reads`: the source's SSE-C key arguments, if any."""
    return SourceVersion.from_response(
        call(client, "head_object", Bucket=bucket, Key=key, VersionId=version_id, carry=reads)
    )


def read_source_tags(client, bucket: str, key: str, version: SourceVersion) -> list[dict[str, str]]:
    if version.head.get("TagCount") == 0:
        return []
    answer = call(client, "get_object_tagging", Bucket=bucket, Key=key, VersionId=version.version_id)
    return answer.get("TagSet", [])


def ensure_source_unchanged(
    client, bucket: str, key: str, version: SourceVersion, reads: Mapping[str, Any] | None = None
) -> None:
    """Raise SourceChanged when the key's current version is no longer `version` (by ETag)."""
    current = call(client, "head_object", Bucket=bucket, Key=key, carry=reads)
    if not same_etag(current["ETag"], version.etag):
        raise SourceChanged(key)


def new_version_args(
    version: SourceVersion, tags: list[dict[str, str]], now: datetime, options: CopyOptions
) -> dict[str, Any]:
    """What the copy of `version` is written with (boto3 names): content headers, user metadata, tags, lock,
    storage class, encryption and SSE-C keys. The one place both copy paths build it.

    Each upload call takes from it what its allow-list names (s3_calls).
    """
    args: dict[str, Any] = {name: version.head[name] for name in CONTENT_HEADERS if version.head.get(name)}
    args["Metadata"] = version.head.get("Metadata", {})
    if tags:
        # Spaces as %20, not "+": Ceph RGW takes "+" in x-amz-tagging literally.
        args["Tagging"] = urlencode([(tag["Key"], tag["Value"]) for tag in tags], quote_via=quote)
    args.update(write_lock_args(version.lock, now))
    args.update(options.dest_writes(version.storage_class))
    return args
