"""The coordinator: one source page per invocation, fanned out as a chord of copy batches.

Each invocation lists one page, plans it against its slice of the destination, registers the page and
its batches in the ledger, publishes the batches as a chord (callback: the page summary), then publishes
the coordinator of the next page with the continuation token. Above a high-water mark of queued messages
it publishes itself again with a countdown instead of listing further, so Redis holds a bounded window.

Redelivery and duplicates: a page is coordinated by whoever claims it first in the ledger (a redelivered
message carries the same claim id and may go on; a duplicate stands down). A page already registered is
never listed again: its batches are published again from the ledger's outbox if they may not have gone
out. Two coordinators that both listed a page (a `resume` racing a redelivery) both try to register it;
only the one whose registration counts publishes, and the ledger counts each batch once whichever copy
of it runs.

Lanes: the run's first page cuts the key space into lanes listed at once; the coordinator of a lane's page
may split the rest of its lane off as a new lane (lane_splits.py), registered with the page. The ledger
numbers the pages, and what a page's registration decided (its lane's next page, the lane it split off)
is read back from the ledger by a redelivered coordinator, never from its message.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import runtime
from ..engine import s3
from ..engine.execution_context import ExecutionContext
from .ledger import REGISTERED_BEFORE, RUN_UNKNOWN, LeaseKeeper, lane_lease
from ..listing.keyspace import KeyRange
from .lane_splits import where_to_split, worth_splitting
from ..listing.pages import entries_of, list_page, page_of, pages_from, request_page
from ..core.messages import PageTask, RunRequest
from ..core.model import ObjectEntry
from ..core.outcomes import utc_now_iso
from ..core.errors import ListingOrderError
from ..core.plan import PlannedAction, batches_of, dest_range_for_page, plan
from .publish import publish_batches, publish_page, queue_length
from ..listing.range_split import split_key_space
from ..core.settings import Settings
from .version_pages import list_and_plan_versions

log = logging.getLogger("bucketsync")

BACKPRESSURE_COUNTDOWN = 2.0


@dataclass(frozen=True)
class PlannedPage:
    """One source page, listed and planned against its slice of the destination."""

    entries: list[ObjectEntry]  # the keys the filters include
    actions: list[PlannedAction]
    next_token: str | None
    last_key: str | None  # where the next page starts (after a skipped excluded prefix: its end)
    is_last: bool
    excluded: int = 0  # source keys listed and excluded by the filters

    @property
    def listed(self) -> int:
        return len(self.entries)

    @property
    def work(self) -> list[PlannedAction]:
        return [action for action in self.actions if action.kind != "skip"]

    @property
    def skipped(self) -> int:
        return len(self.actions) - len(self.work)

    def batches(self, settings: Settings) -> list[list[dict[str, Any]]]:
        return batches_of(self.work, settings.batch_size, settings.batch_max_bytes)


def list_and_plan(
    ctx: ExecutionContext, settings: Settings, request: RunRequest, task: PageTask,
    first_answers: tuple[dict, dict] | None = None,
) -> PlannedPage:
    """List the source page and its slice of the destination, and plan the page. Raises on listing errors.
    `first_answers`: both sides' answers for a first page (no token, no start), asked for already."""
    # The destination's slice starts after the previous page's last key: its first page is listed
    # while the source page is, and only the pages after it wait for the source's last key.
    filters = request.key_filters
    lane = KeyRange(None, task.last)  # pages stop at the end of their lane
    if first_answers is not None:
        source_page = page_of(first_answers[0], ctx.source, filters=filters, key_range=lane)
        first_dest = page_of(first_answers[1], ctx.dest, filters=filters, key_range=lane)
        dest_pages = pages_from(ctx.dest_client, ctx.dest, first_dest, page_size=settings.page_size, filters=filters,
                                key_range=lane)
    else:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bucketsync-dest-listing") as pool:
            first_dest_page = pool.submit(
                list_page, ctx.dest_client, ctx.dest, page_size=settings.page_size, start_after=task.start_after,
                filters=filters, key_range=lane,
            )
            # Without a token (a lane's first page, or the page after a skipped prefix) the source starts
            # after start_after.
            source_page = list_page(
                ctx.source_client, ctx.source, page_size=settings.page_size, token=task.token,
                start_after=task.start_after, filters=filters, key_range=lane,
            )
            dest_pages = pages_from(
                ctx.dest_client, ctx.dest, first_dest_page.result(), page_size=settings.page_size, filters=filters,
                key_range=lane,
            )
    is_last = source_page.is_last
    # Every destination key after start_after and up to last_key is this page's; after a skip, the keys up
    # to the end of the skipped prefix are all excluded, so the next page's slice may start after it.
    last_key = source_page.skip_to or source_page.last_key or task.start_after
    dest_entries = dest_range_for_page(entries_of(dest_pages), None if is_last else last_key)
    actions = list(plan(source_page.entries, dest_entries, request.plan_options(settings)))
    return PlannedPage(
        source_page.entries, actions, source_page.next_token, last_key, is_last, excluded=source_page.excluded
    )


def cut_into_lanes(
    ctx: ExecutionContext, settings: Settings, request: RunRequest, task: PageTask
) -> tuple[PageTask, tuple[dict, dict] | None]:
    """The first page of a run whose lanes are not decided: cut the key space into ranges (range_split.py)
    while both sides' first pages are asked for (they start lane 0 whatever the cuts), record the lanes
    (a redelivered first page gets the cuts recorded before), and publish the first page of every other
    lane. Returns this page's task as lane 0, and the first answers."""
    parts = lanes_allowed(request, settings)
    if request.all_versions or parts <= 1:
        return replace(task, lanes=1), None
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="bucketsync-first-pages") as pool:
        answers = (pool.submit(request_page, ctx.source_client, ctx.source, page_size=settings.page_size),
                   pool.submit(request_page, ctx.dest_client, ctx.dest, page_size=settings.page_size))
        cutting = pool.submit(split_key_space, ctx.source_client, ctx.source, parts, settings.page_size,
                              answers[0].result)
        ranges = cutting.result()
        first_answers = (answers[0].result(), answers[1].result())
    if len(ranges) > 1:
        runtime.ledger().set_lanes(request.run_id, [key_range.last for key_range in ranges])
    return start_lanes(request, task), first_answers


def start_lanes(request: RunRequest, task: PageTask) -> PageTask:
    """The first pages of lanes 1..n-1 as the ledger recorded the cut (pages 1..n-1; a lane already past
    its first page is left alone: its ledger entries say where it is, and its start may have moved since);
    returns `task` as the first page of lane 0."""
    ends = runtime.ledger().lane_ends(request.run_id)
    for lane in range(1, len(ends)):
        continue_lane(request, lane, lane, ends, lane_pages=0)
    return replace(task, lanes=len(ends), last=ends[0])


def lanes_allowed(request: RunRequest, settings: Settings) -> int:
    return request.listing_ranges or settings.listing_ranges


def continue_lane(request: RunRequest, lane: int, page: int, ends: list[str | None], lane_pages: int) -> None:
    """Publish lane `lane`'s page `page` from its ledger cursor, unless the lane is past it (a duplicate of a
    message that went out before stands down at the lane's claim)."""
    cursor = runtime.ledger().cursor(request.run_id, lane)
    if cursor.lane_done or cursor.next_page != page:
        return
    publish_page(request, PageTask(page, cursor.token, cursor.last_key, lane=lane, lanes=len(ends), last=ends[lane],
                                   lane_pages=lane_pages))


def resume_from_ledger(request: RunRequest, task: PageTask) -> None:
    """A page registered before (a redelivered message, or a coordinator that died after registering): what
    its coordinator publishes after the registration goes out again, from the ledger (the task's own `last`
    may be stale: the registration may have split the lane)."""
    ledger = runtime.ledger()
    run_id = request.run_id
    if not ledger.was_published(run_id, task.page):
        publish_batches(request, task.page, ledger.unfinished_batches(run_id).get(task.page, {}))
        ledger.mark_published(run_id, task.page)
    if task.lanes == 0:  # the run's first page
        task = start_lanes(request, task)
    ends = ledger.lane_ends(run_id)
    record = ledger.page_record(run_id, task.page)
    split = record.split if record else None
    if split is not None:
        continue_lane(request, split.lane, split.page, ends, lane_pages=0)
    # a page registered by an older version has no next page recorded: its lanes were numbered l, l+n, ...
    next_page = record.next_page if record and record.next_page is not None else task.page + max(1, task.lanes)
    continue_lane(request, task.lane, next_page, ends, lane_pages=0 if split else task.lane_pages + 1)


def coordinate_page(request: RunRequest, task: PageTask) -> dict[str, Any]:
    """List, plan and fan out one page. Returns what it did (the task's result, shown in Flower)."""
    settings = runtime.run_settings(request)
    ledger = runtime.ledger()
    run_id = request.run_id
    result: dict[str, Any] = {"run_id": run_id, "page": task.page}
    if not ledger.exists(run_id):
        return result | {"result": "unknown or expired run"}
    if queue_length() > settings.queue_high_water:
        publish_page(request, task, countdown=BACKPRESSURE_COUNTDOWN)
        return result | {"result": "deferred: queue above high-water mark"}
    if not ledger.claim_page(run_id, task.page, task.claim_id, force=task.force_claim, lane=task.lane):
        return result | {"result": "duplicate coordinator stood down"}
    # While it works, the coordinator holds its lane's lease: if it dies, a worker's recovery sweep publishes
    # the lane's next page again from the ledger's cursor (recovery.py), well before the visibility timeout.
    holder, lease_seconds = uuid.uuid4().hex, settings.batch_lease_seconds
    ledger.hold_lane(run_id, task.lane, holder, lease_seconds)
    with LeaseKeeper(ledger, run_id, lane_lease(task.lane), holder, lease_seconds):
        return coordinate_claimed_page(request, task, settings, result)


def coordinate_claimed_page(request: RunRequest, task: PageTask, settings: Settings, result: dict[str, Any]) -> dict[str, Any]:
    """The page's coordination once its claim is won."""
    ledger = runtime.ledger()
    run_id = request.run_id
    if ledger.is_registered(run_id, task.page):
        resume_from_ledger(request, task)
        return result | {"result": "resumed from the ledger"}

    split_at, cut_tried = None, False
    try:
        ctx = runtime.execution_context(request)
        first_answers = None
        if task.lanes == 0:
            task, first_answers = cut_into_lanes(ctx, settings, request, task)
            result["lanes"] = task.lanes
        if request.all_versions:
            page = list_and_plan_versions(ctx, settings, request, task)
        else:
            page = list_and_plan(ctx, settings, request, task, first_answers)
            if (worth_splitting(task.lane_pages, page.is_last, request.all_versions)
                    and ledger.may_split(run_id, lanes_allowed(request, settings))):
                cut_tried = True
                split_at, why_not = where_to_split(ctx.source_client, ctx.source, page.last_key, task.last,
                                                   [entry.key for entry in page.entries])
                if why_not.startswith("ignores StartAfter"):  # then no lane of the run is split again
                    log.warning("run %s: the source %s: its lanes are not split", run_id, why_not)
                    ledger.mark(run_id, splits_off="1")
                elif why_not:
                    log.info("run %s: lane %d not split after page %d: %s", run_id, task.lane, task.page, why_not)
    except (ClientError, BotoCoreError, ListingOrderError) as exc:
        # The listing cannot go on (botocore already retried what was transient): the run ends here.
        reason = str(exc) if isinstance(exc, ListingOrderError) else s3.describe(exc)
        ledger.mark(run_id, state="failed", error=f"listing page {task.page}: {reason}", finished_at=utc_now_iso())
        return result | {"result": f"listing failed: {reason}"}

    batches = page.batches(settings)
    registered = ledger.register_page(
        run_id, task.page, batches=batches, listed=page.listed, skipped=page.skipped, excluded=page.excluded,
        token=page.next_token, last_key=page.last_key, is_last=page.is_last, finished_at=utc_now_iso(),
        lane=task.lane, lanes=task.lanes, split_at=split_at, lane_last=task.last,
        lanes_allowed=lanes_allowed(request, settings),
    )
    if registered.status == REGISTERED_BEFORE:
        return result | {"result": "page registered by another coordinator: it publishes the batches"}
    if registered.status == RUN_UNKNOWN:
        return result | {"result": "unknown or expired run"}
    publish_batches(request, task.page, dict(enumerate(batches)))
    ledger.mark_published(run_id, task.page)
    split = registered.split
    if split is not None:
        # Before the lane's next page: once that has gone out, a redelivered coordinator of this page stands
        # down at the lane's claim, and the new lane's first page must be out already.
        publish_page(request, PageTask(split.page, None, split_at, lane=split.lane, lanes=task.lanes, last=task.last))
        result["split"] = {"lane": split.lane, "at": split_at}
    if registered.next_page is not None:
        publish_page(request, task.next(registered.next_page, page.next_token, page.last_key,
                                        split_at if split is not None else None, cut_tried=cut_tried))
    return result | {"listed": page.listed, "excluded": page.excluded, "objects": len(page.work), "batches": len(batches)}
