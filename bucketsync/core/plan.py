"""Deciding what to do with each key: a merge-join of two sorted listings. Pure: no I/O.

For every relative key seen on either side exactly one PlannedAction (or none, for a destination-only
key without --delete):

    source only                      -> copy (missing)
    both, content differs            -> copy (changed)
    both, same content, lock check   -> check_lock (lock changes never show in a listing)
    both, same content               -> skip
    destination only, --delete       -> delete
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from .errors import ListingOrderError
from .model import ObjectEntry, same_content

ActionKind = Literal["copy", "check_lock", "skip", "delete"]


@dataclass(frozen=True)
class PlanOptions:
    delete: bool = False
    lock_check: bool = False  # True when the source has Object Lock and lock checks are on
    etags_are_md5: bool = True  # False when a side is SSE-KMS or SSE-C: compare by size and time (model.same_content)


@dataclass(frozen=True)
class PlannedAction:
    kind: ActionKind
    key: str  # relative to both prefixes
    source: ObjectEntry | None = None
    dest: ObjectEntry | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "source": self.source.to_json() if self.source else None,
            "dest": self.dest.to_json() if self.dest else None,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PlannedAction":
        return cls(
            kind=data["kind"],
            key=data["key"],
            source=ObjectEntry.from_json(data["source"]) if data.get("source") else None,
            dest=ObjectEntry.from_json(data["dest"]) if data.get("dest") else None,
            reason=data.get("reason", ""),
        )


def _in_order(entries: Iterable[ObjectEntry], side: str) -> Iterator[ObjectEntry]:
    previous: str | None = None
    for entry in entries:
        if previous is not None and entry.key <= previous:
            raise ListingOrderError(f"{side} listing out of order: {entry.key!r} after {previous!r}")
        previous = entry.key
        yield entry


def merge_join(
    source: Iterable[ObjectEntry], dest: Iterable[ObjectEntry]
) -> Iterator[tuple[ObjectEntry | None, ObjectEntry | None]]:
    """Pairs (source, dest) by key from two listings sorted by key; a missing side is None.

    Python compares str by code point, which is the UTF-8 byte order S3 lists in.
    """
    src_iter = _in_order(source, "source")
    dst_iter = _in_order(dest, "destination")
    src = next(src_iter, None)
    dst = next(dst_iter, None)
    while src is not None or dst is not None:
        if dst is None or (src is not None and src.key < dst.key):
            yield src, None
            src = next(src_iter, None)
        elif src is None or dst.key < src.key:
            yield None, dst
            dst = next(dst_iter, None)
        else:
            yield src, dst
            src = next(src_iter, None)
            dst = next(dst_iter, None)


def plan_pair(source: ObjectEntry | None, dest: ObjectEntry | None, options: PlanOptions) -> PlannedAction | None:
    if source is None and dest is None:
        raise ValueError("plan_pair needs at least one side")
    if source is None:
        return PlannedAction("delete", dest.key, dest=dest, reason="not in source") if options.delete else None
    if dest is None:
        return PlannedAction("copy", source.key, source=source, reason="missing")
    if not same_content(source, dest, options.etags_are_md5):
        return PlannedAction("copy", source.key, source=source, dest=dest, reason="changed")
    if options.lock_check:
        return PlannedAction("check_lock", source.key, source=source, dest=dest, reason="unchanged")
    return PlannedAction("skip", source.key, source=source, dest=dest, reason="unchanged")


def plan(source: Iterable[ObjectEntry], dest: Iterable[ObjectEntry], options: PlanOptions) -> Iterator[PlannedAction]:
    for src, dst in merge_join(source, dest):
        action = plan_pair(src, dst, options)
        if action is not None:
            yield action


def dest_range_for_page(dest: Iterable[ObjectEntry], last_source_key: str | None) -> Iterator[ObjectEntry]:
    """Destination entries up to and including the page's last source key (all of them on the last page).

    The caller starts the destination listing after the previous page's last key, so each page of a
    distributed run joins against exactly its own slice of the destination.
    """
    for entry in dest:
        if last_source_key is not None and entry.key > last_source_key:
            return
        yield entry
        if entry.key == last_source_key:
            return  # nothing after it belongs to this page: do not list the next destination page to find out


def batches_of(actions: list[PlannedAction], size: int, max_bytes: int) -> list[list[dict[str, Any]]]:
    """At most `size` objects per batch, and at most `max_bytes` to copy unless one object alone is larger."""
    batches: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    current_bytes = 0
    for action in actions:
        weight = action.source.size if action.kind == "copy" and action.source else 0
        if current and (len(current) >= size or current_bytes + weight > max_bytes):
            batches.append(current)
            current, current_bytes = [], 0
        current.append(action.to_json())
        current_bytes += weight
    if current:
        batches.append(current)
    return batches


def still_needed(action: PlannedAction, dest_now: ObjectEntry | None, options: PlanOptions) -> bool:
    """Whether a planned write still has to be made, the destination key now being `dest_now` (None: absent
    or a delete marker): asked before writing a batch delivered again after its first executor died.

    A copy is done when the destination already holds its source's content (the planner's own rule); a delete
    is done when the key is gone. Lock checks write no version: always carried out."""
    if action.kind == "copy":
        return dest_now is None or plan_pair(action.source, dest_now, options).kind == "copy"  # type: ignore[union-attr,arg-type]
    if action.kind == "delete":
        return dest_now is not None
    return action.kind != "skip"
