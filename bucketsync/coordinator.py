"""The coordinator: one source page per invocation, fanned out as a chord of copy batches.

Each invocation lists one page, plans it against its slice of the destination, registers the page and
its batches in the ledger, publishes the batches as a chord (callback: the page summary), then enqueues
the coordinator of the next page with the continuation token. Above a high-water mark of queued messages
it re-enqueues itself with a countdown instead of listing further, so Redis holds a bounded window.

Redelivery and duplicates: a page is coordinated by whoever claims it first in the ledger (a redelivered
message carries the same claim id and may go on; a duplicate stands down). A page already registered is
never listed again: its batches are published again from the ledger's outbox if they may not have gone
out, and the ledger counts each batch once whichever copy of it runs.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from celery import chord

from . import runtime, s3
from .celery_app import QUEUE, app
from .context import RunRequest
from .listing import entries_of, list_page, pages_from
from .outcomes import utc_now_iso
from .patience import patiently
from .plan import ListingOrderError, batches_of, dest_range_for_page, plan
from .tasks import TRANSIENT, copy_batch, page_summary

BACKPRESSURE_COUNTDOWN = 2.0


@dataclass(frozen=True)
class PageTask:
    """Where the coordinator of one page starts: JSON-safe, no secrets."""

    page: int
    token: str | None  # the ListObjectsV2 continuation token of this page (None for page 0)
    start_after: str | None  # the previous page's last key: this page's slice of the destination starts after it
    claim_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    force_claim: bool = False  # set by `resume` when the page's coordinator message was lost

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PageTask":
        return cls(**data)

    def next(self, token: str | None, last_key: str | None) -> "PageTask":
        return PageTask(self.page + 1, token, last_key)


def queue_length() -> int:
    with app.connection_for_write() as connection:
        return connection.default_channel.client.llen(QUEUE)


def publish_batches(request: RunRequest, page: int, batches: dict[int, list[dict[str, Any]]]) -> None:
    if not batches:
        return
    header = [copy_batch.si(request.to_json(), page, number, batch) for number, batch in sorted(batches.items())]
    chord(header)(page_summary.s(request.to_json(), page))


def coordinate_page(request: RunRequest, task: PageTask) -> dict[str, Any]:
    """List, plan and fan out one page. Returns what it did (shown in Flower)."""
    settings = runtime.worker_settings()
    ledger = runtime.ledger()
    run_id = request.run_id
    said = {"run_id": run_id, "page": task.page}
    if not ledger.exists(run_id):
        return said | {"result": "unknown or expired run"}
    if queue_length() > settings.queue_high_water:
        enqueue(request, task, countdown=BACKPRESSURE_COUNTDOWN)
        return said | {"result": "deferred: queue above high-water mark"}
    if not ledger.claim_page(run_id, task.page, task.claim_id, force=task.force_claim):
        return said | {"result": "duplicate coordinator stood down"}

    if ledger.is_registered(run_id, task.page):
        if not ledger.was_published(run_id, task.page):
            publish_batches(request, task.page, ledger.unfinished_batches(run_id).get(task.page, {}))
            ledger.mark_published(run_id, task.page)
        cursor = ledger.cursor(run_id)
        if not cursor.listing_done and cursor.next_page == task.page + 1:
            enqueue(request, task.next(cursor.token, cursor.last_key))
        return said | {"result": "resumed from the ledger"}

    ctx = runtime.execution_context(request)
    try:
        # The destination's slice starts after the previous page's last key: its first page is listed
        # while the source page is, and only the pages after it wait for the source's last key.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bucketsync-dest-listing") as pool:
            first_dest_page = pool.submit(
                list_page, ctx.dest_client, ctx.dest, page_size=settings.page_size, start_after=task.start_after
            )
            source_page = list_page(ctx.source_client, ctx.source, page_size=settings.page_size, token=task.token)
            dest_pages = pages_from(ctx.dest_client, ctx.dest, first_dest_page.result(), page_size=settings.page_size)
        is_last = source_page.next_token is None
        last_key = source_page.entries[-1].key if source_page.entries else task.start_after
        dest_entries = dest_range_for_page(entries_of(dest_pages), None if is_last else last_key)
        actions = list(plan(source_page.entries, dest_entries, request.plan_options(settings)))
    except (ClientError, BotoCoreError, ListingOrderError) as exc:
        # The listing cannot go on (botocore already retried what was transient): the run ends here.
        reason = str(exc) if isinstance(exc, ListingOrderError) else s3.describe(exc)
        ledger.mark(run_id, state="failed", error=f"listing page {task.page}: {reason}", finished_at=utc_now_iso())
        return said | {"result": f"listing failed: {reason}"}

    work = [action for action in actions if action.kind != "skip"]
    batches = batches_of(work, settings.batch_size, settings.batch_max_bytes)
    ledger.register_page(
        run_id, task.page, batches=batches, listed=len(source_page.entries), skipped=len(actions) - len(work),
        token=source_page.next_token, last_key=last_key, is_last=is_last, finished_at=utc_now_iso(),
    )
    publish_batches(request, task.page, dict(enumerate(batches)))
    ledger.mark_published(run_id, task.page)
    if not is_last:
        enqueue(request, task.next(source_page.next_token, last_key))
    return said | {"listed": len(source_page.entries), "objects": len(work), "batches": len(batches)}


def enqueue(request: RunRequest, task: PageTask, countdown: float | None = None) -> None:
    coordinator_page.apply_async(args=[request.to_json(), task.to_json()], countdown=countdown)


@app.task(
    name="bucketsync.coordinator_page",
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=30,
    max_retries=None,
)
def coordinator_page(request: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    """Coordinate one page of a run: list, plan, publish its batches, enqueue the next page."""
    run, page = RunRequest.from_json(request), PageTask.from_json(task)
    # Redis restarting or full: wait here (the message stays unacked) rather than fail the chain.
    return patiently(
        lambda: coordinate_page(run, page),
        what=f"run {run.run_id} page {page.page}",
        give_up_after=runtime.redis_patience_seconds(),
    )
