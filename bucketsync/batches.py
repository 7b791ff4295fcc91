"""One copy batch on a worker: execute its planned actions with the worker's threads, count them once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import runtime
from .execute import execute
from .messages import RunRequest
from .outcomes import ObjectOutcome, add_up, utc_now_iso
from .patience import retry_while_redis_unavailable
from .plan import PlannedAction


def execute_actions(request: RunRequest, actions: list[PlannedAction]) -> list[ObjectOutcome]:
    """Execute one batch with the worker's thread pool; never raises for an object."""
    ctx = runtime.execution_context(request)
    threads = min(ctx.settings.concurrency, len(actions)) or 1
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda action: execute(ctx, action), actions))


def copy_and_count(request: RunRequest, page: int, batch: int, actions: list[PlannedAction]) -> dict[str, Any]:
    """Copy (and lock, delete, check) a batch, count it in the run's ledger; returns the batch's totals."""
    outcomes = execute_actions(request, actions)
    # The copies are done; if Redis is restarting or full, wait to count them rather than copy again.
    retry_while_redis_unavailable(
        lambda: runtime.ledger().record_batch(request.run_id, page, batch, outcomes, utc_now_iso()),
        what=f"run {request.run_id} page {page} batch {batch}",
        give_up_after=runtime.redis_patience_seconds(),
    )
    return add_up(outcomes)
