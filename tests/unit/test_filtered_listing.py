"""Listing with --exclude / --include: pages hold only included keys, count the others, and skip a wholly
excluded prefix with StartAfter instead of paging through it. A stand-in client answers ListObjectsV2 from
a sorted key list as S3 does (MaxKeys, ContinuationToken, StartAfter) and records each request."""

from __future__ import annotations

import pytest

from bucketsync.core.filters import MAX_CHAR, Filter, Filters
from bucketsync.listing.pages import iter_pages, list_page, reading
from bucketsync.core.locations import parse_location


class ListingServer:
    def __init__(self, keys: list[str]) -> None:
        self.keys = sorted(keys)
        self.requests: list[dict] = []

    def list_objects_v2(self, **args):
        self.requests.append(args)
        keys = [key for key in self.keys if key.startswith(args.get("Prefix", ""))]
        if "ContinuationToken" in args:
            keys = [key for key in keys if key > args["ContinuationToken"]]
        elif "StartAfter" in args:
            keys = [key for key in keys if key > args["StartAfter"]]
        page = keys[: args["MaxKeys"]]
        answer = {"Contents": [{"Key": key, "Size": 1, "ETag": '"e"'} for key in page], "IsTruncated": len(keys) > len(page)}
        if answer["IsTruncated"]:
            answer["NextContinuationToken"] = page[-1]
        return answer


def rules(*pairs: tuple[str, str]) -> Filters:
    return Filters(tuple(Filter(kind, pattern) for kind, pattern in pairs))


KEYS = ["a.txt"] + [f"logs/{n:04d}.log" for n in range(1000)] + ["m.txt", "z/1.txt", "z/2.txt"]


def listed(server: ListingServer, url: str, filters: Filters, page_size: int = 10):
    pages = list(iter_pages(server, parse_location(url), page_size=page_size, read=reading(parse_location(url), filters)))
    return [entry.key for page in pages for entry in page.entries], sum(page.excluded for page in pages)


def test_an_excluded_prefix_is_skipped_not_listed():
    server = ListingServer(KEYS)
    keys, excluded = listed(server, "s3://bkt", rules(("exclude", "logs/*")))
    assert keys == ["a.txt", "m.txt", "z/1.txt", "z/2.txt"]
    assert len(server.requests) == 2  # one page into logs/, then straight past it
    assert server.requests[1]["StartAfter"] == "logs/" + MAX_CHAR
    assert excluded == 9  # the keys of logs/ that the first page held; the rest were never listed


def test_without_skipping_every_page_is_listed():
    server = ListingServer(KEYS)
    keys, excluded = listed(server, "s3://bkt", rules(("exclude", "*.log")))  # no literal prefix: cannot skip
    assert keys == ["a.txt", "m.txt", "z/1.txt", "z/2.txt"]
    assert len(server.requests) == 101
    assert excluded == 1000


def test_a_later_include_under_the_prefix_prevents_the_skip():
    server = ListingServer(KEYS)
    keys, _ = listed(server, "s3://bkt", rules(("exclude", "logs/*"), ("include", "logs/09*")))
    assert keys == ["a.txt"] + [f"logs/{n:04d}.log" for n in range(900, 1000)] + ["m.txt", "z/1.txt", "z/2.txt"]
    assert "StartAfter" not in str(server.requests)


def test_patterns_and_start_after_are_relative_to_the_prefix():
    server = ListingServer([f"top/{key}" for key in KEYS] + ["topaz"])
    keys, _ = listed(server, "s3://bkt/top/", rules(("exclude", "logs/*")))
    assert keys == ["a.txt", "m.txt", "z/1.txt", "z/2.txt"]
    assert server.requests[1]["StartAfter"] == "top/logs/" + MAX_CHAR
    assert all(request["Prefix"] == "top/" for request in server.requests)


def test_a_page_that_ends_on_an_included_key_goes_on_with_its_token():
    server = ListingServer(["a", "b", "c", "d"])
    page = list_page(server, parse_location("s3://bkt"), page_size=2, read=reading(parse_location("s3://bkt"), rules(("exclude", "a"))))
    assert [entry.key for entry in page.entries] == ["b"] and page.excluded == 1
    assert page.next_token == "b" and page.skip_to is None and not page.is_last


@pytest.mark.parametrize("page_size", [1, 3, 7, 1000])
def test_the_same_keys_whatever_the_page_size(page_size):
    filters = rules(("exclude", "logs/*"), ("include", "logs/0999.log"), ("exclude", "z/2*"))
    keys, _ = listed(ListingServer(KEYS), "s3://bkt", filters, page_size)
    assert keys == ["a.txt", "logs/0999.log", "m.txt", "z/1.txt"]
