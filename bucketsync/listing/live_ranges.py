"""Ranges of the key space being listed, each on both sides, whose end can move down while they are listed:
a range that turns out long gives what is left of it past a cut to a new range, listed beside it.

A range's pages are read (listing.page_of) under its lock with its end as it stands then, and the range
notes how far each side has read; a cut is taken only past both sides' reads. So every key is read in
exactly one range whenever the cut lands: keys up to it by the old range, keys after it by the new one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

from ..core.filters import Filters
from .keyspace import KeyRange, worth_cutting
from .pages import Page, page_of
from ..core.locations import Location

log = logging.getLogger("bucketsync")

SIDES = ("source", "destination")


class LiveRange:
    """One range being listed on both sides; thread-safe."""

    def __init__(self, key_range: KeyRange) -> None:
        self._lock = threading.Lock()
        self.start_after = key_range.start_after
        self._last = key_range.last
        self._read_to: dict[str, str | None] = {side: key_range.start_after for side in SIDES}
        self._ended: set[str] = set()
        self._sample: list[str] = []
        self.pages_since_cut = 0  # source pages read since the range started or was last cut

    @property
    def key_range(self) -> KeyRange:
        with self._lock:
            return KeyRange(self.start_after, self._last)

    def reader(self, side: str, location: Location, filters: Filters) -> Callable[[dict], Page]:
        """What turns one side's ListObjectsV2 answers into Pages of this range as it stands."""

        def read(response: dict) -> Page:
            with self._lock:
                page = page_of(response, location, filters=filters, key_range=KeyRange(self.start_after, self._last))
                reached = max(filter(None, (self._read_to[side], page.last_key, page.skip_to)), default=None)
                self._read_to[side] = reached
                if page.is_last:
                    self._ended.add(side)
                if side == "source":
                    self.pages_since_cut += 1
                    self._sample = [location.relative_key(item["Key"]) for item in response.get("Contents", ())] or self._sample
                return page

        return read

    @property
    def listing_ended(self) -> bool:
        with self._lock:
            return self._ended.issuperset(SIDES)

    def rest(self) -> tuple[str | None, str | None, list[str]] | None:
        """What is left to list, (after, last], and the source keys read last; None once the source ended."""
        with self._lock:
            if "source" in self._ended:
                return None
            reads = [key for key in self._read_to.values() if key is not None]
            return (max(reads) if reads else None), self._last, list(self._sample)

    def cut(self, point: str) -> "LiveRange | None":
        """Give (point, last] to a new range, unless a side has read past `point` or the range has ended."""
        with self._lock:
            reads = [key for key in self._read_to.values() if key is not None]
            if "source" in self._ended or any(key >= point for key in reads):
                return None
            if self._last is not None and point >= self._last:
                return None
            taken = LiveRange(KeyRange(point, self._last))
            self._last = point
            self.pages_since_cut = 0
            return taken


def range_to_cut(ranges: list[LiveRange], at_most: int, pages_per_range: int) -> LiveRange | None:
    """The range to cut now (keyspace.worth_cutting): of those worth it, the one that has listed the most
    pages since it started or was cut."""
    listing = [live for live in ranges if not live.listing_ended]
    candidates = [live for live in listing if worth_cutting(live.pages_since_cut, len(listing), at_most, pages_per_range)]
    return max(candidates, key=lambda live: live.pages_since_cut, default=None)


CutRest = Callable[[str | None, str | None, list[str]], "str | None"]  # range_split.cut_rest, bound to a source


def cut_while_listing(
    ranges: list[LiveRange], fan_in, at_most: int, pages_per_range: int, cut_rest: CutRest,
    producer_of: Callable[[LiveRange], Callable[[], Iterator]], poll_seconds: float = 0.02,
) -> None:
    """Until the reader of `fan_in` (fan_in.FanIn) has gone: while fewer than `at_most` ranges are listing,
    cut the one that has listed the most pages past what it has listed, and drain the new range's
    `producer_of(range)` into `fan_in`.
    A cut that finds nothing to give waits for the range's next `pages_per_range` pages. Stops cutting
    at the first error `cut_rest` raises (the run goes on in the ranges it has)."""
    while not fan_in.stopped.wait(poll_seconds):
        target = range_to_cut(ranges, at_most, pages_per_range)
        rest = target.rest() if target is not None else None
        if rest is None:
            continue
        try:
            point = cut_rest(*rest)
        except Exception as exc:  # a probe refused, a server ignoring StartAfter: listing goes on uncut
            log.warning("no further key ranges: %s", exc)
            return
        fan_in.reserve()  # before the cut: the reader must not end between the cut and the new range's start
        taken = target.cut(point) if point is not None else None
        if taken is None:
            fan_in.release()
            target.pages_since_cut = 0
            continue
        ranges.append(taken)
        log.info("key range cut at %r while listed: %d ranges listing", point,
                 sum(1 for live in ranges if not live.listing_ended))
        fan_in.start(producer_of(taken))
