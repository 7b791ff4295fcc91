"""One copy batch on a worker: execute its planned actions with the worker's threads, count them once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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


PROGRESS_EVERY_SECONDS = 0.5  # how often a batch's progress is written (status reads it)


def execute_actions(
    request: RunRequest, actions: list[BatchAction], on_progress: Callable[[int], None] | None = None
) -> list[ObjectOutcome]:
    """Execute one batch with the worker's thread pool; never raises for an object. `on_progress`: told how
    many actions are done, at most every PROGRESS_EVERY_SECONDS."""
    ctx = runtime.execution_context(request)
    threads = min(ctx.settings.concurrency, len(actions)) or 1
    lock = threading.Lock()
    handled, last_told = 0, time.monotonic()

    def run_one(action: BatchAction) -> list[ObjectOutcome]:
        nonlocal handled, last_told
        outcomes = _execute(ctx, action)
        if on_progress is not None:
            with lock:
                handled += 1
                now = time.monotonic()
                if now - last_told >= PROGRESS_EVERY_SECONDS:
                    last_told = now
                    on_progress(handled)
        return outcomes

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return [outcome for outcomes in pool.map(run_one, actions) for outcome in outcomes]


def copy_and_count(request: RunRequest, page: int, batch: int, actions: list[BatchAction]) -> dict[str, Any]:
    """Copy (and lock, delete, check) a batch, count it in the run's ledger; returns the batch's totals."""
    ledger = runtime.ledger()
    outcomes = execute_actions(
        request, actions, lambda handled: ledger.note_batch_progress(request.run_id, page, batch, handled)
    )
    # The copies are done; if Redis is restarting or full, wait to count them rather than copy again.
    retry_while_redis_unavailable(
        lambda: runtime.ledger().record_batch(request.run_id, page, batch, outcomes, utc_now_iso()),
        what=f"run {request.run_id} page {page} batch {batch}",
        give_up_after=runtime.redis_patience_seconds(),
    )
    ledger.clear_batch_progress(request.run_id, page, batch)
    return add_up(outcomes)
