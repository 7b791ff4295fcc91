"""Batch leases in the ledger against a real redis-server: who may write a batch, and what a recovery sweep
hands out again."""

from __future__ import annotations

import time

import pytest
import redis

from bucketsync.distributed.ledger import Ledger, run_key
from bucketsync.run.report import render_text
from bucketsync.core.outcomes import ObjectOutcome, utc_now_iso

from .test_ledger import new_run


@pytest.fixture
def url(redis_server) -> str:
    url = redis_server.url.rsplit("/", 1)[0] + "/5"
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def ledger(url) -> Ledger:
    return Ledger.from_url(url, 600)


def counted(ledger: Ledger, run_id: str) -> str:
    ledger.record_batch(run_id, 0, 0, [ObjectOutcome("k0", "copied")], utc_now_iso())
    return run_id


def ended(ledger: Ledger, run_id: str) -> str:
    ledger.mark(run_id, state="finished")
    return run_id


def held(ledger: Ledger, run_id: str) -> str:
    ledger.claim_batch(run_id, 0, 0, "first", 30)
    return run_id


def lapsed(ledger: Ledger, run_id: str) -> str:
    ledger.claim_batch(run_id, 0, 0, "first", 0.2)
    time.sleep(0.3)
    return run_id


@pytest.mark.parametrize("before, verdict, deliveries", [
    (lambda ledger, run_id: run_id, "granted", 1),
    (counted, "counted", 0),
    (ended, "run_ended", 0),
    (lambda ledger, run_id: ledger.mark(run_id, state="failed") and run_id, "run_ended", 0),
    (held, "leased", 0),
    (lapsed, "granted", 2),  # the first executor died: this delivery checks the destination first
])
def test_who_may_write_a_batch(ledger, before, verdict, deliveries):
    run_id = before(ledger, new_run(ledger))
    claim = ledger.claim_batch(run_id, 0, 0, "second", 30)
    assert (claim.verdict, claim.deliveries) == (verdict, deliveries)
    assert ledger.summary(run_id).duplicate_deliveries == (0 if claim.granted else 1)


def test_a_lease_is_renewed_only_by_its_holder_and_ends_with_the_count(ledger):
    run_id = new_run(ledger)
    ledger.claim_batch(run_id, 0, 0, "first", 1)
    assert ledger.renew_lease(run_id, "0:0", "first", 30)
    assert not ledger.renew_lease(run_id, "0:0", "other", 30)
    time.sleep(1.1)
    assert ledger.claim_batch(run_id, 0, 0, "second", 30).verdict == "leased"  # renewed past its first second
    counted(ledger, run_id)
    assert not ledger.renew_lease(run_id, "0:0", "first", 30)
    assert not ledger.redis.hexists(run_key(run_id) + ":leases", "0:0")


def test_a_sweep_hands_a_lapsed_batch_out_once_and_a_stalled_run_once_per_stall(ledger):
    run_id = new_run(ledger, batches=3)
    ledger.claim_batch(run_id, 0, 0, "dead", 0.2)
    ledger.claim_batch(run_id, 0, 1, "alive", 30)
    ledger.hold_lane(run_id, 2, "dead coordinator", 0.2)
    ledger.hold_lane(run_id, 0, "live coordinator", 30)
    assert run_id in ledger.running_runs()
    time.sleep(0.3)
    found = ledger.recover(run_id, stalled_after=60, grace=0)
    assert (found.lapsed, found.held, found.lanes, found.stalled) == (((0, 0),), ((0, 1),), (2,), False)
    again = ledger.recover(run_id, stalled_after=60, grace=0)
    assert (again.lapsed, again.lanes) == ((), ())
    ledger.mark(run_id, updated_at=time.time() - 120)
    assert ledger.recover(run_id, stalled_after=60, grace=0).stalled
    assert not ledger.recover(run_id, stalled_after=60, grace=0).stalled
    ended(ledger, run_id)
    assert ledger.recover(run_id, stalled_after=60, grace=0).state == "finished"
    assert run_id not in ledger.running_runs()


def test_stalled_is_the_runs_own_setting_and_says_since_when(ledger):
    run_id = f"own{time.time_ns()}"
    ledger.create_run(run_id, {}, {}, utc_now_iso(), stalled_after_seconds=60)
    ledger.mark(run_id, updated_at=time.time() - 120)
    summary = ledger.summary(run_id, stalled_after=3600)  # the caller's setting is not the run's
    assert summary.state == "stalled" and summary.progress_at
    assert ledger.summary(run_id).state == "stalled"
    assert f"no progress since {summary.progress_at}" in render_text(summary)
    assert ledger.runs_by_state(stalled_after=3600)[0] == {"stalled": 1}  # the exporter's gauge too


def test_a_batch_delivered_again_writes_only_what_its_first_executor_did_not(s3, moto_server, locked_buckets, url,
                                                                              monkeypatch):
    """In process: a plain copy and a key's history, the first delivery dying part way (one version of two
    written); the delivery after it checks the destination and writes only the rest, reported as copied."""
    from dataclasses import replace

    from bucketsync.distributed import runtime
    from bucketsync.distributed.batches import execute_actions
    from bucketsync.core.locations import Location
    from bucketsync.core.messages import RunRequest
    from bucketsync.core.model import ObjectEntry
    from bucketsync.core.plan import PlannedAction, PlanOptions
    from bucketsync.core.settings import load_settings
    from bucketsync.listing.versions import iter_histories, iter_version_pages
    from bucketsync.core.version_plan import plan_key
    from tests.integration.helpers import cli_env, versions_per_key

    for name, value in cli_env(moto_server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(runtime, "_settings", runtime._settings)  # this process's settings again afterwards
    runtime.use_settings(load_settings(broker_url=url))
    source, dest = locked_buckets
    for body in (b"first", b"second"):
        s3.put_object(Bucket=source, Key="history", Body=body)
    s3.put_object(Bucket=source, Key="plain", Body=b"plain")
    request = RunRequest(run_id=f"again{time.time_ns()}", source=f"s3://{source}/", destination=f"s3://{dest}/")
    [history] = [h for h in iter_histories(iter_version_pages(s3, Location(source), page_size=100)) if h.key == "history"]
    action = plan_key(history, None, PlanOptions())
    head = s3.head_object(Bucket=source, Key="plain")
    plain = PlannedAction("copy", "plain", source=ObjectEntry("plain", head["ContentLength"], head["ETag"]))
    first = execute_actions(request, [replace(action, plan=replace(action.plan, to_write=action.plan.to_write[:1])), plain])
    assert [outcome.status for outcome in first] == ["copied", "copied"]  # ... and its worker died: never counted
    for _ in range(2):  # the delivery after it, and one more
        again = execute_actions(request, [action, plain], delivered_before=True)
        assert sorted((o.key, o.status, o.bytes_copied) for o in again) == [
            ("history", "copied", 5), ("history", "copied", 6), ("plain", "copied", 5)], again
    assert versions_per_key(s3, dest) == {"history": 2, "plain": 1}
