"""What a write asked the new version to carry besides its lock (tags, user metadata, content headers),
and whether a HEAD / GetObjectTagging answer shows it. Pure: no I/O.

Tags are compared as sets of (key, value) pairs; HEAD's tag count (`x-amz-tagging-count`, left out when
there are none) tells a missing set without reading it, and an equal count still needs the values read
(a server that takes `+` literally keeps the count and changes the value).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .write_checks import Attribute, WritePath

# Headers that describe the object and travel with it (boto3 names), besides user metadata.
CONTENT_HEADERS = ("ContentType", "CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires")

TagSet = tuple[tuple[str, str], ...]


def tag_set(tags: list[Mapping[str, str]]) -> TagSet:
    """A TagSet answer (`[{"Key": …, "Value": …}]`) as sorted pairs."""
    return tuple(sorted((tag["Key"], tag["Value"]) for tag in tags))


@dataclass(frozen=True)
class AskedAttributes:
    """What one write asked the new version to carry besides the lock, and on which write path."""

    path: WritePath
    tags: TagSet | None  # None: not read from the source, so not checked (a trusted path needs no read)
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)

    def asks(self, attribute: Attribute) -> bool:
        """Whether the write asked for something of `attribute` (only that proves the server honours it)."""
        if attribute == "tags":
            return bool(self.tags)
        return bool(self.metadata if attribute == "metadata" else self.headers)

    def held_in(self, attribute: Attribute, head: Mapping[str, Any]) -> bool:
        """Whether `head` (a HeadObject answer) shows the metadata or headers asked for. Not for tags."""
        if attribute == "metadata":
            return dict(head.get("Metadata") or {}) == self.metadata
        if attribute == "headers":
            return all(head.get(name) == value for name, value in self.headers.items())
        raise ValueError("tags are compared with tags_held")

    def tag_count_differs(self, head: Mapping[str, Any]) -> bool:
        """Whether HEAD's tag count alone shows the tags are not the ones asked for."""
        return int(head.get("TagCount") or 0) != len(self.tags or ())

    def tags_held(self, found: list[Mapping[str, str]]) -> bool:
        return tag_set(found) == (self.tags or ())


def asked_attributes(path: WritePath, head: Mapping[str, Any], tags: list[Mapping[str, str]] | None) -> AskedAttributes:
    """What a copy of the source version `head` describes asks for; `tags` None when they were not read."""
    return AskedAttributes(
        path=path,
        tags=None if tags is None else tag_set(tags),
        metadata=dict(head.get("Metadata") or {}),
        headers={name: head[name] for name in CONTENT_HEADERS if head.get(name)},
    )
