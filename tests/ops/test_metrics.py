"""Prometheus series after real runs: `bucketsync exporter` (a subprocess reading the password-protected
Redis) after distributed runs on a real worker, and the node_exporter textfile after embedded runs.
Every value is compared with the runs' own reports; `promtool` (Debian's prometheus package, installed
by scripts/test) lints the output and checks the example alert rules."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import free_port, run_cli, unique_bucket, wait_for_port
from tests.integration.helpers import cli_env, explain, fixture_set, seed, sync

from .conftest import BIN, Process

REPO = Path(__file__).resolve().parents[2]
RESULTS = ("copied", "skipped", "lock_updated", "deleted", "failed")


def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        raise RuntimeError("promtool is not installed: run scripts/test, which installs it")
    return found


def promtool_lints(text: str) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)


def values(text: str) -> dict[tuple, float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def of_job(found: dict, name: str, job: str = "adhoc", **labels: str) -> float:
    return found.get((name, tuple(sorted({"job": job, **labels}.items()))), 0.0)


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def new_pair(s3, plain: int) -> tuple[str, str]:
    source, dest = unique_bucket("msrc"), unique_bucket("mdst")
    s3.create_bucket(Bucket=source, ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket=dest, ObjectLockEnabledForBucket=True)
    seed(s3, source, fixture_set())
    for index in range(plain):
        s3.put_object(Bucket=source, Key=f"plain/{index:03d}", Body=b"x" * (index + 1))
    return source, dest


def assert_job_series_match(before: dict, after: dict, reports: list[dict]) -> None:
    """The counters grew by exactly what the reports say; the gauges describe the last report."""
    for result in RESULTS:
        grown = of_job(after, "bucketsync_objects_total", result=result) - of_job(before, "bucketsync_objects_total", result=result)
        assert grown == sum(report[result] for report in reports), result
    for name, field in (("bucketsync_bytes_copied_total", "bytes_copied"), ("bucketsync_slowdowns_total", "slowdowns")):
        assert of_job(after, name) - of_job(before, name) == sum(report[field] for report in reports), name
    ended = of_job(after, "bucketsync_runs_ended_total", state="finished") - of_job(before, "bucketsync_runs_ended_total", state="finished")
    assert ended == len(reports)
    last = reports[-1]
    assert of_job(after, "bucketsync_run_duration_seconds") == pytest.approx(last["duration_seconds"], abs=0.002)
    assert of_job(after, "bucketsync_run_last_success_start_timestamp_seconds") == pytest.approx(epoch(last["started_at"]), abs=0.002)
    assert of_job(after, "bucketsync_run_last_success_timestamp_seconds") == pytest.approx(epoch(last["finished_at"]), abs=0.002)
    lag, since_start = of_job(after, "bucketsync_replica_age_seconds"), time.time() - epoch(last["started_at"])
    assert since_start - 60 < lag <= since_start  # now minus that start, at the scrape or the write just before


def scrape(url: str) -> str:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        assert response.status == 200
        return response.read().decode()


@pytest.fixture
def exporter(cluster):
    port = free_port()
    process = Process("exporter", [str(BIN / "bucketsync"), "exporter", "--port", str(port)],
                      {"BUCKETSYNC_BROKER_URL": cluster.broker_url})
    wait_for_port(port, process.process)
    yield f"http://127.0.0.1:{port}"
    process.stop()


def test_exporter_after_distributed_runs_equals_the_reports(s3, cluster, exporter, tmp_path):
    source, dest = new_pair(s3, plain=30)
    before = values(scrape(exporter))
    reports = []
    for number in (1, 2):  # the second run finds everything in place: skipped
        result = sync(f"s3://{source}", f"s3://{dest}", env=cluster.env, report_path=tmp_path / f"r{number}.json")
        assert result.returncode == 0, explain(result) + cluster.workers.log_text()
        reports.append(result.report)
    assert reports[0]["copied"] == len(fixture_set()) + 30 and reports[1]["skipped"] == reports[1]["listed"]

    text = scrape(exporter)
    after = values(text)
    assert_job_series_match(before, after, reports)
    assert after[("bucketsync_redis_up", ())] == 1
    assert after[("bucketsync_runs", (("state", "finished"),))] >= 2
    assert after[("bucketsync_pending_batches", ())] == 0
    assert ("bucketsync_queue_messages", ()) in after
    linted = promtool_lints(text)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "secret" not in text.lower() and "redis://" not in text  # no credentials or URLs in labels


def test_run_finalise_and_the_follower_count_a_run_once(s3, cluster, exporter, tmp_path):
    """Both the following `sync` and the worker's run_finalise record the run's end: it counts once."""
    source, dest = new_pair(s3, plain=3)
    before = values(scrape(exporter))
    result = sync(f"s3://{source}", f"s3://{dest}", env=cluster.env, report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result)
    finalised = f"run {result.report['run_id']} finished"  # run_finalise's log line, after it recorded the run
    deadline = time.monotonic() + 60
    while finalised not in cluster.workers.log_text(tail=None):
        assert time.monotonic() < deadline, "run_finalise never ran"
        time.sleep(0.2)
    assert_job_series_match(before, values(scrape(exporter)), [result.report])


def test_textfile_after_embedded_runs_equals_the_reports(s3, moto_server, tmp_path):
    source, dest = new_pair(s3, plain=10)
    textfile = tmp_path / "node-exporter" / "bucketsync.prom"
    textfile.parent.mkdir()  # node_exporter's textfile directory: bucketsync never creates it
    reports = []
    for number in (1, 2):
        result = sync(f"s3://{source}", f"s3://{dest}", "--metrics-textfile", str(textfile),
                      env=cli_env(moto_server), report_path=tmp_path / f"r{number}.json")
        assert result.returncode == 0, explain(result)
        reports.append(result.report)
    text = textfile.read_text()
    assert_job_series_match({}, values(text), reports)
    assert reports[0]["mode"] == "embedded" and reports[0]["copied"] == len(fixture_set()) + 10
    linted = promtool_lints(text)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert sorted(path.name for path in textfile.parent.iterdir()) == ["bucketsync.prom"]


def test_textfile_is_refused_with_dry_run(s3, moto_server, tmp_path):
    source, dest = new_pair(s3, plain=0)
    done = run_cli("sync", f"s3://{source}", f"s3://{dest}", "--dry-run", "--metrics-textfile",
                   str(tmp_path / "x.prom"), env=cli_env(moto_server))
    assert done.returncode == 2 and "--metrics-textfile" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.prom").exists()


def test_exporter_without_redis_says_so_in_one_line():
    done = run_cli("exporter", "--port", str(free_port()), "--broker-url", f"redis://127.0.0.1:{free_port()}/0",
                   timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("bucketsync: cannot reach Redis") and len(done.stderr.splitlines()) == 1


def test_example_alert_rules_pass_promtool():
    rules = REPO / "deploy" / "prometheus"
    checked = subprocess.run([promtool(), "check", "rules", "alerts.yml"], cwd=rules, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run([promtool(), "test", "rules", "alerts.test.yml"], cwd=rules, capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_rules_and_dashboard_use_only_series_bucketsync_exports():
    exported = {"bucketsync_objects_total", "bucketsync_bytes_copied_total", "bucketsync_slowdowns_total",
                "bucketsync_runs_ended_total", "bucketsync_run_last_success_timestamp_seconds",
                "bucketsync_run_last_success_start_timestamp_seconds", "bucketsync_replica_age_seconds",
                "bucketsync_events_total", "bucketsync_replication_lag_seconds_bucket", "bucketsync_events_pending",
                "bucketsync_run_duration_seconds", "bucketsync_run_last_end_timestamp_seconds", "bucketsync_runs",
                "bucketsync_pending_batches", "bucketsync_queue_messages", "bucketsync_redis_up"}
    dashboard = json.loads((REPO / "deploy" / "grafana" / "bucketsync.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    expressions += re.findall(r"expr: (.+)", (REPO / "deploy" / "prometheus" / "alerts.yml").read_text())
    used = {name for expr in expressions for name in re.findall(r"bucketsync_[a-z_]+", expr)}
    assert used and used <= exported, used - exported
