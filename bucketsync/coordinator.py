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
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import runtime, s3
from .execute import ExecutionContext
from .ledger import REGISTERED_BEFORE, RUN_UNKNOWN
from .keyspace import KeyRange, contiguous_ranges
from .listing import entries_of, list_page, page_of, pages_from, request_page
from .messages import PageTask, RunRequest
from .model import ObjectEntry
from .outcomes import utc_now_iso
from .plan import ListingOrderError, PlannedAction, batches_of, dest_range_for_page, plan
from .publish import publish_batches, publish_page, queue_length
from .range_split import split_key_space
from .settings import Settings
from .version_pages import list_and_plan_versions

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
    parts = request.listing_ranges or settings.listing_ranges
    if request.all_versions or parts <= 1:
        return replace(task, lanes=1), None
    ledger = runtime.ledger()
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="bucketsync-first-pages") as pool:
        answers = (pool.submit(request_page, ctx.source_client, ctx.source, page_size=settings.page_size),
                   pool.submit(request_page, ctx.dest_client, ctx.dest, page_size=settings.page_size))
        cutting = pool.submit(split_key_space, ctx.source_client, ctx.source, parts, settings.page_size,
                              answers[0].result)
        ranges = cutting.result()
        first_answers = (answers[0].result(), answers[1].result())
    ends = [key_range.last for key_range in ranges]
    if len(ranges) > 1:
        ends = ledger.set_lanes(request.run_id, ends) or [None]
    return publish_other_lanes(request, task, ends), first_answers


def publish_other_lanes(request: RunRequest, task: PageTask, ends: list[str | None]) -> PageTask:
    """The first pages of lanes 1.. (a duplicate of one that went out before stands down at its claim);
    returns `task` as the first page of lane 0."""
    lanes = contiguous_ranges([end for end in ends[:-1] if end is not None])
    for lane, key_range in enumerate(lanes[1:], start=1):
        publish_page(request, PageTask(lane, None, key_range.start_after, lane=lane, lanes=len(lanes),
                                       last=key_range.last))
    return replace(task, lanes=len(lanes), last=lanes[0].last)


def coordinate_page(request: RunRequest, task: PageTask) -> dict[str, Any]:
    """List, plan and fan out one page. Returns what it did (the task's result, shown in Flower)."""
    settings = runtime.worker_settings()
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

    if ledger.is_registered(run_id, task.page):
        if not ledger.was_published(run_id, task.page):
            publish_batches(request, task.page, ledger.unfinished_batches(run_id).get(task.page, {}))
            ledger.mark_published(run_id, task.page)
        if task.lanes == 0:  # the run's first page, redelivered after it was registered: lanes decided
            task = publish_other_lanes(request, task, ledger.lane_ends(run_id))
        cursor = ledger.cursor(run_id, task.lane)
        if not cursor.lane_done and cursor.next_page == task.page + task.lanes:
            publish_page(request, task.next(cursor.token, cursor.last_key))
        return result | {"result": "resumed from the ledger"}

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
    except (ClientError, BotoCoreError, ListingOrderError) as exc:
        # The listing cannot go on (botocore already retried what was transient): the run ends here.
        reason = str(exc) if isinstance(exc, ListingOrderError) else s3.describe(exc)
        ledger.mark(run_id, state="failed", error=f"listing page {task.page}: {reason}", finished_at=utc_now_iso())
        return result | {"result": f"listing failed: {reason}"}

    batches = page.batches(settings)
    registered = ledger.register_page(
        run_id, task.page, batches=batches, listed=page.listed, skipped=page.skipped, excluded=page.excluded,
        token=page.next_token, last_key=page.last_key, is_last=page.is_last, finished_at=utc_now_iso(),
        lane=task.lane, lanes=task.lanes,
    )
    if registered == REGISTERED_BEFORE:
        return result | {"result": "page registered by another coordinator: it publishes the batches"}
    if registered == RUN_UNKNOWN:
        return result | {"result": "unknown or expired run"}
    publish_batches(request, task.page, dict(enumerate(batches)))
    ledger.mark_published(run_id, task.page)
    if not page.is_last:
        publish_page(request, task.next(page.next_token, page.last_key))
    return result | {"listed": page.listed, "excluded": page.excluded, "objects": len(page.work), "batches": len(batches)}
