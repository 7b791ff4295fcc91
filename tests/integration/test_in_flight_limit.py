"""An embedded run backs off when the server throttles: after a 503 SlowDown it runs half as many object
operations at once (pacing.InFlightLimit), then climbs back to its concurrency.

In-process, against moto: the run's copies are counted as they run (execute wrapped), and the first
copy reports a SlowDown to the run's pacing as botocore's retry hook would."""

from __future__ import annotations

import threading
import time

from bucketsync.core.settings import load_settings
from bucketsync.engine.pacing import RunPacing
from bucketsync.run import embedded
from bucketsync.run.context import prepare_run
from conftest import set_side_env, unique_bucket

OBJECTS = 120
CONCURRENCY = 16


def test_a_slowdown_halves_the_copies_at_once_then_the_limit_climbs_back(monkeypatch, moto_server, s3):
    source, dest = unique_bucket("ifsrc"), unique_bucket("ifdst")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=dest)
    for index in range(OBJECTS):
        s3.put_object(Bucket=source, Key=f"k/{index:04d}", Body=b"x")
    set_side_env(monkeypatch, "source", moto_server)
    set_side_env(monkeypatch, "dest", moto_server)
    pacing = RunPacing.local(None, None)
    request, ctx = prepare_run(load_settings(concurrency=CONCURRENCY), f"s3://{source}", f"s3://{dest}", pacing=pacing)
    assert ctx.in_flight is not None and ctx.in_flight.ceiling == CONCURRENCY

    lock = threading.Lock()
    running, done = [0], [0]
    starts: list[tuple[int, int]] = []  # (operations ended before it, operations running with it)
    slowed = threading.Event()
    real_execute = embedded.execute

    def counted(ctx_, action):
        with lock:
            running[0] += 1
            starts.append((done[0], running[0]))
        try:
            if not slowed.is_set():
                pacing.slowdowns.add()  # what botocore's needs-retry hook does on a 503 SlowDown
                slowed.set()
            time.sleep(0.02)
            return real_execute(ctx_, action)
        finally:
            with lock:
                running[0] -= 1
                done[0] += 1

    monkeypatch.setattr(embedded, "execute", counted)
    summary = embedded.run_embedded(ctx, request)

    assert summary.state == "finished" and summary.copied == OBJECTS
    assert ctx.in_flight.lowest == CONCURRENCY // 2
    # The copies running when the SlowDown came end first (16); the next 8 to end leave room for at most
    # 8 + 2 at once (one more after each 8, then 9, ended). Without the limit: 16 at once all along.
    after = [at_once for ended, at_once in starts if CONCURRENCY <= ended < CONCURRENCY + 8]
    assert after and max(after) <= CONCURRENCY // 2 + 2, starts
    assert max(at_once for _, at_once in starts) == CONCURRENCY  # before it, the full concurrency
    assert ctx.in_flight.limit > CONCURRENCY // 2 + 2  # it climbs back while the run goes on
