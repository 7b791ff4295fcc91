"""How one object is copied: the one decision, made before any byte moves. Pure: no I/O.

    path     server_side (one endpoint, one set of credentials: the server copies) or streamed
             (GET from the source, upload to the destination through this process)
    method   single (one CopyObject / PutObject) or multipart (parts of part_size, in order)

The rules (S3's limits and the ETag layout rule):
- an object copies in parts when its ETag says the source was multipart (`…-N`), or when it is larger
  than the multipart threshold (which is at most 5 GiB, the largest single CopyObject / PutObject);
- a multipart source is copied in parts of its own part size, so the copy's ETag equals the source's
  and the next run compares them; a single-part source at or below the threshold stays single-part
  for the same reason;
- otherwise parts are `multipart_chunksize`, doubled until there are at most 10,000 of them;
- parts are at least 5 MiB except the last; at most 5 GiB server-side, and at most MAX_STREAMED_PART
  when streamed (a larger source part is not reproduced: its copy is compared by size next time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .model import parts_in_etag
from .settings import GiB, MiB

CopyPath = Literal["server_side", "streamed"]
CopyMethod = Literal["single", "multipart"]

MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000
# A streamed part passes through this process (a temporary file beyond multipart_chunksize): a source
# part larger than this is not reproduced when streaming.
MAX_STREAMED_PART = 512 * MiB


@dataclass(frozen=True)
class PartRange:
    """One part: its number (from 1) and its bytes `first`..`last` of the object, inclusive."""

    number: int
    first: int
    last: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    def copy_source_range(self) -> str | None:
        """The UploadPartCopy range; None for the one empty part of an empty object (no range to name)."""
        return f"bytes={self.first}-{self.last}" if self.length > 0 else None


@dataclass(frozen=True)
class CopyPlan:
    path: CopyPath
    method: CopyMethod
    size: int
    part_size: int  # the object's size for a single copy
    parts: tuple[PartRange, ...] = ()  # empty for a single copy


def copy_method(size: int, etag: str, multipart_threshold: int) -> CopyMethod:
    return "multipart" if parts_in_etag(etag) > 0 or size > multipart_threshold else "single"


def max_part_size(path: CopyPath) -> int:
    return MAX_PART_SIZE if path == "server_side" else MAX_STREAMED_PART


def _part_count(size: int, part_size: int) -> int:
    return max(1, -(-size // part_size))


def choose_part_size(size: int, source_part_size: int | None, chunksize: int, largest_part: int) -> int:
    """The source's own part size where it can be reproduced; else chunksize, doubled to fit 10,000 parts.

    `source_part_size` is the size of the source's first part (None for a single-part source).
    """
    if source_part_size is not None:
        if source_part_size >= size:  # one part holds it all (a one-part upload, or an empty object)
            return max(source_part_size, 1)
        if MIN_PART_SIZE <= source_part_size <= largest_part and _part_count(size, source_part_size) <= MAX_PARTS:
            return source_part_size
    part_size = chunksize
    while _part_count(size, part_size) > MAX_PARTS:
        part_size *= 2
    return part_size


# Part sizes common clients upload with (5 MiB: the S3 minimum, rclone; 8 MiB: aws-cli and boto3; 16 MiB
# and up: larger defaults), tried in this order after the run's own multipart_chunksize where a server
# does not report a source's layout (part_layouts.py).
COMMON_PART_SIZES = (8 * MiB, 5 * MiB, *(2**power * MiB for power in range(4, 13)))


def part_ranges(size: int, part_size: int) -> tuple[PartRange, ...]:
    """Consecutive ranges of `part_size` covering `size` bytes, the last one short; one empty part for 0 bytes."""
    if size == 0:
        return (PartRange(1, 0, -1),)
    return tuple(
        PartRange(number, start, min(start + part_size, size) - 1)
        for number, start in enumerate(range(0, size, part_size), start=1)
    )


def plan_copy(
    path: CopyPath,
    size: int,
    etag: str,
    *,
    multipart_threshold: int,
    multipart_chunksize: int,
    source_part_size: int | None = None,
) -> CopyPlan:
    """The whole decision for one object version of `size` bytes whose ETag is `etag`."""
    if copy_method(size, etag, multipart_threshold) == "single":
        return CopyPlan(path, "single", size, part_size=size)
    part_size = choose_part_size(size, source_part_size, multipart_chunksize, max_part_size(path))
    return CopyPlan(path, "multipart", size, part_size=part_size, parts=part_ranges(size, part_size))
