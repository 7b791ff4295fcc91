"""Carrying out one PlannedAction against S3 -> ObjectOutcome. Object failures are returned, not raised.

This module only dispatches; each job has its own module:

    copy_plan.py       the decision: single or multipart, part size and ranges (pure)
    server_copy.py     one endpoint and credentials: CopyObject / UploadPartCopy, pinned to the version
    streamed_copy.py   two endpoints or credentials: GET -> PutObject / multipart upload, bounded memory
    multipart.py       a multipart upload: create, abort on any failure, complete (lost-answer proof)
    settle_write.py    read the new version back (lock, tags, metadata, headers) and set what the server did not apply
    write_checks.py    which of those this run's destination has proved to honour, per write path
    s3_calls.py        the arguments each S3 call may carry (allow-lists)

Retries of single requests (503 SlowDown, reset connections) are botocore's, from the client's retry
mode (s3.make_client); nothing here loops on errors. Where a retried request can meet the effect of
its own lost first attempt, the outcome is checked instead of trusted (multipart.MultipartUpload.complete).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from . import s3
from .execution_context import ActionTrace, ExecutionContext
from ..core.copy_options import NOT_IN_ACTIVE_TIER
from .lock_write import apply_lock
from ..core.lockrules import decide_lock
from ..core.model import LockState, ObjectEntry, same_etag
from ..core.outcomes import CHANGED_SINCE_LISTING, ObjectOutcome, with_note
from ..core.part_layouts import LayoutNotFound
from ..core.plan import PlannedAction
from .s3_calls import call
from .server_copy import copy_server_side
from .settle_write import WriteNotHeld, settle_write
from .source_version import SourceChanged, SourceVersion
from .streamed_copy import copy_streamed

__all__ = ["ExecutionContext", "copy_and_settle", "execute", "guarded", "settle_lock"]

logger = logging.getLogger(__name__)


def execute(ctx: ExecutionContext, action: PlannedAction) -> ObjectOutcome:
    """Carry out one action; every S3 error ends as an outcome with a reason."""
    handlers = {"copy": _copy, "check_lock": _check_lock, "delete": _delete}
    trace = ActionTrace()
    return guarded(action.kind, action.key, trace, lambda: handlers[action.kind](ctx, action, trace))


def guarded(what: str, key: str, trace: ActionTrace, work: Callable[[], ObjectOutcome]) -> ObjectOutcome:
    """`work()`, with every error it meets turned into the object's outcome (naming the source version)."""
    try:
        return work()
    except (ClientError, BotoCoreError) as exc:
        if isinstance(exc, ClientError) and s3.error_code(exc) in NOT_IN_ACTIVE_TIER:
            return ObjectOutcome(key, "failed", version_id=trace.source_version_id, reason=_archived_reason(trace, exc))
        if s3.is_vanished(exc):
            return ObjectOutcome(
                key, "vanished", version_id=trace.source_version_id,
                reason=f"source object disappeared: {s3.describe(exc)}",
            )
        return ObjectOutcome(key, "failed", version_id=trace.source_version_id, reason=s3.describe(exc))
    except (WriteNotHeld, LayoutNotFound) as exc:
        return ObjectOutcome(key, "failed", version_id=trace.source_version_id, reason=str(exc))
    except SourceChanged:
        return ObjectOutcome(
            key, "failed", version_id=trace.source_version_id,
            reason="the source was overwritten again while it was being copied; the next run copies it",
        )
    except Exception as exc:  # a bug must not cost the other objects their copy
        logger.exception("internal error on %s %r", what, key)
        return ObjectOutcome(
            key, "failed", version_id=trace.source_version_id,
            reason=f"internal error: {type(exc).__name__}: {exc}",
        )


def _archived_reason(trace: ActionTrace, exc: ClientError) -> str:
    """GLACIER and DEEP_ARCHIVE objects cannot be read or copied until restored; say so instead of a bare code."""
    storage_class = trace.source_storage_class or "an archive class"
    return (
        f"the source object is in storage class {storage_class} and not restored: restore it "
        f"(S3 RestoreObject) and run again ({s3.describe(exc)})"
    )


def _delete(ctx: ExecutionContext, action: PlannedAction, trace: ActionTrace) -> ObjectOutcome:
    if not ctx.dry_run:
        # On a versioned (lock-enabled) destination this places a delete marker; locked versions stay.
        call(ctx.dest_client, "delete_object", Bucket=ctx.dest.bucket, Key=ctx.dest.absolute_key(action.key))
    return ObjectOutcome(action.key, "deleted")


def _copy(ctx: ExecutionContext, action: PlannedAction, trace: ActionTrace, changed: bool = False) -> ObjectOutcome:
    return copy_and_settle(ctx, action.key, action.source, trace, changed=changed)


def copy_and_settle(
    ctx: ExecutionContext, key: str, entry: ObjectEntry, trace: ActionTrace, *, changed: bool = False,
    pinned_version_id: str | None = None, read: SourceVersion | None = None,
) -> ObjectOutcome:
    """Copy one source version (the listed one, or exactly `pinned_version_id`) and settle its lock.
    `read`: the source's HEAD the caller made already (a server-side copy needs no other; a streamed
    copy's GET reads it anyway)."""
    trace.source_storage_class = entry.storage_class
    if ctx.dry_run:
        return ObjectOutcome(key, "copied", version_id=pinned_version_id, bytes_copied=entry.size)
    if ctx.server_side:
        written = copy_server_side(ctx, key, entry, trace, pinned_version_id, read=read)
    else:
        written = copy_streamed(ctx, key, entry, trace, pinned_version_id)
    settled = settle_write(
        ctx.dest_client, ctx.dest.bucket, written, ctx.now(), ctx.write_checks, ctx.copy_options.dest_reads()
    )
    notes = written.notes + settled.notes
    if changed:
        notes = with_note(notes, CHANGED_SINCE_LISTING)
    return ObjectOutcome(
        key, "copied", version_id=written.source_version_id, bytes_copied=written.size, notes=notes,
        unprotected_seconds=settled.unprotected_seconds,
    )


def _check_lock(ctx: ExecutionContext, action: PlannedAction, trace: ActionTrace) -> ObjectOutcome:
    """An unchanged object of a lock-enabled source: bring the destination version's lock up to date."""
    source_head = call(
        ctx.source_client, "head_object", Bucket=ctx.source.bucket, Key=ctx.source.absolute_key(action.key),
        carry=ctx.copy_options.source_reads(),
    )
    if not same_etag(source_head["ETag"], action.source.etag):
        # Overwritten since listing: copy what is there now instead.
        return _copy(ctx, action, trace, changed=True)
    trace.source_version_id = source_head.get("VersionId")
    dst_key = ctx.dest.absolute_key(action.key)
    try:
        dest_head = call(
            ctx.dest_client, "head_object", Bucket=ctx.dest.bucket, Key=dst_key, carry=ctx.copy_options.dest_reads()
        )
    except ClientError as exc:
        if s3.is_vanished(exc):  # deleted at the destination since listing: copy it again
            return _copy(ctx, action, trace)
        raise
    return settle_lock(ctx, action.key, source_head, dest_head)


def settle_lock(ctx: ExecutionContext, key: str, source_head: dict, dest_head: dict) -> ObjectOutcome:
    """Give the destination's current version the source's lock, both as their HEADs describe them."""
    decision = decide_lock(LockState.from_head(source_head), LockState.from_head(dest_head), ctx.now())
    if decision.changes_anything() and not ctx.dry_run:
        apply_lock(ctx.dest_client, ctx.dest.bucket, ctx.dest.absolute_key(key), dest_head.get("VersionId"), decision)
    status = "lock_updated" if decision.changes_anything() else "skipped"
    return ObjectOutcome(key, status, version_id=source_head.get("VersionId"), notes=decision.notes)
