"""Splitting a lane of a distributed run while it is listed: whether a page's lane is worth it (pure),
and where the rest of the lane is cut (range_split.cut_rest).

A lane that has listed PAGES_PER_RANGE pages since it started or was last split, and goes on, has shown
itself long: its coordinator cuts what is left of it, past the page's last source key, so the page's
destination slice (which ends at that key) is not cut and the destination is split at the same key.
A cut tried and not made waits another PAGES_PER_RANGE pages before the lane is tried again.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from ..engine import s3
from ..listing.keyspace import StartAfterIgnored
from ..listing.range_split import PAGES_PER_RANGE, cut_rest

log = logging.getLogger("bucketsync")


def worth_splitting(lane_pages: int, is_last: bool, all_versions: bool, pages_per_range: int = PAGES_PER_RANGE) -> bool:
    """`lane_pages`: pages the lane listed before this one since it started, was split or was last tried."""
    return not all_versions and not is_last and lane_pages + 1 >= pages_per_range


def where_to_split(client, location, after: str | None, last: str | None, sample: list[str]) -> tuple[str | None, str]:
    """Where to cut the rest of a lane, (after, last] (relative keys), and why not when None (for the log).
    `sample`: the keys of the page just listed. A source found to ignore StartAfter says "ignores StartAfter"."""
    try:
        cut = cut_rest(client, location, after, last, sample)
    except StartAfterIgnored as exc:
        return None, f"ignores StartAfter ({exc})"
    except (ClientError, BotoCoreError) as exc:
        return None, s3.describe(exc)
    if cut is None:
        return None, "nothing found past the page"
    return cut, ""
