"""Flower, started as compose.yaml starts it (basic auth from FLOWER_BASIC_AUTH, --read-only), watching
a real run on a real worker: it refuses strangers, lists the run's tasks by telling names with a one-line
label (run id, page, objects), and shows no secret anywhere in its task API."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import yaml

from conftest import OTHER_SECRET_KEY, SECRET_KEY, run_cli, unique_bucket
from tests.ops.conftest import FLOWER_USER, REDIS_PASSWORD, start_flower

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"
RUN_TASKS = {"bucketsync.coordinator_page", "bucketsync.copy_batch", "bucketsync.page_summary",
             "bucketsync.run_finalise"}


@pytest.fixture(scope="module")
def flower(cluster):
    command = yaml.safe_load(COMPOSE.read_text())["services"]["flower"]["command"]
    server = start_flower(command, cluster.broker_url)
    try:
        # Flower learns about workers (and tasks) only from events: wait until it has seen the worker.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, body = server.get("/api/workers?refresh=1")
            if status == 200 and json.loads(body):
                break
            time.sleep(0.5)
        else:
            raise RuntimeError(f"Flower never saw a worker:\n{server.process.text()[-3000:]}")
        yield server
    finally:
        server.process.stop()


def run_tasks(flower, run_id: str) -> list[dict]:
    status, body = flower.get("/api/tasks?limit=1000")
    assert status == 200, body
    return [task for task in json.loads(body).values() if f"run={run_id}" in (task.get("args") or "")]


def test_flower_needs_the_basic_auth_credentials(flower):
    for path in ("/", "/api/tasks", "/api/workers", "/tasks"):
        assert flower.get(path, auth=None)[0] == 401, path
        assert flower.get(path, auth=(FLOWER_USER, "wrong-password"))[0] == 401, path
    assert flower.get("/api/tasks")[0] == 200


def test_flower_lists_the_tasks_of_a_finished_run_and_no_secret(flower, cluster, s3):
    source, dest = unique_bucket("fl-src"), unique_bucket("fl-dst")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=dest)
    for n in range(30):
        s3.put_object(Bucket=source, Key=f"k/{n:03d}", Body=b"flower")
    # one listing stream, so the pages below are the bucket's pages in order
    done = run_cli("sync", f"s3://{source}", f"s3://{dest}", "--detach",
                   env={**cluster.env, "BUCKETSYNC_LISTING_RANGES": "1"})
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tasks = run_tasks(flower, run_id)
        finished = {task["name"] for task in tasks if task["state"] == "SUCCESS"}
        if finished >= RUN_TASKS and all(task["state"] == "SUCCESS" for task in tasks):
            break
        time.sleep(0.5)
    assert finished >= RUN_TASKS, (tasks, cluster.workers.log_text())

    # 30 keys in pages of 25, batches of 5 (the cluster fixture's settings): 2 pages, 6 batches.
    pages = sorted(task["args"] for task in tasks if task["name"] == "bucketsync.coordinator_page")
    assert pages == [f"run={run_id} page=0", f"run={run_id} page=1"]
    batches = [task["args"] for task in tasks if task["name"] == "bucketsync.copy_batch"]
    assert all(re.fullmatch(rf"run={run_id} page=[01] batch=\d objects=5", args) for args in batches), batches
    assert len(batches) == 6
    summaries = sorted(task["args"] for task in tasks if task["name"] == "bucketsync.page_summary")
    assert summaries == [f"run={run_id} page=0 batches=5", f"run={run_id} page=1 batches=1"]
    # The chord callback's result is the page's summary: what `bucketsync status --pages` shows too.
    results = sorted(task["result"] for task in tasks if task["name"] == "bucketsync.page_summary")
    assert "'page': 0" in results[0] and "'copied': 25" in results[0], results
    assert "'page': 1" in results[1] and "'copied': 5" in results[1], results
    final = next(task for task in tasks if task["name"] == "bucketsync.run_finalise")
    assert "'copied': 30" in final["result"] and "'state': 'finished'" in final["result"]

    # Nothing secret anywhere in what Flower shows of any task: args, kwargs, results, everything.
    status, body = flower.get("/api/tasks?limit=1000")
    shown = body.decode()
    for secret in (SECRET_KEY, OTHER_SECRET_KEY, REDIS_PASSWORD):
        assert secret not in shown
    for task in json.loads(shown).values():
        for field in ("args", "kwargs", "result"):
            assert SECRET_KEY not in str(task.get(field))


def test_flower_is_read_only(flower):
    status, _ = flower.get("/api/task/async-apply/bucketsync.run_finalise", method="POST")
    assert status == 403
