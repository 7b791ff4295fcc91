"""Submitting a run to Celery and following it through the ledger until it ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlparse

import redis
from kombu.exceptions import OperationalError

from .context import RunRequest
from .errors import PreflightError
from .ledger import Ledger
from .outcomes import RunSummary, utc_now_iso
from .settings import Settings

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
        raise PreflightError(f"cannot reach Redis at {redacted(settings.broker_url)}: {exc}") from None
    return ledger


def submit_run(settings: Settings, request: RunRequest) -> Ledger:
    """Record the run and enqueue the coordinator of its first page."""
    from .celery_app import app, configure
    from .coordinator import enqueue, first_page

    configure(app, settings)
    ledger = open_ledger(settings)
    meta = {"batch_size": settings.batch_size, "page_size": settings.page_size, "job": request.job}
    try:
        ledger.create_run(request.run_id, request.to_json(), meta, utc_now_iso())
        enqueue(request, first_page(settings.batch_size, settings.page_size))
    except (redis.RedisError, OperationalError) as exc:
        raise PreflightError(f"cannot submit the run to {redacted(settings.broker_url)}: {exc}") from None
    return ledger


def follow_run(
    ledger: Ledger, run_id: str, on_progress: Callable[[RunSummary], None] | None = None, poll_seconds: float = 0.5,
    timeout: float | None = None,
) -> RunSummary:
    """Poll the ledger until the run is finished (or failed); returns the final summary."""
    deadline = time.monotonic() + timeout if timeout else None
    while True:
        summary = ledger.summary(run_id)
        if summary is None:
            raise PreflightError(f"run {run_id} is not known to Redis (never submitted, or its report expired)")
        if on_progress:
            on_progress(summary)
        if summary.state in FINAL_STATES:
            return summary
        if deadline and time.monotonic() > deadline:
            return summary
        time.sleep(poll_seconds)
