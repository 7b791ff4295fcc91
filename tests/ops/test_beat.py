"""Scheduled runs through a real `bucketsync beat` (celery beat) and a real worker: triggers start runs,
a trigger during a run of the same job is recorded as skipped, and `runs` / `status` show all of it."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import run_cli_in_process, unique_bucket
from tests.integration.helpers import list_keys
from tests.ops.conftest import REDIS_PASSWORD, start_beat

from bucketsync.distributed.ledger import Ledger

HELD_OBJECTS = 300


def seeded_bucket(s3, stem: str, count: int) -> str:
    bucket = unique_bucket(stem)
    s3.create_bucket(Bucket=bucket)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: s3.put_object(Bucket=bucket, Key=f"obj/{n:05d}", Body=b"x" * 64), range(count)))
    return bucket


def job_runs(ledger: Ledger, job: str) -> list[dict]:
    runs = []
    for run_id in ledger.redis.zrange("bucketsync:runs", 0, -1):
        request = ledger.request(run_id)
        if request and request.get("job") == job:
            summary = ledger.summary(run_id)
            runs.append({"run_id": run_id, "state": summary.state, "started_at": summary.started_at,
                         "finished_at": summary.finished_at, "copied": summary.copied,
                         "note": ledger.redis.hget(f"bucketsync:run:{run_id}", "note")})
    return sorted(runs, key=lambda run: run["started_at"])


def test_beat_triggers_runs_and_skips_a_trigger_while_the_job_runs(s3, cluster, tmp_path):
    source = seeded_bucket(s3, "held-src", HELD_OBJECTS)
    dest = unique_bucket("held-dst")
    s3.create_bucket(Bucket=dest)
    ledger = Ledger.from_url(cluster.broker_url, 3600)
    schedule = {"name": "held", "cron": "@every 1s", "source": f"s3://{source}", "destination": f"s3://{dest}"}

    beat = start_beat(cluster.env, [schedule], tmp_path)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            runs = job_runs(ledger, "held")
            started = [run for run in runs if run["state"] in ("running", "finished")]
            if len([run for run in started if run["state"] == "finished"]) >= 2:
                break
            time.sleep(0.5)
    finally:
        beat.stop()
    log = "\n".join(path.read_text(errors="replace") for path in cluster.workers.logs)
    assert "Sending due task held (bucketsync.scheduled_run)" in beat.text()
    assert REDIS_PASSWORD not in beat.text() and REDIS_PASSWORD not in log

    started = [run for run in runs if run["state"] != "skipped"]
    skipped = [run for run in runs if run["state"] == "skipped"]
    finished = [run for run in started if run["state"] == "finished"]
    assert len(finished) >= 2, (runs, log)
    first, second = finished[0], finished[1]
    assert first["copied"] == HELD_OBJECTS and second["copied"] == 0  # the second found nothing left to copy
    assert len(list_keys(s3, dest)) == HELD_OBJECTS

    # Never two runs of the job at once: each started run began after the previous one had finished.
    for before, after in zip(started, started[1:]):
        assert before["finished_at"] and before["finished_at"] <= after["started_at"], (before, after)
    # The triggers that fired during the first run were recorded as skipped, naming the running run.
    during_first = [run for run in skipped if first["started_at"] <= run["started_at"] <= first["finished_at"]]
    assert during_first, runs
    assert all(run["note"] == f"run {first['run_id']} of job held was still running" for run in during_first)
    assert f"trigger skipped, run {first['run_id']} of this job is still running" in log

    listed = run_cli_in_process("runs", "--json", "--job", "held", "--limit", "100", env=cluster.env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {row["run_id"] for row in rows} >= {run["run_id"] for run in runs if run["state"] != "running"}
    row = next(row for row in rows if row["run_id"] == first["run_id"])
    assert (row["job"], row["state"], row["copied"], row["failed"]) == ("held", "finished", HELD_OBJECTS, 0)

    text = run_cli_in_process("runs", env=cluster.env)
    assert text.returncode == 0 and "skipped" in text.stdout and first["run_id"] in text.stdout, text

    status = run_cli_in_process("status", during_first[0]["run_id"], env=cluster.env)
    assert status.returncode == 0 and "SKIPPED" in status.stdout, status
