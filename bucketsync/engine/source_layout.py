"""A multipart source's part layout, which its copy reproduces so that the copy's ETag is the source's.

    reported    the server named every part's size (HEAD partNumber=1 names the part count; the other
                parts are asked one by one only where N-1 parts of the first part's size cannot make it)
    first_part  N-1 parts of the first part's size and the rest: what clients upload; checked against the
                source's ETag before completing, and on a mismatch every part's size is asked (exact_layout)
    candidate   the server does not say (Ceph RGW ignores partNumber): the likeliest of part_layouts'
                candidates; a streamed copy hashes the bytes in every candidate layout to find the right one
    None        single-part, or a layout the copy cannot reproduce (e.g. a part above what a streamed part
                may be): copied in the plan's own parts, as before
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..core.copy_plan import CopyPath, CopyPlan, PartRange, max_part_size, plan_copy
from ..core.model import parts_in_etag
from ..core.part_layouts import candidate_part_sizes, gives_parts, layout
from .s3_calls import call
from ..core.settings import Settings
from .source_version import SourceVersion

LayoutKind = Literal["reported", "first_part", "candidate"]


class LayoutMismatch(Exception):
    """An upload in a layout checked before completing would not have the source's ETag (it is aborted)."""


@dataclass(frozen=True)
class LayoutPlan:
    plan: CopyPlan
    kind: LayoutKind | None = None
    candidates: tuple[int, ...] = ()  # first-part sizes to try, for kind "candidate"

    @property
    def checked_before_completing(self) -> bool:
        return self.kind in ("first_part", "candidate")


def plan_layout(
    client, bucket: str, key: str, version: SourceVersion, path: CopyPath, settings: Settings,
    reads: Mapping[str, Any] | None = None,
) -> LayoutPlan:
    parts = parts_in_etag(version.etag)

    def planned(first: int | None) -> CopyPlan:
        return plan_copy(path, version.size, version.etag, multipart_threshold=settings.multipart_threshold,
                         multipart_chunksize=settings.multipart_chunksize, source_part_size=first)

    if parts <= 1:  # a one-part upload's part is the whole object
        return LayoutPlan(planned(max(version.size, 1) if parts else None))
    first = _first_part_size(client, bucket, key, version, reads)
    if first is None:
        candidates = candidate_part_sizes(version.size, parts, settings.multipart_chunksize)
        return _in_layout(planned(candidates[0]), layout(version.size, candidates[0], parts), "candidate", candidates)
    if gives_parts(version.size, first, parts):
        return _in_layout(planned(first), layout(version.size, first, parts), "first_part")
    return _in_layout(planned(first), exact_layout(client, bucket, key, version, reads), "reported")


def exact_layout(
    client, bucket: str, key: str, version: SourceVersion, reads: Mapping[str, Any] | None = None
) -> tuple[PartRange, ...]:
    """Every part's range, one HEAD with partNumber per part (only where the server reports parts)."""
    ranges, start = [], 0
    for number in range(1, parts_in_etag(version.etag) + 1):
        head = call(client, "head_object", Bucket=bucket, Key=key, VersionId=version.version_id, PartNumber=number,
                    carry=reads)
        length = int(head["ContentLength"])
        ranges.append(PartRange(number, start, start + length - 1))
        start += length
    return tuple(ranges)


def _in_layout(plan: CopyPlan, parts: tuple[PartRange, ...], kind: LayoutKind, candidates: tuple[int, ...] = ()) -> LayoutPlan:
    if plan.method != "multipart" or plan.part_size != parts[0].length or max(p.length for p in parts) > max_part_size(plan.path):
        return LayoutPlan(plan)  # not reproducible within the path's limits: the plan's own parts
    return LayoutPlan(replace(plan, parts=parts), kind, candidates)


def _first_part_size(
    client, bucket: str, key: str, version: SourceVersion, reads: Mapping[str, Any] | None
) -> int | None:
    """The size of a multipart source's first part (HEAD with PartNumber=1); None where the server does not say:
    only an answer naming PartsCount describes a part (Ceph RGW ignores partNumber and answers the whole object)."""
    head = call(client, "head_object", Bucket=bucket, Key=key, VersionId=version.version_id, PartNumber=1, carry=reads)
    return int(head["ContentLength"]) if "PartsCount" in head else None
