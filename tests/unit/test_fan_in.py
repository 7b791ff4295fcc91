"""drained_on_threads: every item of every producer once, bounded, the first error raised, producers stopped."""

from __future__ import annotations

import threading
import time

import pytest

from bucketsync.listing.fan_in import drained_on_threads


def test_every_item_of_every_producer_arrives_once_and_each_producer_keeps_its_order():
    producers = [lambda n=n: iter([(n, i) for i in range(50)]) for n in range(5)]
    items = list(drained_on_threads(producers, 2, "test"))
    assert sorted(items) == [(n, i) for n in range(5) for i in range(50)]
    for n in range(5):
        assert [i for m, i in items if m == n] == list(range(50))


def test_producers_run_at_once():
    def slow():
        time.sleep(0.3)
        yield 1

    started = time.monotonic()
    assert list(drained_on_threads([slow] * 4, 4, "test")) == [1] * 4
    assert time.monotonic() - started < 1.0  # one after another would take 1.2 s


def counting(produced: list[int]):
    """A producer that never ends, noting each item it produces."""
    def endless():
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1
    return endless


def stays_stopped(produced: list[int]) -> int:
    time.sleep(0.5)
    count = len(produced)
    time.sleep(0.5)
    assert len(produced) == count
    return count


def test_the_first_error_reaches_the_reader_and_the_others_stop():
    produced: list[int] = []
    endless = counting(produced)

    def broken():
        yield "x"
        raise ValueError("listing broke")

    with pytest.raises(ValueError, match="listing broke"):
        for _ in drained_on_threads([endless, broken], 2, "test"):
            time.sleep(0.001)
    stays_stopped(produced)


def test_a_reader_that_stops_early_stops_the_producers():
    produced: list[int] = []
    reader = drained_on_threads([counting(produced), counting(produced)], 3, "test")
    assert next(reader) == 0
    reader.close()
    assert stays_stopped(produced) <= 2 * 3 * 2 + 2  # bounded by the buffer


def test_a_reader_dropped_unread_stops_its_producer():
    produced: list[int] = []
    reader = drained_on_threads([counting(produced)], depth=2, name="bucketsync-test")
    del reader
    assert stays_stopped(produced) <= 2 + 2
