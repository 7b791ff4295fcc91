"""`bucketsync verify SRC DST`: compare a source and its replica without writing anything.

Both sides are listed as `sync` lists them: in key ranges at once, with the same --exclude/--include (a key
they leave out is compared on neither side), and merge-joined by key per range (plan.merge_join); each key
on both sides is read on the run's bounded pool (embedded.drive: HEAD both, tags both, and the bytes where
ETags cannot decide), with each side's SSE-C key where it has one (BUCKETSYNC_SOURCE__SSE_C_KEY,
BUCKETSYNC_DEST__SSE_C_KEY: S3 answers a HEAD of an SSE-C object without its key with 400). A replica
matches its source when, for every key:

- it exists on both sides (a key on one side only is a difference);
- sizes are equal, and the bytes: equal ETags with the same part layout mean equal bytes; two
  single-part ETags that differ mean different bytes, unless either object is SSE-C or SSE-KMS encrypted
  (its ETag is no MD5 of the bytes); otherwise (layouts differ, multipart or opaque ETags differ) both
  objects are read and hashed;
- Content-Type, Cache-Control, Content-Disposition, Content-Encoding, Content-Language, Expires and the
  user metadata are equal, and so are the tags (read where a HEAD counts some: TagCounts);
- lock state: a source retention still in the future needs a destination retention at least as long
  (to the second) in a mode at least as strong (COMPLIANCE > GOVERNANCE). A longer or stronger
  destination lock is no difference (the engine never shortens or downgrades one), nor is an expired
  source retention, nor a destination retention the source lacks. Legal holds must be equal.

Exit codes: 0 no difference, 1 differences (listed), 2 errors (a side unreachable, lock state
unreadable, objects that could not be read).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..engine import s3
from ..core.copy_options import CopyOptions
from .embedded import drive, listed_in_ranges
from ..core.filters import Filters
from ..listing.pages import Page
from ..core.locations import Location, parse_location
from ..core.lockrules import active_retention
from ..core.model import LockState, ObjectEntry, parts_in_etag, same_etag
from ..core.plan import merge_join
from .preflight import check_buckets, check_lock_readable
from ..core.settings import MiB, Settings

log = logging.getLogger("bucketsync")

HEADERS = ("ContentType", "CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires")
MODE_STRENGTH = {"GOVERNANCE": 1, "COMPLIANCE": 2}
MAX_LISTED = 10_000  # differences and errors kept for the report; the counts stay exact beyond it
SHOWN = 50  # differences printed by the text report
READ_CHUNK = 1 * MiB


@dataclass(frozen=True)
class Difference:
    key: str  # relative to both prefixes
    what: str  # missing, extra, size, etag, bytes, ContentType…, metadata, tags, retention, legal_hold
    source: Any = None
    destination: Any = None

    def describe(self) -> str:
        if self.what == "missing":
            return f"{self.key!r}: missing at the destination"
        if self.what == "extra":
            return f"{self.key!r}: only at the destination"
        return f"{self.key!r}: {self.what} differs: source {self.source!r}, destination {self.destination!r}"

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "what": self.what, "source": self.source, "destination": self.destination}


# ---------------------------------------------------------------- pure comparisons


def _lock_text(state: LockState, now: datetime) -> str:
    retention = active_retention(state, now)
    return f"{retention.mode} until {retention.retain_until.isoformat()}" if retention else "none"


def compare_lock(key: str, source: LockState, dest: LockState, now: datetime) -> list[Difference]:
    differences = []
    wanted, held = active_retention(source, now), active_retention(dest, now)
    if wanted is not None and (
        held is None
        or held.retain_until < wanted.retain_until
        or MODE_STRENGTH[held.mode] < MODE_STRENGTH[wanted.mode]
    ):
        differences.append(Difference(key, "retention", _lock_text(source, now), _lock_text(dest, now)))
    if source.legal_hold != dest.legal_hold:
        differences.append(Difference(
            key, "legal_hold", "ON" if source.legal_hold else "OFF", "ON" if dest.legal_hold else "OFF"
        ))
    return differences


def _header(head: dict[str, Any], name: str) -> Any:
    """A content header as sent; Expires as its raw text where botocore keeps it (an unparsable date
    reaches boto3 only as ExpiresString), else as the parsed date in ISO form (JSON-safe)."""
    if name == "Expires":
        if head.get("ExpiresString"):
            return head["ExpiresString"]
        value = head.get("Expires")
        return value.isoformat() if isinstance(value, datetime) else value
    return head.get(name)


def compare_heads(key: str, source: dict[str, Any], dest: dict[str, Any], now: datetime) -> list[Difference]:
    """Headers, user metadata and lock state of two HeadObject responses (sizes and bytes apart)."""
    differences = [
        Difference(key, name, _header(source, name), _header(dest, name))
        for name in HEADERS
        if _header(source, name) != _header(dest, name)
    ]
    if (source.get("Metadata") or {}) != (dest.get("Metadata") or {}):
        differences.append(Difference(key, "metadata", source.get("Metadata") or {}, dest.get("Metadata") or {}))
    return differences + compare_lock(key, LockState.from_head(source), LockState.from_head(dest), now)


def content_verdict(source_etag: str, source_size: int, dest_etag: str, dest_size: int, md5_etags: bool = True) -> str:
    """'equal', 'size', 'etag' (decided from listings/HEADs), or 'read' (only the bytes can tell).
    `md5_etags`: whether both single-part ETags are MD5s of the bytes (not for SSE-C or SSE-KMS objects)."""
    if source_size != dest_size:
        return "size"
    same_layout = parts_in_etag(source_etag) == parts_in_etag(dest_etag)
    if same_layout and same_etag(source_etag, dest_etag):
        return "equal"
    if same_layout and parts_in_etag(source_etag) == 0 and md5_etags:
        return "etag"  # two single-part ETags are the MD5s of the bytes
    return "read"  # different layouts, or multipart ETags that may differ only by part sizes


def tag_pairs(tag_set: list[dict[str, str]]) -> list[list[str]]:
    return sorted([tag["Key"], tag["Value"]] for tag in tag_set)


class TagCounts:
    """Whether HEAD's tag count (x-amz-tagging-count) can stand in for reading the tags, in this comparison.

    S3 sends the count only for an object that has tags (AWS, moto and Ceph RGW alike; the copy engine relies on
    it too): two HEADs without one are two untagged objects, and their tags need not be read, which halves the
    requests of comparing an untagged key. A server that leaves the count out for a tagged object shows it as
    soon as tags read on that side (because the other side counted some) are found where HEAD counted none:
    from then on every key's tags are read."""

    def __init__(self) -> None:
        self.trusted = True

    def tags_of(self, client, args: dict[str, Any], head: dict[str, Any], other_head: dict[str, Any]) -> list[list[str]]:
        if self.trusted and not head.get("TagCount") and not other_head.get("TagCount"):
            return []
        found = tag_pairs(client.get_object_tagging(**args).get("TagSet", []))
        if found and not head.get("TagCount") and self.trusted:
            self.trusted = False
            log.warning("a HEAD counted no tags on an object that has some: reading every object's tags")
        return found


# ---------------------------------------------------------------- the report


@dataclass
class VerifyReport:
    source: str
    destination: str
    source_objects: int = 0
    destination_objects: int = 0
    compared: int = 0  # keys on both sides that were read and compared
    excluded: int = 0  # source keys --exclude/--include left out (compared on neither side)
    vanished: int = 0  # listed at the source, gone before they could be read (no difference)
    difference_count: int = 0
    error_count: int = 0
    differences: list[Difference] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, differences: list[Difference]) -> None:
        with self._lock:
            self.difference_count += len(differences)
            room = MAX_LISTED - len(self.differences)
            self.differences.extend(differences[: max(room, 0)])

    def add_error(self, key: str, reason: str) -> None:
        with self._lock:
            self.error_count += 1
            if len(self.errors) < MAX_LISTED:
                self.errors.append({"key": key, "reason": reason})

    def count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def exit_code(self) -> int:
        return 2 if self.error_count else 1 if self.difference_count else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "destination": self.destination,
            "excluded": self.excluded,
            "source_objects": self.source_objects,
            "destination_objects": self.destination_objects,
            "compared": self.compared,
            "vanished": self.vanished,
            "equal": self.exit_code() == 0,
            "difference_count": self.difference_count,
            "error_count": self.error_count,
            "differences": [item.to_json() for item in sorted(self.differences, key=_order)],
            "errors": sorted(self.errors, key=lambda item: item["key"]),
        }

    def render_text(self) -> str:
        verdict = (
            "no differences" if not self.difference_count
            else f"{self.difference_count} difference{'s' if self.difference_count != 1 else ''}"
        )
        excluded = f" ({self.excluded} more excluded)" if self.excluded else ""
        lines = [
            f"verify {self.source} -> {self.destination}: {self.source_objects} source objects{excluded}, "
            f"{self.destination_objects} destination objects, {self.compared} compared: {verdict}"
        ]
        lines += [f"  {item.describe()}" for item in sorted(self.differences, key=_order)[:SHOWN]]
        if self.difference_count > SHOWN:
            lines.append(f"  … and {self.difference_count - SHOWN} more (see --json)")
        if self.vanished:
            lines.append(f"  {self.vanished} source object(s) deleted while verifying (not compared)")
        if self.error_count:
            lines.append(f"  {self.error_count} object(s) could not be read:")
            lines += [f"    {item['key']!r}: {item['reason']}" for item in sorted(self.errors, key=lambda i: i["key"])[:SHOWN]]
        return "\n".join(lines)


def _order(item: Difference) -> tuple[str, str]:
    return item.key, item.what


# ---------------------------------------------------------------- reading both sides


@dataclass(frozen=True)
class _Sides:
    source_client: Any
    dest_client: Any
    source: Location
    dest: Location
    now: Callable[[], datetime]
    keys: CopyOptions = CopyOptions()  # each side's SSE-C key, sent on its HEADs and GETs
    tag_counts: TagCounts = field(default_factory=TagCounts)

    def source_reads(self) -> dict[str, Any]:
        return self.keys.source_reads()

    def dest_reads(self) -> dict[str, Any]:
        return self.keys.dest_reads()


def _head(client, bucket: str, key: str, reads: dict[str, Any]) -> dict[str, Any]:
    return client.head_object(Bucket=bucket, Key=key, **reads)


def opaque_etag(head: dict[str, Any]) -> bool:
    """Whether a HEAD's ETag is no MD5 of the bytes even for a single-part object: SSE-C and SSE-KMS."""
    return bool(head.get("SSECustomerAlgorithm")) or head.get("ServerSideEncryption") == "aws:kms"


def _pinned(head: dict[str, Any], bucket: str, key: str) -> dict[str, Any]:
    args = {"Bucket": bucket, "Key": key}
    if head.get("VersionId") and head["VersionId"] != "null":
        args["VersionId"] = head["VersionId"]
    return args


def _digest(client, args: dict[str, Any], etag: str, reads: dict[str, Any]) -> str:
    body = client.get_object(**args, IfMatch=etag, **reads)["Body"]
    digest = hashlib.sha256()
    try:
        for chunk in iter(lambda: body.read(READ_CHUNK), b""):
            digest.update(chunk)
    finally:
        body.close()
    return digest.hexdigest()


def compare_object(sides: _Sides, key: str, report: VerifyReport) -> None:
    src_key, dst_key = sides.source.absolute_key(key), sides.dest.absolute_key(key)
    try:
        source_head = _head(sides.source_client, sides.source.bucket, src_key, sides.source_reads())
    except ClientError as exc:
        if s3.is_vanished(exc):
            report.count("vanished")
            return
        raise
    try:
        dest_head = _head(sides.dest_client, sides.dest.bucket, dst_key, sides.dest_reads())
    except ClientError as exc:
        if s3.is_vanished(exc):
            report.add([Difference(key, "missing")])
            report.count("compared")
            return
        raise
    source_args = _pinned(source_head, sides.source.bucket, src_key)
    dest_args = _pinned(dest_head, sides.dest.bucket, dst_key)
    differences = []
    size_s, size_d = int(source_head["ContentLength"]), int(dest_head["ContentLength"])
    md5_etags = not (opaque_etag(source_head) or opaque_etag(dest_head))
    verdict = content_verdict(source_head["ETag"], size_s, dest_head["ETag"], size_d, md5_etags)
    if verdict == "size":
        differences.append(Difference(key, "size", size_s, size_d))
    elif verdict == "etag":
        differences.append(Difference(key, "etag", source_head["ETag"], dest_head["ETag"]))
    elif verdict == "read":
        source_digest = _digest(sides.source_client, source_args, source_head["ETag"], sides.source_reads())
        dest_digest = _digest(sides.dest_client, dest_args, dest_head["ETag"], sides.dest_reads())
        if source_digest != dest_digest:
            differences.append(Difference(key, "bytes", f"sha256 {source_digest}", f"sha256 {dest_digest}"))
    differences += compare_heads(key, source_head, dest_head, sides.now())
    source_tags = sides.tag_counts.tags_of(sides.source_client, source_args, source_head, dest_head)
    dest_tags = sides.tag_counts.tags_of(sides.dest_client, dest_args, dest_head, source_head)
    if source_tags != dest_tags:
        differences.append(Difference(key, "tags", source_tags, dest_tags))
    report.add(differences)
    report.count("compared")


def verify(
    source_client,
    dest_client,
    source: Location,
    dest: Location,
    *,
    concurrency: int = 16,
    page_size: int = 1000,
    listing_ranges: int = 1,
    filters: Filters = Filters(),
    keys: CopyOptions = CopyOptions(),
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> VerifyReport:
    """Compare every key under `source` (that `filters` include) with its counterpart under `dest`; reads only.
    `listing_ranges`: key ranges listed at once, as `sync` lists them; `keys`: each side's SSE-C key."""
    report = VerifyReport(source=str(source), destination=str(dest))
    sides = _Sides(source_client, dest_client, source, dest, now, keys, TagCounts())

    def entries(pages: Iterator[Page], name: str) -> Iterator[ObjectEntry]:
        for page in pages:
            with report._lock:
                setattr(report, name, getattr(report, name) + len(page.entries))
                if name == "source_objects":
                    report.excluded += page.excluded
            yield from page.entries

    def read_one(key: str) -> None:
        try:
            compare_object(sides, key, report)
        except (ClientError, BotoCoreError) as exc:
            report.add_error(key, s3.describe(exc))
        except Exception as exc:  # one unreadable object must not hide the others' differences
            report.add_error(key, f"{type(exc).__name__}: {exc}")

    def compared_range(source_pages: Iterator[Page], dest_pages: Iterator[Page]):
        for src, dst in merge_join(entries(source_pages, "source_objects"), entries(dest_pages, "destination_objects")):
            if dst is None:
                yield [Difference(src.key, "missing")]
            elif src is None:
                yield [Difference(dst.key, "extra")]
            else:
                yield lambda key=src.key: read_one(key)

    planned = listed_in_ranges(
        source_client, source, dest_client, dest, page_size=page_size, parts=listing_ranges, filters=filters,
        per_range=compared_range, label=f"verify {source} -> {dest}",
    )
    broken = drive(planned, concurrency, lambda found: report.add(found or []), "bucketsync-verify")
    if broken is not None:
        raise broken
    return report


def run_verify(settings: Settings, source_url: str, dest_url: str, filters: Filters = Filters()) -> VerifyReport:
    """Parse, check both sides (as preflight does, lock-state readability included), then verify."""
    source_client, dest_client, source, dest = open_sides(settings, source_url, dest_url)
    return verify(
        source_client, dest_client, source, dest, concurrency=settings.concurrency, page_size=settings.page_size,
        listing_ranges=settings.listing_ranges, filters=filters, keys=sse_c_keys(settings),
    )


def sse_c_keys(settings: Settings) -> CopyOptions:
    """Each side's SSE-C key, as `sync` sends them (BUCKETSYNC_SOURCE__SSE_C_KEY, BUCKETSYNC_DEST__SSE_C_KEY)."""
    return CopyOptions(source_sse_c_key=settings.source.sse_c_key_bytes(), dest_sse_c_key=settings.dest.sse_c_key_bytes())


def open_sides(settings: Settings, source_url: str, dest_url: str) -> tuple[Any, Any, Location, Location]:
    """Both sides' clients and locations, checked as the preflight checks them (lock-state readability too)."""
    source, dest = parse_location(source_url), parse_location(dest_url)
    source_client = s3.make_client(settings.source, settings)
    dest_client = s3.make_client(settings.dest, settings)
    source_lock, dest_lock = check_buckets(source_client, dest_client, source, dest)
    # Lock state is read from HEAD on both sides: credentials that cannot read it would hide differences.
    if source_lock:
        check_lock_readable(source_client, "source", source)
    if dest_lock:
        check_lock_readable(dest_client, "destination", dest)
    return source_client, dest_client, source, dest
