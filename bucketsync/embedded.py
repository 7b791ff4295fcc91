"""The embedded run: list, plan and execute in this one process with a bounded thread pool."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from .context import RunRequest
from .execute import ExecutionContext, execute
from .listing import iter_pages, prefetched
from .model import ObjectEntry
from .outcomes import ObjectOutcome, RunSummary, RunTally, utc_now_iso
from .plan import plan

ProgressCallback = Callable[[RunSummary], None]


def new_summary(request: RunRequest, mode: str) -> RunSummary:
    return RunSummary(
        run_id=request.run_id,
        source=request.source,
        destination=request.destination,
        mode=mode,
        dry_run=request.dry_run,
        started_at=utc_now_iso(),
    )


def run_embedded(ctx: ExecutionContext, request: RunRequest, on_progress: ProgressCallback | None = None) -> RunSummary:
    """Replicate source into destination; memory is bounded by the in-flight window, not the bucket."""
    settings = ctx.settings
    tally = RunTally(new_summary(request, "embedded"))
    notify = (lambda: on_progress(tally.summary)) if on_progress else (lambda: None)

    def source_entries() -> Iterator[ObjectEntry]:
        for page in prefetched(iter_pages(ctx.source_client, ctx.source, page_size=settings.page_size)):
            tally.add_listed(len(page.entries))
            yield from page.entries
            notify()

    dest_entries = (
        entry
        for page in prefetched(iter_pages(ctx.dest_client, ctx.dest, page_size=settings.page_size))
        for entry in page.entries
    )
    in_flight = threading.BoundedSemaphore(settings.concurrency * 4)

    def record(outcome: ObjectOutcome) -> None:
        tally.add(outcome)
        notify()

    def run_one(action) -> None:
        try:
            record(execute(ctx, action))
        finally:
            in_flight.release()

    with ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="bucketsync") as pool:
        for action in plan(source_entries(), dest_entries, request.plan_options(settings)):
            if action.kind == "skip":
                record(ObjectOutcome(action.key, "skipped"))
                continue
            in_flight.acquire()
            pool.submit(run_one, action)
    summary = tally.finish()
    notify()
    return summary
