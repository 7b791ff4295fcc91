"""Carrying out one PlannedAction against S3 -> ObjectOutcome. Object failures are returned, not raised.

Copy paths:
- server-side (same endpoint and credentials): CopyObject, or UploadPartCopy parts for multipart
  sources and objects above the multipart threshold, always pinned to the planned source version;
- streamed (different endpoints or credentials): GET -> PutObject, or GET -> multipart upload one part
  at a time, so memory stays bounded by one part per worker thread.
Both keep the source's part layout where they can (so ETags compare equal on the next run), its
metadata, its tags, and set the lock in the same write; the lock is then read back and set with
PutObjectRetention / PutObjectLegalHold where the server ignored it.

A source overwritten between listing and copy ends with the destination holding one version whole,
never parts of two: single CopyObject and GET are atomic; multipart copies are pinned to the version id,
or (unversioned sources, where some servers ignore CopySourceIfMatch) checked against the source's ETag
after the last part and started again from the newer version if it moved.

Retries of single requests (503 SlowDown, reset connections) are botocore's, from the client's retry
mode (s3.make_client); nothing here loops on errors. Where a retried request can meet the effect of
its own lost first attempt, the outcome is checked instead of trusted (see _complete_upload).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import BotoCoreError, ClientError

from . import s3
from .locations import Location
from .lockrules import LockDecision, decide_lock, write_lock_args
from .model import LockState, ObjectEntry, parts_in_etag
from .outcomes import CHANGED_SINCE_LISTING, LOCK_SET_AFTER_WRITE, ObjectOutcome
from .plan import PlannedAction
from .settings import GiB, MiB, Settings

MAX_SINGLE_COPY = 5 * GiB
MAX_PARTS = 10_000
# A source part larger than this is not reproduced when streaming (memory holds one part per thread).
MAX_STREAMED_PART = 512 * MiB

# Headers that describe the object and travel with it (boto3 names), besides user metadata.
CONTENT_HEADERS = ("ContentType", "CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires")


@dataclass
class ExecutionContext:
    """Everything one process needs to execute actions of one run. Never serialised."""

    source_client: Any
    dest_client: Any
    source: Location
    dest: Location
    settings: Settings
    server_side: bool  # one set of credentials on one endpoint: copy without moving bytes through us
    source_lock_enabled: bool
    dry_run: bool = False
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))


class SourceChanged(Exception):
    """The source moved to another version while a multipart copy pinned only by ETag was running."""


@dataclass
class _Known:
    """What an action has learnt so far, so that a failure still names the source version it concerned."""

    version_id: str | None = None


def execute(ctx: ExecutionContext, action: PlannedAction) -> ObjectOutcome:
    """Carry out one action; every S3 error ends as an outcome with a reason."""
    handlers = {"copy": _copy, "check_lock": _check_lock, "delete": _delete, "skip": _skip}
    known = _Known()
    try:
        return handlers[action.kind](ctx, action, known)
    except (ClientError, BotoCoreError) as exc:
        if s3.is_vanished(exc):
            return ObjectOutcome(
                action.key, "vanished", version_id=known.version_id, reason=f"source object disappeared: {s3.describe(exc)}"
            )
        return ObjectOutcome(action.key, "failed", version_id=known.version_id, reason=s3.describe(exc))
    except SourceChanged:
        return ObjectOutcome(
            action.key, "failed", version_id=known.version_id,
            reason="the source was overwritten again while it was being copied; the next run copies it",
        )
    except Exception as exc:  # a bug must not cost the other objects their copy
        return ObjectOutcome(
            action.key, "failed", version_id=known.version_id, reason=f"internal error: {type(exc).__name__}: {exc}"
        )


def _skip(ctx: ExecutionContext, action: PlannedAction, known: _Known) -> ObjectOutcome:
    return ObjectOutcome(action.key, "skipped")


def _delete(ctx: ExecutionContext, action: PlannedAction, known: _Known) -> ObjectOutcome:
    if not ctx.dry_run:
        # On a versioned (lock-enabled) destination this places a delete marker; locked versions stay.
        ctx.dest_client.delete_object(Bucket=ctx.dest.bucket, Key=ctx.dest.absolute_key(action.key))
    return ObjectOutcome(action.key, "deleted")


# ---------------------------------------------------------------- lock check of an unchanged object


def _head(client, bucket: str, key: str, version_id: str | None = None, **extra) -> dict:
    args = {"Bucket": bucket, "Key": key, **extra}
    if version_id:
        args["VersionId"] = version_id
    return client.head_object(**args)


def _check_lock(ctx: ExecutionContext, action: PlannedAction, known: _Known) -> ObjectOutcome:
    source_head = _head(ctx.source_client, ctx.source.bucket, ctx.source.absolute_key(action.key))
    if source_head["ETag"] != action.source.etag:
        # Overwritten since listing: copy what is there now instead.
        return _copy(ctx, action, known, changed=True)
    version_id = known.version_id = source_head.get("VersionId")
    try:
        dest_head = _head(ctx.dest_client, ctx.dest.bucket, ctx.dest.absolute_key(action.key))
    except ClientError as exc:
        if s3.is_vanished(exc):  # deleted at the destination since listing: copy it again
            return _copy(ctx, action, known)
        raise
    decision = decide_lock(LockState.from_head(source_head), LockState.from_head(dest_head), ctx.now())
    if decision.changes_anything() and not ctx.dry_run:
        _apply_lock(ctx, ctx.dest.absolute_key(action.key), dest_head.get("VersionId"), decision)
    status = "lock_updated" if decision.changes_anything() else "skipped"
    return ObjectOutcome(action.key, status, version_id=version_id, notes=decision.notes)


def _apply_lock(ctx: ExecutionContext, key: str, version_id: str | None, decision: LockDecision) -> None:
    target = {"Bucket": ctx.dest.bucket, "Key": key}
    if version_id:
        target["VersionId"] = version_id
    if decision.retention is not None:
        extra = {"BypassGovernanceRetention": True} if decision.needs_governance_bypass else {}
        ctx.dest_client.put_object_retention(
            **target,
            Retention={"Mode": decision.retention.mode, "RetainUntilDate": decision.retention.retain_until},
            **extra,
        )
    if decision.legal_hold is not None:
        ctx.dest_client.put_object_legal_hold(**target, LegalHold={"Status": "ON" if decision.legal_hold else "OFF"})


def _ensure_lock(ctx: ExecutionContext, key: str, version_id: str | None, source_lock: LockState, written_at: float):
    """Read the new version's lock state back and set what the server did not apply on the write.

    Returns (notes, seconds the version stood without its lock).
    """
    head = _head(ctx.dest_client, ctx.dest.bucket, key, version_id)
    decision = decide_lock(source_lock, LockState.from_head(head), ctx.now())
    if not decision.changes_anything():
        return decision.notes, 0.0
    _apply_lock(ctx, key, version_id or head.get("VersionId"), decision)
    return decision.notes + (LOCK_SET_AFTER_WRITE,), time.monotonic() - written_at


# ---------------------------------------------------------------- copying


@dataclass
class _SourceVersion:
    """What the copy pins and carries: read from a HEAD (or GET) of the source."""

    version_id: str | None
    etag: str
    size: int
    lock: LockState
    head: dict

    @classmethod
    def from_response(cls, response: dict) -> "_SourceVersion":
        return cls(
            version_id=response.get("VersionId"),
            etag=response["ETag"],
            size=int(response["ContentLength"]),
            lock=LockState.from_head(response),
            head=response,
        )


def _copy(ctx: ExecutionContext, action: PlannedAction, known: _Known, changed: bool = False) -> ObjectOutcome:
    entry = action.source
    if ctx.dry_run:
        return ObjectOutcome(action.key, "copied", bytes_copied=entry.size)
    if ctx.server_side:
        outcome = _server_side_copy(ctx, action.key, entry, known)
    else:
        outcome = _streamed_copy(ctx, action.key, entry, known)
    if changed and CHANGED_SINCE_LISTING not in outcome.notes:
        outcome = ObjectOutcome(**{**outcome.__dict__, "notes": outcome.notes + (CHANGED_SINCE_LISTING,)})
    return outcome


def _read_source(ctx: ExecutionContext, key: str, known: _Known) -> _SourceVersion:
    version = _SourceVersion.from_response(_head(ctx.source_client, ctx.source.bucket, key))
    known.version_id = version.version_id
    return version


def _needs_head(ctx: ExecutionContext, entry: ObjectEntry) -> bool:
    return ctx.source_lock_enabled or _is_multipart_layout(ctx, entry)


def _is_multipart_layout(ctx: ExecutionContext, entry: ObjectEntry) -> bool:
    return parts_in_etag(entry.etag) > 0 or entry.size > ctx.settings.multipart_threshold


def _server_side_copy(ctx: ExecutionContext, rel_key: str, entry: ObjectEntry, known: _Known) -> ObjectOutcome:
    src_key = ctx.source.absolute_key(rel_key)
    notes: tuple[str, ...] = ()
    if _needs_head(ctx, entry):
        version = _read_source(ctx, src_key, known)
        if version.etag != entry.etag:
            notes += (CHANGED_SINCE_LISTING,)
    else:
        version = None  # a plain single copy: pin with CopySourceIfMatch on the listed ETag instead
    try:
        return _server_side_copy_of(ctx, rel_key, entry, version, notes)
    except (ClientError, SourceChanged) as exc:
        if isinstance(exc, ClientError) and not s3.is_changed(exc):
            raise
        # Overwritten between listing and copy, or during a multipart copy: copy the version that is
        # there now, whole. Once: a source that moves again is reported (SourceChanged) for the next run.
        version = _read_source(ctx, src_key, known)
        if CHANGED_SINCE_LISTING not in notes:
            notes += (CHANGED_SINCE_LISTING,)
        return _server_side_copy_of(ctx, rel_key, entry, version, notes)


def _server_side_copy_of(
    ctx: ExecutionContext, rel_key: str, entry: ObjectEntry, version: _SourceVersion | None, notes: tuple[str, ...]
) -> ObjectOutcome:
    src_key = ctx.source.absolute_key(rel_key)
    dst_key = ctx.dest.absolute_key(rel_key)
    if version is not None and _is_multipart_layout(ctx, ObjectEntry(rel_key, version.size, version.etag)):
        new_version_id = _multipart_server_side_copy(ctx, src_key, dst_key, version)
        return _finish_copy(
            ctx, rel_key, dst_key, version.version_id, new_version_id, version.lock, version.size, notes, time.monotonic()
        )
    response = _copy_object(ctx, src_key, dst_key, entry, version)
    new_version_id = response.get("VersionId")
    if version is not None:
        copied_version = response.get("CopySourceVersionId") or version.version_id
        return _finish_copy(
            ctx, rel_key, dst_key, copied_version, new_version_id, version.lock, version.size, notes, time.monotonic()
        )
    size = entry.size
    copied_etag = response.get("CopyObjectResult", {}).get("ETag")
    if copied_etag and copied_etag.strip('"') != entry.etag.strip('"'):
        # A single-part copy has the source's ETag (its MD5): another one means the server ignored
        # CopySourceIfMatch (moto, Ceph RGW) and copied a newer version. CopyObject is atomic, so the
        # destination holds that version whole; say so, and count its real size. (Objects whose ETag is
        # not their MD5, e.g. SSE-KMS on AWS, would be noted here needlessly; AWS honours the
        # precondition, so for them the copy is still the listed version.)
        head = _head(ctx.dest_client, ctx.dest.bucket, dst_key, new_version_id)
        size = int(head["ContentLength"])
        if CHANGED_SINCE_LISTING not in notes:
            notes += (CHANGED_SINCE_LISTING,)
    return _finish_copy(
        ctx, rel_key, dst_key, response.get("CopySourceVersionId"), new_version_id, LockState(), size, notes, time.monotonic()
    )


def _finish_copy(ctx, rel_key, dst_key, copied_version, new_version_id, lock, size, notes, written_at) -> ObjectOutcome:
    unprotected = 0.0
    if not lock.is_empty():
        lock_notes, unprotected = _ensure_lock(ctx, dst_key, new_version_id, lock, written_at)
        notes += lock_notes
    return ObjectOutcome(
        rel_key, "copied", version_id=copied_version, bytes_copied=size, notes=notes, unprotected_seconds=unprotected
    )


def _copy_object(ctx: ExecutionContext, src_key: str, dst_key: str, entry: ObjectEntry, version: _SourceVersion | None) -> dict:
    copy_source = {"Bucket": ctx.source.bucket, "Key": src_key}
    args: dict[str, Any] = {
        "Bucket": ctx.dest.bucket,
        "Key": dst_key,
        "CopySource": copy_source,
        "MetadataDirective": "COPY",
        "TaggingDirective": "COPY",
    }
    if version is not None and version.version_id:
        copy_source["VersionId"] = version.version_id
    else:
        args["CopySourceIfMatch"] = version.etag if version else entry.etag
    if version is not None:
        args.update(write_lock_args(version.lock, ctx.now()))
    try:
        return ctx.dest_client.copy_object(**args)
    except ClientError as exc:
        if s3.error_code(exc) != s3.MISSING_LOCK_CHECKSUM:
            raise
        s3.add_checksum_header_to_locked_copies(ctx.dest_client)
        return ctx.dest_client.copy_object(**args)


def _part_ranges(size: int, part_size: int) -> list[tuple[int, int]]:
    return [(start, min(start + part_size, size) - 1) for start in range(0, size, part_size)] or [(0, -1)]


def _choose_part_size(ctx: ExecutionContext, client, bucket: str, key: str, version: _SourceVersion, limit: int) -> int:
    """The source's own part size where it is multipart (so the copy's ETag equals the source's)."""
    if parts_in_etag(version.etag) > 0:
        part_one = _head(client, bucket, key, version.version_id, PartNumber=1)
        part_size = int(part_one["ContentLength"])
        if 5 * MiB <= part_size <= limit or part_size >= version.size:
            return max(part_size, 1)
    part_size = ctx.settings.multipart_chunksize
    while version.size / part_size > MAX_PARTS:
        part_size *= 2
    return part_size


def _upload_args(version: _SourceVersion, tags: list[dict], lock_args: dict) -> dict:
    args = {name: version.head[name] for name in CONTENT_HEADERS if version.head.get(name)}
    args["Metadata"] = version.head.get("Metadata", {})
    if tags:
        args["Tagging"] = urlencode([(tag["Key"], tag["Value"]) for tag in tags])
    args.update(lock_args)
    return args


def _source_tags(ctx: ExecutionContext, key: str, version: _SourceVersion) -> list[dict]:
    if version.head.get("TagCount") == 0:
        return []
    args = {"Bucket": ctx.source.bucket, "Key": key}
    if version.version_id:
        args["VersionId"] = version.version_id
    return ctx.source_client.get_object_tagging(**args).get("TagSet", [])


def _multipart_server_side_copy(ctx: ExecutionContext, src_key: str, dst_key: str, version: _SourceVersion) -> str | None:
    part_size = _choose_part_size(ctx, ctx.source_client, ctx.source.bucket, src_key, version, 5 * GiB)
    tags = _source_tags(ctx, src_key, version)
    create_args = _upload_args(version, tags, write_lock_args(version.lock, ctx.now()))
    upload = ctx.dest_client.create_multipart_upload(Bucket=ctx.dest.bucket, Key=dst_key, **create_args)
    upload_id = upload["UploadId"]
    copy_source = {"Bucket": ctx.source.bucket, "Key": src_key}
    pin: dict[str, str] = {}
    if version.version_id:
        copy_source["VersionId"] = version.version_id
    else:
        pin["CopySourceIfMatch"] = version.etag
    try:
        parts = []
        for number, (first, last) in enumerate(_part_ranges(version.size, part_size), start=1):
            result = ctx.dest_client.upload_part_copy(
                Bucket=ctx.dest.bucket,
                Key=dst_key,
                UploadId=upload_id,
                PartNumber=number,
                CopySource=copy_source,
                CopySourceRange=f"bytes={first}-{last}",
                **pin,
            )
            parts.append({"PartNumber": number, "ETag": result["CopyPartResult"]["ETag"]})
        if pin:
            # Pinned by ETag only, and some servers ignore CopySourceIfMatch: if the source moved while
            # the parts were copied they may come from two versions. Never complete such a mix.
            _ensure_source_unchanged(ctx, src_key, version)
        return _complete_upload(ctx, dst_key, upload_id, parts)
    except ClientError as exc:
        _abort_quietly(ctx, dst_key, upload_id)
        if pin and not s3.is_vanished(exc):
            _ensure_source_unchanged(ctx, src_key, version)  # e.g. InvalidRange: the source got shorter
        raise
    except BaseException:
        _abort_quietly(ctx, dst_key, upload_id)
        raise


def _ensure_source_unchanged(ctx: ExecutionContext, src_key: str, version: _SourceVersion) -> None:
    current = _head(ctx.source_client, ctx.source.bucket, src_key)
    if current["ETag"].strip('"') != version.etag.strip('"'):
        raise SourceChanged(src_key)


def _complete_upload(ctx: ExecutionContext, dst_key: str, upload_id: str, parts: list[dict]) -> str | None:
    """CompleteMultipartUpload; returns the new version id.

    If the connection drops after the server completed the upload, botocore sends the request again,
    and servers that are not idempotent here answer NoSuchUpload. The upload did complete when the key
    now holds exactly these parts (the multipart ETag is computed from the part ETags): take that as
    done rather than report a failure, or copy the object again.
    """
    try:
        done = ctx.dest_client.complete_multipart_upload(
            Bucket=ctx.dest.bucket, Key=dst_key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    except ClientError as exc:
        if s3.error_code(exc) != s3.NO_SUCH_UPLOAD:
            raise
        try:
            head = _head(ctx.dest_client, ctx.dest.bucket, dst_key)
        except ClientError:
            raise exc from None
        if head["ETag"].strip('"') != s3.multipart_etag([part["ETag"] for part in parts]):
            raise
        return head.get("VersionId")
    return done.get("VersionId")


def _abort_quietly(ctx: ExecutionContext, key: str, upload_id: str) -> None:
    try:
        ctx.dest_client.abort_multipart_upload(Bucket=ctx.dest.bucket, Key=key, UploadId=upload_id)
    except (ClientError, BotoCoreError):
        pass  # an unfinished upload is cleaned up by the bucket's lifecycle rule, if any


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _streamed_copy(ctx: ExecutionContext, rel_key: str, entry: ObjectEntry, known: _Known) -> ObjectOutcome:
    src_key = ctx.source.absolute_key(rel_key)
    dst_key = ctx.dest.absolute_key(rel_key)
    notes: tuple[str, ...] = ()
    try:
        response = ctx.source_client.get_object(Bucket=ctx.source.bucket, Key=src_key, IfMatch=entry.etag)
    except ClientError as exc:
        if not s3.is_changed(exc):
            raise
        response = ctx.source_client.get_object(Bucket=ctx.source.bucket, Key=src_key)
        notes += (CHANGED_SINCE_LISTING,)
    body = response["Body"]
    try:
        version = _SourceVersion.from_response(response)
        known.version_id = version.version_id
        tags = _source_tags(ctx, src_key, version)
        lock_args = write_lock_args(version.lock, ctx.now())
        upload_args = _upload_args(version, tags, lock_args)
        if parts_in_etag(version.etag) == 0 and version.size <= ctx.settings.multipart_threshold:
            data = body.read()
            if len(data) != version.size:
                raise IOError(f"read {len(data)} of {version.size} bytes from the source")
            put = ctx.dest_client.put_object(
                Bucket=ctx.dest.bucket, Key=dst_key, Body=data, ContentMD5=_md5_b64(data), **upload_args
            )
            new_version_id = put.get("VersionId")
        else:
            new_version_id = _streamed_multipart(ctx, src_key, dst_key, version, body, upload_args)
    finally:
        body.close()
    return _finish_copy(ctx, rel_key, dst_key, version.version_id, new_version_id, version.lock, version.size, notes, time.monotonic())


def _streamed_multipart(ctx, src_key: str, dst_key: str, version: _SourceVersion, body, upload_args: dict) -> str | None:
    part_size = _choose_part_size(ctx, ctx.source_client, ctx.source.bucket, src_key, version, MAX_STREAMED_PART)
    upload = ctx.dest_client.create_multipart_upload(Bucket=ctx.dest.bucket, Key=dst_key, **upload_args)
    upload_id = upload["UploadId"]
    try:
        parts = []
        remaining = version.size
        number = 0
        while remaining > 0 or number == 0:
            number += 1
            chunk = _read_exactly(body, min(part_size, remaining))
            remaining -= len(chunk)
            result = ctx.dest_client.upload_part(
                Bucket=ctx.dest.bucket,
                Key=dst_key,
                UploadId=upload_id,
                PartNumber=number,
                Body=chunk,
                ContentMD5=_md5_b64(chunk),
            )
            parts.append({"PartNumber": number, "ETag": result["ETag"]})
        return _complete_upload(ctx, dst_key, upload_id, parts)
    except BaseException:
        _abort_quietly(ctx, dst_key, upload_id)
        raise


def _read_exactly(body, count: int) -> bytes:
    chunks = []
    while count > 0:
        chunk = body.read(min(count, 8 * MiB))
        if not chunk:
            raise IOError("the source stream ended early")
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)
