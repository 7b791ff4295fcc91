"""ListObjectsV2, page by page, as ObjectEntry values keyed relative to the location's prefix."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from .locations import Location
from .model import ObjectEntry


@dataclass(frozen=True)
class Page:
    entries: list[ObjectEntry]
    next_token: str | None  # None on the last page


def list_page(
    client, location: Location, *, page_size: int, token: str | None = None, start_after: str | None = None
) -> Page:
    """One ListObjectsV2 page. `start_after` is a key relative to the prefix."""
    args = {"Bucket": location.bucket, "Prefix": location.prefix, "MaxKeys": page_size}
    if token:
        args["ContinuationToken"] = token
    elif start_after is not None:
        args["StartAfter"] = location.absolute_key(start_after)
    response = client.list_objects_v2(**args)
    entries = [
        ObjectEntry(key=location.relative_key(item["Key"]), size=item["Size"], etag=item["ETag"])
        for item in response.get("Contents", ())
    ]
    next_token = response.get("NextContinuationToken") if response.get("IsTruncated") else None
    return Page(entries=entries, next_token=next_token)


def iter_pages(client, location: Location, *, page_size: int, start_after: str | None = None) -> Iterator[Page]:
    first = list_page(client, location, page_size=page_size, start_after=start_after)  # lazily: at the first next()
    yield from pages_from(client, location, first, page_size=page_size)


def pages_from(client, location: Location, first: Page, *, page_size: int) -> Iterator[Page]:
    """`first` (already fetched), then the pages that follow it."""
    page = first
    yield page
    while page.next_token:
        page = list_page(client, location, page_size=page_size, token=page.next_token)
        yield page


def entries_of(pages: Iterator[Page]) -> Iterator[ObjectEntry]:
    for page in pages:
        yield from page.entries


def iter_entries(client, location: Location, *, page_size: int, start_after: str | None = None) -> Iterator[ObjectEntry]:
    yield from entries_of(iter_pages(client, location, page_size=page_size, start_after=start_after))


_DONE = object()


def prefetched(pages: Iterator[Page], depth: int = 2) -> Iterator[Page]:
    """The same pages, fetched up to `depth` ahead in a background thread.

    Listing both sides this way lets the source and destination requests overlap with each other and
    with the copying; memory stays bounded by `depth` pages per listing.
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: object) -> bool:
        """Put `item` in the buffer unless the consumer has gone (then the buffer may stay full for good)."""
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for page in pages:
                if not offer(page):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            offer(exc)

    thread = threading.Thread(target=fetch, name="bucketsync-listing", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
