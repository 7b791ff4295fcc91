"""ListObjectsV2, page by page, as ObjectEntry values keyed relative to the location's prefix.

With filters (filters.py), a page holds only the keys they include and counts the others; where a
truncated page ends inside a prefix the filters exclude as a whole, the next page is asked for with
StartAfter past that prefix instead of the continuation token, so an excluded prefix of a million keys
costs one request instead of a thousand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .fan_in import drained_on_threads
from ..core.filters import Filters
from .keyspace import WHOLE, KeyRange
from ..core.locations import Location
from ..core.model import ObjectEntry

NO_FILTERS = Filters()


@dataclass(frozen=True)
class Page:
    entries: list[ObjectEntry]  # the keys the filters include, in key order
    next_token: str | None  # None on the last page, and when the next page starts after a skipped prefix
    excluded: int = 0  # keys listed on this page that the filters excluded
    skip_to: str | None = None  # the next page starts after this (relative) key: the rest of a prefix is excluded
    last_key: str | None = None  # the last key listed, included or not

    @property
    def is_last(self) -> bool:
        return self.next_token is None and self.skip_to is None


def entry_from_listing(location: Location, item: dict) -> ObjectEntry:
    return ObjectEntry(
        key=location.relative_key(item["Key"]), size=item["Size"], etag=item["ETag"],
        storage_class=item.get("StorageClass"), last_modified=item.get("LastModified"),
    )


ReadPage = Callable[[dict], Page]  # a ListObjectsV2 answer read into a Page


def reading(location: Location, filters: Filters = NO_FILTERS, key_range: KeyRange = WHOLE) -> ReadPage:
    """Answers read as pages of `key_range` (relative keys) with `filters` applied: keys outside the range
    are dropped, not counted, and a page is the range's last once a key past its end was listed. Keys at or
    before its start are dropped too, so a server that ignores StartAfter costs requests, never a key listed
    twice."""
    return lambda response: page_of(response, location, filters=filters, key_range=key_range)


def list_page(
    client, location: Location, *, page_size: int, token: str | None = None, start_after: str | None = None,
    read: ReadPage | None = None,
) -> Page:
    """One ListObjectsV2 page: from `token` if given, else after `start_after` (relative to the prefix),
    read by `read` (default: every key, no filters)."""
    response = request_page(client, location, page_size=page_size, token=token, start_after=start_after)
    return (read or reading(location))(response)


def request_page(client, location: Location, *, page_size: int, token: str | None = None,
                 start_after: str | None = None) -> dict:
    """The ListObjectsV2 answer itself (list_page reads it into a Page)."""
    args = {"Bucket": location.bucket, "Prefix": location.prefix, "MaxKeys": page_size}
    if token:
        args["ContinuationToken"] = token
    elif start_after is not None:
        args["StartAfter"] = location.absolute_key(start_after)
    return client.list_objects_v2(**args)


def page_of(response: dict, location: Location, *, filters: Filters = NO_FILTERS, key_range: KeyRange = WHOLE) -> Page:
    """A ListObjectsV2 answer as a Page: within `key_range`, the filters applied."""
    answered = [entry_from_listing(location, item) for item in response.get("Contents", ())]
    listed = [entry for entry in answered if key_range.contains(entry.key)]
    past_end = bool(answered) and key_range.last is not None and answered[-1].key >= key_range.last
    entries = [entry for entry in listed if filters.includes(entry.key)]
    next_token = response.get("NextContinuationToken") if response.get("IsTruncated") and not past_end else None
    last_key = listed[-1].key if listed else None
    skip_to = None
    if next_token and last_key is not None and not filters.includes(last_key):
        skip_to = filters.skip_after(last_key)
        if skip_to is not None and skip_to > last_key:
            next_token = None
            if key_range.is_past(skip_to):
                skip_to = None  # the excluded prefix runs past the range's end: the range is done
        else:
            skip_to = None
    return Page(entries, next_token, excluded=len(listed) - len(entries), skip_to=skip_to, last_key=last_key)


def iter_pages(
    client, location: Location, *, page_size: int, start_after: str | None = None, first_answer: dict | None = None,
    read: ReadPage | None = None,
) -> Iterator[Page]:
    """The pages of the listing after `start_after`, read by `read` (as for list_page), lazily: at the first
    next(). `first_answer`: the first page's ListObjectsV2 answer, asked for already."""
    read = read or reading(location)
    if first_answer is None:
        first = list_page(client, location, page_size=page_size, start_after=start_after, read=read)
    else:
        first = read(first_answer)
    yield from pages_from(client, location, first, page_size=page_size, read=read)


def pages_from(client, location: Location, first: Page, *, page_size: int, read: ReadPage | None = None) -> Iterator[Page]:
    """`first` (already fetched), then the pages that follow it."""
    page = first
    yield page
    while not page.is_last:
        page = list_page(client, location, page_size=page_size, token=page.next_token, start_after=page.skip_to, read=read)
        yield page


def entries_of(pages: Iterator[Page]) -> Iterator[ObjectEntry]:
    for page in pages:
        yield from page.entries


def iter_entries(client, location: Location, *, page_size: int, start_after: str | None = None) -> Iterator[ObjectEntry]:
    yield from entries_of(iter_pages(client, location, page_size=page_size, start_after=start_after))


def prefetched(pages: Iterator[Page], depth: int = 2) -> Iterator[Page]:
    """The same pages, fetched up to `depth` ahead in a background thread that starts at once (a run's two
    sides start listing together).

    Listing both sides this way lets the source and destination requests overlap with each other and
    with the copying; memory stays bounded by `depth` pages per listing.
    """
    return drained_on_threads([lambda: pages], depth, "bucketsync-listing")
