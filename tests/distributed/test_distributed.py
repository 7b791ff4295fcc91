"""Distributed runs on real Celery worker processes over a real redis-server, against a real moto server."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import redis

from conftest import SECRET_KEY, run_cli, run_cli_in_process, unique_bucket
from tests.integration.helpers import compare_buckets, explain, fixture_set, seed, sync
from tests.distributed.conftest import QueueSampler, WorkerPool, broker_env, kill_with_its_pool, submit_detached

from bucketsync.distributed.ledger import Ledger
from bucketsync.core.outcomes import ObjectOutcome, utc_now_iso

COUNTED = ("listed", "copied", "skipped", "lock_updated", "deleted", "failed", "vanished", "bytes_copied",
           "retention_expired")


def make_pair(s3, plain: int = 0, flat: bool = False):
    """A lock-enabled pair; the source holds the fixture set and `plain` small objects: under `plain/`, or
    with `flat`, hash-named at the top with the fixture set under `zz/` (a key space the first page cuts
    into ranges)."""
    source, dest = unique_bucket("dsrc"), unique_bucket("ddst")
    s3.create_bucket(Bucket=source, ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket=dest, ObjectLockEnabledForBucket=True)
    seed(s3, source, fixture_set(), prefix="zz/" if flat else "")
    names = [hashlib.sha1(f"plain {n}".encode()).hexdigest() if flat else f"plain/{n:05d}" for n in range(plain)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: s3.put_object(Bucket=source, Key=item[1], Body=f"object {item[0]}".encode()),
                      enumerate(names)))
    return source, dest


# The range tests' runs list pages of 10 (the submitter's page size travels with the run): the pages and
# ranges of 40-key pages with a quarter of the objects to copy and compare.
SMALL_PAGES = {"BUCKETSYNC_PAGE_SIZE": "10"}


def ranges_of(ledger: Ledger, run_id: str) -> int:
    return len(ledger.range_ends(run_id))


def new_dest(s3) -> str:
    bucket = unique_bucket("ddst")
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    return bucket


def numbers(report: dict) -> dict:
    return {name: report[name] for name in COUNTED} | {"failures": sorted(f["key"] for f in report["failures"])}


def test_distributed_run_matches_embedded_run(s3, moto_server, workers, tmp_path):
    source, dest = make_pair(s3, plain=80)  # with the fixture set, 3 pages of 40
    embedded_dest = new_dest(s3)
    distributed = sync(f"s3://{source}", f"s3://{dest}", env=workers.env, report_path=tmp_path / "d.json")
    assert distributed.returncode == 0, explain(distributed) + workers.log_text()
    embedded_env = {k: v for k, v in workers.env.items() if k != "BUCKETSYNC_BROKER_URL"}
    embedded = sync(f"s3://{source}", f"s3://{embedded_dest}", env=embedded_env, report_path=tmp_path / "e.json")
    assert embedded.returncode == 0, explain(embedded)

    assert distributed.report["mode"] == "distributed" and embedded.report["mode"] == "embedded"
    assert numbers(distributed.report) == numbers(embedded.report)
    assert distributed.report["copied"] == len(fixture_set()) + 80
    assert compare_buckets(s3, source, s3, dest) == []
    assert compare_buckets(s3, source, s3, embedded_dest) == []

    again = sync(f"s3://{source}", f"s3://{dest}", env=workers.env, report_path=tmp_path / "d2.json")
    assert again.returncode == 0, explain(again)
    assert again.report["copied"] == 0 and again.report["skipped"] == again.report["listed"]


def test_detach_then_status_reports_the_same_numbers(s3, moto_server, workers, tmp_path):
    source, dest = make_pair(s3, plain=60)
    run_id = submit_detached(source, dest, workers.env)
    assert len(run_id) == 16

    deadline = time.monotonic() + 120
    while True:
        status = run_cli_in_process("status", run_id, "--json", env=workers.env)
        assert status.returncode in (0, 3), status.stderr  # finished, or still running
        report = json.loads(status.stdout)
        if report["state"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert report["state"] == "finished", workers.log_text()
    followed_dest = new_dest(s3)
    followed = sync(f"s3://{source}", f"s3://{followed_dest}", env=workers.env, report_path=tmp_path / "f.json")
    assert numbers(report) == numbers(followed.report)
    assert compare_buckets(s3, source, s3, dest) == []

    text = run_cli_in_process("status", run_id, env=workers.env)
    assert text.returncode == 0 and run_id in text.stdout and "copied" in text.stdout


def test_status_of_unknown_run_is_a_clear_error(workers):
    done = run_cli("status", "0123456789abcdef", env=workers.env)
    assert done.returncode == 2
    assert "not known" in done.stderr and "Traceback" not in done.stderr


def test_no_secret_in_redis_after_a_run(s3, moto_server, workers, tmp_path, redis_server):
    source, dest = make_pair(s3, plain=20)
    result = sync(f"s3://{source}", f"s3://{dest}", env=workers.env, report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result)
    client = redis.Redis.from_url(workers.broker_url)
    scanned = 0
    for key in client.scan_iter(count=1000):
        scanned += 1
        kind = client.type(key).decode()
        if kind == "string":
            values = [client.get(key)]
        elif kind == "hash":
            values = list(client.hgetall(key).values()) + list(client.hkeys(key))
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "set":
            values = list(client.smembers(key))
        elif kind == "zset":
            values = [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
        else:
            values = []
        for value in values + [key]:
            assert SECRET_KEY.encode() not in (value or b""), f"secret found in {key!r}"
    assert scanned > 5  # the run did leave its ledger behind to scan


def test_queue_length_stays_bounded_by_the_high_water_mark(s3, moto_server, redis_server, tmp_path):
    broker_url = redis_server.url.rsplit("/", 1)[0] + "/2"
    redis.Redis.from_url(broker_url).flushdb()
    high_water = 4
    env = broker_env(moto_server, broker_url, page_size="20", batch_size="2", concurrency="2",
                     queue_high_water=str(high_water))
    pool = WorkerPool(env=env, broker_url=broker_url)
    source, dest = make_pair(s3, plain=100)  # 6 pages of 20, 10 batches each: far past the high-water mark
    try:
        pool.start("hw", concurrency=1)
        with QueueSampler(broker_url) as sampler:
            result = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=tmp_path / "hw.json")
        assert result.returncode == 0, explain(result) + pool.log_text()
    finally:
        pool.stop_all()
    batches_per_page = 20 // 2
    assert max(sampler.samples) <= high_water + batches_per_page + 2, max(sampler.samples)
    assert result.report["copied"] == 100 + len(fixture_set())
    assert compare_buckets(s3, source, s3, dest) == []


def test_worker_killed_mid_run_loses_and_doubles_nothing(s3, moto_server, redis_server, tmp_path):
    broker_url = redis_server.url.rsplit("/", 1)[0] + "/3"
    redis.Redis.from_url(broker_url).flushdb()
    env = broker_env(moto_server, broker_url, page_size="16", batch_size="10", concurrency="1",
                     visibility_timeout="6", task_time_limit="5", batch_lease_seconds="3")
    pool = WorkerPool(env=env, broker_url=broker_url)
    # ~13 pages of 16; the first page's 16 hash-named keys span about a tenth of the key space: 2 ranges
    source, dest = make_pair(s3, plain=200, flat=True)
    expected = 200 + len(fixture_set())
    ledger = Ledger.from_url(broker_url, 3600)
    try:
        victim = pool.start("victim", concurrency=2)
        run_id = submit_detached(source, dest, env)
        deadline = time.monotonic() + 60
        while (ledger.summary(run_id).copied < 40) and time.monotonic() < deadline:
            time.sleep(0.05)
        copied_at_kill = ledger.summary(run_id).copied
        kill_with_its_pool(victim)  # the pool children die with it: their batches are unacked
        assert copied_at_kill < expected, "the run finished before the kill: make it longer"
        pool.start("rescuer", concurrency=2)
        # Redelivery: the batches the victim held come back after the visibility timeout (6 s).
        _wait_while_running(ledger, run_id, seconds=60)
        stalled = _stall_report(broker_url, ledger, run_id) if ledger.summary(run_id).state == "running" else ""
        if stalled:
            # A kill in the instant between kombu popping a message and recording it as unacked loses
            # that message (kombu's Redis transport); the outbox still holds the batch: `resume` is the
            # documented remedy, and must republish only what was never counted.
            assert redis.Redis.from_url(broker_url).llen("bucketsync") == 0, stalled
            resumed = run_cli("resume", run_id, "--detach", env=env)
            assert resumed.returncode == 0, resumed.stderr
            _wait_while_running(ledger, run_id, seconds=120)
        summary = ledger.summary(run_id)
    finally:
        pool.stop_all()
    assert summary.state == "finished", stalled + _stall_report(broker_url, ledger, run_id) + pool.log_text(tail=None)
    assert ranges_of(ledger, run_id) >= 2  # the ranges were listed by the victim and the rescuer
    assert summary.listed == expected
    assert summary.copied == expected, (summary.copied, expected)
    assert summary.failed == 0, summary.failures
    assert compare_buckets(s3, source, s3, dest) == []


def _wait_while_running(ledger: Ledger, run_id: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while ledger.summary(run_id).state == "running" and time.monotonic() < deadline:
        time.sleep(0.5)


def _stall_report(broker_url: str, ledger: Ledger, run_id: str) -> str:
    """What a stalled run still waits for, and where its messages are."""
    client = redis.Redis.from_url(broker_url)
    return (f"uncounted batches: {ledger.unfinished_batches(run_id)}\n"
            f"queue: {client.llen('bucketsync')}, unacked: {client.hlen('unacked')}\n"
            f"run: {ledger.summary(run_id)}\n")


def _ledger_with_page(redis_server, db: int, batches: int) -> tuple[Ledger, str]:
    url = redis_server.url.rsplit("/", 1)[0] + f"/{db}"
    ledger = Ledger.from_url(url, 600)
    run_id = f"race{time.time_ns()}"
    ledger.create_run(run_id, {"source": "s3://a/", "destination": "s3://b/", "dry_run": False}, {}, utc_now_iso())
    ledger.register_page(run_id, 0, batches=[[{"key": f"k{n}"}] for n in range(batches)], listed=batches, skipped=0, token=None, last_key="k",
                         is_last=True, finished_at=utc_now_iso())
    return ledger, run_id


def test_a_batch_recorded_twice_counts_once(redis_server):
    ledger, run_id = _ledger_with_page(redis_server, 4, batches=2)
    outcomes = [ObjectOutcome("a", "copied", bytes_copied=5), ObjectOutcome("b", "failed", reason="AccessDenied")]
    assert ledger.record_batch(run_id, 0, 0, outcomes, utc_now_iso()) == 1
    assert ledger.record_batch(run_id, 0, 0, outcomes, utc_now_iso()) == 0
    summary = ledger.summary(run_id)
    assert (summary.copied, summary.failed, summary.bytes_copied, len(summary.failures)) == (1, 1, 5, 1)
    assert summary.state == "running"
    assert ledger.record_batch(run_id, 0, 1, [ObjectOutcome("c", "copied", bytes_copied=1)], utc_now_iso()) == 3
    assert ledger.record_batch(run_id, 0, 1, [ObjectOutcome("c", "copied", bytes_copied=1)], utc_now_iso()) == 0
    assert ledger.summary(run_id).copied == 2 and ledger.summary(run_id).state == "finished"


def test_finalisation_happens_once_when_the_last_batches_race(redis_server):
    for _ in range(30):
        ledger, run_id = _ledger_with_page(redis_server, 4, batches=8)
        results: list[int] = []
        barrier = threading.Barrier(8)

        def record(batch: int) -> None:
            barrier.wait()
            # each batch twice, as a redelivered message would
            for _ in range(2):
                results.append(ledger.record_batch(run_id, 0, batch, [ObjectOutcome(f"k{batch}", "copied")], utc_now_iso()))

        threads = [threading.Thread(target=record, args=(batch,)) for batch in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results.count(3) == 1
        assert results.count(0) == 8
        assert ledger.summary(run_id).copied == 8


def test_a_copy_batch_message_delivered_again_writes_nothing(s3, moto_server, workers):
    """Two identical copy_batch messages on the real queue at once, and a third after the run has finished:
    one writes and counts, the others touch no S3 and are counted as duplicate deliveries."""
    from bucketsync.distributed.celery_app import configure, create_app
    from bucketsync.run.context import RunRequest
    from bucketsync.core.plan import PlannedAction
    from bucketsync.core.model import ObjectEntry
    from bucketsync.core.settings import load_settings

    source, dest = make_pair(s3)
    # An app of its own: Celery keeps the broker pool and result backend of the first configuration (an
    # earlier test's, in this process) however often it is configured again.
    app = configure(create_app(), load_settings(broker_url=workers.broker_url))
    ledger = Ledger.from_url(workers.broker_url, 600)
    request = RunRequest(run_id=f"dup{time.time_ns()}", source=f"s3://{source}/", destination=f"s3://{dest}/",
                         source_lock_enabled=True)
    ledger.create_run(request.run_id, request.to_json(), {}, utc_now_iso())
    head = s3.head_object(Bucket=source, Key="lock/none.txt")
    action = PlannedAction("copy", "lock/none.txt", source=ObjectEntry("lock/none.txt", head["ContentLength"], head["ETag"]))
    ledger.register_page(request.run_id, 0, batches=[[action.to_json()]], listed=1, skipped=0, token=None,
                         last_key="lock/none.txt", is_last=True, finished_at=utc_now_iso())
    message = [request.to_json(), 0, 0, [action.to_json()]]
    # ignore_result=False: this test reads the results, which are not stored otherwise.
    both = [app.send_task("bucketsync.copy_batch", args=message, ignore_result=False) for _ in range(2)]
    results = sorted((result.get(timeout=60) for result in both), key=len)
    assert results == [{"duplicate_deliveries": 1}, {"copied": 1, "bytes_copied": head["ContentLength"]}]
    assert ledger.summary(request.run_id).state == "finished"
    late = app.send_task("bucketsync.copy_batch", args=message, ignore_result=False).get(timeout=60)  # e.g. after the visibility timeout
    assert late == {"duplicate_deliveries": 1}
    summary = ledger.summary(request.run_id)
    assert (summary.copied, summary.duplicate_deliveries) == (1, 2)
    versions = s3.list_object_versions(Bucket=dest, Prefix="lock/none.txt").get("Versions", [])
    assert len(versions) == 1, versions


def test_the_run_end_is_published_so_a_follower_need_not_sleep_out_its_poll(redis_server):
    """finalisation publishes the end on the run's channel: follow_run returns at once, not a poll later."""
    from bucketsync.distributed.submit import follow_run

    ledger, run_id = _ledger_with_page(redis_server, 4, batches=1)
    followed: list = []
    follower = threading.Thread(target=lambda: followed.append(follow_run(ledger, run_id, poll_seconds=60)), daemon=True)
    follower.start()
    time.sleep(0.5)  # the follower has read "running" and waits for its next poll
    assert ledger.record_batch(run_id, 0, 0, [ObjectOutcome("a", "copied")], utc_now_iso()) == 3
    follower.join(timeout=20)
    assert not follower.is_alive(), "follow_run slept out its 60 s poll instead of hearing the run end"
    assert followed[0].state == "finished" and followed[0].copied == 1


def test_a_failed_run_is_published_too(redis_server):
    ledger, run_id = _ledger_with_page(redis_server, 4, batches=1)
    with ledger.end_signal(run_id) as run_end:
        run_end.wait(0.2)  # consumes the subscription's confirmation
        ledger.mark(run_id, state="failed", error="listing page 0: AccessDenied")
        started = time.monotonic()
        run_end.wait(60)
        assert time.monotonic() - started < 20
    assert ledger.summary(run_id).state == "failed"


def test_concurrency_option_wins_over_a_bad_environment_value_with_a_broker(s3, moto_server, workers):
    """The submitter configures Celery from the settings it loaded (option over environment), not from the
    environment when a module is imported."""
    source, dest = make_pair(s3, plain=5)
    env = {**workers.env, "BUCKETSYNC_CONCURRENCY": "bad"}
    done = run_cli("sync", f"s3://{source}", f"s3://{dest}", "--concurrency", "8", "--detach", env=env)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    ledger = Ledger.from_url(workers.broker_url, 600)
    deadline = time.monotonic() + 60
    while ledger.summary(run_id).state == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ledger.summary(run_id).state == "finished", workers.log_text()


def test_status_pages_shows_each_pages_summary_from_its_chord_callback(s3, moto_server, workers):
    """The page_summary callback's totals are what `status --pages` shows; they add up to the run's counts."""
    source, dest = make_pair(s3, plain=90)  # pages of 40 (the workers fixture): 3 pages
    run_id = submit_detached(source, dest, workers.env)
    ledger = Ledger.from_url(workers.broker_url, 600)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pages = ledger.page_summaries(run_id)
        if ledger.summary(run_id).state != "running" and pages and all(page["done"] for page in pages):
            break
        time.sleep(0.3)
    status = run_cli_in_process("status", run_id, "--pages", "--json", env=workers.env)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["state"] == "finished", workers.log_text()
    pages = report["pages"]
    numbers = [page["page"] for page in pages]  # range l of n lists pages l, l + n, ...
    assert numbers == sorted(set(numbers)) and len(pages) >= 3
    assert all(page["done"] for page in pages), pages
    for name in ("listed", "copied", "bytes_copied"):
        assert sum(page.get(name, 0) for page in pages) == report[name], name
    assert all(page["batches"] >= 1 for page in pages if page["copied"])

    text = run_cli_in_process("status", run_id, "--pages", env=workers.env)
    assert text.returncode == 0, text.stderr
    lines = [line for line in text.stdout.splitlines() if line.split()[:1] and line.split()[0].isdigit()]
    assert len(lines) == len(pages) and all(line.rstrip().endswith("done") for line in lines), text.stdout


def test_a_flat_bucket_is_listed_in_ranges_at_once_and_counted_exactly(s3, workers, tmp_path):
    """Hash-named keys (no prefixes): the first page cuts ranges, whose pages are listed by whichever worker
    is free; the run counts every key once, and a re-sync finds everything in place."""
    source, dest = unique_bucket("dflat"), new_dest(s3)
    s3.create_bucket(Bucket=source, ObjectLockEnabledForBucket=True)
    keys = [hashlib.sha1(str(n).encode()).hexdigest() for n in range(120)]  # pages of 10 (SMALL_PAGES): ~12, 3 ranges
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=source, Key=key, Body=key.encode()), keys))
    s3.put_object(Bucket=dest, Key="ffff-only-at-dest", Body=b"x")
    env = workers.env | SMALL_PAGES
    result = sync(f"s3://{source}", f"s3://{dest}", "--delete", env=env, report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result) + workers.log_text()
    assert (result.report["listed"], result.report["copied"], result.report["deleted"]) == (120, 120, 1)
    assert compare_buckets(s3, source, s3, dest) == []
    ledger = Ledger.from_url(workers.broker_url, 600)
    ends = ledger.range_ends(result.report["run_id"])
    assert len(ends) >= 2 and ends.count(None) == 1, ends
    ranges_listed = {page["range"] for page in ledger.page_summaries(result.report["run_id"]) if page["listed"]}
    assert ranges_listed == set(range(len(ends)))

    again = sync(f"s3://{source}", f"s3://{dest}", "--delete", env=env, report_path=tmp_path / "r2.json")
    assert (again.report["listed"], again.report["skipped"], again.report["copied"]) == (120, 120, 0)
