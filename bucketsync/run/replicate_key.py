"""Replicating one key from both sides' current state: what `watch` does for each announced change.

An event may be late, repeated or out of order, so it is only a hint of which key to look at: the key is
read on both sides now (one HEAD each, at once), planned with the run's rules (`plan.plan_pair`: copy when
missing or changed, lock check, delete only with --delete) and executed by the same engine as `sync`
(the copy made of the version the source's HEAD found, without reading it again; a lock check settled
from the two HEADs). A key that holds its source's state already plans as skip or lock check, so a
duplicate event writes nothing.
With --all-versions the key's whole history is listed on both sides and planned as `sync --all-versions`
plans it (missing versions written oldest first, delete markers placed, locks checked).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from botocore.exceptions import BotoCoreError, ClientError

from ..engine import s3
from ..core.events import Change
from ..engine.execute import copy_and_settle, execute, guarded, settle_lock
from ..engine.execution_context import ActionTrace, ExecutionContext
from ..engine.source_version import SourceVersion, read_source_version
from ..core.history import KeyHistory
from ..engine.history_execute import execute_history
from ..core.locations import Location
from ..core.messages import RunRequest
from ..core.model import ObjectEntry
from ..core.outcomes import ObjectOutcome
from ..core.plan import plan_pair
from ..listing.versions import iter_histories, iter_version_pages
from ..core.version_plan import plan_key


def relative_key(change: Change, source: Location) -> str | None:
    """The key relative to the source prefix; None for a change outside the source bucket or prefix."""
    if change.bucket != source.bucket or not change.key.startswith(source.prefix):
        return None
    return source.relative_key(change.key)


def current_version(client, location: Location, key: str, reads) -> SourceVersion | None:
    """The key's current version as one HEAD describes it (size, ETag, version id, lock, metadata); None
    where there is none (never written, deleted, or a delete marker)."""
    try:
        return read_source_version(client, location.bucket, location.absolute_key(key), reads=reads)
    except ClientError as exc:
        if s3.is_vanished(exc):
            return None
        raise


def entry_of(key: str, version: SourceVersion | None) -> ObjectEntry | None:
    """The version as the planner compares objects (a listing's fields, from the HEAD)."""
    if version is None:
        return None
    return ObjectEntry(key=key, size=version.size, etag=version.etag, storage_class=version.storage_class,
                       last_modified=version.head.get("LastModified"))


# Both sides of a key are read at once: one round trip instead of two before the copy starts.
_looks = ThreadPoolExecutor(max_workers=32, thread_name_prefix="bucketsync-look")


def replicate_key(ctx: ExecutionContext, request: RunRequest, key: str) -> ObjectOutcome:
    """Make the destination's `key` hold the source's current state; never raises for one object's failure.

    One HEAD of each side (at once) is all the reading: the planner compares them as it compares listed
    objects, the copy is made of the source version the HEAD found, and an unchanged key's lock is settled
    from the two HEADs."""
    options = ctx.copy_options
    dest_look = _looks.submit(current_version, ctx.dest_client, ctx.dest, key, options.dest_reads())
    source = current_version(ctx.source_client, ctx.source, key, options.source_reads())
    dest = dest_look.result()
    if source is None and dest is None:
        return ObjectOutcome(key, "vanished", reason="on neither side any more")
    action = plan_pair(entry_of(key, source), entry_of(key, dest), request.plan_options(ctx.settings))
    if action is None:  # in the destination only, and no --delete
        return ObjectOutcome(key, "skipped", reason="not in source (deletes follow --delete)")
    if action.kind == "skip":
        return ObjectOutcome(key, "skipped", version_id=None)
    if action.kind == "copy":
        trace = ActionTrace()
        return guarded("copy", key, trace, lambda: copy_and_settle(ctx, key, action.source, trace, read=source))
    if action.kind == "check_lock":
        return guarded("check_lock", key, ActionTrace(), lambda: settle_lock(ctx, key, source.head, dest.head))
    return execute(ctx, action)


def key_history(client, location: Location, key: str, page_size: int) -> KeyHistory | None:
    """The whole history of one key (ListObjectVersions with Prefix = the key; the key itself comes first)."""
    narrowed = Location(location.bucket, location.absolute_key(key))
    for history in iter_histories(iter_version_pages(client, narrowed, page_size=page_size)):
        if history.key != "":
            return None
        return KeyHistory(key, tuple(replace(entry, key=key) for entry in history.entries))
    return None


def replicate_history(ctx: ExecutionContext, request: RunRequest, key: str) -> ObjectOutcome:
    """Make the destination's history of `key` hold the source's: one outcome standing for the key."""
    page_size = ctx.settings.page_size
    source = key_history(ctx.source_client, ctx.source, key, page_size)
    dest = key_history(ctx.dest_client, ctx.dest, key, page_size)
    if source is None and dest is None:
        return ObjectOutcome(key, "vanished", reason="on neither side any more")
    action = plan_key(source, dest, request.plan_options(ctx.settings))
    if not action.needs_work:
        return ObjectOutcome(key, "skipped")
    outcomes = execute_history(ctx, action)
    statuses = sorted({outcome.status for outcome in outcomes})
    for status in ("failed", "vanished"):
        for outcome in outcomes:
            if outcome.status == status:
                return outcome
    for status in ("copied", "deleted", "lock_updated"):
        if status in statuses:
            return ObjectOutcome(key, status, notes=(f"{len(outcomes)} history entries: {', '.join(statuses)}",))
    return ObjectOutcome(key, "skipped")


def replicate(ctx: ExecutionContext, request: RunRequest, key: str) -> ObjectOutcome:
    """One key as the run replicates keys: its current version, or with --all-versions its history. A key
    that cannot be read (a listing refused or failing) is one failed outcome, never an exception."""
    try:
        return replicate_history(ctx, request, key) if request.all_versions else replicate_key(ctx, request, key)
    except (ClientError, BotoCoreError) as exc:
        return ObjectOutcome(key, "failed", reason=f"reading the key's state: {s3.describe(exc)}")
