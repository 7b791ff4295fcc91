"""Scheduled runs on the workers: the trigger that celery beat sends, and each job's lock.

Plain functions; tasks.py wraps them as Celery tasks (the end of every run, scheduled or not: run_end.py).
- `trigger` (task `bucketsync.scheduled_run(job)`, sent by `bucketsync beat` for each trigger): takes the
  job's lock (joblock.py), runs the preflight and starts the run as `bucketsync sync` does with a broker.
  While the previous run of the job is still going, the trigger is recorded as a run in state `skipped`
  (so `bucketsync runs` and `status` show it) and logged, and nothing starts. The run id is derived from
  the trigger's task id, so a redelivered trigger is recognised and never starts a second run.
"""

from __future__ import annotations

import hashlib
import logging
import time
from functools import lru_cache
from typing import Any

import redis
from botocore.exceptions import BotoCoreError, ClientError

from ..engine import s3
from ..run.context import new_run_id, prepare_run
from ..distributed.submit import start_run
from ..core.errors import BucketsyncError
from ..core.filters import Filters
from .joblock import JobLocks, lock_seconds
from ..distributed.ledger import Ledger
from ..core.locations import parse_location
from .lock_pass_record import last_lock_pass
from ..core.lock_schedule import lock_pass_due
from ..core.messages import RunRequest, ScheduledJob
from ..core.outcomes import utc_now_iso
from ..core.settings import Settings

log = logging.getLogger("bucketsync.ops.scheduled")


@lru_cache(maxsize=4)
def _job_locks(url: str, ttl: int) -> JobLocks:
    return JobLocks(redis.Redis.from_url(url, decode_responses=True, health_check_interval=30), ttl)


def job_locks(settings: Settings) -> JobLocks:
    return _job_locks(settings.broker_url, lock_seconds(settings))


def run_id_for_trigger(task_id: str | None) -> str:
    """The same trigger message (redelivered, retried) always names the same run."""
    if not task_id:
        return new_run_id()
    return hashlib.sha256(task_id.encode()).hexdigest()[:16]


def record_unstarted(ledger: Ledger, request: RunRequest, at: str, state: str, **fields: str) -> None:
    """A trigger that started nothing (skipped, or its preflight failed) is still a run in the ledger."""
    meta = {"job": request.job}
    ledger.create_run(request.run_id, request.to_json(), meta, at, state=state, finished_at=at, **fields)


def trigger(settings: Settings, ledger: Ledger, locks: JobLocks, job: ScheduledJob, run_id: str) -> dict[str, Any]:
    """Start one run of `job` unless its previous run is still going. Returns what happened (shown in Flower)."""
    result: dict[str, Any] = {"job": job.name, "run_id": run_id}
    if ledger.exists(run_id):
        return result | {"result": "trigger already handled"}
    now = utc_now_iso()
    source, destination = str(parse_location(job.source)), str(parse_location(job.destination))
    unstarted = RunRequest(
        run_id=run_id, source=source, destination=destination, delete=job.delete, job=job.name, filters=job.filters,
        all_versions=job.all_versions, storage_class=job.storage_class, sse=job.sse, sse_kms_key_id=job.sse_kms_key_id,
    )
    holder = locks.acquire(job.name, run_id)
    if holder is not None:
        record_unstarted(ledger, unstarted, now, "skipped", note=f"run {holder} of job {job.name} was still running")
        log.warning("job %s: trigger skipped, run %s of this job is still running (recorded as run %s)",
                    job.name, holder, run_id)
        return result | {"result": "skipped", "running": holder}
    lock_check = lock_pass_due(last_lock_pass(ledger.redis, job.name), time.time(), job.lock_check_every)
    try:
        request, _ = prepare_run(
            settings, job.source, job.destination, delete=job.delete, job=job.name, run_id=run_id,
            filters=Filters.from_json(job.filters), all_versions=job.all_versions, lock_check=lock_check,
            storage_class=job.storage_class, sse=job.sse, sse_kms_key_id=job.sse_kms_key_id,
        )
        start_run(settings, ledger, request)
    except (BucketsyncError, ClientError, BotoCoreError) as exc:
        reason = str(exc) if isinstance(exc, BucketsyncError) else s3.describe(exc)
        record_unstarted(ledger, unstarted, now, "failed", error=f"could not start: {reason}")
        locks.release(job.name, run_id)
        log.error("job %s: run %s could not start: %s", job.name, run_id, reason)
        return result | {"result": "failed to start", "error": reason}
    log.info("job %s: started run %s (%s -> %s)%s", job.name, run_id, request.source, request.destination,
             "" if request.does_lock_pass or not request.source_lock_enabled else ", lock pass not due")
    return result | {"result": "started", "lock_check": request.does_lock_pass}
