"""The server-side copy (one endpoint, one set of credentials): CopyObject, or UploadPartCopy parts.

Every copy is pinned to the planned source version: its version id where the source is versioned,
else `CopySourceIfMatch` with its ETag. Some servers (moto, Ceph RGW) ignore CopySourceIfMatch, so an
ETag-pinned copy is checked afterwards: a single CopyObject by the ETag it answers (it is atomic: the
destination holds one version whole), a multipart copy by the source's ETag after the last part, before
completing (parts of two versions are never completed). A source overwritten between listing and copy,
or during a multipart copy, is copied again once at its new version; if it moves again, SourceChanged.

A multipart source is copied in its own part layout (source_layout.py), checked against its ETag before
completing where the server did not report it part by part; where the server reports no layout at all
(Ceph RGW), one CopyObject, on a server found to keep a multipart source's ETag on CopyObject.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial

from botocore.exceptions import ClientError

from . import s3
from ..core.copy_plan import MAX_PART_SIZE, CopyPlan, copy_method, part_ranges
from .execution_context import ActionTrace, ExecutionContext
from ..core.carried_attributes import asked_attributes
from .lock_write import WrittenVersion
from ..core.lockrules import write_lock_args
from ..core.model import LockState, ObjectEntry, parts_in_etag, quoted_etag, same_etag
from .multipart import MultipartUpload
from ..core.outcomes import CHANGED_SINCE_LISTING, with_note
from .parallel_parts import part_slots
from ..core.part_layouts import LayoutNotFound
from .s3_calls import call
from .source_version import (
    SourceChanged,
    SourceVersion,
    ensure_source_unchanged,
    new_version_args,
    read_source_tags,
    read_source_version,
)
from .source_layout import LayoutMismatch, exact_layout, plan_layout

log = logging.getLogger("bucketsync")


def copy_server_side(
    ctx: ExecutionContext, rel_key: str, entry: ObjectEntry, trace: ActionTrace, pinned_version_id: str | None = None,
    read: SourceVersion | None = None,
) -> WrittenVersion:
    """Copy the listed object `entry`, or the version that replaced it since listing, server-side.

    With `pinned_version_id` (`--all-versions`) exactly that source version is copied, whatever is current.
    `read`: the source's current version as the caller's HEAD just found it (`watch`): copied without
    another HEAD.
    """
    src_key = ctx.source.absolute_key(rel_key)
    if pinned_version_id is not None:
        version = _read_version(ctx, src_key, trace, pinned_version_id)
        return _copy_version(ctx, rel_key, entry, version, ())
    notes: tuple[str, ...] = ()
    version: SourceVersion | None = read
    trace.source_version_id = read.version_id if read is not None else None
    reads_version = (
        ctx.source_lock_enabled
        or copy_method(entry.size, entry.etag, ctx.settings.multipart_threshold) == "multipart"
        or ctx.write_checks.take_source_read()
    )
    if version is None and not reads_version and ctx.write_checks.is_trusted("copy_object"):
        ctx.write_checks.count_saved(2)  # the source's HEAD and the copy's, besides any tag reads
    if version is None and reads_version:
        # Its lock, its version id and its part layout are needed (or, while this run has not yet seen
        # the server honour CopyObject's directives, what the copy asks for); a plain single copy pins by
        # ETag instead.
        version = _read_version(ctx, src_key, trace)
        if not same_etag(version.etag, entry.etag):
            notes = with_note(notes, CHANGED_SINCE_LISTING)
    try:
        return _copy_version(ctx, rel_key, entry, version, notes)
    except (ClientError, SourceChanged) as exc:
        if isinstance(exc, ClientError) and not s3.is_changed(exc):
            raise
        # Overwritten between listing and copy, or during a multipart copy: copy the version that is
        # there now, whole. Once: a source that moves again is reported (SourceChanged) for the next run.
        version = _read_version(ctx, src_key, trace)
        return _copy_version(ctx, rel_key, entry, version, with_note(notes, CHANGED_SINCE_LISTING))


def _read_version(ctx: ExecutionContext, src_key: str, trace: ActionTrace, version_id: str | None = None) -> SourceVersion:
    trace.source_version_id = version_id
    version = read_source_version(
        ctx.source_client, ctx.source.bucket, src_key, version_id, reads=ctx.copy_options.source_reads()
    )
    trace.source_version_id = version.version_id
    return version


def _pin(ctx: ExecutionContext, src_key: str, version_id: str | None, etag: str) -> tuple[dict[str, str], str | None]:
    """(CopySource, CopySourceIfMatch): the version id where there is one, else the ETag."""
    copy_source = {"Bucket": ctx.source.bucket, "Key": src_key}
    if version_id:
        return {**copy_source, "VersionId": version_id}, None
    return copy_source, quoted_etag(etag)


def _copy_version(
    ctx: ExecutionContext, rel_key: str, entry: ObjectEntry, version: SourceVersion | None, notes: tuple[str, ...]
) -> WrittenVersion:
    if version is None:
        return _copy_listed_object(ctx, rel_key, entry, notes)
    src_key = ctx.source.absolute_key(rel_key)
    reads = ctx.copy_options.source_reads()
    planned = plan_layout(ctx.source_client, ctx.source.bucket, src_key, version, "server_side", ctx.settings, reads)
    plan = planned.plan
    if plan.method == "multipart":
        # Not with --sse: Ceph RGW ignores it on CopyObject (_encryption_ignored).
        if planned.kind == "candidate" and version.size <= MAX_PART_SIZE and ctx.copy_options.sse is None:
            copied = _copy_keeping_etag(ctx, rel_key, version, notes)
            if copied is not None:
                return copied
        try:
            return _copy_in_parts(ctx, rel_key, version, plan, notes, check_layout=planned.checked_before_completing)
        except LayoutMismatch:
            if planned.kind == "candidate":
                raise LayoutNotFound(parts_in_etag(version.etag), version.size) from None
        # The parts are not N-1 of the first one's size and the rest: ask every part's size, copy in those.
        exact = exact_layout(ctx.source_client, ctx.source.bucket, src_key, version, reads)
        return _copy_in_parts(ctx, rel_key, version, replace(plan, parts=exact), notes)
    answer = _copy_object(
        ctx, rel_key, version.version_id, version.etag, write_lock_args(version.lock, ctx.now()), version.storage_class
    )
    if _encryption_ignored(ctx, answer):
        return _copy_in_parts(ctx, rel_key, version, _one_part(version), notes)
    return _copied_object(ctx, rel_key, version, answer, notes)


def _copy_keeping_etag(
    ctx: ExecutionContext, rel_key: str, version: SourceVersion, notes: tuple[str, ...]
) -> WrittenVersion | None:
    """A multipart source whose layout the server does not report, copied with one CopyObject where the
    server keeps its ETag on CopyObject (Ceph RGW copies by reference: the copy is the source's layout, at
    the server's speed). The run's first such copy finds out whether it does; None: it does not (that
    copy, if made, is replaced by a copy in parts)."""
    with ctx.copy_keeps_etag.trying() as keeps:
        if keeps is False:
            return None
        answer = _copy_object(
            ctx, rel_key, version.version_id, version.etag, write_lock_args(version.lock, ctx.now()),
            version.storage_class,
        )
        kept = same_etag(answer.get("CopyObjectResult", {}).get("ETag") or "", version.etag)
        if keeps is None:
            log.info("the destination's CopyObject %s a multipart source's ETag: multipart objects up to 5 GiB "
                     "are copied %s", "keeps" if kept else "does not keep",
                     "with one CopyObject" if kept else "part by part")
            ctx.copy_keeps_etag.record(kept)
    return _copied_object(ctx, rel_key, version, answer, notes) if kept else None


def _copied_object(
    ctx: ExecutionContext, rel_key: str, version: SourceVersion, answer: dict, notes: tuple[str, ...]
) -> WrittenVersion:
    """The version one CopyObject (MetadataDirective and TaggingDirective COPY) wrote of `version`."""
    src_key = ctx.source.absolute_key(rel_key)
    # The COPY directive carries them: read only while this run still checks that it does, and only where
    # the source's HEAD counts some (S3 leaves x-amz-tagging-count out for an untagged object: AWS, moto,
    # Ceph RGW), since an untagged copy proves nothing about tags.
    tags = None
    if ctx.write_checks.needs_check("copy_object", "tags") and version.head.get("TagCount"):
        tags = read_source_tags(ctx.source_client, ctx.source.bucket, src_key, version)
    elif version.head.get("TagCount"):
        ctx.write_checks.count_saved(2)  # the source's tags and the copy's, not read
    return WrittenVersion(
        key=ctx.dest.absolute_key(rel_key),
        version_id=answer.get("VersionId"),
        source_version_id=answer.get("CopySourceVersionId") or version.version_id,
        size=version.size,
        lock=version.lock,
        notes=notes,
        asked=asked_attributes("copy_object", version.head, tags),
        stored_as=ctx.copy_options.dest_rewrites(version.storage_class),
    )


def _copy_object(
    ctx: ExecutionContext, rel_key: str, version_id: str | None, etag: str, lock_args: dict, storage_class: str | None
) -> dict:
    copy_source, if_match = _pin(ctx, ctx.source.absolute_key(rel_key), version_id, etag)
    return call(
        ctx.dest_client, "copy_object", Bucket=ctx.dest.bucket, Key=ctx.dest.absolute_key(rel_key),
        CopySource=copy_source, CopySourceIfMatch=if_match, MetadataDirective="COPY", TaggingDirective="COPY",
        **lock_args, carry=ctx.copy_options.dest_writes(storage_class),
    )


def _encryption_ignored(ctx: ExecutionContext, answer: dict) -> bool:
    """Whether CopyObject wrote the copy without the `--sse` it was asked for. Ceph RGW 16.2 ignores
    x-amz-server-side-encryption on CopyObject (the copy is stored unencrypted and the answer names no
    encryption) but applies it on CreateMultipartUpload; AWS applies it and says so in the answer."""
    return ctx.copy_options.sse is not None and answer.get("ServerSideEncryption") != ctx.copy_options.sse


def _one_part(version: SourceVersion) -> CopyPlan:
    """The whole object as one UploadPartCopy (CopyObject's own limit, 5 GiB, holds for it too)."""
    return CopyPlan("server_side", "multipart", version.size, part_size=max(version.size, 1),
                    parts=part_ranges(version.size, max(version.size, 1)))


def _copy_listed_object(ctx: ExecutionContext, rel_key: str, entry: ObjectEntry, notes: tuple[str, ...]) -> WrittenVersion:
    """A single-part object of an unlocked source, copied without a HEAD: pinned by its listed ETag."""
    dst_key = ctx.dest.absolute_key(rel_key)
    answer = _copy_object(ctx, rel_key, None, entry.etag, {}, entry.storage_class)
    if _encryption_ignored(ctx, answer):
        version = read_source_version(ctx.source_client, ctx.source.bucket, ctx.source.absolute_key(rel_key),
                                      reads=ctx.copy_options.source_reads())
        return _copy_in_parts(ctx, rel_key, version, _one_part(version), notes)
    new_version_id = answer.get("VersionId")
    size = entry.size
    copied_etag = answer.get("CopyObjectResult", {}).get("ETag")
    if copied_etag and ctx.copy_options.etags_are_md5 and not same_etag(copied_etag, entry.etag):
        # A single-part copy has the source's ETag (its MD5): another one means the server ignored
        # CopySourceIfMatch (moto, Ceph RGW) and copied a newer version. CopyObject is atomic, so the
        # destination holds that version whole; say so, and count its real size. (Objects whose ETag is
        # not their MD5, SSE-KMS or SSE-C, would be noted here needlessly: not checked for them; AWS
        # honours the precondition, so for them the copy is still the listed version.)
        head = call(
            ctx.dest_client, "head_object", Bucket=ctx.dest.bucket, Key=dst_key, VersionId=new_version_id,
            carry=ctx.copy_options.dest_reads(),
        )
        size = int(head["ContentLength"])
        notes = with_note(notes, CHANGED_SINCE_LISTING)
    return WrittenVersion(
        key=dst_key, version_id=new_version_id, source_version_id=answer.get("CopySourceVersionId"),
        size=size, lock=LockState(), notes=notes, stored_as=ctx.copy_options.dest_rewrites(entry.storage_class),
    )


def _copy_in_parts(
    ctx: ExecutionContext, rel_key: str, version: SourceVersion, plan: CopyPlan, notes: tuple[str, ...],
    check_layout: bool = False,
) -> WrittenVersion:
    """`check_layout`: the plan's layout is not the one the server reported part by part: an upload whose ETag
    is not the source's is aborted (LayoutMismatch), never completed into a copy the next run writes again."""
    src_key = ctx.source.absolute_key(rel_key)
    dst_key = ctx.dest.absolute_key(rel_key)
    tags = read_source_tags(ctx.source_client, ctx.source.bucket, src_key, version)
    # UploadPartCopy carries no metadata or tags: CreateMultipartUpload is given them (and the lock).
    carry = new_version_args(version, tags, ctx.now(), ctx.copy_options)
    reads = ctx.copy_options.source_reads()
    copy_source, if_match = _pin(ctx, src_key, version.version_id, version.etag)
    try:
        with MultipartUpload(ctx.dest_client, ctx.dest.bucket, dst_key, carry) as upload:
            part_slots(ctx.settings.concurrency).run(
                partial(upload.copy_part, part, copy_source, if_match) for part in plan.parts
            )
            if if_match:
                # Pinned by ETag only, and some servers ignore CopySourceIfMatch: if the source moved while
                # the parts were copied they may come from two versions. Never complete such a mix.
                ensure_source_unchanged(ctx.source_client, ctx.source.bucket, src_key, version, reads)
            if check_layout and ctx.copy_options.etags_are_md5 and not same_etag(upload.etag(), version.etag):
                raise LayoutMismatch(rel_key)
            new_version_id = upload.complete()
    except ClientError as exc:
        if if_match and not s3.is_vanished(exc):
            # e.g. InvalidRange: the source got shorter
            ensure_source_unchanged(ctx.source_client, ctx.source.bucket, src_key, version, reads)
        raise
    return WrittenVersion(
        key=dst_key, version_id=new_version_id, source_version_id=version.version_id,
        size=version.size, lock=version.lock, notes=notes,
        asked=asked_attributes("create_multipart_upload", version.head, tags),
        stored_as=ctx.copy_options.dest_rewrites(version.storage_class),
    )

