"""The per-job lock and the trigger, in process against the real redis-server and moto (no worker)."""

from __future__ import annotations

import time

import pytest
import redis

from conftest import set_side_env, unique_bucket
from bucketsync.ops.joblock import JobLocks, lock_key, lock_seconds
from bucketsync.distributed.ledger import Ledger
from bucketsync.core.outcomes import utc_now_iso
from bucketsync.ops.scheduled import run_id_for_trigger, trigger
from bucketsync.ops.schedules import ScheduledJob
from bucketsync.core.settings import load_settings


@pytest.fixture
def ledger(secured_redis):
    url = secured_redis.rsplit("/", 1)[0] + "/5"  # a database of its own: queued messages stay here
    client = redis.Redis.from_url(url, decode_responses=True)
    client.flushdb()
    yield Ledger(client, 3600)
    client.flushdb()


def new_run(ledger: Ledger, run_id: str, state: str = "running") -> None:
    ledger.create_run(run_id, {"source": "s3://a/", "destination": "s3://b/", "job": "j"}, {}, utc_now_iso())
    ledger.mark(run_id, state=state)


def test_lock_refuses_while_the_holder_is_starting_or_running_and_yields_once_it_has_ended(ledger):
    locks = JobLocks(ledger.redis, 60)
    assert locks.acquire("j", "run-a") is None
    assert 0 < ledger.redis.ttl(lock_key("j")) <= 60
    assert locks.acquire("j", "run-b") == "run-a"  # run-a is being prepared (no run record yet)
    new_run(ledger, "run-a")
    assert locks.acquire("j", "run-b") == "run-a"  # run-a is running
    assert locks.acquire("j", "run-a") is None  # the same trigger again: still its lock
    assert not locks.refresh("j", "run-b") and locks.refresh("j", "run-a")
    assert not locks.release("j", "run-b") and locks.holder("j") == "run-a"
    ledger.mark("run-a", state="finished")
    assert locks.acquire("j", "run-b") is None  # run-a ended without releasing: taken over
    assert locks.holder("j") == "run-b"
    assert locks.release("j", "run-b") and locks.holder("j") is None


def test_lock_lapses_after_its_ttl_without_progress(ledger):
    locks = JobLocks(ledger.redis, 1)
    new_run(ledger, "stuck")
    assert locks.acquire("j", "stuck") is None
    ledger.redis.pexpire(lock_key("j"), 1)  # as if no page or batch had refreshed it for the whole TTL
    time.sleep(0.05)
    assert locks.acquire("j", "next") is None


def test_lock_ttl_outlasts_a_redelivered_task():
    settings = load_settings(visibility_timeout=600, task_time_limit=500)
    assert lock_seconds(settings) > 600 + 500


def test_trigger_starts_skips_restarts_and_records_a_failed_start(ledger, moto_server, s3, monkeypatch):
    set_side_env(monkeypatch, "source", moto_server)
    set_side_env(monkeypatch, "dest", moto_server)
    settings = load_settings(broker_url=ledger_url(ledger))
    source, dest = unique_bucket("trg-src"), unique_bucket("trg-dst")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=dest)
    locks = JobLocks(ledger.redis, 60)
    job = ScheduledJob(name="nightly", source=f"s3://{source}", destination=f"s3://{dest}")

    first = trigger(settings, ledger, locks, job, "a" * 16)
    assert first["result"] == "started", first
    assert ledger.summary("a" * 16).state == "running" and ledger.request("a" * 16)["job"] == "nightly"
    assert trigger(settings, ledger, locks, job, "a" * 16)["result"] == "trigger already handled"

    second = trigger(settings, ledger, locks, job, "b" * 16)
    assert second == {"job": "nightly", "run_id": "b" * 16, "result": "skipped", "running": "a" * 16}
    skipped = ledger.summary("b" * 16)
    assert skipped.state == "skipped" and skipped.finished_at
    assert ledger.redis.hget("bucketsync:run:" + "b" * 16, "note") == f"run {'a' * 16} of job nightly was still running"

    ledger.mark("a" * 16, state="finished", finished_at=utc_now_iso())
    assert trigger(settings, ledger, locks, job, "c" * 16)["result"] == "started"
    assert locks.holder("nightly") == "c" * 16

    ledger.mark("c" * 16, state="finished", finished_at=utc_now_iso())
    gone = ScheduledJob(name="nightly", source=f"s3://{unique_bucket('missing')}", destination=f"s3://{dest}")
    failed = trigger(settings, ledger, locks, gone, "d" * 16)
    assert failed["result"] == "failed to start", failed
    summary = ledger.summary("d" * 16)
    assert summary.state == "failed" and summary.error.startswith("could not start: ")
    assert locks.holder("nightly") is None  # a failed start does not block the next trigger


def triggered_request(ledger, moto_server, s3, monkeypatch, run_id: str, *, versioned: bool = False, **job) -> dict:
    """Trigger a job over two new buckets on moto (worker-side preflight included); the recorded request."""
    set_side_env(monkeypatch, "source", moto_server)
    set_side_env(monkeypatch, "dest", moto_server)
    settings = load_settings(broker_url=ledger_url(ledger))
    source, dest = unique_bucket("trg-src"), unique_bucket("trg-dst")
    for bucket in (source, dest):
        s3.create_bucket(Bucket=bucket)
        if versioned:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    scheduled = ScheduledJob(name="job", source=f"s3://{source}", destination=f"s3://{dest}", **job)
    started = trigger(settings, ledger, JobLocks(ledger.redis, 60), scheduled, run_id)
    assert started["result"] == "started", started
    return ledger.request(run_id)


def test_a_job_with_filters_and_all_versions_starts_a_run_that_carries_both(ledger, moto_server, s3, monkeypatch):
    """The run's request is what its coordinators plan from: filtered whole histories (version_pages.py)."""
    request = triggered_request(ledger, moto_server, s3, monkeypatch, "e" * 16, versioned=True,
                                filters=[["exclude", "tmp/*"], ["include", "tmp/keep/*"]], all_versions=True)
    assert request["all_versions"] is True
    assert request["filters"] == [["exclude", "tmp/*"], ["include", "tmp/keep/*"]]


def test_a_job_with_storage_class_and_encryption_starts_a_run_that_carries_them(ledger, moto_server, s3, monkeypatch):
    """The run's request is what its workers copy with: the job's storage class and SSE choice."""
    request = triggered_request(ledger, moto_server, s3, monkeypatch, "f" * 16,
                                storage_class="STANDARD_IA", sse="AES256")
    assert (request["storage_class"], request["sse"], request["sse_kms_key_id"]) == ("STANDARD_IA", "AES256", None)


def ledger_url(ledger: Ledger) -> str:
    kwargs = ledger.redis.connection_pool.connection_kwargs
    return f"redis://:{kwargs['password']}@{kwargs['host']}:{kwargs['port']}/{kwargs['db']}"


def test_a_trigger_names_the_same_run_however_often_it_is_delivered():
    assert run_id_for_trigger("5f1c-task-id") == run_id_for_trigger("5f1c-task-id")
    assert run_id_for_trigger("5f1c-task-id") != run_id_for_trigger("another")
    assert len(run_id_for_trigger("5f1c-task-id")) == 16 and len(run_id_for_trigger(None)) == 16


def test_runs_rows_name_the_job_the_note_and_a_stalled_run(ledger):
    from bucketsync.ops_cli import run_rows

    new_run(ledger, "quiet")
    ledger.mark("quiet", updated_at=0)  # no progress since the epoch
    ledger.create_run("skip1", {"source": "s3://a/", "destination": "s3://b/", "job": "other"}, {}, utc_now_iso(),
                      state="skipped", finished_at=utc_now_iso(), note="run quiet of job j was still running")
    rows = run_rows(ledger, 10, None, stalled_after=60)
    assert [(row["run_id"], row["job"], row["state"]) for row in rows] == [
        ("skip1", "other", "skipped"), ("quiet", "j", "stalled")]
    assert rows[0]["note"] == "run quiet of job j was still running"
    assert [row["run_id"] for row in run_rows(ledger, 10, "j")] == ["quiet"]
