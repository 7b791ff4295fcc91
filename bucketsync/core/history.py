"""Version history of one key: putting a listing's entries in order, and matching a destination history
against the source's (`sync --all-versions`). Pure: no I/O.

Order. ListObjectVersions returns each key's versions newest first, and its delete markers newest first,
but boto3 hands them over in two separate lists, and some servers send them that way (moto, with
LastModified to the second). `order_history` merges the two by LastModified; where a version and a
delete marker carry the same time, the one the server flags `IsLatest` goes last, and otherwise the
delete marker is taken as the newer. Within each list the server's order is kept. (Servers that stamp
to the millisecond — AWS, Ceph RGW — leave ties only between writes in the same millisecond.)

Matching. The destination's history *replicates* the source's when the source's entries, oldest first,
appear in the destination in the same order (not necessarily next to each other: a source version deleted
for good leaves its copy in place, as a locked replica must), and the destination's newest entry is the
copy of the source's newest. Versions match by size and ETag under the part-layout rule of
`model.same_content`; delete markers match delete markers. No bookkeeping metadata is written.

Ties. Where several destination entries carry one LastModified (moto stamps to the second, and a run
writes a key's versions faster than that), the listing tells the order among the versions and among the
delete markers, but not where the markers sit between the versions. Such a group is matched in whatever
interleaving fits the source: a marker matches any marker of the group, a version the group's newest
matching version not passed yet. The group's IsLatest entry stays the newest.

`plan_history` finds the longest run of the source's oldest entries S1..Sm whose copies end the
destination's history (the newest destination entry is Sm's copy), matching from the newest backwards
so that repeated identical versions are matched as late as possible. S(m+1)..Sn are then written, oldest
first. When no m > 0 fits — the destination holds something newer than a missing older version (e.g.
after current-only runs), or a version of its own — the whole source history is written again on top:
S3 cannot insert a version beneath a newer one, and the history must end with the source's. The
destination entries that end up matched by nothing are reported, never deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .model import ObjectEntry, same_content


@dataclass(frozen=True)
class HistoryEntry:
    """One version or delete marker of a key, as ListObjectVersions shows it."""

    key: str  # relative to the prefix
    version_id: str
    last_modified: datetime
    is_latest: bool = False
    is_delete_marker: bool = False
    etag: str = ""  # "" for delete markers
    size: int = 0

    def matches(self, other: "HistoryEntry") -> bool:
        """Whether `other` (on the other side) holds what this entry holds."""
        if self.is_delete_marker or other.is_delete_marker:
            return self.is_delete_marker and other.is_delete_marker
        return same_content(ObjectEntry(self.key, self.size, self.etag), ObjectEntry(other.key, other.size, other.etag))

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "version_id": self.version_id, "last_modified": self.last_modified.isoformat(),
            "is_latest": self.is_latest, "is_delete_marker": self.is_delete_marker, "etag": self.etag, "size": self.size,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "HistoryEntry":
        return cls(
            key=data["key"], version_id=data["version_id"], last_modified=datetime.fromisoformat(data["last_modified"]),
            is_latest=bool(data.get("is_latest")), is_delete_marker=bool(data.get("is_delete_marker")),
            etag=data.get("etag", ""), size=int(data.get("size", 0)),
        )


@dataclass(frozen=True)
class KeyHistory:
    """One key's whole history, oldest first."""

    key: str  # relative to the prefix
    entries: tuple[HistoryEntry, ...]


def order_history(versions: Sequence[HistoryEntry], markers: Sequence[HistoryEntry]) -> list[HistoryEntry]:
    """One key's versions and delete markers (each newest first, as listed), merged oldest first."""
    older_first_versions = list(reversed(versions))
    older_first_markers = list(reversed(markers))
    merged: list[HistoryEntry] = []
    v = m = 0
    while v < len(older_first_versions) or m < len(older_first_markers):
        if m == len(older_first_markers):
            merged.append(older_first_versions[v]); v += 1
        elif v == len(older_first_versions):
            merged.append(older_first_markers[m]); m += 1
        elif _version_first(older_first_versions[v], older_first_markers[m]):
            merged.append(older_first_versions[v]); v += 1
        else:
            merged.append(older_first_markers[m]); m += 1
    return merged


def _version_first(version: HistoryEntry, marker: HistoryEntry) -> bool:
    if version.last_modified != marker.last_modified:
        return version.last_modified < marker.last_modified
    if version.is_latest != marker.is_latest:
        return marker.is_latest  # the latest entry of the key goes last
    return True  # a tie without a hint: the delete marker is taken as the newer


@dataclass(frozen=True)
class HistoryPlan:
    """What a run does with one key's history."""

    to_write: tuple[HistoryEntry, ...] = ()  # source entries to write at the destination, oldest first
    matched: tuple[tuple[HistoryEntry, HistoryEntry], ...] = ()  # (source, its copy): lock checks only
    rewritten: tuple[HistoryEntry, ...] = ()  # destination entries a rewrite leaves beneath the source's history
    kept: tuple[HistoryEntry, ...] = ()  # destination entries no source entry matches (e.g. deleted for good at the source)

    @property
    def changes_anything(self) -> bool:
        return bool(self.to_write)


def _tie_groups(dest: Sequence[HistoryEntry]) -> list[list[int]]:
    """Positions of `dest` (oldest first) in runs that share one LastModified, oldest run first."""
    groups: list[list[int]] = []
    for index, entry in enumerate(dest):
        if groups and dest[groups[-1][-1]].last_modified == entry.last_modified:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def _match_from_newest(source: Sequence[HistoryEntry], dest: Sequence[HistoryEntry]) -> list[int] | None:
    """Destination positions of source[0..], matched from the newest backwards; the last source entry must
    be the destination's newest. None if the source entries do not all appear in order.

    Entries that share one LastModified (a tie group) are ordered among the versions and among the delete
    markers, but where markers sit between versions is unknown (see the module docstring): within a group a
    marker matches any marker not taken yet, and a version the newest matching version not passed yet.
    """
    if not source or not dest or not source[-1].matches(dest[-1]):
        return None
    groups = _tie_groups(dest)
    newest = len(dest) - 1
    group_index = len(groups) - 1
    # What is left of the current group: its versions and markers, oldest first.
    versions = [i for i in groups[group_index] if i != newest and not dest[i].is_delete_marker]
    markers = [i for i in groups[group_index] if i != newest and dest[i].is_delete_marker]
    positions = [newest]
    for entry in reversed(source[:-1]):
        while True:
            if entry.is_delete_marker and markers:
                positions.append(markers.pop())
                break
            if not entry.is_delete_marker:
                found = next((n for n in range(len(versions) - 1, -1, -1) if entry.matches(dest[versions[n]])), None)
                if found is not None:
                    positions.append(versions[found])
                    del versions[found:]
                    break
            group_index -= 1
            if group_index < 0:
                return None
            versions = [i for i in groups[group_index] if not dest[i].is_delete_marker]
            markers = [i for i in groups[group_index] if dest[i].is_delete_marker]
    positions.reverse()
    return positions


def plan_history(source: Sequence[HistoryEntry], dest: Sequence[HistoryEntry]) -> HistoryPlan:
    """Both histories oldest first. See the module docstring for the rule."""
    for m in range(len(source), 0, -1):
        if not dest or not source[m - 1].matches(dest[-1]):
            continue
        positions = _match_from_newest(source[:m], dest)
        if positions is None:
            continue
        matched_at = set(positions)
        return HistoryPlan(
            to_write=tuple(source[m:]),
            matched=tuple((source[i], dest[p]) for i, p in enumerate(positions)),
            kept=tuple(entry for index, entry in enumerate(dest) if index not in matched_at),
        )
    if not source:  # every version deleted for good at the source: the destination's stay
        return HistoryPlan(kept=tuple(dest))
    return HistoryPlan(to_write=tuple(source), rewritten=tuple(dest))
