"""Where a listing's key space is cut into ranges that separate threads list at once.

One ListObjectsV2 with Delimiter `/` shows the key space's shape: where keys sit under common prefixes
(`logs/2026/`, `q017/`), the cuts fall between prefixes, each range holding about as many; where one prefix
holds everything, the same is asked one level down (twice at most); where keys are flat (hash-named), the
page of keys it returns is the sample that keyspace.ranges_from_sample cuts evenly. A bucket whose first
answer is its whole listing is not cut. Whatever the cuts, the ranges are contiguous: every key is listed
in exactly one of them (keyspace.contiguous_ranges). A range's last page lists up to a page of keys
past its end, so a listing is cut only into ranges of about PAGES_PER_RANGE pages, judged by how much of
the key space its first page covered.

A server that ignores StartAfter would list every range from the start: one probe (StartAfter the first
cut, one key) finds that out, and the listing stays in one range. So does a server that refuses the
Delimiter listing or the probe (moto with signature checks answers SignatureDoesNotMatch to `delimiter=%2F`;
an IAM `s3:delimiter` condition refuses it): cutting is optional, the plain listing is not; why is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from botocore.exceptions import ClientError

from .keyspace import (
    PAGES_PER_RANGE, WHOLE, KeyRange, parts_worth_listing, prefixes_share, ranges_between_prefixes,
    ranges_from_sample, sampled_share,
)
from ..core.locations import Location

log = logging.getLogger("bucketsync")

DESCENTS = 2  # levels below the location a lone common prefix is followed


def split_key_space(
    client, location: Location, parts: int, page_size: int = 1000, first_page: Callable[[], dict] | None = None,
    pages_per_range: int = PAGES_PER_RANGE,
) -> list[KeyRange]:
    """Up to `parts` contiguous ranges of the location's relative keys; [WHOLE] when not worth cutting.

    `first_page`: the listing's first ListObjectsV2 answer (asked for beside this); a listing that fits in
    it is not cut, and how much of the key space it covered says how long the listing is, so that each
    range gets about `pages_per_range` pages."""
    if parts <= 1:
        return [WHOLE]
    try:
        kind, found, more = _shape(client, location, "", DESCENTS, page_size)
    except ClientError as exc:
        log.info("%s refused the listing that cuts key ranges (%s): listing it in one range",
                 location.bucket, exc)
        return [WHOLE]
    if kind == "whole":
        return [WHOLE]
    first = first_page() if first_page is not None else None
    if first is not None and not first.get("IsTruncated"):
        return [WHOLE]
    if kind == "prefixes":
        listed = [location.relative_key(item["Key"]) for item in (first or {}).get("Contents", ())]
        # more prefixes than one answer holds: a long listing, whatever its first page reached
        share = prefixes_share(found, listed[-1]) if listed and not more else 1 / (len(found) * pages_per_range)
        ranges = ranges_between_prefixes(found, parts_worth_listing(parts, share, pages_per_range))
    else:
        ranges = ranges_from_sample(found, parts_worth_listing(parts, sampled_share(found), pages_per_range))
    if len(ranges) <= 1:
        return ranges
    try:
        honoured = _honours_start_after(client, location, ranges[0].last)
    except ClientError as exc:
        log.info("%s refused the StartAfter probe (%s): listing it in one range", location.bucket, exc)
        return [WHOLE]
    if not honoured:
        log.warning("%s ignores StartAfter: listing it in one range", location.bucket)
        return [WHOLE]
    return ranges


def _shape(client, location: Location, under: str, descents: int, page_size: int) -> tuple[str, list[str], bool]:
    """("prefixes", the common prefixes), ("sample", the first keys of a flat key space) or ("whole", []),
    and whether the answer was cut short (more prefixes or keys follow)."""
    response = client.list_objects_v2(
        Bucket=location.bucket, Prefix=location.absolute_key(under), Delimiter="/", MaxKeys=page_size
    )
    prefixes = [location.relative_key(item["Prefix"]) for item in response.get("CommonPrefixes", ())]
    keys = [location.relative_key(item["Key"]) for item in response.get("Contents", ())]
    truncated = bool(response.get("IsTruncated"))
    if len(prefixes) >= 2 and (len(prefixes) >= len(keys) or not truncated):
        return "prefixes", prefixes, truncated
    if len(prefixes) == 1 and descents > 0 and not truncated:
        # everything (but a page's worth of keys) under one prefix: its shape decides; the cuts cover all keys
        return _shape(client, location, prefixes[0], descents - 1, page_size)
    if truncated:  # flat keys, or mostly: the prefixes among them are sample points too
        return "sample", sorted(keys + prefixes), True
    return "whole", [], False


def _honours_start_after(client, location: Location, cut: str | None) -> bool:
    if cut is None:
        return True
    response = client.list_objects_v2(
        Bucket=location.bucket, Prefix=location.prefix, StartAfter=location.absolute_key(cut), MaxKeys=1
    )
    first = next(iter(response.get("Contents", ())), None)
    return first is None or location.relative_key(first["Key"]) > cut
