"""Ctrl-C in an embedded run: the copies in flight finish, the queued ones never start, the report so far
is written and the exit code is 130."""

from __future__ import annotations

import pytest
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import bucketsync_env, unique_bucket
from tests.integration.helpers import Seed, cli_env, seed

from .conftest import through


@pytest.mark.parametrize("objects", [40, 5], ids=["more-than-the-window", "all-queued-at-once"])
def test_ctrl_c_stops_an_embedded_run_without_working_off_the_queue(moto_server, s3, proxy, tmp_path, objects):
    """40 objects: the planner waits for room in its window of 8 (4 x concurrency); 5: all are queued on the
    pool and the planner waits for the pool to finish when Ctrl-C comes."""
    source, dest = unique_bucket("intsrc"), unique_bucket("intdst")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=dest)
    seed(s3, source, [Seed(f"k{n:02d}", b"x") for n in range(objects)])
    copies = proxy.on(lambda request: request.operation == "CopyObject" and (request.key or "").startswith("k"), "hold", times=None)
    report_path = tmp_path / "report.json"
    env = bucketsync_env(cli_env(through(proxy, moto_server), concurrency="2"))
    command = [str(Path(sys.executable).with_name("bucketsync")), "sync", f"s3://{source}", f"s3://{dest}",
               "--report-json", str(report_path)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proxy.held.wait(60), "no copy reached the server"
        time.sleep(1.0)  # the planner fills its window of queued copies (4 x concurrency)
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        proxy.release()  # the two copies in flight may finish now
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    report = json.loads(report_path.read_text())
    assert report["state"] == "failed" and "interrupted" in report["error"]
    assert report["copied"] <= 2, "queued copies must not start after Ctrl-C"
    assert copies.hits <= 2
    assert f"run {report['run_id']}" in stdout and "not done" in stdout, stdout  # the summary, what never started


def test_ctrl_c_on_an_attached_distributed_run_says_the_run_goes_on_and_how_to_find_it(moto_server, s3, redis_server):
    """No worker consumes the queue: the submitter follows a run that waits; Ctrl-C stops the following only."""
    import redis

    from bucketsync.distributed.ledger import RUNS_INDEX

    broker_url = redis_server.url.rsplit("/", 1)[0] + "/20"  # no shared worker pool listens there
    broker = redis.Redis.from_url(broker_url, decode_responses=True)
    broker.flushdb()
    source, dest = unique_bucket("dintsrc"), unique_bucket("dintdst")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=dest)
    env = bucketsync_env(cli_env(moto_server, broker_url=broker_url))
    command = [str(Path(sys.executable).with_name("bucketsync")), "sync", f"s3://{source}", f"s3://{dest}"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not broker.zcard(RUNS_INDEX) and time.monotonic() < deadline:
            time.sleep(0.1)
        run_id = broker.zrange(RUNS_INDEX, 0, 0)[0]
        time.sleep(2)  # following now (the submitter publishes its first page after recording the run)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        broker.flushdb()
    assert process.returncode == 130, stderr
    assert f"run {run_id}" in stderr and "goes on in the workers" in stderr, stderr
    assert f"bucketsync status {run_id}" in stderr and f"bucketsync resume {run_id}" in stderr, stderr
