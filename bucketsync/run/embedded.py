"""The embedded run: list, plan and execute in this one process with a bounded thread pool.

However it ends, the run ends with a summary: `finished`; `failed` with the error when a listing cannot go
on (the counts of what was done before it kept, as a distributed run keeps them); or `RunInterrupted`
carrying the summary so far when the operator presses Ctrl-C (queued copies are dropped, the ones in flight
finish).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar
from concurrent.futures import Future, ThreadPoolExecutor

from botocore.exceptions import BotoCoreError, ClientError

from ..engine import s3
from .context import RunRequest
from ..core.errors import BucketsyncError, ListingFailed, RunInterrupted
from ..engine.execute import execute
from ..engine.execution_context import ExecutionContext
from ..listing.fan_in import FanIn
from ..core.filters import Filters
from ..listing.pages import Page, iter_pages, prefetched, request_page
from ..listing.live_ranges import LiveRange, cut_while_listing
from ..core.locations import Location
from ..core.model import ObjectEntry
from ..core.outcomes import ObjectOutcome, RunSummary, RunTally, utc_now_iso
from ..core.plan import plan
from ..listing.range_split import PAGES_PER_RANGE, cut_rest, split_key_space

log = logging.getLogger("bucketsync")

ProgressCallback = Callable[[RunSummary], None]
SKIPS_PER_RECORD = 500  # unchanged keys recorded together


def new_summary(request: RunRequest, mode: str) -> RunSummary:
    return RunSummary(
        run_id=request.run_id,
        source=request.source,
        destination=request.destination,
        mode=mode,
        dry_run=request.dry_run,
        started_at=utc_now_iso(),
        job=request.job,
        lock_check=request.does_lock_pass,
    )


def _listed(side: str, pages: Iterator[Page]) -> Iterator[Page]:
    """The pages, with a listing error turned into ListingFailed naming the side."""
    try:
        yield from pages
    except (ClientError, BotoCoreError) as exc:
        raise ListingFailed(f"listing the {side}: {s3.describe(exc)}") from exc


Work = Callable[[], list[ObjectOutcome]]


def drive(planned: Iterable[Any], concurrency: int, record: Callable[[Any], None],
          name: str = "bucketsync") -> BaseException | None:
    """Carry out a plan on a bounded thread pool, the one driver of every run in one process (sync, sync
    --all-versions, verify): each callable item of `planned` runs on the pool (at most 4 x concurrency in flight)
    and its result goes to `record` there; any other item goes to `record` at once.

    Returns the first exception that escaped a work thread (a bug, never an object's failure: the plan stops
    there), once the work in flight is done. An exception raised while planning (a listing) is raised once the
    work in flight is done; KeyboardInterrupt too, with the queued work dropped."""
    in_flight = threading.BoundedSemaphore(concurrency * 4)
    broken: list[BaseException] = []

    def run_one(work: Callable[[], Any]) -> None:
        try:
            record(work())
        finally:
            in_flight.release()

    def check(future: Future) -> None:
        if not future.cancelled() and future.exception() is not None:
            broken.append(future.exception())

    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=name)
    interrupted = False
    try:
        for work in planned:
            if not callable(work):
                record(work)
                continue
            in_flight.acquire()
            pool.submit(run_one, work).add_done_callback(check)
            if broken:
                break
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:  # whatever stops the plan, the work in flight finishes first; on Ctrl-C queued work never starts
        try:
            pool.shutdown(wait=True, cancel_futures=interrupted)
        except KeyboardInterrupt:
            # Ctrl-C while waiting for the pool at the end: a small run (at most the window) has all its
            # work queued by then, and without this cancel it would all be carried out.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return broken[0] if broken else None


def run_planned(
    request: RunRequest, concurrency: int, tally: RunTally, notify: Callable[[], None],
    planned: Iterable[list[ObjectOutcome] | Work],
) -> RunSummary:
    """Drive a run's plan (`drive`): outcomes known at planning time are recorded at once, work runs on the
    pool. Ends the tally `finished`; `failed` with the error when planning (a listing) cannot go on or
    something escapes a copy thread; RunInterrupted on Ctrl-C (queued work dropped, the work in flight
    finishes)."""

    def record(outcomes: list[ObjectOutcome]) -> None:
        for outcome in outcomes:
            tally.add(outcome)
        notify()

    error: str | None = None
    broken: BaseException | None = None
    try:
        broken = drive(planned, concurrency, record)
    except BucketsyncError as exc:  # a listing that cannot go on, or one out of key order
        error = str(exc)
    except KeyboardInterrupt:
        raise RunInterrupted(tally.finish(state="failed", error="interrupted by the operator")) from None
    except Exception as exc:  # a bug while planning (on a range's thread): the run fails, it never vanishes
        log.error("run %s: internal error while planning", request.run_id, exc_info=exc)
        error = f"internal error: {type(exc).__name__}: {exc}"
    if broken is not None and error is None:
        log.error("run %s: internal error in a copy thread", request.run_id, exc_info=broken)
        error = f"internal error: {type(broken).__name__}: {broken}"
    return tally.finish(state="failed", error=error) if error else tally.finish()


T = TypeVar("T")
RangeWork = Callable[[Iterator[Page], Iterator[Page]], Iterator[T]]


def listed_in_ranges(
    source_client, source: Location, dest_client, dest: Location, *, page_size: int, parts: int, filters: Filters,
    per_range: RangeWork, label: str,
) -> Iterator[T]:
    """Both sides listed in key ranges at once: the items `per_range(source pages, destination pages)` makes of
    each range (the pages of one range, both sides prefetched on threads of their own), read as they come.

    The key space is cut into up to `parts` ranges (range_split.py); while they are listed, a range that turns
    out long gives what is left of it to a new one (live_ranges.py). A listing that cannot go on raises
    ListingFailed naming the side. `label` names the run in the log."""

    def pages(client, location, side: str, live: LiveRange, first: Future | None) -> Iterator[Page]:
        answer = first.result() if first is not None else None
        yield from iter_pages(client, location, page_size=page_size, key_range=live.key_range,
                              first_answer=answer, read=live.reader(side, location, filters))

    def one_range(live: LiveRange, firsts: tuple[Future, Future] | tuple[None, None]) -> Iterator[T]:
        return per_range(_listed("source", prefetched(pages(source_client, source, "source", live, firsts[0]))),
                         _listed("destination", prefetched(pages(dest_client, dest, "destination", live, firsts[1]))))

    # Where to cut is asked while both sides' first pages are: those start the first range whatever
    # the cuts (it starts at the beginning), so cutting costs no round trip before listing.
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="bucketsync-first-pages") as pool:
        firsts = (pool.submit(request_page, source_client, source, page_size=page_size),
                  pool.submit(request_page, dest_client, dest, page_size=page_size))
        cutting = pool.submit(split_key_space, source_client, source, parts, page_size, firsts[0].result)
        try:
            ranges = [LiveRange(key_range) for key_range in cutting.result()]
        except (ClientError, BotoCoreError) as exc:
            raise ListingFailed(f"listing the source: {s3.describe(exc)}") from exc
    if len(ranges) > 1:
        log.info("%s: listing %d key ranges at once", label, len(ranges))
    fan_in: FanIn = FanIn(4 * parts, "bucketsync-range")
    for index, live in enumerate(ranges):
        fan_in.add(lambda live=live, index=index: one_range(live, firsts if index == 0 else (None, None)))
    if parts > 1:
        # A range that turns out long gives what is left of it to a new range while it is listed.
        threading.Thread(
            target=cut_while_listing, name="bucketsync-range-cutter", daemon=True,
            args=(ranges, fan_in, parts, PAGES_PER_RANGE,
                  lambda after, last, sample: cut_rest(source_client, source, after, last, sample),
                  lambda live: lambda: one_range(live, (None, None))),
        ).start()
    yield from fan_in.items()


def run_embedded(ctx: ExecutionContext, request: RunRequest, on_progress: ProgressCallback | None = None) -> RunSummary:
    """Replicate source into destination; memory is bounded by the in-flight window, not the bucket.

    The key space is cut into ranges (range_split.py) that are listed at once, each on both sides, each
    planned on its own thread: the plan of a range needs only that range's keys of both sides."""
    settings = ctx.settings
    tally = RunTally(new_summary(request, "embedded"))
    notify = (lambda: on_progress(tally.summary)) if on_progress else (lambda: None)
    filters = request.key_filters  # excluded keys, on either side, are never planned: not copied, checked or deleted
    options = request.plan_options(settings)

    def source_entries(pages: Iterator[Page]) -> Iterator[ObjectEntry]:
        for page in pages:
            tally.add_listed(len(page.entries), page.excluded)
            yield from page.entries
            notify()

    def planned_range(source_pages: Iterator[Page], dest_pages: Iterator[Page]):
        skipped: list[ObjectOutcome] = []
        source, dest = source_entries(source_pages), (entry for page in dest_pages for entry in page.entries)
        for action in plan(source, dest, options):
            if action.kind == "skip":
                skipped.append(ObjectOutcome(action.key, "skipped"))
                if len(skipped) < SKIPS_PER_RECORD:
                    continue
            if skipped:
                yield skipped
                skipped = []
            if action.kind != "skip":
                yield lambda action=action: [execute(ctx, action)]
        if skipped:
            yield skipped

    planned = listed_in_ranges(
        ctx.source_client, ctx.source, ctx.dest_client, ctx.dest, page_size=settings.page_size,
        parts=settings.listing_ranges, filters=filters, per_range=planned_range, label=f"run {request.run_id}",
    )
    summary = run_planned(request, settings.concurrency, tally, notify, planned)
    checks = ctx.write_checks
    log.info("run %s: what the destination honoured per write path: %s; read-back requests spared: %d",
             request.run_id, checks.summary(), checks.saved_requests)
    notify()
    return summary
