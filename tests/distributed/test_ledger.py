"""The run ledger against a real redis-server: TTLs that count from the last write, a run that has expired
stays expired, a summary that survives a damaged hash, and a maximum kept by the recording script."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from bucketsync.distributed.ledger import REGISTERED_BEFORE, Ledger, run_key
from bucketsync.core.outcomes import ObjectOutcome, utc_now_iso

REQUEST = {"source": "s3://a/", "destination": "s3://b/", "dry_run": False}


@pytest.fixture
def url(redis_server) -> str:
    url = redis_server.url.rsplit("/", 1)[0] + "/6"
    redis.Redis.from_url(url).flushdb()
    return url


def new_run(ledger: Ledger, batches: int = 2) -> str:
    run_id = f"ttl{time.time_ns()}"
    ledger.create_run(run_id, REQUEST, {}, utc_now_iso())
    ledger.register_page(run_id, 0, batches=[[{"key": f"k{n}"}] for n in range(batches)], listed=batches, skipped=0,
                         token=None, last_key="k", is_last=True, finished_at=utc_now_iso())
    return run_id


def run_keys_with_ttl(ledger: Ledger, run_id: str) -> dict[str, int]:
    return {key: ledger.redis.ttl(key) for key in ledger.redis.scan_iter(run_key(run_id) + "*")}


def test_every_write_of_a_run_refreshes_the_ttl_of_all_its_keys(url):
    ledger = Ledger.from_url(url, 60)
    run_id = new_run(ledger, batches=3)
    ledger.record_batch(run_id, 0, 0, [ObjectOutcome("k0", "failed", reason="AccessDenied")], utc_now_iso())
    for key in ledger.redis.scan_iter(run_key(run_id) + "*"):
        ledger.redis.expire(key, 5)  # as if the run had gone 55 s without a write
    assert ledger.record_batch(run_id, 0, 1, [ObjectOutcome("k1", "copied")], utc_now_iso()) == 1
    ttls = run_keys_with_ttl(ledger, run_id)
    assert len(ttls) >= 3 and all(ttl > 50 for ttl in ttls.values()), ttls


def test_registering_a_page_and_marking_refresh_the_ttl_too(url):
    ledger = Ledger.from_url(url, 60)
    run_id = new_run(ledger)
    ledger.redis.expire(run_key(run_id), 5)
    ledger.register_page(run_id, 1, batches=[[{"key": "x"}]], listed=1, skipped=0, token=None, last_key="x",
                         is_last=False, finished_at=utc_now_iso())
    assert ledger.redis.ttl(run_key(run_id)) > 50
    ledger.redis.expire(run_key(run_id), 5)
    ledger.mark(run_id, updated_at=time.time())
    assert ledger.redis.ttl(run_key(run_id)) > 50


def test_no_write_re_creates_a_run_that_has_expired(url):
    ledger = Ledger.from_url(url, 60)
    run_id = new_run(ledger)
    for key in list(ledger.redis.scan_iter(run_key(run_id) + "*")):
        ledger.redis.delete(key)  # the run's TTL ran out
    ledger.record_batch(run_id, 0, 0, [ObjectOutcome("k0", "copied")], utc_now_iso())
    ledger.register_page(run_id, 1, batches=[[{"key": "x"}]], listed=1, skipped=0, token=None, last_key="x",
                         is_last=True, finished_at=utc_now_iso())
    ledger.claim_page(run_id, 2, "claim")
    ledger.mark(run_id, state="failed", error="listing page 2: AccessDenied")
    assert not ledger.exists(run_id)
    assert ledger.summary(run_id) is None
    left = run_keys_with_ttl(ledger, run_id)
    assert all(ttl > 0 for ttl in left.values()), left  # nothing left behind without a TTL


def test_a_summary_survives_a_hash_with_missing_fields(url):
    ledger = Ledger.from_url(url, 60)
    ledger.redis.hset(run_key("damaged"), mapping={"state": "running", "copied": 3})
    summary = ledger.summary("damaged")
    assert summary is not None and summary.copied == 3 and summary.state == "running"


class SlowAfterScript(redis.Redis):
    """A worker's connection that stalls on plain hash commands (e.g. a GC pause, a slow network)."""

    def execute_command(self, *args, **options):
        if args and args[0] in ("HGET", "HSET"):
            time.sleep(1.0)
        return super().execute_command(*args, **options)


def test_a_follower_hearing_the_end_reads_the_final_max_unprotected_seconds(url):
    from bucketsync.distributed.submit import follow_run

    ledger = Ledger.from_url(url, 60)
    run_id = new_run(ledger, batches=1)
    worker = Ledger(SlowAfterScript.from_url(url, decode_responses=True), 60)
    followed: list = []
    follower = threading.Thread(target=lambda: followed.append(follow_run(ledger, run_id, poll_seconds=30)))
    follower.start()
    time.sleep(0.5)
    recorded = worker.record_batch(run_id, 0, 0, [ObjectOutcome("k0", "copied", unprotected_seconds=0.7)], utc_now_iso())
    follower.join(timeout=20)
    assert recorded == 3
    assert followed and followed[0].state == "finished"
    assert followed[0].max_unprotected_seconds == 0.7


class HsetAfterBarrier(redis.Redis):
    """Two workers' connections that both read before either writes, the second to write being `late`."""

    barrier: threading.Barrier
    late: bool = False

    def execute_command(self, *args, **options):
        if args and args[0] == "HSET" and args[2] == "max_unprotected_ms":
            self.barrier.wait(timeout=5)
            if self.late:
                time.sleep(0.3)
        return super().execute_command(*args, **options)


def test_two_workers_never_lose_the_maximum(url):
    ledger = Ledger.from_url(url, 60)
    run_id = new_run(ledger, batches=3)
    barrier = threading.Barrier(2)
    ledgers = []
    for late in (False, True):
        client = HsetAfterBarrier.from_url(url, decode_responses=True)
        client.barrier, client.late = barrier, late
        ledgers.append(Ledger(client, 60))
    threads = [
        threading.Thread(target=lambda: ledgers[0].record_batch(
            run_id, 0, 0, [ObjectOutcome("k0", "copied", unprotected_seconds=0.7)], utc_now_iso())),
        threading.Thread(target=lambda: ledgers[1].record_batch(
            run_id, 0, 1, [ObjectOutcome("k1", "copied", unprotected_seconds=0.3)], utc_now_iso())),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert ledger.summary(run_id).max_unprotected_seconds == 0.7


# ---------------------------------------------------------------- ranges: key ranges listed at once


def register(ledger: Ledger, run_id: str, page: int, *, range_id: int, is_last: bool, last_key: str) -> int:
    return ledger.register_page(run_id, page, batches=[[{"key": last_key}]], listed=1, skipped=0,
                                token=None if is_last else f"t{page}", last_key=last_key, is_last=is_last,
                                finished_at=utc_now_iso(), range_id=range_id)


def test_the_first_cut_of_a_run_into_ranges_is_the_one_kept(url):
    ledger = Ledger.from_url(url, 60)
    run_id = f"ranges{time.time_ns()}"
    ledger.create_run(run_id, REQUEST, {}, utc_now_iso())
    assert ledger.range_ends(run_id) == [None]
    assert ledger.set_ranges(run_id, ["g", "p", None]) == ["g", "p", None]
    assert ledger.set_ranges(run_id, ["m", None]) == ["g", "p", None]  # a redelivered first page: same ranges
    assert ledger.range_ends(run_id) == ["g", "p", None]


def test_listing_ends_when_every_range_has_registered_its_last_page(url):
    ledger = Ledger.from_url(url, 60)
    run_id = f"ranges{time.time_ns()}"
    ledger.create_run(run_id, REQUEST, {}, utc_now_iso())
    ledger.set_ranges(run_id, ["g", None])
    assert ledger.cursor(run_id, 1).next_page == 1 and ledger.cursor(run_id, 1).last_key == "g"
    register(ledger, run_id, 0, range_id=0, is_last=False, last_key="c")
    register(ledger, run_id, 1, range_id=1, is_last=True, last_key="z")
    range0, range1 = ledger.cursor(run_id, 0), ledger.cursor(run_id, 1)
    assert (range0.next_page, range0.token, range0.last_key, range0.range_done) == (2, "t0", "c", False)
    assert range1.range_done and not range1.listing_done
    register(ledger, run_id, 2, range_id=0, is_last=True, last_key="g")
    assert ledger.cursor(run_id, 0).listing_done
    for page in (0, 1, 2):
        ledger.record_batch(run_id, page, 0, [ObjectOutcome("k", "copied")], utc_now_iso())
    assert ledger.summary(run_id).state == "finished"


def test_a_run_is_not_finished_while_a_range_is_still_listing(url):
    ledger = Ledger.from_url(url, 60)
    run_id = f"ranges{time.time_ns()}"
    ledger.create_run(run_id, REQUEST, {}, utc_now_iso())
    ledger.set_ranges(run_id, ["g", "p", None])
    register(ledger, run_id, 0, range_id=0, is_last=True, last_key="g")
    register(ledger, run_id, 2, range_id=2, is_last=True, last_key="z")
    for page in (0, 2):
        ledger.record_batch(run_id, page, 0, [ObjectOutcome("k", "copied")], utc_now_iso())
    assert ledger.summary(run_id).state == "running"  # range 1 has not listed
    register(ledger, run_id, 1, range_id=1, is_last=True, last_key="p")
    ledger.record_batch(run_id, 1, 0, [ObjectOutcome("k", "copied")], utc_now_iso())
    assert ledger.summary(run_id).state == "finished"


def test_each_range_has_its_own_coordinator_claim(url):
    ledger = Ledger.from_url(url, 60)
    run_id = f"ranges{time.time_ns()}"
    ledger.create_run(run_id, REQUEST, {}, utc_now_iso())
    assert ledger.claim_page(run_id, 8, "a", range_id=0)
    assert ledger.claim_page(run_id, 5, "b", range_id=1)  # an earlier page of another range is not stood down
    assert not ledger.claim_page(run_id, 5, "c", range_id=1)  # a duplicate of that range's page is
    assert not ledger.claim_page(run_id, 4, "d", range_id=0)


def test_resume_republishes_the_next_page_of_every_open_range(url):
    from bucketsync.distributed.submit import open_ranges

    ledger = Ledger.from_url(url, 60)
    run_id = f"ranges{time.time_ns()}"
    ledger.create_run(run_id, REQUEST, {}, utc_now_iso())
    assert [(t.page, t.range_id) for t in open_ranges(ledger, run_id)] == [(0, 0)]  # ranges not cut yet
    ledger.set_ranges(run_id, ["g", "p", None])
    register(ledger, run_id, 0, range_id=0, is_last=False, last_key="c")
    register(ledger, run_id, 2, range_id=2, is_last=True, last_key="z")
    tasks = open_ranges(ledger, run_id)
    assert [(t.page, t.range_id, t.token, t.start_after, t.last, t.force_claim) for t in tasks] == [
        (3, 0, "t0", "c", "g", True), (1, 1, None, "g", "p", True)]


# ---------------------------------------------------------------- page numbers


def new_ranges_run(ledger: Ledger, ends: list | None = None) -> str:
    run_id = f"split{time.time_ns()}"
    ledger.create_run(run_id, REQUEST, {}, utc_now_iso())
    if ends:
        ledger.set_ranges(run_id, ends)
    return run_id


def register_in(ledger: Ledger, run_id: str, page: int, *, range_id: int, is_last: bool = False, last_key: str = "b"):
    return ledger.register_page(run_id, page, batches=[[{"key": last_key}]], listed=1, skipped=0,
                                token=None if is_last else f"t{page}", last_key=last_key, is_last=is_last,
                                finished_at=utc_now_iso(), range_id=range_id)


def test_the_ledger_numbers_each_ranges_next_page_once(url):
    ledger = Ledger.from_url(url, 60)
    run_id = new_ranges_run(ledger, ["m", None])
    assert register_in(ledger, run_id, 1, range_id=1).next_page == 2  # pages 0 and 1 start the ranges
    assert register_in(ledger, run_id, 0, range_id=0).next_page == 3
    assert register_in(ledger, run_id, 1, range_id=1).status == REGISTERED_BEFORE
    assert ledger.next_page_after(run_id, 1) == 2  # what a redelivered coordinator reads
    assert (ledger.cursor(run_id, 0).next_page, ledger.cursor(run_id, 1).next_page) == (3, 2)
    assert register_in(ledger, run_id, 3, range_id=0, is_last=True).next_page is None
    assert ledger.next_page_after(run_id, 3) is None


def test_cut_ends_keep_any_unicode_key(url):
    ledger = Ledger.from_url(url, 60)
    end = "d/😀 \"q\"\\ zé/ü"
    run_id = new_ranges_run(ledger, [end, None])
    assert ledger.range_ends(run_id) == [end, None]
    assert ledger.cursor(run_id, 1).last_key == end


def test_ranges_are_not_cut_after_the_first_page_is_registered(url):
    ledger = Ledger.from_url(url, 60)
    run_id = new_ranges_run(ledger)
    register_in(ledger, run_id, 0, range_id=0)  # listed in one stream: page 1 is range 0's
    assert ledger.set_ranges(run_id, ["m", None]) is None  # a late duplicate of page 0 cuts nothing
    assert ledger.range_ends(run_id) == [None]
