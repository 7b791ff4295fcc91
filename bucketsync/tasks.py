"""Celery tasks: thin shells over the engine. `celery -A bucketsync.tasks worker` starts a worker.

Messages carry a run request (run id, bucket URLs, flags), page and batch numbers and planned actions
(keys, sizes, ETags): never credentials or settings. Object failures are values in the batch outcome;
only infrastructure errors (Redis unreachable) make a task retry.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
from kombu.exceptions import OperationalError

from . import runtime
from .celery_app import app, configure
from .context import RunRequest
from .execute import execute
from .outcomes import ObjectOutcome, counts_of, utc_now_iso
from .patience import patiently
from .plan import PlannedAction

TRANSIENT = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.OutOfMemoryError, OperationalError)

configure(app, runtime.worker_settings())


def copy_actions(request: RunRequest, actions: list[PlannedAction]) -> list[ObjectOutcome]:
    """Execute one batch with the worker's thread pool; never raises for an object."""
    ctx = runtime.execution_context(request)
    threads = min(ctx.settings.concurrency, len(actions)) or 1
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda action: execute(ctx, action), actions))


def batch_counts(outcomes: list[ObjectOutcome]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for outcome in outcomes:
        for counter, increment in counts_of(outcome).items():
            totals[counter] = totals.get(counter, 0) + increment
    return totals


@app.task(
    name="bucketsync.copy_batch",
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=20,
)
def copy_batch(request: dict[str, Any], page: int, batch: int, actions: list[dict[str, Any]]) -> dict[str, int]:
    """Copy (and lock, delete, check) one batch of objects; count it once in the run's ledger."""
    run = RunRequest.from_json(request)
    outcomes = copy_actions(run, [PlannedAction.from_json(action) for action in actions])
    # The copies are done; if Redis is restarting or full, wait to count them rather than copy again.
    patiently(
        lambda: runtime.ledger().record_batch(run.run_id, page, batch, outcomes, utc_now_iso()),
        what=f"run {run.run_id} page {page} batch {batch}",
        give_up_after=runtime.redis_patience_seconds(),
    )
    return batch_counts(outcomes)


@app.task(name="bucketsync.page_summary", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=20)
def page_summary(batch_results: list[dict[str, int]], request: dict[str, Any], page: int) -> dict[str, int]:
    """Chord callback: the page's totals, kept with the run. Idempotent (a field per page)."""
    totals: dict[str, int] = {}
    for result in batch_results:
        for counter, value in (result or {}).items():
            totals[counter] = totals.get(counter, 0) + value
    totals["batches"] = len(batch_results)
    runtime.ledger().write_page_summary(request["run_id"], page, totals)
    return totals


from . import coordinator  # noqa: E402,F401  (registers the coordinator task for `-A bucketsync.tasks`)
