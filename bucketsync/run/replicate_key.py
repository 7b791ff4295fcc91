"""Replicating one key from both sides' current state: what `watch` does for each announced change.

An event may be late, repeated or out of order, so it is only a hint of which key to look at: the key is
listed on both sides now (one ListObjectsV2 each, `Prefix` = the key, one entry: the key itself sorts
before every longer key it prefixes), planned with the run's rules (`plan.plan_pair`: copy when missing or
changed, lock check, delete only with --delete) and executed by the same engine as `sync`. A key that
holds its source's state already plans as skip or lock check, so a duplicate event writes nothing.
With --all-versions the key's whole history is listed on both sides and planned as `sync --all-versions`
plans it (missing versions written oldest first, delete markers placed, locks checked).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from botocore.exceptions import BotoCoreError, ClientError

from ..engine import s3
from ..core.events import Change
from ..engine.execute import execute
from ..engine.execution_context import ExecutionContext
from ..core.history import KeyHistory
from ..engine.history_execute import execute_history
from ..listing.pages import entry_from_listing
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


def current_entry(client, location: Location, key: str) -> ObjectEntry | None:
    absolute = location.absolute_key(key)
    answer = client.list_objects_v2(Bucket=location.bucket, Prefix=absolute, MaxKeys=1)
    for item in answer.get("Contents", []):
        if item["Key"] == absolute:
            return entry_from_listing(location, item)
    return None


# Both sides of a key are listed at once: one round trip instead of two before the copy starts.
_looks = ThreadPoolExecutor(max_workers=32, thread_name_prefix="bucketsync-look")


def replicate_key(ctx: ExecutionContext, request: RunRequest, key: str) -> ObjectOutcome:
    """Make the destination's `key` hold the source's current state; never raises for one object's failure."""
    dest_look = _looks.submit(current_entry, ctx.dest_client, ctx.dest, key)
    source = current_entry(ctx.source_client, ctx.source, key)
    dest = dest_look.result()
    if source is None and dest is None:
        return ObjectOutcome(key, "vanished", reason="on neither side any more")
    action = plan_pair(source, dest, request.plan_options(ctx.settings))
    if action is None:  # in the destination only, and no --delete
        return ObjectOutcome(key, "skipped", reason="not in source (deletes follow --delete)")
    if action.kind == "skip":
        return ObjectOutcome(key, "skipped", version_id=None)
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
