"""Where a listing's key space is cut into ranges that separate threads list at once.

One ListObjectsV2 with Delimiter `/` shows the key space's shape: where keys sit under common prefixes
(`logs/2026/`, `q017/`), the cuts fall between prefixes, each range holding about as many; where one prefix
holds everything, the same is asked one level down (twice at most); where keys are flat (hash-named), the
page of keys it returns is the sample that keyspace.ranges_from_sample cuts evenly. A bucket whose first
answer is its whole listing is not cut. Whatever the cuts, the ranges are contiguous: every key is listed
in exactly one of them (keyspace.contiguous_ranges).

A server that ignores StartAfter would list every range from the start: one probe (StartAfter the first
cut, one key) finds that out, and the listing stays in one range.
"""

from __future__ import annotations

import logging

from .keyspace import KeyRange, contiguous_ranges, ranges_between_prefixes, ranges_from_sample
from .locations import Location

log = logging.getLogger("bucketsync")

WHOLE = KeyRange()
DESCENTS = 2  # levels below the location a lone common prefix is followed


def split_key_space(client, location: Location, parts: int, page_size: int = 1000) -> list[KeyRange]:
    """Up to `parts` contiguous ranges of the location's relative keys, [WHOLE] when not worth cutting
    (the listing fits in one page of `page_size` keys)."""
    if parts <= 1:
        return [WHOLE]
    ranges = _shape(client, location, "", parts, DESCENTS, page_size)
    if len(ranges) > 1 and not _honours_start_after(client, location, ranges[0].last):
        log.warning("%s ignores StartAfter: listing it in one range", location.bucket)
        return [WHOLE]
    return ranges


def _shape(client, location: Location, under: str, parts: int, descents: int, page_size: int) -> list[KeyRange]:
    response = client.list_objects_v2(
        Bucket=location.bucket, Prefix=location.absolute_key(under), Delimiter="/", MaxKeys=page_size
    )
    prefixes = [location.relative_key(item["Prefix"]) for item in response.get("CommonPrefixes", ())]
    keys = [location.relative_key(item["Key"]) for item in response.get("Contents", ())]
    truncated = bool(response.get("IsTruncated"))
    if len(prefixes) >= 2:
        return ranges_between_prefixes(prefixes, parts)
    if len(prefixes) == 1 and descents > 0 and not truncated:
        # everything (but a page's worth of keys) under one prefix: its shape decides; the cuts cover all keys
        inner = _shape(client, location, prefixes[0], parts, descents - 1, page_size)
        return contiguous_ranges([key_range.last for key_range in inner[:-1] if key_range.last is not None])
    if truncated:
        return ranges_from_sample(keys, parts)
    return [WHOLE]


def _honours_start_after(client, location: Location, cut: str | None) -> bool:
    if cut is None:
        return True
    response = client.list_objects_v2(
        Bucket=location.bucket, Prefix=location.prefix, StartAfter=location.absolute_key(cut), MaxKeys=1
    )
    first = next(iter(response.get("Contents", ())), None)
    return first is None or location.relative_key(first["Key"]) > cut
