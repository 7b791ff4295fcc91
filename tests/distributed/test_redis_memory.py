"""Redis holds what a run needs, for as long as it needs it: no stored task results (nothing reads them),
and a page chord's gathered results are gone once its callback has fired (docs/scale.md, "Redis")."""

from __future__ import annotations

import time

import redis

from tests.distributed.conftest import submit_detached
from tests.distributed.test_distributed import make_pair

from bucketsync.distributed.ledger import Ledger


def chord_state(client: redis.Redis) -> list[bytes]:
    """Celery's per-chord keys in Redis: gathered results (.j), counts (.t, .s), delivered ids (.d)."""
    return [key for key in client.scan_iter("celery-taskset-meta-*") if key[-2:] in (b".j", b".t", b".s", b".d")]


def test_a_run_leaves_no_task_results_and_its_chords_clean_up(s3, workers):
    client = redis.Redis.from_url(workers.broker_url)
    results_before = set(client.scan_iter("celery-task-meta-*"))
    source, dest = make_pair(s3, plain=90)  # pages of 40, batches of 7 (the workers fixture): 3 pages, 15 batches
    run_id = submit_detached(source, dest, workers.env)
    ledger = Ledger.from_url(workers.broker_url, 600)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pages = ledger.page_summaries(run_id)
        if ledger.summary(run_id).state != "running" and pages and all(page["done"] for page in pages):
            break
        time.sleep(0.3)
    assert ledger.summary(run_id).state == "finished", workers.log_text()
    # The chords fired: every page's summary comes from its chord callback, with the batches' results.
    pages = ledger.page_summaries(run_id)
    assert len(pages) >= 3 and all(page["done"] and page["batches"] >= 1 for page in pages), pages
    assert sum(page.get("copied", 0) for page in pages) == ledger.summary(run_id).copied

    while chord_state(client) and time.monotonic() < deadline:  # the last chord fires just after the count
        time.sleep(0.2)
    assert chord_state(client) == []
    # Coordinator pages, copy batches, page summaries, the run's end: not one result stored.
    assert set(client.scan_iter("celery-task-meta-*")) - results_before == set()
