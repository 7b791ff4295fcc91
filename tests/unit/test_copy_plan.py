"""The copy decision: single or multipart, part size (keeping the source's layout), part ranges. No I/O."""

from __future__ import annotations

import pytest

from bucketsync.core.copy_plan import (
    MAX_PARTS,
    MAX_STREAMED_PART,
    CopyPlan,
    PartRange,
    choose_part_size,
    copy_method,
    part_ranges,
    plan_copy,
)
from bucketsync.core.settings import GiB, MiB

THRESHOLD = 64 * MiB
CHUNK = 16 * MiB


@pytest.mark.parametrize(
    "size, etag, method",
    [
        (0, '"d41d8cd98f00b204e9800998ecf8427e"', "single"),
        (THRESHOLD, '"aa"', "single"),  # at the threshold: still one request
        (THRESHOLD + 1, '"aa"', "multipart"),
        (1, '"aa-1"', "multipart"),  # a multipart source keeps its layout, however small
        (10 * MiB, '"aa-2"', "multipart"),
        (10 * MiB, "aa-2", "multipart"),  # unquoted: the same ETag
        (10 * MiB, '"not-a-count"', "single"),
    ],
)
def test_copy_method(size, etag, method):
    assert copy_method(size, etag, THRESHOLD) == method


@pytest.mark.parametrize(
    "size, source_part, largest, expected",
    [
        (100 * MiB, None, 5 * GiB, CHUNK),  # single-part source: the chunk size
        (CHUNK * MAX_PARTS, None, 5 * GiB, CHUNK),  # exactly 10,000 parts: fits
        (CHUNK * MAX_PARTS + 1, None, 5 * GiB, 2 * CHUNK),  # one byte more: doubled
        (4 * CHUNK * MAX_PARTS + 1, None, 5 * GiB, 8 * CHUNK),
        (12 * MiB, 6 * MiB, 5 * GiB, 6 * MiB),  # the source's own part size
        (12 * MiB, 5 * MiB, 5 * GiB, 5 * MiB),  # S3's minimum part size: still reproducible
        (12 * MiB, 5 * MiB - 1, 5 * GiB, CHUNK),  # below the minimum (and not the only part): chunk size
        (3 * MiB, 3 * MiB, 5 * GiB, 3 * MiB),  # a one-part upload of 3 MiB: one part, whatever its size
        (0, 0, 5 * GiB, 1),  # an empty one-part upload
        (2 * GiB, 1 * GiB, MAX_STREAMED_PART, CHUNK),  # too large to stream part by part: chunk size
        (MAX_STREAMED_PART * 2, MAX_STREAMED_PART, MAX_STREAMED_PART, MAX_STREAMED_PART),  # at the limit
        # first part 5 MiB, later parts larger: reproducing the first would need more than 10,000 parts
        (5 * MiB * MAX_PARTS + 1, 5 * MiB, 5 * GiB, CHUNK),
    ],
)
def test_choose_part_size(size, source_part, largest, expected):
    assert choose_part_size(size, source_part, CHUNK, largest) == expected


@pytest.mark.parametrize(
    "size, part_size, expected",
    [
        (0, CHUNK, [(1, 0, -1)]),  # an empty object: one empty part
        (1, CHUNK, [(1, 0, 0)]),
        (CHUNK, CHUNK, [(1, 0, CHUNK - 1)]),  # exactly one part
        (CHUNK + 1, CHUNK, [(1, 0, CHUNK - 1), (2, CHUNK, CHUNK)]),  # last part one byte
        (2 * CHUNK, CHUNK, [(1, 0, CHUNK - 1), (2, CHUNK, 2 * CHUNK - 1)]),  # exact multiple: no empty tail
        (25, 10, [(1, 0, 9), (2, 10, 19), (3, 20, 24)]),  # last part short
    ],
)
def test_part_ranges(size, part_size, expected):
    ranges = part_ranges(size, part_size)
    assert [(part.number, part.first, part.last) for part in ranges] == expected
    assert sum(part.length for part in ranges) == size


def test_part_ranges_cover_the_object_without_gaps_at_the_part_limit():
    size = CHUNK * MAX_PARTS
    ranges = part_ranges(size, choose_part_size(size, None, CHUNK, 5 * GiB))
    assert len(ranges) == MAX_PARTS
    assert all(b.first == a.last + 1 for a, b in zip(ranges, ranges[1:]))
    assert (ranges[0].first, ranges[-1].last) == (0, size - 1)


@pytest.mark.parametrize(
    "part, header",
    [(PartRange(1, 0, 9), "bytes=0-9"), (PartRange(2, 10, 10), "bytes=10-10"), (PartRange(1, 0, -1), None)],
)
def test_copy_source_range(part, header):
    assert part.copy_source_range() == header


@pytest.mark.parametrize(
    "path, size, etag, source_part, expected",
    [
        ("server_side", 1000, '"aa"', None, CopyPlan("server_side", "single", 1000, 1000)),
        ("streamed", 0, '"aa"', None, CopyPlan("streamed", "single", 0, 0)),
        ("server_side", 100 * MiB, '"aa"', None, CopyPlan(
            "server_side", "multipart", 100 * MiB, CHUNK, part_ranges(100 * MiB, CHUNK))),
        ("streamed", 20 * MiB, '"aa-2"', 10 * MiB, CopyPlan(
            "streamed", "multipart", 20 * MiB, 10 * MiB, part_ranges(20 * MiB, 10 * MiB))),
        # a 1 GiB source part is copied as is server-side, and re-cut when streamed
        ("server_side", 2 * GiB, '"aa-2"', 1 * GiB, CopyPlan(
            "server_side", "multipart", 2 * GiB, 1 * GiB, part_ranges(2 * GiB, 1 * GiB))),
        ("streamed", 2 * GiB, '"aa-2"', 1 * GiB, CopyPlan(
            "streamed", "multipart", 2 * GiB, CHUNK, part_ranges(2 * GiB, CHUNK))),
    ],
)
def test_plan_copy(path, size, etag, source_part, expected):
    plan = plan_copy(path, size, etag, multipart_threshold=THRESHOLD, multipart_chunksize=CHUNK,
                     source_part_size=source_part)
    assert plan == expected


