"""`lock_check_every`: trigger messages, as beat sends them, start runs on a real worker over real Redis and
moto; only the runs whose lock pass is due read the lock state of unchanged objects."""

from __future__ import annotations

import time

from conftest import unique_bucket
from celery import Celery

from bucketsync.distributed.celery_app import QUEUE
from bucketsync.ops.joblock import JobLocks
from bucketsync.distributed.ledger import Ledger
from bucketsync.ops.lock_pass_record import last_lock_pass, lock_pass_key
from bucketsync.core.messages import SCHEDULED_RUN
from bucketsync.ops.scheduled import run_id_for_trigger
from bucketsync.ops.schedules import ScheduledJob


def trigger(sender: Celery, job: ScheduledJob, task_id: str) -> tuple[str, dict]:
    """Send the trigger as beat does; the worker's answer (stored for this message only: no task's result
    is kept), and the id of the run it names."""
    answer = sender.send_task(SCHEDULED_RUN, args=[job.to_json()], task_id=task_id, ignore_result=False).get(timeout=60)
    return run_id_for_trigger(task_id), answer


def finished(ledger: Ledger, locks: JobLocks, job: str, run_id: str, timeout: float = 60):
    """The run's summary once it has finished and been finalised (the job's lock released)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        summary = ledger.summary(run_id)
        if summary and summary.state in ("finished", "failed") and locks.holder(job) != run_id:
            return summary
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not end: {ledger.summary(run_id)}")


def legal_hold(s3, bucket: str, key: str) -> str:
    return s3.head_object(Bucket=bucket, Key=key).get("ObjectLockLegalHoldStatus", "OFF")


def test_lock_pass_runs_only_when_due(s3, cluster):
    sender = Celery(broker=cluster.broker_url, backend=cluster.broker_url)
    sender.conf.update(task_default_queue=QUEUE, task_serializer="json", accept_content=["json"],
                       result_accept_content=["json"])
    ledger = Ledger(cluster.redis(), 3600)
    locks = JobLocks(ledger.redis, 60)
    source, dest = unique_bucket("lcs-src"), unique_bucket("lcs-dst")
    for bucket in (source, dest):
        s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=source, Key="held.txt", Body=b"held later")
    s3.put_object(Bucket=source, Key="plain.txt", Body=b"plain")
    job = ScheduledJob(name=f"locks-{source[-8:]}", source=f"s3://{source}", destination=f"s3://{dest}",
                       lock_check_every=3600)
    ledger.redis.delete(lock_pass_key(job.name))

    first_run, first = trigger(sender, job, f"lcs-first-{source}")
    assert first["result"] == "started" and first["lock_check"] is True, first
    summary = finished(ledger, locks, job.name, first_run)
    assert (summary.state, summary.copied, summary.lock_check) == ("finished", 2, True)
    recorded = last_lock_pass(ledger.redis, job.name)
    assert recorded is not None and abs(recorded - time.time()) < 120

    # Within the interval: the lock pass is skipped, so a lock change on an unchanged object waits.
    s3.put_object_legal_hold(Bucket=source, Key="held.txt", LegalHold={"Status": "ON"})
    second_run, second = trigger(sender, job, f"lcs-second-{source}")
    assert second["result"] == "started" and second["lock_check"] is False, second
    summary = finished(ledger, locks, job.name, second_run)
    assert (summary.state, summary.lock_check, summary.lock_updated, summary.skipped) == ("finished", False, 0, 2)
    assert legal_hold(s3, dest, "held.txt") == "OFF"
    assert last_lock_pass(ledger.redis, job.name) == recorded  # a run without the pass records nothing

    # The interval has passed (the record made older, as if an hour had gone by): the pass runs again.
    ledger.redis.set(lock_pass_key(job.name), repr(recorded - 3600))
    third_run, third = trigger(sender, job, f"lcs-third-{source}")
    assert third["result"] == "started" and third["lock_check"] is True, third
    summary = finished(ledger, locks, job.name, third_run)
    assert (summary.state, summary.lock_check, summary.lock_updated) == ("finished", True, 1)
    assert legal_hold(s3, dest, "held.txt") == "ON"
    assert last_lock_pass(ledger.redis, job.name) > recorded
