"""One copy batch on a worker: execute its planned actions with the worker's threads, count them once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import runtime
from .execute import ExecutionContext, execute
from .history_execute import execute_history
from .messages import RunRequest, action_from_json
from .outcomes import ObjectOutcome, add_up, utc_now_iso
from .patience import retry_while_redis_unavailable
from .plan import PlannedAction
from .version_plan import HISTORY_KIND, HistoryAction


BatchAction = PlannedAction | HistoryAction


def action_from_message(data: dict[str, Any]) -> BatchAction:
    """A batch item: one key's history (--all-versions) or one planned action."""
    return HistoryAction.from_json(data) if data.get("kind") == HISTORY_KIND else action_from_json(data)


def _execute(ctx: ExecutionContext, action: BatchAction) -> list[ObjectOutcome]:
    if isinstance(action, HistoryAction):
        return execute_history(ctx, action)  # the key's entries in order, on this one thread
    return [execute(ctx, action)]


def execute_actions(request: RunRequest, actions: list[BatchAction]) -> list[ObjectOutcome]:
    """Execute one batch with the worker's thread pool; never raises for an object."""
    ctx = runtime.execution_context(request)
    threads = min(ctx.settings.concurrency, len(actions)) or 1
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return [outcome for outcomes in pool.map(lambda action: _execute(ctx, action), actions) for outcome in outcomes]


def copy_and_count(request: RunRequest, page: int, batch: int, actions: list[BatchAction]) -> dict[str, Any]:
    """Copy (and lock, delete, check) a batch, count it in the run's ledger; returns the batch's totals."""
    outcomes = execute_actions(request, actions)
    # The copies are done; if Redis is restarting or full, wait to count them rather than copy again.
    retry_while_redis_unavailable(
        lambda: runtime.ledger().record_batch(request.run_id, page, batch, outcomes, utc_now_iso()),
        what=f"run {request.run_id} page {page} batch {batch}",
        give_up_after=runtime.redis_patience_seconds(),
    )
    return add_up(outcomes)
