"""When a distributed run splits a lane while listing it, and where (lane_splits.py): table tests, and the
cut asked of an in-memory ListObjectsV2."""

from __future__ import annotations

import hashlib

import pytest

from bucketsync.listing.keyspace import travels_in_xml, usable_cut
from bucketsync.distributed.lane_splits import where_to_split, worth_splitting
from bucketsync.core.locations import Location
from bucketsync.core.messages import PageTask
from tests.unit.test_range_split import ListingServer

HASHED = sorted(hashlib.sha1(str(n).encode()).hexdigest() for n in range(5000))


@pytest.mark.parametrize("lane_pages, is_last, all_versions, expected", [
    (3, False, False, True),  # the lane's 4th page, and more follow
    (10, False, False, True),
    (2, False, False, False),  # too few pages to call the lane long
    (3, True, False, False),  # nothing left to cut
    (3, False, True, False),  # --all-versions lists in one stream
])
def test_a_lane_is_worth_splitting_once_it_has_listed_a_few_pages_and_goes_on(lane_pages, is_last, all_versions, expected):
    assert worth_splitting(lane_pages, is_last, all_versions) is expected


def test_the_rest_of_a_long_lane_is_cut_past_the_page_with_keys_on_both_sides():
    server = ListingServer(HASHED)
    cut, why_not = where_to_split(server, Location("b", ""), HASHED[999], HASHED[4000], HASHED[960:1000])
    assert why_not == "" and HASHED[999] < cut < HASHED[4000]
    assert 0.1 < sum(1 for key in HASHED[1000:4001] if key > cut) / 3001 < 0.9


def test_nothing_left_past_the_page_is_not_split():
    server = ListingServer(HASHED)
    assert where_to_split(server, Location("b", ""), HASHED[-1], None, HASHED[-40:]) == (None, "nothing found past the page")


def test_a_source_that_ignores_start_after_is_not_split_and_says_so():
    server = ListingServer(HASHED, honours_start_after=False)
    cut, why_not = where_to_split(server, Location("b", ""), HASHED[999], None, HASHED[960:1000])
    assert cut is None and why_not.startswith("ignores StartAfter")


def test_a_probe_point_that_cannot_be_sent_is_never_sent():
    """Halving towards a key outside ASCII picks points among all code points, control characters included:
    a server answers such a StartAfter with 500 (it echoes it in XML), which botocore retries for a minute."""
    keys = sorted([f"plain/{n:05d}" for n in range(200)] + ["what?.txt", "with space.txt", "ünïcödé/日本語.txt"])
    server = ListingServer(keys)
    asked: list[str] = []
    answer = server.list_objects_v2
    server.list_objects_v2 = lambda **args: asked.append(args.get("StartAfter")) or answer(**args)
    cut, why_not = where_to_split(server, Location("b", ""), "plain/00066", None, keys[47:67])
    assert asked and all(travels_in_xml(point) for point in asked)
    assert cut is not None and usable_cut(cut, "plain/00066", None), why_not


def test_a_lanes_pages_are_counted_from_its_start_its_last_split_or_cut_tried():
    task = PageTask(7, "t", "k", lane=2, last="z", lane_pages=3)
    assert task.next(9, "u", "m").lane_pages == 4
    split = task.next(9, "u", "m", split_at="p")
    assert (split.page, split.last, split.lane, split.lane_pages) == (9, "p", 2, 0)
    assert task.next(9, "u", "m", cut_tried=True).lane_pages == 0
    assert PageTask.from_json({"page": 1, "token": None, "start_after": None}).lane_pages == 0  # an older message
