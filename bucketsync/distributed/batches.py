"""One copy batch on a worker: take its lease, execute its planned actions with the worker's threads, count
them once.

A batch is written only under its lease in the ledger (ledger.claim_batch), renewed while it runs:
- a delivery of a batch already counted, of a run that has ended, or of a batch another delivery is running
  is dropped without touching S3 (logged, and counted as a duplicate delivery);
- a delivery after an earlier one took the lease and never counted (its worker died) checks each key's
  destination before writing it, and a key that already holds its source's state is not written again;
- a delivery that loses its lease while it runs (it could not renew it for a whole lease time) stops
  writing and counts nothing: the delivery holding the lease now does.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from . import runtime
from ..engine import s3
from ..engine.execute import execute, guarded
from ..engine.execution_context import ActionTrace, ExecutionContext
from ..core.history import HistoryEntry, order_history, plan_history
from ..engine.history_execute import REWRITTEN, execute_history
from ..core.locations import Location
from .ledger import LeaseKeeper, batch_lease
from ..core.messages import RunRequest, action_from_json
from ..core.model import ObjectEntry
from ..core.outcomes import ObjectOutcome, add_up, utc_now_iso, with_note
from .patience import retry_while_redis_unavailable
from ..core.plan import PlannedAction, still_needed
from ..engine.s3_calls import call
from ..listing.versions import iter_version_pages
from ..core.version_plan import HISTORY_KIND, HistoryAction

log = logging.getLogger("bucketsync")

BatchAction = PlannedAction | HistoryAction

WRITTEN_BEFORE = "written by an earlier delivery of this batch (its worker stopped before counting it)"


def action_from_message(data: dict[str, Any]) -> BatchAction:
    """A batch item: one key's history (--all-versions) or one planned action."""
    return HistoryAction.from_json(data) if data.get("kind") == HISTORY_KIND else action_from_json(data)


def _execute(ctx: ExecutionContext, action: BatchAction) -> list[ObjectOutcome]:
    if isinstance(action, HistoryAction):
        return execute_history(ctx, action)  # the key's entries in order, on this one thread
    return [execute(ctx, action)]


def _destination_now(ctx: ExecutionContext, key: str) -> ObjectEntry | None:
    """The destination key's current version as a listing would show it (None: absent, or a delete marker)."""
    try:
        head = call(ctx.dest_client, "head_object", Bucket=ctx.dest.bucket, Key=ctx.dest.absolute_key(key),
                    carry=ctx.copy_options.dest_reads())
    except ClientError as exc:
        if s3.is_vanished(exc):
            return None
        raise
    return ObjectEntry(key, int(head["ContentLength"]), head["ETag"], head.get("StorageClass"), head.get("LastModified"))


def _destination_history(ctx: ExecutionContext, key: str) -> tuple[HistoryEntry, ...]:
    """One key's destination history, oldest first (ListObjectVersions with the key as prefix, others dropped)."""
    location = Location(ctx.dest.bucket, ctx.dest.absolute_key(key))
    versions: list[HistoryEntry] = []
    markers: list[HistoryEntry] = []
    for page in iter_version_pages(ctx.dest_client, location, page_size=1000):
        versions += [replace(entry, key=key) for entry in page.versions if entry.key == ""]
        markers += [replace(entry, key=key) for entry in page.markers if entry.key == ""]
    return tuple(order_history(versions, markers))


def _history_again(ctx: ExecutionContext, action: HistoryAction) -> list[ObjectOutcome]:
    """A key's history in a batch delivered again: planned anew against the destination's history now (one
    ListObjectVersions), so the entries an earlier delivery wrote are matched, not written again; they are
    reported as written, as that delivery would have."""
    plan = action.plan
    if not plan.to_write:
        return execute_history(ctx, action)
    again = plan_history(tuple(source for source, _ in plan.matched) + plan.to_write,
                         _destination_history(ctx, action.key))
    written = {entry.version_id: entry for entry in plan.to_write if entry not in again.to_write}
    if not written:
        return execute_history(ctx, action)
    rewritten = {entry.version_id for entry in plan.rewritten}
    outcomes = []
    for outcome in execute_history(ctx, replace(action, plan=again)):
        entry = written.get(outcome.version_id or "")
        if entry is not None and outcome.status in ("skipped", "lock_updated"):
            outcome = replace(outcome, status="delete_marker_copied" if entry.is_delete_marker else "copied",
                              bytes_copied=0 if entry.is_delete_marker else entry.size,
                              notes=with_note(outcome.notes, WRITTEN_BEFORE))
        elif outcome.status == "version_kept" and outcome.version_id in rewritten:
            outcome = replace(outcome, status="version_rewritten", reason=REWRITTEN)
        outcomes.append(outcome)
    return outcomes


def guarded_history(key: str, work: Callable[[], list[ObjectOutcome]]) -> list[ObjectOutcome]:
    """`work()`; an error listing the key's destination history fails the key (its entries wait for the next run)."""
    done: list[ObjectOutcome] = []

    def attempt() -> ObjectOutcome:
        done.extend(work())  # execute_history never raises: only the listing before it can
        return ObjectOutcome(key, "skipped")

    outcome = guarded("check the history before writing again", key, ActionTrace(), attempt)
    return done if outcome.status == "skipped" else [outcome]


def _execute_again(ctx: ExecutionContext, request: RunRequest, action: BatchAction) -> list[ObjectOutcome]:
    """An action of a batch delivered again: written only if the destination does not hold it yet (one HEAD;
    a history: one ListObjectVersions of the key)."""
    if isinstance(action, HistoryAction):
        return guarded_history(action.key, lambda: _history_again(ctx, action))
    if action.kind not in ("copy", "delete"):
        return _execute(ctx, action)
    needed = False

    def check() -> ObjectOutcome:
        nonlocal needed
        needed = still_needed(action, _destination_now(ctx, action.key), request.plan_options(ctx.settings))
        if needed:
            return ObjectOutcome(action.key, "skipped")  # not used: the action runs below
        if action.kind == "delete":
            return ObjectOutcome(action.key, "deleted", notes=(WRITTEN_BEFORE,))
        size = action.source.size if action.source else 0
        if request.source_lock_enabled:
            # its lock may not have been set when the first executor stopped: bring it up to date
            checked = execute(ctx, replace(action, kind="check_lock"))
            if checked.status not in ("skipped", "lock_updated"):
                return checked  # changed at the source since listing (copied now), or failed
            return replace(checked, status="copied", bytes_copied=size, notes=with_note(checked.notes, WRITTEN_BEFORE))
        return ObjectOutcome(action.key, "copied", bytes_copied=size, notes=(WRITTEN_BEFORE,))

    outcome = guarded("check before writing again", action.key, ActionTrace(), check)
    return _execute(ctx, action) if needed else [outcome]


PROGRESS_EVERY_SECONDS = 0.5  # how often a batch's progress is written (status reads it)


def execute_actions(
    request: RunRequest, actions: list[BatchAction], *, delivered_before: bool = False, lease: LeaseKeeper | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> list[ObjectOutcome] | None:
    """Execute one batch with the worker's thread pool; never raises for an object. None: the lease was lost
    and some actions were left undone (the batch must not be counted here). `on_progress`: told how many
    actions are done, at most every PROGRESS_EVERY_SECONDS."""
    ctx = runtime.execution_context(request)
    threads = min(ctx.settings.concurrency, len(actions)) or 1
    lock = threading.Lock()
    handled, last_told = 0, time.monotonic()

    def told(outcomes):
        nonlocal handled, last_told
        if on_progress is not None and outcomes is not None:
            with lock:
                handled += 1
                now = time.monotonic()
                if now - last_told >= PROGRESS_EVERY_SECONDS:
                    last_told = now
                    on_progress(handled)
        return outcomes

    def run(action: BatchAction) -> list[ObjectOutcome] | None:
        if lease is not None and lease.lost:
            return None
        return told(_execute_again(ctx, request, action) if delivered_before else _execute(ctx, action))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(run, actions))
    if any(result is None for result in results):  # a batch done in full is counted, lease or not: once
        return None
    return [outcome for outcomes in results for outcome in outcomes]  # type: ignore[union-attr]


def copy_and_count(request: RunRequest, page: int, batch: int, actions: list[BatchAction]) -> dict[str, Any]:
    """Copy (and lock, delete, check) a batch under its lease, count it in the run's ledger; returns the batch's
    totals (a delivery dropped unwritten: {"duplicate_deliveries": 1})."""
    ledger = runtime.ledger()
    lease_seconds = runtime.worker_settings().batch_lease_seconds
    holder = uuid.uuid4().hex
    where = f"run {request.run_id} page {page} batch {batch}"
    patience = runtime.redis_patience_seconds()
    claim = retry_while_redis_unavailable(
        lambda: ledger.claim_batch(request.run_id, page, batch, holder, lease_seconds), what=where,
        give_up_after=patience,
    )
    if not claim.granted:
        log.info("%s: delivered again (%s): dropped without touching S3", where, claim.verdict.replace("_", " "))
        return {"duplicate_deliveries": 1}
    if claim.delivered_before:
        log.info("%s: delivery %d (an earlier one never counted it): each key's destination is checked before "
                 "writing", where, claim.deliveries)
    # The lease is renewed until the count ends it (a batch left uncounted keeps its delivery count).
    with LeaseKeeper(ledger, request.run_id, batch_lease(page, batch), holder, lease_seconds, release=False) as lease:
        outcomes = execute_actions(
            request, actions, delivered_before=claim.delivered_before, lease=lease,
            on_progress=lambda handled: ledger.note_batch_progress(request.run_id, page, batch, handled),
        )
        if outcomes is None:
            log.warning("%s: stopped without counting: another delivery holds the batch's lease now", where)
            return {}
        # The copies are done; if Redis is restarting or full, wait to count them rather than copy again.
        retry_while_redis_unavailable(
            lambda: ledger.record_batch(request.run_id, page, batch, outcomes, utc_now_iso()),
            what=where, give_up_after=patience,
        )
        ledger.clear_batch_progress(request.run_id, page, batch)
    return add_up(outcomes)
