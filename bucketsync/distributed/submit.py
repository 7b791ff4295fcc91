"""Submitting a run to Celery and following it through the ledger until it ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlparse

import redis
from kombu.exceptions import OperationalError

from .celery_app import app, configure
from ..core.errors import BrokerUnreachable, RunNotFound
from .ledger import Ledger
from ..core.messages import PageTask, RunRequest
from ..core.outcomes import RunSummary, utc_now_iso
from .publish import publish_batches, publish_page
from ..core.settings import Settings

FINAL_STATES = ("finished", "failed")


def redacted(url: str) -> str:
    """A broker URL without its password, for messages."""
    parsed = urlparse(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return parsed._replace(netloc=netloc).geturl()
    return url


def open_ledger(settings: Settings) -> Ledger:
    ledger = Ledger.from_url(settings.broker_url, settings.report_ttl_seconds)
    try:
        ledger.redis.ping()
    except redis.RedisError as exc:
        raise BrokerUnreachable(f"cannot reach Redis at {redacted(settings.broker_url)}: {exc}") from None
    return ledger


def submit_run(settings: Settings, request: RunRequest) -> Ledger:
    """From a submitting process: configure Celery from its settings, record the run, publish its first page."""
    configure(app, settings)
    ledger = open_ledger(settings)
    start_run(settings, ledger, request)
    return ledger


def start_run(settings: Settings, ledger: Ledger, request: RunRequest) -> None:
    """Record the run and publish the coordinator of its first page (Celery configured already)."""
    meta = {"batch_size": settings.batch_size, "page_size": settings.page_size, "job": request.job}
    try:
        ledger.create_run(request.run_id, request.to_json(), meta, utc_now_iso(),
                          stalled_after_seconds=settings.stalled_after_seconds)
        publish_page(request, PageTask(page=0, token=None, start_after=None, lanes=0))  # it cuts the lanes
    except (redis.RedisError, OperationalError) as exc:
        raise BrokerUnreachable(f"cannot submit the run to {redacted(settings.broker_url)}: {exc}") from None


def resume_run(settings: Settings, run_id: str) -> tuple[Ledger, str]:
    """Publish again what a stalled run is missing: uncounted batches, and the listing from its cursor.

    Nothing already counted is copied again: counted batches are not republished, and the ledger
    ignores a batch that is counted by the time its second copy runs.
    """
    configure(app, settings)
    ledger = open_ledger(settings)
    summary = ledger.summary(run_id)
    if summary is None:
        raise RunNotFound(f"run {run_id} is not known to Redis (never submitted, or its report expired)")
    if summary.state in FINAL_STATES:
        return ledger, f"run {run_id} has already {summary.state}; nothing to resume"
    stored = ledger.request(run_id)
    if stored is None:
        raise RunNotFound(f"run {run_id} has no request recorded in Redis: it cannot be resumed")
    request = RunRequest.from_json(stored)
    unfinished = ledger.unfinished_batches(run_id)
    for page, batches in unfinished.items():
        publish_batches(request, page, batches)
    relisting = open_lanes(ledger, run_id)
    for task in relisting:
        publish_page(request, task)
    ledger.mark(run_id, updated_at=time.time())
    batches = sum(len(b) for b in unfinished.values())
    done = f"run {run_id}: republished {batches} uncounted batch(es) of {len(unfinished)} page(s)"
    pages = ", ".join(str(task.page) for task in relisting)
    return ledger, done + (f"; listing resumes at page {pages}" if relisting else "")


def open_lanes(ledger: Ledger, run_id: str) -> list[PageTask]:
    """The next page of every lane whose listing has not ended (those of the first cut and those split off
    since), claimed anew (its message may be lost), each from its cursor and to its end as the ledger has them."""
    ends = ledger.lane_ends(run_id)
    if ledger.cursor(run_id).listing_done:
        return []
    if len(ends) == 1 and not ledger.is_registered(run_id, 0):
        return [PageTask(0, None, None, force_claim=True, lanes=0)]  # lanes not decided yet: the first page cuts them
    tasks = []
    for lane, last in enumerate(ends):
        cursor = ledger.cursor(run_id, lane)
        if not cursor.lane_done:
            tasks.append(PageTask(cursor.next_page, cursor.token, cursor.last_key, force_claim=True,
                                  lane=lane, lanes=len(ends), last=last))
    return tasks


REDIS_OUTAGE_PATIENCE = 300.0


def follow_run(
    ledger: Ledger, run_id: str, on_progress: Callable[[RunSummary], None] | None = None, poll_seconds: float = 0.5,
    stalled_after: float | None = None, redis_patience: float = REDIS_OUTAGE_PATIENCE,
) -> RunSummary:
    """Poll the ledger until the run has finished, failed or stalled; returns its summary.

    Redis restarting is waited out (the workers wait too) for up to `redis_patience` seconds; after that
    the follower gives up with a one-line error, and the run goes on without it.
    """
    unreachable_since: float | None = None
    with ledger.end_signal(run_id) as run_end:
        while True:
            try:
                summary = ledger.summary(run_id, stalled_after)
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as exc:
                now = time.monotonic()
                unreachable_since = unreachable_since or now
                if now - unreachable_since > redis_patience:
                    raise BrokerUnreachable(
                        f"lost Redis for {now - unreachable_since:.0f} s ({exc}); run {run_id} goes on without "
                        f"this terminal: `bucketsync status {run_id}` shows it"
                    ) from None
                run_end.wait(poll_seconds)
                continue
            unreachable_since = None
            if summary is None:
                raise RunNotFound(f"run {run_id} is not known to Redis (never submitted, or its report expired)")
            if on_progress:
                on_progress(summary)
            if summary.state != "running":
                return summary
            run_end.wait(poll_seconds)
