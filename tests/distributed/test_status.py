"""`bucketsync status`: progress within a page (objects handled in batches not counted yet), exit codes that
tell a running run from an ended one, and --json for scripts. Against a real redis-server, no workers: the
ledger is written as workers write it."""

from __future__ import annotations

import json
import time

import pytest
import redis

from bucketsync.distributed.ledger import Ledger
from bucketsync.core.outcomes import ObjectOutcome, utc_now_iso
from tests.integration.helpers import invoke_cli

REQUEST = {"source": "s3://a/", "destination": "s3://b/", "dry_run": False}


@pytest.fixture
def url(redis_server) -> str:
    url = redis_server.url.rsplit("/", 1)[0] + "/10"
    redis.Redis.from_url(url).flushdb()
    return url


def one_page_run(ledger: Ledger, objects: int = 50) -> str:
    """A one-page run of one batch of `objects` objects, listed and published, nothing counted yet."""
    run_id = f"st{time.time_ns()}"
    ledger.create_run(run_id, REQUEST, {}, utc_now_iso())
    ledger.register_page(run_id, 0, batches=[[{"key": f"k{n}"} for n in range(objects)]], listed=objects, skipped=0,
                         token=None, last_key="k", is_last=True, finished_at=utc_now_iso())
    return run_id


def status(url: str, run_id: str, *options: str):
    return invoke_cli("status", run_id, *options, env={"BUCKETSYNC_BROKER_URL": url})


def test_a_one_page_run_shows_the_objects_handled_before_its_batch_is_counted(url):
    ledger = Ledger.from_url(url, 600)
    run_id = one_page_run(ledger)
    ledger.note_batch_progress(run_id, 0, 0, 23)  # a worker half-way through the page's only batch

    running = status(url, run_id, "--json")
    assert running.returncode == 3, running.stderr  # still running
    assert json.loads(running.stdout)["handled_in_open_batches"] == 23
    text = status(url, run_id, "--pages")
    assert "23 of them handled" in text.stdout and "copying, 23 handled" in text.stdout, text.stdout

    ledger.record_batch(run_id, 0, 0, [ObjectOutcome(f"k{n}", "copied") for n in range(50)], utc_now_iso())
    done = status(url, run_id, "--json")
    assert done.returncode == 0, done.stdout  # finished, nothing failed
    report = json.loads(done.stdout)
    assert (report["state"], report["copied"], report["handled_in_open_batches"]) == ("finished", 50, 0)


def test_exit_codes_tell_running_stalled_finished_with_failures_and_failed(url):
    ledger = Ledger.from_url(url, 600)
    failing = one_page_run(ledger, objects=2)
    ledger.record_batch(failing, 0, 0, [ObjectOutcome("k0", "copied"), ObjectOutcome("k1", "failed", reason="x")],
                        utc_now_iso())
    assert status(url, failing).returncode == 1
    broken = one_page_run(ledger)
    ledger.mark(broken, state="failed", error="listing page 0: AccessDenied", finished_at=utc_now_iso())
    assert status(url, broken).returncode == 2
    stalled = one_page_run(ledger)
    ledger.mark(stalled, updated_at=time.time() - 3600)
    stalled_status = status(url, stalled)
    assert stalled_status.returncode == 4, stalled_status.stdout
    assert "bucketsync resume" in stalled_status.stdout
    assert status(url, "0123456789abcdef").returncode == 2


def test_a_batch_tells_how_many_of_its_objects_are_handled_while_it_runs(monkeypatch):
    """What a worker writes to `:progress`: the count so far, at most every PROGRESS_EVERY_SECONDS."""
    from types import SimpleNamespace

    from bucketsync.distributed import batches

    monkeypatch.setattr(batches, "PROGRESS_EVERY_SECONDS", 0.1)
    monkeypatch.setattr(batches.runtime, "execution_context",
                        lambda request: SimpleNamespace(settings=SimpleNamespace(concurrency=2)))

    def slow_copy(ctx, action):
        time.sleep(0.06)
        return [ObjectOutcome(action, "copied")]

    monkeypatch.setattr(batches, "_execute", slow_copy)
    told: list[int] = []
    outcomes = batches.execute_actions(None, [f"k{n}" for n in range(20)], on_progress=told.append)
    assert len(outcomes) == 20
    assert 2 <= len(told) < 20 and told == sorted(told) and 0 < told[-1] <= 20, told


def test_status_help_documents_its_exit_codes():
    shown = invoke_cli("status", "--help", env={"COLUMNS": "200"})
    assert shown.returncode == 0
    text = " ".join(shown.stdout.split())
    for code in ("0 finished", "1 finished, some objects failed", "2 the run failed", "3 still running", "4 stalled"):
        assert code in text, text


def test_without_a_run_id_status_lists_each_watch_with_its_counts(url):
    """What the workers and the intake of `bucketsync watch` write to Redis, shown per watch."""
    from bucketsync.distributed.watch_counts import count_published, record_result

    client = redis.Redis.from_url(url)
    count_published(client, "w-orders", 3600, 5, now=1_796_000_000.0)
    for result, lag in (("copied", 0.5), ("copied", 1.5), ("duplicate", None), ("failed", 2.0)):
        record_result(client, "w-orders", 3600, result, lag)

    shown = invoke_cli("status", env={"BUCKETSYNC_BROKER_URL": url})
    as_json = invoke_cli("status", "--json", env={"BUCKETSYNC_BROKER_URL": url})

    assert shown.returncode == 0, shown.stdout + shown.stderr
    header, line = shown.stdout.splitlines()
    assert header.split()[:4] == ["WATCH", "LAST", "EVENT", "(UTC)"]
    assert line.split()[0] == "w-orders" and line.split()[3:11] == ["1", "2", "0", "0", "0", "1", "0", "1"]
    [row] = json.loads(as_json.stdout)
    assert row | {"last_event": None} == {
        "watch": "w-orders", "pending": 1, "copied": 2, "skipped": 0, "deleted": 0, "lock_updated": 0, "failed": 1,
        "vanished": 0, "duplicate": 1, "looks": 3, "lag_mean_seconds": 1.333, "last_event": None}
    assert row["last_event"] == "2026-11-30T00:53:20+00:00"
