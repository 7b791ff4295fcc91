"""The coordinator of one page, in this process against real moto and redis-server (no worker runs)."""

from __future__ import annotations

import time

import pytest
import redis

from conftest import set_side_env, unique_bucket
from bucketsync.distributed.ledger import Ledger
from bucketsync.core.outcomes import utc_now_iso
from bucketsync.core.settings import load_settings


def configure_this_process(settings):
    """This process's Celery app publishing to the broker of `settings`. Celery keeps the connection pools
    of its first publish, which an earlier test in this process (tests/ops/test_job_lock.py triggers runs
    here) may have made for another Redis: they are dropped as Celery drops them in a forked child."""
    from bucketsync.distributed.celery_app import app, configure

    configure(app, settings)
    app._after_fork()


@pytest.fixture
def broker_url(redis_server) -> str:
    url = redis_server.url.rsplit("/", 1)[0] + "/7"
    redis.Redis.from_url(url).flushdb()
    return url


def test_a_second_coordinator_of_a_registered_page_publishes_nothing(s3, moto_server, broker_url, monkeypatch):
    """A `resume` racing a redelivered coordinator message: both listed page 0; the one whose registration
    came second (register_page answered -1) must not publish the page's batches again."""
    from bucketsync.distributed import coordinator, runtime
    from bucketsync.core.messages import RunRequest

    set_side_env(monkeypatch, "source", moto_server)
    set_side_env(monkeypatch, "dest", moto_server)
    settings = load_settings(broker_url=broker_url)
    runtime.use_settings(settings)
    configure_this_process(settings)
    source, dest = unique_bucket("co-src"), unique_bucket("co-dst")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=dest)
    for n in range(3):
        s3.put_object(Bucket=source, Key=f"k{n}", Body=b"x")

    ledger = Ledger.from_url(broker_url, 600)
    request = RunRequest(run_id=f"co{time.time_ns()}", source=f"s3://{source}/", destination=f"s3://{dest}/")
    ledger.create_run(request.run_id, request.to_json(), {}, utc_now_iso())
    # The other coordinator registered page 0 after this one had found it unregistered.
    ledger.register_page(request.run_id, 0, batches=[[{"key": "k0"}]], listed=3, skipped=0, token=None,
                         last_key="k2", is_last=True, finished_at=utc_now_iso())
    monkeypatch.setattr(Ledger, "is_registered", lambda self, run_id, page: False)

    said = coordinator.coordinate_page(request, coordinator.PageTask(page=0, token=None, start_after=None))

    queued = redis.Redis.from_url(broker_url).llen("bucketsync")
    assert queued == 0, (said, queued)
    assert "registered" in said["result"]
    assert ledger.summary(request.run_id).listed == 3


def queued_pages(broker_url: str) -> list[tuple[int, int, str | None, str | None]]:
    """(page, range, start_after, last) of the coordinator messages in the queue."""
    import base64
    import json

    found = []
    for raw in redis.Redis.from_url(broker_url).lrange("bucketsync", 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == "bucketsync.coordinator_page":
            args = json.loads(base64.b64decode(message["body"]))[0]
            task = args[1]
            found.append((task["page"], task["range_id"], task["start_after"], task["last"]))
    return sorted(found)


def test_a_first_page_redelivered_after_registering_publishes_every_range_from_the_ledger(
        s3, moto_server, broker_url, monkeypatch):
    """The coordinator of page 0 cut the key space at "m", registered the page and died before publishing:
    its message comes back, finds the page registered, and publishes range 1's first page and range 0's
    next page, which ends at the cut (the message carries no end); once range 1 has gone on, only range 0's
    next page goes out again."""
    from bucketsync.distributed import coordinator, runtime
    from bucketsync.core.messages import PageTask, RunRequest

    set_side_env(monkeypatch, "source", moto_server)
    set_side_env(monkeypatch, "dest", moto_server)
    settings = load_settings(broker_url=broker_url)
    runtime.use_settings(settings)
    configure_this_process(settings)
    ledger = Ledger.from_url(broker_url, 600)
    request = RunRequest(run_id=f"co{time.time_ns()}", source="s3://a/", destination="s3://b/")
    ledger.create_run(request.run_id, request.to_json(), {}, utc_now_iso())
    task = PageTask(page=0, token=None, start_after=None)
    assert ledger.claim_page(request.run_id, 0, task.claim_id)
    ledger.set_ranges(request.run_id, ["m", None])
    registered = ledger.register_page(request.run_id, 0, batches=[], listed=40, skipped=40, token="t0", last_key="d",
                                      is_last=False, finished_at=utc_now_iso())
    assert registered.next_page == 2

    said = coordinator.coordinate_page(request, task)
    assert said["result"] == "resumed from the ledger"
    assert queued_pages(broker_url) == [(1, 1, "m", None), (2, 0, "d", "m")]

    redis.Redis.from_url(broker_url).delete("bucketsync")
    ledger.register_page(request.run_id, 1, batches=[], listed=40, skipped=40, token="t1", last_key="q",
                         is_last=False, finished_at=utc_now_iso(), range_id=1)
    coordinator.coordinate_page(request, task)
    assert queued_pages(broker_url) == [(2, 0, "d", "m")]
