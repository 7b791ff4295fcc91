"""Parts in parallel: the bounds per object and per process, the read-ahead, and what a failure does."""

from __future__ import annotations

import threading
import time

import pytest

from bucketsync.engine.parallel_parts import (
    CHUNKS_IN_MEMORY, PARTS_PER_OBJECT, PartSlots, part_slot_count, spool_memory_limit,
)


class Gauge:
    """Counts jobs running at once, and remembers the most."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.done: list[int] = []

    def job(self, number: int, seconds: float = 0.02, fail: bool = False):
        def run() -> None:
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            time.sleep(seconds)
            with self.lock:
                self.now -= 1
                self.done.append(number)
            if fail:
                raise RuntimeError(f"part {number} failed")
        return run


@pytest.mark.parametrize(("concurrency", "slots"), [(1, PARTS_PER_OBJECT), (4, 4), (16, 16), (64, 64)])
def test_part_slots_follow_concurrency(concurrency, slots):
    assert part_slot_count(concurrency) == slots


@pytest.mark.parametrize(("concurrency", "share"), [(1, 1.0), (4, 1.0), (16, 1.0), (32, 0.5), (64, 0.25), (512, 1 / 32)])
def test_bodies_and_parts_in_memory_stay_within_32_chunks_whatever_the_concurrency(concurrency, share):
    chunk = 16 * 2**20
    limit = spool_memory_limit(concurrency, chunk)
    assert limit == int(chunk * share)
    assert (concurrency + part_slot_count(concurrency)) * limit <= CHUNKS_IN_MEMORY * chunk


def test_one_object_runs_at_most_its_window_at_once_and_every_part():
    gauge = Gauge()
    PartSlots(16).run(gauge.job(n, 0.05) for n in range(1, 13))
    assert sorted(gauge.done) == list(range(1, 13))
    assert gauge.most == PARTS_PER_OBJECT


def test_many_objects_share_the_process_limit():
    gauge = Gauge()
    slots = PartSlots(6)
    objects = [threading.Thread(target=slots.run, args=((gauge.job(n, 0.05) for n in range(8)),)) for _ in range(5)]
    for thread in objects:
        thread.start()
    for thread in objects:
        thread.join()
    assert len(gauge.done) == 40
    assert gauge.most == 6  # 5 objects × 4 parts would be 20


def test_the_next_job_is_taken_only_when_a_slot_is_free():
    """A streamed part is read from the source when its job is taken: never more than the window ahead."""
    gauge = Gauge()
    taken_while_running: list[int] = []

    def jobs():
        for n in range(10):
            taken_while_running.append(gauge.now)
            yield gauge.job(n)

    PartSlots(8).run(jobs())
    assert max(taken_while_running) <= PARTS_PER_OBJECT - 1
    assert max(taken_while_running) >= 1  # reading overlaps the uploads of earlier parts


def test_a_failed_part_stops_new_parts_waits_for_running_ones_and_raises():
    gauge = Gauge()
    jobs = (gauge.job(n, seconds=0.05, fail=(n == 2)) for n in range(1, 40))
    with pytest.raises(RuntimeError, match="part 2 failed"):
        PartSlots(8).run(jobs)
    assert gauge.now == 0  # nothing still running once run() has raised (the upload is aborted next)
    assert len(gauge.done) < 39


def test_a_failure_reading_the_next_part_waits_for_running_ones_and_raises():
    gauge = Gauge()

    def jobs():
        yield gauge.job(1, seconds=0.1)
        raise OSError("the source stream ended early")

    with pytest.raises(OSError, match="ended early"):
        PartSlots(8).run(jobs())
    assert gauge.now == 0 and gauge.done == [1]


def test_slots_are_given_back_after_failures():
    slots = PartSlots(2)
    with pytest.raises(RuntimeError):
        slots.run(Gauge().job(n, fail=True) for n in range(5))
    gauge = Gauge()
    slots.run(gauge.job(n) for n in range(6))
    assert len(gauge.done) == 6 and gauge.most == 2
