"""ListObjectVersions, page by page, as whole per-key histories (`sync --all-versions`).

A page can end in the middle of one key's history (MaxKeys counts versions and delete markers), so a key
is handed on only once its last entry has been seen: when the next key begins or the listing ends. Memory
is one page plus the one key being gathered, however many versions that key has.

Where a listing resumes is a VersionMarker: the server's own (NextKeyMarker, NextVersionIdMarker), or one
that points into a key already handed on, so the next listing starts at the first entry of the key after
it. Every server understands that pair; a KeyMarker alone is not safe (moto treats it as the last entry
read and skips the next key's newest entry). Entries of keys already handed on that a listing shows again
are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..core.history import HistoryEntry, KeyHistory, order_history
from ..core.locations import Location
from ..core.errors import ListingOrderError


@dataclass(frozen=True)
class VersionMarker:
    """Where a ListObjectVersions listing resumes: after this entry (absolute key, version id)."""

    key: str
    version_id: str

    def to_json(self) -> list[str]:
        return [self.key, self.version_id]

    @classmethod
    def from_json(cls, data: list[str] | None) -> "VersionMarker | None":
        return cls(data[0], data[1]) if data else None


def resume_marker(history: KeyHistory, location: Location) -> VersionMarker:
    """A marker inside `history`'s key: a listing from it starts no later than the next key's first entry.
    Its oldest entry, which the server lists last of the key."""
    return VersionMarker(location.absolute_key(history.key), history.entries[0].version_id)


@dataclass(frozen=True)
class VersionPage:
    versions: list[HistoryEntry]  # as listed: by key, newest first
    markers: list[HistoryEntry]  # likewise
    next_marker: VersionMarker | None  # None on the last page

    @property
    def size(self) -> int:
        return len(self.versions) + len(self.markers)


def list_versions_page(client, location: Location, *, page_size: int, after: VersionMarker | None = None) -> VersionPage:
    args = {"Bucket": location.bucket, "Prefix": location.prefix, "MaxKeys": page_size}
    if after is not None:
        args.update(KeyMarker=after.key, VersionIdMarker=after.version_id)
    response = client.list_object_versions(**args)
    versions = [
        HistoryEntry(
            key=location.relative_key(item["Key"]), version_id=item.get("VersionId") or "null",
            last_modified=item["LastModified"], is_latest=bool(item.get("IsLatest")), etag=item.get("ETag", ""),
            size=int(item.get("Size", 0)),
        )
        for item in response.get("Versions", ())
    ]
    markers = [
        HistoryEntry(
            key=location.relative_key(item["Key"]), version_id=item.get("VersionId") or "null",
            last_modified=item["LastModified"], is_latest=bool(item.get("IsLatest")), is_delete_marker=True,
        )
        for item in response.get("DeleteMarkers", ())
    ]
    next_marker = None
    if response.get("IsTruncated"):
        next_marker = VersionMarker(response["NextKeyMarker"], response.get("NextVersionIdMarker") or "null")
    return VersionPage(versions, markers, next_marker)


def iter_version_pages(
    client, location: Location, *, page_size: int, after: VersionMarker | None = None
) -> Iterator[VersionPage]:
    """The pages from `after` on, each listed when the one before it has been taken."""
    while True:
        page = list_versions_page(client, location, page_size=page_size, after=after)
        yield page
        if page.next_marker is None:
            return
        after = page.next_marker


def _by_key(page: VersionPage) -> list[tuple[str, list[HistoryEntry], list[HistoryEntry]]]:
    """The page's keys in order, each with its versions and its delete markers (newest first)."""
    for listed in (page.versions, page.markers):
        for before, after in zip(listed, listed[1:]):
            if after.key < before.key:
                raise ListingOrderError(f"version listing out of order: {after.key!r} after {before.key!r}")
    grouped: dict[str, tuple[list[HistoryEntry], list[HistoryEntry]]] = {}
    for entry in page.versions:
        grouped.setdefault(entry.key, ([], []))[0].append(entry)
    for entry in page.markers:
        grouped.setdefault(entry.key, ([], []))[1].append(entry)
    return [(key, *grouped[key]) for key in sorted(grouped)]


def iter_histories(pages: Iterable[VersionPage], after_key: str | None = None) -> Iterator[KeyHistory]:
    """Whole histories, in key order, of the keys after `after_key` (relative) that the pages show."""
    pending: tuple[str, list[HistoryEntry], list[HistoryEntry]] | None = None
    for page in pages:
        for key, versions, markers in _by_key(page):
            if after_key is not None and key <= after_key:
                continue  # a key handed on before, shown again from inside it
            if pending is not None and key == pending[0]:
                pending[1].extend(versions)  # older entries of the key the previous page ended in
                pending[2].extend(markers)
                continue
            if pending is not None:
                if key < pending[0]:
                    raise ListingOrderError(f"version listing out of order: {key!r} after {pending[0]!r}")
                yield KeyHistory(pending[0], tuple(order_history(pending[1], pending[2])))
            pending = (key, versions, markers)
    if pending is not None:
        yield KeyHistory(pending[0], tuple(order_history(pending[1], pending[2])))


@dataclass(frozen=True)
class HistoryPage:
    """One coordinator's share of the source: whole keys, and where the next share starts."""

    histories: list[KeyHistory]
    next_marker: VersionMarker | None  # None: the listing has ended

    @property
    def listed(self) -> int:
        return sum(len(history.entries) for history in self.histories)


def list_whole_keys(
    client, location: Location, *, page_size: int, after: VersionMarker | None, after_key: str | None
) -> HistoryPage:
    """At least one listing page of whole histories. The last key of a page that is not the listing's last
    may go on in the next page: it is left for the next share, unless it is the only key, which is then
    listed on to its end."""
    pages: list[VersionPage] = []
    marker = after
    while True:
        page = list_versions_page(client, location, page_size=page_size, after=marker)
        pages.append(page)
        histories = list(iter_histories(pages, after_key))
        if page.next_marker is None:
            return HistoryPage(histories, None)
        whole = histories[:-1]
        if whole:
            return HistoryPage(whole, resume_marker(whole[-1], location))
        marker = page.next_marker


def list_histories_through(
    client, location: Location, *, page_size: int, after: VersionMarker | None, after_key: str | None,
    through: str | None,
) -> tuple[list[KeyHistory], VersionMarker | None]:
    """The whole histories of the keys after `after_key` up to and including `through` (all, if None), and
    the marker the next slice starts from (`after` again when there were none)."""
    pages = iter_version_pages(client, location, page_size=page_size, after=after)
    histories: list[KeyHistory] = []
    for history in iter_histories(pages, after_key):
        if through is not None and history.key > through:
            break
        histories.append(history)
    marker = resume_marker(histories[-1], location) if histories else after
    return histories, marker


def page_token(source: VersionMarker | None, dest: VersionMarker | None) -> str:
    """The PageTask token of a version listing: where both sides resume."""
    return json.dumps({"source": source.to_json() if source else None, "dest": dest.to_json() if dest else None})


def markers_from_token(token: str | None) -> tuple[VersionMarker | None, VersionMarker | None]:
    if not token:
        return None, None
    data = json.loads(token)
    return VersionMarker.from_json(data.get("source")), VersionMarker.from_json(data.get("dest"))
