"""Where a listing is cut into ranges, against an in-memory ListObjectsV2 (S3's paging rules, no I/O):
every key lands in exactly one range, listed through iter_pages exactly once; a server that ignores
StartAfter keeps one range."""

from __future__ import annotations

import hashlib

import pytest

from bucketsync.core.filters import Filters
from bucketsync.listing.pages import iter_pages, reading
from bucketsync.core.locations import Location
from bucketsync.listing.range_split import WHOLE, split_key_space


class ListingServer:
    """ListObjectsV2 over sorted keys: Prefix, Delimiter, StartAfter, MaxKeys, continuation tokens."""

    def __init__(self, keys: list[str], honours_start_after: bool = True) -> None:
        self.keys = sorted(keys)
        self.honours_start_after = honours_start_after
        self.requests: list[dict] = []

    def list_objects_v2(self, Bucket, Prefix="", MaxKeys=1000, Delimiter=None, StartAfter=None,
                        ContinuationToken=None, **_):
        self.requests.append({"Delimiter": Delimiter, "StartAfter": StartAfter, "MaxKeys": MaxKeys})
        after = ContinuationToken or (StartAfter if self.honours_start_after else None)
        contents, prefixes = [], []
        truncated, last = False, None  # `last`: where the next page starts after
        for key in self.keys:
            if not key.startswith(Prefix) or (after is not None and key <= after):
                continue
            if Delimiter and Delimiter in key[len(Prefix):]:
                common = key[: len(Prefix) + key[len(Prefix):].index(Delimiter) + 1]
                if common in prefixes:
                    continue
                item, kind = common, "prefix"
            else:
                item, kind = key, "key"
            if len(contents) + len(prefixes) == MaxKeys:
                truncated = True
                break
            (prefixes if kind == "prefix" else contents).append(item)
            last = item + "\U0010ffff" if kind == "prefix" else item
        response = {"Contents": [{"Key": key, "Size": 0, "ETag": '"e"'} for key in contents],
                    "CommonPrefixes": [{"Prefix": prefix} for prefix in prefixes], "IsTruncated": truncated}
        if truncated:
            response["NextContinuationToken"] = last
        return response


SPLIT_PAGE = 30  # keys or prefixes in the answer the split reads (1,000 in a run)
FLAT = [hashlib.sha1(str(n).encode()).hexdigest() for n in range(400)]
PREFIXED = [f"q{n % 20:03d}/empty-{n:05d}" for n in range(400)]
NESTED = [f"data/{key}" for key in PREFIXED] + ["data/readme", "top"]
MIXED = FLAT[:50] + [f"logs/{n}" for n in range(30)] + ["é/x", "~", " space"]


def listed_in(server: ListingServer, location: Location, ranges, page_size: int = 7) -> list[str]:
    keys = []
    for key_range in ranges:
        for page in iter_pages(server, location, page_size=page_size, start_after=key_range.start_after,
                                read=reading(location, key_range=key_range)):
            keys.extend(entry.key for entry in page.entries)
    return keys


@pytest.mark.parametrize("keys", [FLAT, PREFIXED, NESTED, MIXED], ids=["flat", "prefixed", "nested", "mixed"])
@pytest.mark.parametrize("prefix", ["", "q001/"])
def test_every_key_is_listed_in_exactly_one_range(keys, prefix):
    server = ListingServer(keys)
    location = Location("b", prefix)
    ranges = split_key_space(server, location, parts=4, page_size=SPLIT_PAGE, pages_per_range=1)
    expected = sorted(location.relative_key(key) for key in keys if key.startswith(prefix))
    assert sorted(listed_in(server, location, ranges)) == expected


@pytest.mark.parametrize("keys", [FLAT, PREFIXED, NESTED], ids=["flat", "prefixed", "nested"])
def test_a_big_listing_is_cut_into_ranges_of_similar_size(keys):
    server = ListingServer(keys)
    ranges = split_key_space(server, Location("b"), parts=4, page_size=SPLIT_PAGE, pages_per_range=1)
    assert len(ranges) == 4
    sizes = [sum(key_range.contains(key) for key in keys) for key_range in ranges]
    assert min(sizes) >= len(keys) / 8, sizes


def test_a_listing_that_fits_one_page_is_not_cut():
    server = ListingServer(FLAT[:10])
    assert split_key_space(server, Location("b"), parts=4, page_size=SPLIT_PAGE, pages_per_range=1) == [WHOLE]
    assert len(server.requests) == 1


def test_one_range_asked_for_costs_no_request():
    server = ListingServer(FLAT)
    assert split_key_space(server, Location("b"), parts=1) == [WHOLE]
    assert server.requests == []


def test_a_server_that_ignores_start_after_is_listed_in_one_range():
    server = ListingServer(FLAT, honours_start_after=False)
    assert split_key_space(server, Location("b"), parts=4, page_size=SPLIT_PAGE, pages_per_range=1) == [WHOLE]


def test_ranges_listed_on_a_server_that_ignores_start_after_still_list_each_key_once():
    ranges = split_key_space(ListingServer(FLAT), Location("b"), parts=4, page_size=SPLIT_PAGE, pages_per_range=1)
    assert len(ranges) == 4
    assert sorted(listed_in(ListingServer(FLAT, honours_start_after=False), Location("b"), ranges)) == sorted(FLAT)


def test_a_range_stops_listing_at_its_end():
    server = ListingServer(PREFIXED)
    ranges = split_key_space(server, Location("b"), parts=4, page_size=SPLIT_PAGE, pages_per_range=1)
    server.requests.clear()
    listed = listed_in(server, Location("b"), ranges[:1], page_size=10)
    assert len(listed) == 100  # q000/..q004/
    assert len(server.requests) <= 100 // 10 + 1


def test_filters_with_a_prefix_skip_stay_within_the_range():
    server = ListingServer(PREFIXED)
    ranges = split_key_space(server, Location("b"), parts=4, page_size=SPLIT_PAGE, pages_per_range=1)
    filters = Filters.from_json([["exclude", "q00*"]])
    keys = []
    for key_range in ranges:
        for page in iter_pages(server, Location("b"), page_size=10, start_after=key_range.start_after,
                                read=reading(Location("b"), filters, key_range)):
            keys.extend(entry.key for entry in page.entries)
    assert sorted(keys) == sorted(key for key in PREFIXED if not key.startswith("q00"))


# ---------------------------------------------------------------- how many ranges a listing is worth


def first_page_of(server: ListingServer, page_size: int):
    return lambda: server.list_objects_v2(Bucket="b", MaxKeys=page_size)


@pytest.mark.parametrize(("keys", "page_size", "expected"), [
    (FLAT, 10, 4),       # ~40 pages: 4 ranges of ~10
    (FLAT, 40, 2),       # ~10 pages: 2 ranges of ~5
    (FLAT, 200, 1),      # ~2 pages: not cut
    (PREFIXED, 10, 4),   # more prefixes than one answer holds: a long listing
    (PREFIXED, 30, 2),   # the first page reaches 2 of 20 prefixes: ~10 pages
    (PREFIXED, 50, 1),   # the first page reaches 3 of 20 prefixes: ~7 pages
])
def test_each_range_gets_about_four_pages(keys, page_size, expected):
    server = ListingServer(keys)
    ranges = split_key_space(server, Location("b"), parts=4, page_size=page_size,
                             first_page=first_page_of(server, page_size))
    assert len(ranges) == expected, ranges


def test_a_listing_whose_first_page_holds_everything_is_not_cut_even_with_many_prefixes():
    keys = [f"p{n:03d}/only" for n in range(25)]
    server = ListingServer(keys)
    assert split_key_space(server, Location("b"), parts=4, page_size=30, first_page=first_page_of(server, 30)) == [WHOLE]
