"""What the destination server honours on each write path, learnt from a run's first writes. Pure: no I/O.

A write asks the new version to carry tags, user metadata and content headers (and a lock, which is
always read back: lock_write.py). Servers differ per write path, e.g. Ceph RGW 16.2 ignores
`x-amz-tagging` on CreateMultipartUpload but applies it on PutObject, and applies metadata and content
headers on both. So after a write, what it asked for is read back and set where it is missing, until the
path has proved itself for that attribute:

- a (path, attribute) is trusted after TRUSTED_AFTER writes on that path that asked for the attribute and
  held it; from then on it is not read back for the rest of the run (in this process);
- a write found without what it asked marks the (path, attribute) as ignored: it is never trusted again
  in this run. Tags of an ignored path are set after every write without reading them first
  (PutObjectTagging states the whole set, so reading it would tell nothing new).

A write that did not ask for an attribute (an untagged object) proves nothing about it. The table is kept
per run and per process (one destination server per run), so a server upgraded between runs is learnt
again. `saved_requests` counts the read-back requests trust has spared.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

WritePath = Literal["copy_object", "create_multipart_upload", "put_object"]
Attribute = Literal["tags", "metadata", "headers"]

WRITE_PATHS: tuple[WritePath, ...] = ("copy_object", "create_multipart_upload", "put_object")
ATTRIBUTES: tuple[Attribute, ...] = ("tags", "metadata", "headers")
TRUSTED_AFTER = 3
# A copy of a plain (unversioned, unlocked, single-part) source needs no HEAD of its own; while the
# copy_object path is not yet trusted, such a copy reads its source first to know what it asked.
# This many such reads per run at most: an attribute none of those objects carried stays unproven on
# that path, and is not checked on later plain copies (docs/reference.md: what the checks cost).
SOURCE_READS_FOR_PLAIN_COPIES = 10


@dataclass
class _Record:
    held: int = 0
    ignored: bool = False


class WriteChecks:
    """The learning table of one run in one process; shared by the threads that copy."""

    def __init__(self, trusted_after: int = TRUSTED_AFTER, source_reads: int = SOURCE_READS_FOR_PLAIN_COPIES) -> None:
        self.trusted_after = trusted_after
        self.source_reads_left = source_reads
        self.saved_requests = 0
        self._records = {(path, attribute): _Record() for path in WRITE_PATHS for attribute in ATTRIBUTES}
        self._lock = threading.Lock()

    def needs_check(self, path: WritePath, attribute: Attribute) -> bool:
        """Whether a write on `path` that asked for `attribute` must be read back."""
        with self._lock:
            record = self._records[(path, attribute)]
            return record.ignored or record.held < self.trusted_after

    def is_ignored(self, path: WritePath, attribute: Attribute) -> bool:
        """Whether a write on `path` was found without the `attribute` it asked for, in this run."""
        with self._lock:
            return self._records[(path, attribute)].ignored

    def is_trusted(self, path: WritePath) -> bool:
        """Whether every attribute is trusted on `path`."""
        return not any(self.needs_check(path, attribute) for attribute in ATTRIBUTES)

    def record(self, path: WritePath, attribute: Attribute, held: bool) -> None:
        """A write on `path` asked for `attribute`; the read-back found it (`held`) or not."""
        with self._lock:
            record = self._records[(path, attribute)]
            if held:
                record.held += 1
            else:
                record.ignored = True

    def take_source_read(self) -> bool:
        """Whether a plain copy should read its source first (while copy_object is unproven); counts it."""
        if self.is_trusted("copy_object"):
            return False
        with self._lock:
            if self.source_reads_left <= 0:
                return False
            self.source_reads_left -= 1
            return True

    def count_saved(self, requests: int) -> None:
        with self._lock:
            self.saved_requests += requests

    def summary(self) -> dict[str, str]:
        """`path/attribute` -> trusted, ignored or checking (for logs and tests)."""
        with self._lock:
            return {
                f"{path}/{attribute}": "ignored" if record.ignored else
                ("trusted" if record.held >= self.trusted_after else "checking")
                for (path, attribute), record in self._records.items()
            }


class CopyKeepsEtag:
    """Whether the destination server's CopyObject keeps a multipart source's ETag (Ceph RGW copies by
    reference and does; AWS and moto give the copy a new one), learnt from this run's first such copy in
    this process. Until it is known, one copy at a time tries (`trying`); the others wait for its answer."""

    def __init__(self) -> None:
        self.keeps: bool | None = None
        self._trial = threading.Lock()

    @contextmanager
    def trying(self) -> Iterator[bool | None]:
        """What is known (True, False), or None: then the caller tries one CopyObject and `record`s the answer."""
        if self.keeps is not None:
            yield self.keeps
            return
        with self._trial:
            yield self.keeps

    def record(self, kept: bool) -> None:
        self.keeps = kept
