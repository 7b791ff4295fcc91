"""Carrying out one key's HistoryAction (`sync --all-versions`) -> one ObjectOutcome per entry.

The entries to write go in order, oldest first, one after the other: each source version becomes one
destination version (the copy engine, pinned to the source version id), each source delete marker a
DeleteObject without a version id (on a versioned bucket that places a delete marker). A version gone for
good at the source since listing is reported `vanished` and the key goes on: the history no longer has it.
Any other failure stops the key there: a newer entry written above a missing older one could never be
matched again (S3 cannot insert a version beneath a newer one), so the rest wait for the next run.

Matched pairs of a lock-enabled source get both versions' lock state read (HEAD with VersionId) and the
destination version's brought up to date: lock changes on noncurrent versions reach their copies too.
"""

from __future__ import annotations

from .execute import copy_and_settle, guarded
from .execution_context import ActionTrace, ExecutionContext
from ..core.history import HistoryEntry
from .lock_write import apply_lock
from ..core.lockrules import decide_lock
from ..core.model import LockState, ObjectEntry
from ..core.outcomes import ObjectOutcome
from .s3_calls import call
from ..core.version_plan import HistoryAction

REWRITTEN = "left beneath the history written again above it (a newer version stood above a missing older one)"


def execute_history(ctx: ExecutionContext, action: HistoryAction) -> list[ObjectOutcome]:
    key, plan = action.key, action.plan
    outcomes: list[ObjectOutcome] = []
    stopped_at: str | None = None
    for entry in plan.to_write:
        if stopped_at is not None:
            outcomes.append(ObjectOutcome(
                key, "failed", version_id=entry.version_id,
                reason=f"not written: the older version {stopped_at} of this key failed; the next run writes both",
            ))
            continue
        outcome = _write(ctx, key, entry)
        if outcome.status == "failed":
            stopped_at = entry.version_id
        outcomes.append(outcome)
    for source, dest in plan.matched:
        if action.check_locks and not source.is_delete_marker:
            outcomes.append(_check_version_lock(ctx, key, source, dest))
        else:
            outcomes.append(ObjectOutcome(key, "skipped", version_id=source.version_id))
    outcomes += [ObjectOutcome(key, "version_kept", version_id=entry.version_id) for entry in plan.kept]
    outcomes += [
        ObjectOutcome(key, "version_rewritten", version_id=entry.version_id, reason=REWRITTEN) for entry in plan.rewritten
    ]
    if action.delete:
        trace = ActionTrace()
        outcomes.append(guarded("delete", key, trace, lambda: _place_delete_marker(ctx, key, "deleted", None)))
    return outcomes


def _write(ctx: ExecutionContext, key: str, entry: HistoryEntry) -> ObjectOutcome:
    trace = ActionTrace(source_version_id=entry.version_id)
    if entry.is_delete_marker:
        return guarded("delete marker", key, trace,
                       lambda: _place_delete_marker(ctx, key, "delete_marker_copied", entry.version_id))
    listed = ObjectEntry(key, entry.size, entry.etag)
    return guarded("copy version", key, trace,
                   lambda: copy_and_settle(ctx, key, listed, trace, pinned_version_id=entry.version_id))


def _place_delete_marker(ctx: ExecutionContext, key: str, status: str, source_version_id: str | None) -> ObjectOutcome:
    if not ctx.dry_run:
        # No version id: on a versioned destination this adds a delete marker and removes nothing.
        call(ctx.dest_client, "delete_object", Bucket=ctx.dest.bucket, Key=ctx.dest.absolute_key(key))
    return ObjectOutcome(key, status, version_id=source_version_id)  # type: ignore[arg-type]


def _check_version_lock(ctx: ExecutionContext, key: str, source: HistoryEntry, dest: HistoryEntry) -> ObjectOutcome:
    trace = ActionTrace(source_version_id=source.version_id)

    def check() -> ObjectOutcome:
        source_head = call(ctx.source_client, "head_object", Bucket=ctx.source.bucket,
                           Key=ctx.source.absolute_key(key), VersionId=source.version_id)
        dst_key = ctx.dest.absolute_key(key)
        dest_head = call(ctx.dest_client, "head_object", Bucket=ctx.dest.bucket, Key=dst_key, VersionId=dest.version_id)
        decision = decide_lock(LockState.from_head(source_head), LockState.from_head(dest_head), ctx.now())
        if decision.changes_anything() and not ctx.dry_run:
            apply_lock(ctx.dest_client, ctx.dest.bucket, dst_key, dest.version_id, decision)
        status = "lock_updated" if decision.changes_anything() else "skipped"
        return ObjectOutcome(key, status, version_id=source.version_id, notes=decision.notes)  # type: ignore[arg-type]

    return guarded("check lock", key, trace, check)
