"""Ranges cut while they are listed (live_ranges.py), against the in-memory ListObjectsV2 of
test_range_split: every key of either side is read in exactly one range wherever and whenever the cut
lands, a cut behind what a side has read is refused, and the cutter cuts only where it may."""

from __future__ import annotations

import threading
import time
from itertools import zip_longest

import pytest

from bucketsync.listing.fan_in import FanIn
from bucketsync.core.filters import Filters
from bucketsync.listing.keyspace import KeyRange
from bucketsync.listing.pages import iter_pages
from bucketsync.listing.live_ranges import LiveRange, cut_while_listing, range_to_cut
from bucketsync.core.locations import Location
from bucketsync.listing.range_split import cut_rest
from tests.unit.test_range_split import ListingServer

LOCATION = Location("b", "")
KEYS = [f"t/2026/11/29/part-{n:05d}" for n in range(600)]


def side_pages(server, live: LiveRange, side: str, page_size: int = 7):
    return iter_pages(server, LOCATION, page_size=page_size, start_after=live.start_after,
                      read=live.reader(side, LOCATION, Filters()))


def keys_of(pages) -> list[str]:
    return [entry.key for page in pages for entry in page.entries]


def test_a_range_cut_while_listed_reads_every_key_of_both_sides_once():
    source, dest = ListingServer(KEYS), ListingServer(KEYS[::2] + ["t/zz-dest-only"])
    live = LiveRange(KeyRange())
    source_pages, dest_pages = side_pages(source, live, "source"), side_pages(dest, live, "destination")
    read = {"source": [], "destination": []}
    for _ in range(3):
        read["source"] += next(source_pages).entries
        read["destination"] += next(dest_pages).entries
    after, last, sample = live.rest()
    point = cut_rest(source, LOCATION, after, last, sample)
    taken = live.cut(point)
    assert taken is not None and taken.key_range == KeyRange(point, None)
    read["source"] += [entry for page in source_pages for entry in page.entries]
    read["destination"] += [entry for page in dest_pages for entry in page.entries]
    read["source"] += keys_of(side_pages(source, taken, "source"))
    read["destination"] += keys_of(side_pages(dest, taken, "destination"))
    source_keys = [entry if isinstance(entry, str) else entry.key for entry in read["source"]]
    dest_keys = [entry if isinstance(entry, str) else entry.key for entry in read["destination"]]
    assert sorted(source_keys) == KEYS
    assert sorted(dest_keys) == sorted(KEYS[::2] + ["t/zz-dest-only"])
    assert KEYS[200] < point < KEYS[-1]


def test_a_cut_behind_what_either_side_read_is_refused():
    source, dest = ListingServer(KEYS), ListingServer(KEYS)
    live = LiveRange(KeyRange())
    next(side_pages(source, live, "source", page_size=5))
    next(side_pages(dest, live, "destination", page_size=50))
    assert live.cut(KEYS[20]) is None  # the destination read up to KEYS[49]
    assert live.cut(KEYS[60]) is not None
    assert live.key_range == KeyRange(None, KEYS[60])


def test_a_range_whose_source_ended_is_not_cut():
    source = ListingServer(KEYS[:5])
    live = LiveRange(KeyRange())
    list(side_pages(source, live, "source"))
    assert live.rest() is None
    assert live.cut("t/2026/11/29/part-00003") is None


def _listed(pages_read: int, ended: bool = False) -> LiveRange:
    live = LiveRange(KeyRange())
    live.pages_since_cut = pages_read
    if ended:
        live._ended.update(("source", "destination"))
    return live


@pytest.mark.parametrize("pages, at_most, expected", [
    ([9, 2], 4, 0),  # the one that listed most
    ([2, 3], 4, None),  # none long yet
    ([9, 9, 9, 9], 4, None),  # as many listing as allowed
    ([(9, True), (9, True), (9, True), 5], 4, 3),  # ended ones do not count
    ([4], 1, None),
], ids=["longest", "none-long", "full", "ended-free-slots", "one-allowed"])
def test_which_range_is_cut(pages, at_most, expected):
    ranges = [_listed(*item) if isinstance(item, tuple) else _listed(item) for item in pages]
    chosen = range_to_cut(ranges, at_most, pages_per_range=4)
    assert chosen is (ranges[expected] if expected is not None else None)


class SlowServer(ListingServer):
    def list_objects_v2(self, **kwargs):
        time.sleep(0.002)
        return super().list_objects_v2(**kwargs)


def test_ranges_cut_on_threads_while_listed_read_every_key_once():
    keys = [f"t/2026/11/29/part-{n:05d}" for n in range(3000)]
    source, dest = SlowServer(keys), SlowServer(keys[::3])
    ranges = [LiveRange(KeyRange())]
    fan_in: FanIn = FanIn(16, "test-range")

    def producer(live: LiveRange):
        def both_sides():
            for pages in zip_longest(side_pages(source, live, "source"), side_pages(dest, live, "destination")):
                yield [("source", entry.key) for entry in (pages[0].entries if pages[0] else ())] + [
                    ("destination", entry.key) for entry in (pages[1].entries if pages[1] else ())]
        return both_sides

    fan_in.add(producer(ranges[0]))
    cutter = threading.Thread(target=cut_while_listing, args=(
        ranges, fan_in, 4, 4, lambda after, last, sample: cut_rest(source, LOCATION, after, last, sample), producer,
        0.005))
    cutter.start()
    read = [item for batch in fan_in.items() for item in batch]
    cutter.join(timeout=5)
    assert not cutter.is_alive()
    assert sorted(key for side, key in read if side == "source") == keys
    assert sorted(key for side, key in read if side == "destination") == keys[::3]
    assert len(ranges) >= 3


def test_a_server_that_ignores_start_after_stops_the_cutting_and_the_listing_goes_on_whole():
    keys = [f"t/2026/11/29/part-{n:05d}" for n in range(400)]
    source = SlowServer(keys)
    source.honours_start_after = False
    ranges = [LiveRange(KeyRange())]
    fan_in: FanIn = FanIn(16, "test-range")

    def producer(live: LiveRange):
        return lambda: (page.entries for page in side_pages(source, live, "source"))

    fan_in.add(producer(ranges[0]))
    live = ranges[0]
    live._ended.add("destination")
    cutter = threading.Thread(target=cut_while_listing, args=(
        ranges, fan_in, 4, 4, lambda after, last, sample: cut_rest(source, LOCATION, after, last, sample), producer,
        0.005))
    cutter.start()
    read = [entry.key for entries in fan_in.items() for entry in entries]
    cutter.join(timeout=5)
    assert sorted(read) == keys and len(ranges) == 1
    assert any(request["Delimiter"] == "/" for request in source.requests)  # it tried, and stopped
