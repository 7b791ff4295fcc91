"""The embedded run of `sync --all-versions`: both sides' version listings as whole per-key histories,
merge-joined and planned key by key; each key's history runs on one thread (its writes in order), different
keys in parallel. The unit counted is a version or delete marker.

Ends as the current-versions run does (embedded.py): `finished`, `failed` with the error when a listing
cannot go on, or RunInterrupted with the summary so far.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from botocore.exceptions import BotoCoreError, ClientError

from . import s3
from .context import RunRequest
from .embedded import ListingFailed, ProgressCallback, RunInterrupted, new_summary
from .errors import BucketsyncError
from .execute import ExecutionContext
from .history import KeyHistory
from .history_execute import execute_history
from .listing import prefetched
from .outcomes import ObjectOutcome, RunSummary, RunTally
from .version_listing import VersionPage, iter_histories, iter_version_pages
from .version_plan import HistoryAction, plan_histories

log = logging.getLogger("bucketsync")


def _listed(side: str, pages: Iterator[VersionPage]) -> Iterator[VersionPage]:
    try:
        yield from pages
    except (ClientError, BotoCoreError) as exc:
        raise ListingFailed(f"listing the {side}'s versions: {s3.describe(exc)}") from exc


def run_embedded_versions(
    ctx: ExecutionContext, request: RunRequest, on_progress: ProgressCallback | None = None
) -> RunSummary:
    """Replicate every version and delete marker; memory: the in-flight window plus one key's history."""
    settings = ctx.settings
    tally = RunTally(new_summary(request, "embedded"))
    notify = (lambda: on_progress(tally.summary)) if on_progress else (lambda: None)

    def counted(pages: Iterator[VersionPage]) -> Iterator[VersionPage]:
        for page in pages:
            tally.add_listed(page.size)
            yield page
            notify()

    source_pages = prefetched(iter_version_pages(ctx.source_client, ctx.source, page_size=settings.page_size))
    dest_pages = prefetched(iter_version_pages(ctx.dest_client, ctx.dest, page_size=settings.page_size))
    source: Iterator[KeyHistory] = iter_histories(counted(_listed("source", source_pages)))
    dest: Iterator[KeyHistory] = iter_histories(_listed("destination", dest_pages))
    in_flight = threading.BoundedSemaphore(settings.concurrency * 4)
    broken: list[BaseException] = []

    def record(outcomes: list[ObjectOutcome]) -> None:
        for outcome in outcomes:
            tally.add(outcome)
        notify()

    def run_one(action: HistoryAction) -> None:
        try:
            record(execute_history(ctx, action))
        finally:
            in_flight.release()

    def check(future: Future) -> None:
        if not future.cancelled() and future.exception() is not None:
            broken.append(future.exception())

    pool = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="bucketsync")
    error: str | None = None
    try:
        for action in plan_histories(source, dest, request.plan_options(settings)):
            if not action.needs_work:
                record([ObjectOutcome(action.key, "skipped", version_id=s.version_id) for s, _ in action.plan.matched])
                continue
            in_flight.acquire()
            pool.submit(run_one, action).add_done_callback(check)
            if broken:
                break
    except BucketsyncError as exc:
        error = str(exc)
    except KeyboardInterrupt:
        pool.shutdown(wait=True, cancel_futures=True)
        raise RunInterrupted(tally.finish(state="failed", error="interrupted by the operator")) from None
    pool.shutdown(wait=True)
    if broken and error is None:
        log.error("run %s: internal error in a copy thread", request.run_id, exc_info=broken[0])
        error = f"internal error: {type(broken[0]).__name__}: {broken[0]}"
    summary = tally.finish(state="failed", error=error) if error else tally.finish()
    notify()
    return summary
