"""The end of every run on the workers, scheduled or not.

Plain functions; tasks.py wraps them.
- `refresh_job_lock_or_finalise`: after every coordinator page and copy batch (tasks.py calls it from
  Celery's task_postrun signal): refresh the job's lock while the run goes; send `run_finalise` once the
  run has ended (the ledger's `claim_finalise` lets exactly one caller send it).
- `finalise_run` (task `bucketsync.run_finalise(run_id)`): releases the job's lock (a scheduled run's),
  adds the run to its job's metric totals, remembers a finished lock pass (for `lock_check_every`) and logs
  the run's totals. Flower shows it as the last task of a run.
"""

from __future__ import annotations

import logging
from typing import Any

from ..core.messages import RunRequest
from ..distributed import runtime
from ..distributed.publish import publish_run_end
from .job_totals import record_run_end
from .lock_pass_record import record_lock_pass
from .scheduled import job_locks

log = logging.getLogger("bucketsync.ops.run_end")

ENDED_STATES = ("finished", "failed")


def finalise_run(run_id: str) -> dict[str, Any]:
    """A run has ended: release its job's lock, add it to the job's metrics and log its totals. Idempotent."""
    ledger = runtime.ledger()
    summary = ledger.summary(run_id)
    if summary is None:
        return {"run_id": run_id, "result": "unknown or expired run"}
    job = summary.job
    if job:
        job_locks(runtime.worker_settings()).release(job, run_id)
    record_run_end(ledger.redis, summary, ledger.ttl)
    record_lock_pass(ledger.redis, summary)
    totals = {name: getattr(summary, name) for name in
              ("listed", "copied", "skipped", "lock_updated", "deleted", "failed", "vanished", "bytes_copied")}
    log.info("run %s%s %s: %s", run_id, f" (job {job})" if job else "", summary.state,
             ", ".join(f"{name} {value}" for name, value in totals.items()))
    return {"run_id": run_id, "job": job, "state": summary.state, **totals}


def refresh_job_lock_or_finalise(request: RunRequest) -> None:
    """After a page or batch of a run: refresh its job's lock, or send run_finalise once it has ended."""
    ledger = runtime.ledger()
    if ledger.state(request.run_id) in ENDED_STATES:
        if ledger.claim_finalise(request.run_id):
            publish_run_end(request.run_id)
    elif request.job:
        job_locks(runtime.worker_settings()).refresh(request.job, request.run_id)
