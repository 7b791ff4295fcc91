"""Finding a multipart source's part layout from its bytes and its ETag, where the server will not say it
(Ceph RGW ignores HEAD partNumber). Pure: no I/O.

A multipart ETag is the MD5 of the parts' binary MD5s, then `-N`. Clients upload N-1 parts of one size and
a last part of the rest, which is usually shorter, sometimes longer (a client that folds a short tail into
the last part). So a layout is named by its first part's size, and the candidates are the sizes that give
N parts: the run's chunksize and the common client sizes first, then whole MiB and whole MB (10^6 bytes)
sizes, then the even split. LayoutHashes hashes the bytes a streamed copy reads anyway in every candidate
layout at once; the one whose ETag is the source's is the layout.
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Iterable

from .copy_plan import COMMON_PART_SIZES, MIN_PART_SIZE, PartRange
from .settings import MiB

MB = 1000 * 1000
# Each candidate costs an MD5 pass over the object's bytes: at most this many are tried.
MAX_CANDIDATES = 16


class LayoutNotFound(Exception):
    """No candidate layout reproduces a multipart source's ETag, and the server does not say its layout:
    a copy in another layout would have another ETag and be written again at every run, so none is made."""

    def __init__(self, parts: int, size: int) -> None:
        super().__init__(
            f"the source's part layout ({parts} parts, {size} bytes) is not reported by the server and no likely "
            "layout reproduces its ETag: not copied, so that a copy in another layout is not written again at "
            "every run (set BUCKETSYNC_MULTIPART_CHUNKSIZE to its first part's size)"
        )


def multipart_etag(part_md5s: Iterable[bytes]) -> str:
    """The ETag S3 gives a completed multipart upload of parts with these binary MD5s (unquoted, `…-N`)."""
    digests = list(part_md5s)
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


def etag_of_hex_md5s(part_etags: Iterable[str]) -> str:
    """multipart_etag from the parts' ETags as UploadPart answers them (hex MD5s, quoted or not)."""
    return multipart_etag(binascii.unhexlify(etag.strip('"')) for etag in part_etags)


def gives_parts(size: int, first_part: int, parts: int) -> bool:
    """Whether N-1 parts of `first_part` bytes and a last part of the rest (at least one byte) make `size`."""
    if parts <= 1:
        return first_part >= size
    return first_part >= MIN_PART_SIZE and 0 < size - (parts - 1) * first_part


def layout(size: int, first_part: int, parts: int) -> tuple[PartRange, ...]:
    """N-1 parts of `first_part` bytes, the last one the rest (shorter or longer)."""
    if parts <= 1:
        return (PartRange(1, 0, size - 1),)
    ranges = [PartRange(number, (number - 1) * first_part, number * first_part - 1) for number in range(1, parts)]
    return (*ranges, PartRange(parts, (parts - 1) * first_part, size - 1))


def candidate_part_sizes(size: int, parts: int, chunksize: int, limit: int = MAX_CANDIDATES) -> tuple[int, ...]:
    """First-part sizes that give `parts` parts for `size` bytes, most likely first, at most `limit`.

    Likely: `chunksize` and the common client sizes; then whole MiB and whole MB sizes from the even split
    upwards (equal parts, the last shorter), then below it (the last part longer); then the even split."""
    if parts <= 1:
        return (max(size, 1),)
    even = -(-size // parts)
    found: list[int] = []

    def add(candidate: int) -> None:
        if candidate not in found and gives_parts(size, candidate, parts):
            found.append(candidate)

    for candidate in (chunksize, *COMMON_PART_SIZES):
        add(candidate)
    for unit in (MiB, MB):
        start = -(-even // unit)
        for multiple in range(start, start + limit):
            add(multiple * unit)
        for multiple in range(start - 1, max(start - 1 - limit, 0), -1):
            add(multiple * unit)
    add(even)
    add(size // parts)
    ordered = [c for c in found if -(-size // c) == parts] + [c for c in found if -(-size // c) != parts]
    return tuple(ordered[:limit])


class LayoutHashes:
    """The MD5s of an object's parts in each candidate layout, fed its bytes in order (`feed`)."""

    def __init__(self, size: int, parts: int, candidates: Iterable[int]) -> None:
        self._layouts = {candidate: layout(size, candidate, parts) for candidate in candidates}
        self._done: dict[int, list[bytes]] = {candidate: [] for candidate in self._layouts}
        self._current = {candidate: hashlib.md5() for candidate in self._layouts}
        self._offset = 0

    def feed(self, data: bytes) -> None:
        for candidate, ranges in self._layouts.items():
            done, position = self._done[candidate], self._offset
            view = memoryview(data)
            while view:
                part = ranges[min(len(done), len(ranges) - 1)]
                take = min(len(view), part.last + 1 - position) if len(done) < len(ranges) - 1 else len(view)
                self._current[candidate].update(view[:take])
                view, position = view[take:], position + take
                if len(done) < len(ranges) - 1 and position == part.last + 1:
                    done.append(self._current[candidate].digest())
                    self._current[candidate] = hashlib.md5()
        self._offset += len(data)

    def etag(self, candidate: int) -> str:
        """The multipart ETag of the bytes fed so far (all of them), in `candidate`'s layout."""
        return multipart_etag([*self._done[candidate], self._current[candidate].digest()])

    def matching(self, etag: str) -> int | None:
        """The first candidate (in the order given) whose layout gives `etag`; None when none does."""
        wanted = etag.strip('"').lower()
        return next((candidate for candidate in self._layouts if self.etag(candidate) == wanted), None)
