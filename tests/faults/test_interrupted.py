"""Ctrl-C in an embedded run: the copies in flight finish, the queued ones never start, the report so far
is written and the exit code is 130."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import bucketsync_env, unique_bucket
from tests.integration.helpers import Seed, cli_env, seed

from .conftest import through


def test_ctrl_c_stops_an_embedded_run_without_working_off_the_queue(moto_server, s3, proxy, tmp_path):
    source, dest = unique_bucket("intsrc"), unique_bucket("intdst")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=dest)
    seed(s3, source, [Seed(f"k{n:02d}", b"x") for n in range(40)])
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
