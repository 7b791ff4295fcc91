"""After a copy's write: read the new version back once, and set what the server did not apply.

One HEAD of the new version serves the lock (read back whenever a lock was asked: lock_write.py), the user
metadata, the content headers and the tag count; the tags themselves are read (GetObjectTagging) only when
the count matches what was asked. Which of tags, metadata and headers still need reading on this write path
is the run's WriteChecks table's answer (write_checks.py): after the first writes on a path that held them,
none, and a copy to a server that honours everything costs no more than its write.

What is missing is set, never assumed:
- tags: PutObjectTagging on the new version (no new version), counted as `tags_set_after_write`;
- user metadata or content headers: S3 cannot change them in place, so the new version is copied onto
  itself with MetadataDirective REPLACE, which writes another version, counted as
  `metadata_set_after_write`; it asks what the first write asked (storage class, encryption, SSE-C keys:
  WrittenVersion.stored_as). The first version stays behind as a noncurrent version (with whatever lock
  the server gave it on a bucket with Object Lock: it cannot be deleted before that runs out); the lock
  asked for is set on the new one. An object above CopyObject's 5 GiB cannot be rewritten so: the copy is
  reported failed with the reason (WriteNotHeld), as is a server that ignores the rewrite too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..core.carried_attributes import AskedAttributes
from ..core.copy_plan import MAX_PART_SIZE
from .lock_write import WrittenVersion, settle_lock
from ..core.lockrules import write_lock_args
from ..core.outcomes import METADATA_SET_AFTER_WRITE, TAGS_SET_AFTER_WRITE
from .s3_calls import call
from ..core.write_checks import WriteChecks

MAX_COPY_OBJECT_SIZE = MAX_PART_SIZE  # the largest object one CopyObject can write (5 GiB)
_DESCRIBED = ("metadata", "headers")
_NAMES = {"metadata": "user metadata", "headers": "content headers", "tags": "tags"}


class WriteNotHeld(Exception):
    """The destination lacks what the write asked for, and it could not be set afterwards (the reason)."""


@dataclass(frozen=True)
class Settlement:
    notes: tuple[str, ...] = ()
    unprotected_seconds: float = 0.0  # between the write and the lock being set after it


def settle_write(
    client, bucket: str, written: WrittenVersion, now: datetime, checks: WriteChecks,
    reads: Mapping[str, Any] | None = None,
) -> Settlement:
    """Verify the new version holds what its write asked for (lock, tags, metadata, headers); set what it lacks.
    `reads`: the destination's SSE-C key arguments, if any (its HEADs need them)."""
    asked = written.asked
    asked_for = [name for name in ("tags", *_DESCRIBED) if asked is not None and asked.asks(name)]
    due = [name for name in asked_for if checks.needs_check(asked.path, name)]
    put_tags_unread = "tags" in due and checks.is_ignored(asked.path, "tags")
    reads_head = not written.lock.is_empty() or any(name in due for name in _DESCRIBED) or ("tags" in due and not put_tags_unread)
    if asked_for and not due:
        # Trusted: the HEAD (unless the lock needed it anyway) and the tag read it would have taken.
        checks.count_saved(int(not reads_head) + int("tags" in asked_for))
    head = _head(client, bucket, written, reads) if reads_head else None
    notes: tuple[str, ...] = ()

    missing = []
    for name in _DESCRIBED:
        if name in due:
            held = asked.held_in(name, head)
            checks.record(asked.path, name, held)
            if not held:
                missing.append(name)
    if missing:
        written, head = _rewrite_described(client, bucket, written, asked, head, now, missing, reads)
        notes += (METADATA_SET_AFTER_WRITE,)

    if "tags" in due:
        if put_tags_unread:
            held = False
        else:
            held = not asked.tag_count_differs(head) and asked.tags_held(_read_tags(client, bucket, written, head))
            checks.record(asked.path, "tags", held)
        if not held:
            _put_tags(client, bucket, written, head, asked)
            notes += (TAGS_SET_AFTER_WRITE,)

    lock = settle_lock(client, bucket, written, now, head, reads)
    return Settlement(notes + lock.notes, lock.unprotected_seconds)


def _addressable(version_id: str | None) -> str | None:
    # An unversioned bucket's writes answer VersionId "null" (moto), which moto then refuses as a
    # versionId argument: the key alone names that object.
    return None if version_id == "null" else version_id


def _version_id(written: WrittenVersion, head: dict[str, Any] | None) -> str | None:
    # Ceph RGW's CopyObject answer names no VersionId: its HEAD (of the newest version) does.
    return _addressable(written.version_id or (head or {}).get("VersionId"))


def _head(client, bucket: str, written: WrittenVersion, reads: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return call(client, "head_object", Bucket=bucket, Key=written.key, VersionId=_addressable(written.version_id),
                carry=reads)


def _read_tags(client, bucket: str, written: WrittenVersion, head: dict[str, Any]) -> list[dict[str, str]]:
    answer = call(client, "get_object_tagging", Bucket=bucket, Key=written.key, VersionId=_version_id(written, head))
    return answer.get("TagSet", [])  # Ceph RGW leaves TagSet out when there are no tags


def _put_tags(client, bucket: str, written: WrittenVersion, head: dict[str, Any] | None, asked: AskedAttributes) -> None:
    call(
        client, "put_object_tagging", Bucket=bucket, Key=written.key, VersionId=_version_id(written, head),
        Tagging={"TagSet": [{"Key": key, "Value": value} for key, value in asked.tags or ()]},
    )


def _rewrite_described(
    client, bucket: str, written: WrittenVersion, asked: AskedAttributes, head: dict[str, Any], now: datetime,
    missing: list[str], reads: Mapping[str, Any] | None = None,
) -> tuple[WrittenVersion, dict[str, Any]]:
    """Copy the new version onto itself with the metadata and headers asked for; the rewritten version and its HEAD."""
    what = " and ".join(_NAMES[name] for name in missing)
    if written.size > MAX_COPY_OBJECT_SIZE:
        raise WriteNotHeld(
            f"the destination server did not apply the {what} on {asked.path}, and an object above 5 GiB "
            "cannot be rewritten with them (CopyObject's limit)"
        )
    copy_source = {"Bucket": bucket, "Key": written.key}
    version_id = _version_id(written, head)
    if version_id:
        copy_source["VersionId"] = version_id
    answer = call(
        client, "copy_object", Bucket=bucket, Key=written.key, CopySource=copy_source,
        MetadataDirective="REPLACE", TaggingDirective="COPY", Metadata=asked.metadata, **asked.headers,
        **write_lock_args(written.lock, now), carry=written.stored_as,
    )
    rewritten = replace(written, version_id=answer.get("VersionId"))
    new_head = _head(client, bucket, rewritten, reads)
    still = [name for name in missing if not asked.held_in(name, new_head)]
    if still:
        raise WriteNotHeld(
            f"the destination server did not apply the {' and '.join(_NAMES[name] for name in still)}, "
            f"neither on {asked.path} nor on a CopyObject with MetadataDirective REPLACE"
        )
    return replace(rewritten, version_id=new_head.get("VersionId") or rewritten.version_id), new_head
