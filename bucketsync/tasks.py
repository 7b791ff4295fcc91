"""Celery tasks: thin shells that decode a message, call a plain function and return a JSON-safe value.

`celery -A bucketsync.tasks worker` (and `bucketsync worker`) registers all of them. What each message
carries is stated in messages.py; object failures are values in the results, and only Redis being
unavailable makes a task retry.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from celery.signals import task_postrun, worker_ready, worker_shutdown

from .core import messages
from .distributed import runtime
from .distributed.batches import action_from_message, copy_and_count
from .distributed.celery_app import app
from .distributed.coordinator import coordinate_page
from .core.messages import PageTask, RunRequest, ScheduledJob
from .core.outcomes import combine
from .distributed.patience import REDIS_UNAVAILABLE, retry_while_redis_unavailable
from .distributed.recovery import RecoverySweeper
from .ops.run_end import finalise_run, refresh_job_lock_or_finalise
from .ops.scheduled import job_locks, run_id_for_trigger, trigger

log = logging.getLogger(__name__)

# One retry policy for every task. Each task first waits out a restarting or full Redis in process
# (patience.py) for most of its time limit; a Celery retry is for an outage longer than that. Twenty
# retries with backoff capped at a minute cover another quarter of an hour or so; past that the run
# shows as stalled and `bucketsync resume` publishes again whatever is missing, so no task needs to
# retry for ever.
RETRY_POLICY: dict[str, Any] = {
    "autoretry_for": REDIS_UNAVAILABLE,
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 20,
}

@app.task(name=messages.WATCH_KEY, bind=True, ignore_result=True, **RETRY_POLICY)
def watch_key(self: Task, request: dict[str, Any], watch: str, change: dict[str, Any], token: str | None = None) -> str:
    """One announced change of `bucketsync watch`: replicate its key, unless another look covers it."""
    from .core.events import Change
    from .distributed.watch_keys import watch_change

    token = token or self.request.id
    settings = runtime.worker_settings()
    run = RunRequest.from_json(request)
    result = watch_change(runtime.execution_context(run), run, runtime.ledger().redis, watch,
                          settings.report_ttl_seconds, Change.from_json(change), token, settings.batch_lease_seconds,
                          patience=runtime.redis_patience_seconds())
    if result == "wait":  # somebody holds the key: look again after them (bounded by their lease)
        raise self.retry(args=[request, watch, change, token], countdown=1,
                         max_retries=3 * settings.batch_lease_seconds)
    return result


# The tasks after which a run's job lock is refreshed, or its end handed to run_finalise.
PROGRESS_TASKS = (messages.COORDINATOR_PAGE, messages.COPY_BATCH)


@app.task(name=messages.COORDINATOR_PAGE, **RETRY_POLICY)
def coordinator_page(request: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    """Coordinate one page of a run: list, plan, publish its batches, publish the next page."""
    run, page = RunRequest.from_json(request), PageTask.from_json(task)
    # Redis restarting or full: wait here (the message stays unacked) rather than fail the chain.
    return retry_while_redis_unavailable(
        lambda: coordinate_page(run, page),
        what=f"run {run.run_id} page {page.page}",
        give_up_after=runtime.redis_patience_seconds(),
    )


@app.task(name=messages.COPY_BATCH, **RETRY_POLICY)
def copy_batch(request: dict[str, Any], page: int, batch: int, actions: list[dict[str, Any]]) -> dict[str, Any]:
    """Copy (and lock, delete, check) one batch of objects; count it once in the run's ledger."""
    return copy_and_count(RunRequest.from_json(request), page, batch, [action_from_message(item) for item in actions])


@app.task(name=messages.PAGE_SUMMARY, **RETRY_POLICY)
def page_summary(batch_results: list[dict[str, Any]], request: dict[str, Any], page: int) -> dict[str, Any]:
    """Chord callback: the page's totals, kept for `bucketsync status --pages` and shown in Flower.

    Idempotent (one field per page). The ledger's counters stay the run's exact count: a page's summary
    adds up the results its chord saw."""
    totals = {"page": page, "batches": len(batch_results), **combine(result or {} for result in batch_results)}
    runtime.ledger().write_page_summary(request["run_id"], page, totals)
    return totals


@app.task(name=messages.SCHEDULED_RUN, bind=True, **RETRY_POLICY)
def scheduled_run(self: Task, job: dict[str, Any]) -> dict[str, Any]:
    """One trigger of a scheduled job: start a run, or record the trigger as skipped."""
    settings = runtime.worker_settings()
    return trigger(settings, runtime.ledger(), job_locks(settings), ScheduledJob.from_json(job),
                   run_id_for_trigger(self.request.id))


@app.task(name=messages.RUN_FINALISE, **RETRY_POLICY)
def run_finalise(run_id: str) -> dict[str, Any]:
    """A run has ended: release its job's lock and log its totals. Idempotent."""
    return finalise_run(run_id)


@task_postrun.connect
def _after_progress(sender: Any = None, args: Any = None, **_: Any) -> None:
    if getattr(sender, "name", None) not in PROGRESS_TASKS or not args or not isinstance(args[0], dict):
        return
    try:
        refresh_job_lock_or_finalise(RunRequest.from_json(args[0]))
    except Exception as exc:  # never turn a finished batch into an error; the lock's TTL is the safety net
        log.warning("run %s: could not refresh the job lock or finalise: %s", args[0].get("run_id"), exc)


_sweeper: list[RecoverySweeper] = []


@worker_ready.connect
def _start_recovery_sweep(**_: Any) -> None:
    """The worker's main process sweeps the running runs for batches to publish again (recovery.py)."""
    _sweeper.append(RecoverySweeper(runtime.ledger(), runtime.worker_settings()).start())


@worker_shutdown.connect
def _stop_recovery_sweep(**_: Any) -> None:
    while _sweeper:
        _sweeper.pop().stop()
