"""Plain values that describe objects and their lock state. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

LockMode = Literal["GOVERNANCE", "COMPLIANCE"]


@dataclass(frozen=True)
class ObjectEntry:
    """One object as a listing shows it."""

    key: str
    size: int
    etag: str
    storage_class: str | None = None  # as the listing names it (None where a server leaves it out)
    last_modified: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "size": self.size, "etag": self.etag}
        if self.storage_class:
            data["storage_class"] = self.storage_class
        if self.last_modified:
            data["last_modified"] = self.last_modified.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ObjectEntry":
        modified = data.get("last_modified")
        return cls(
            key=data["key"], size=int(data["size"]), etag=data["etag"], storage_class=data.get("storage_class"),
            last_modified=datetime.fromisoformat(modified) if modified else None,
        )


def etag_body(etag: str) -> str:
    """An ETag without its quotes: the one form ETags are compared in.

    S3 quotes ETags (`"<md5>"`) in listings, HEAD and part answers alike, but S3-compatible servers
    and proxies are not all consistent about it; a quoted and an unquoted ETag of the same bytes are equal.
    """
    return etag.strip('"')


def quoted_etag(etag: str) -> str:
    """The ETag as an HTTP entity tag (quoted), for If-Match and x-amz-copy-source-if-match."""
    return f'"{etag_body(etag)}"'


def same_etag(a: str, b: str) -> bool:
    return etag_body(a) == etag_body(b)


def parts_in_etag(etag: str) -> int:
    """0 for a single-part ETag, N for a multipart ETag `"<md5>-N"`."""
    _, dash, count = etag_body(etag).rpartition("-")
    return int(count) if dash and count.isdigit() else 0


def same_content(source: ObjectEntry, dest: ObjectEntry, etags_are_md5: bool = True) -> bool:
    """Whether the destination already holds the source's bytes, judged from listings alone.

    ETags are comparable when both were written with the same part layout (both single-part, or
    multipart with the same part count): then equal ETags mean equal bytes. bucketsync keeps the
    source's layout when it copies, so its own copies always compare by ETag. A copy written by
    another tool with a different layout can only be compared by size.

    SSE-KMS and SSE-C objects have ETags that are not derived from their bytes (`etags_are_md5` False):
    the copy's ETag never equals the source's. Then equal ETags still mean equal, and otherwise a
    destination of the same size written after the source was last modified holds it (the rule of
    `aws s3 sync`; strictly later, so a source overwritten within the second of its copy is copied again).
    """
    if source.size != dest.size:
        return False
    if same_etag(source.etag, dest.etag):
        return True
    if not etags_are_md5:
        return bool(source.last_modified and dest.last_modified and dest.last_modified > source.last_modified)
    return parts_in_etag(source.etag) != parts_in_etag(dest.etag)


def to_second(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0)


@dataclass(frozen=True)
class Retention:
    mode: LockMode
    retain_until: datetime  # UTC, whole seconds

    def __post_init__(self) -> None:
        object.__setattr__(self, "retain_until", to_second(self.retain_until))

    def is_active(self, now: datetime) -> bool:
        return self.retain_until > to_second(now)

    def to_json(self) -> dict[str, str]:
        return {"mode": self.mode, "retain_until": self.retain_until.isoformat()}


@dataclass(frozen=True)
class LockState:
    """The Object Lock state of one object version."""

    retention: Retention | None = None
    legal_hold: bool = False

    @classmethod
    def from_head(cls, head: dict[str, Any]) -> "LockState":
        """From a HeadObject/GetObject response (boto3 field names)."""
        mode = head.get("ObjectLockMode")
        until = head.get("ObjectLockRetainUntilDate")
        retention = Retention(mode, until) if mode and until else None
        return cls(retention=retention, legal_hold=head.get("ObjectLockLegalHoldStatus") == "ON")

    def is_empty(self) -> bool:
        return self.retention is None and not self.legal_hold

    def to_json(self) -> dict[str, Any]:
        return {
            "retention": self.retention.to_json() if self.retention else None,
            "legal_hold": self.legal_hold,
        }
