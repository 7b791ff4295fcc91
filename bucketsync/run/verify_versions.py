"""`bucketsync verify --all-versions`: compare whole version histories without writing anything.

Both sides' version listings are read as whole per-key histories and matched by the rule `sync
--all-versions` uses (history.plan_history: order, ETag and size). A replica matches its source when, for
every key, the destination's history ends with the source's (a source entry the matching cannot place is
a `missing version` or `missing delete marker` difference), and every matched version pair has the same
headers, user metadata, tags and lock state (the rules of `verify`, version by version: HEAD and
GetObjectTagging with VersionId on both sides). Destination versions no source entry matches (deleted for
good at the source, or left beneath a history written again) are counted, never a difference.
As for `verify`: keys --exclude/--include leave out are compared on neither side, HEADs carry each side's
SSE-C key, and the reads run on the one-process run's bounded pool (embedded.drive).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..engine import s3
from ..core.copy_options import CopyOptions
from .embedded import drive
from ..core.filters import Filters
from ..core.history import HistoryEntry, KeyHistory, plan_history
from ..listing.pages import prefetched
from ..core.locations import Location
from ..core.plan import merge_join
from ..core.settings import Settings
from .verify import Difference, TagCounts, VerifyReport, compare_heads, open_sides, sse_c_keys
from ..listing.versions import iter_histories, iter_version_pages
from ..core.version_plan import filter_histories


def missing_entries(key: str, source: KeyHistory | None, dest: KeyHistory | None) -> tuple[list[Difference], list[tuple[HistoryEntry, HistoryEntry]]]:
    """The entries the destination's history lacks, as differences, and the matched (source, dest) pairs."""
    plan = plan_history(source.entries if source else (), dest.entries if dest else ())
    differences = [
        Difference(key, "missing delete marker" if entry.is_delete_marker else "missing version", entry.version_id, None)
        for entry in plan.to_write
    ]
    return differences, ([] if plan.to_write else list(plan.matched))


def compare_version(sides: tuple[Any, Any, Location, Location], key: str, pair: tuple[HistoryEntry, HistoryEntry],
                    now: datetime, keys: CopyOptions = CopyOptions(), tag_counts: TagCounts | None = None) -> list[Difference]:
    source_client, dest_client, source, dest = sides
    src, dst = pair
    source_args = {"Bucket": source.bucket, "Key": source.absolute_key(key), "VersionId": src.version_id}
    dest_args = {"Bucket": dest.bucket, "Key": dest.absolute_key(key), "VersionId": dst.version_id}
    source_head = source_client.head_object(**source_args, **keys.source_reads())
    dest_head = dest_client.head_object(**dest_args, **keys.dest_reads())
    differences = compare_heads(key, source_head, dest_head, now)
    counts = tag_counts or TagCounts()
    source_tags = counts.tags_of(source_client, source_args, source_head, dest_head)
    dest_tags = counts.tags_of(dest_client, dest_args, dest_head, source_head)
    if source_tags != dest_tags:
        differences.append(Difference(key, "tags", source_tags, dest_tags))
    return [Difference(d.key, f"{d.what} of version {src.version_id}", d.source, d.destination) for d in differences]


def verify_versions(
    source_client, dest_client, source: Location, dest: Location, *, concurrency: int = 16, page_size: int = 1000,
    filters: Filters = Filters(), keys: CopyOptions = CopyOptions(),
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> VerifyReport:
    report = VerifyReport(source=str(source), destination=str(dest))
    sides = (source_client, dest_client, source, dest)
    tag_counts = TagCounts()

    def counted(histories: Iterator[KeyHistory], name: str) -> Iterator[KeyHistory]:
        for history in histories:
            taking_part = filter_histories((history,), filters)
            with report._lock:
                setattr(report, name, getattr(report, name) + taking_part.listed)
                if name == "source_objects":
                    report.excluded += taking_part.excluded
            yield from taking_part.included

    def read_one(key: str, pair: tuple[HistoryEntry, HistoryEntry]) -> None:
        try:
            report.add(compare_version(sides, key, pair, now(), keys, tag_counts))
            report.count("compared")
        except ClientError as exc:
            if s3.is_vanished(exc):
                report.count("vanished")
            else:
                report.add_error(key, f"version {pair[0].version_id}: {s3.describe(exc)}")
        except (BotoCoreError, Exception) as exc:  # one unreadable version must not hide the others' differences
            report.add_error(key, f"version {pair[0].version_id}: {type(exc).__name__}: {exc}")

    def planned():
        source_pages = prefetched(iter_version_pages(source_client, source, page_size=page_size))
        dest_pages = prefetched(iter_version_pages(dest_client, dest, page_size=page_size))
        source_histories = counted(iter_histories(source_pages), "source_objects")
        dest_histories = counted(iter_histories(dest_pages), "destination_objects")
        for src, dst in merge_join(source_histories, dest_histories):  # type: ignore[arg-type]
            key = src.key if src is not None else dst.key
            differences, pairs = missing_entries(key, src, dst)
            yield differences
            for pair in pairs:
                if not pair[0].is_delete_marker:
                    yield lambda key=key, pair=pair: read_one(key, pair)

    broken = drive(planned(), concurrency, lambda found: report.add(found or []), "bucketsync-verify")
    if broken is not None:
        raise broken
    return report


def run_verify_versions(settings: Settings, source_url: str, dest_url: str, filters: Filters = Filters()) -> VerifyReport:
    source_client, dest_client, source, dest = open_sides(settings, source_url, dest_url)
    return verify_versions(
        source_client, dest_client, source, dest, concurrency=settings.concurrency, page_size=settings.page_size,
        filters=filters, keys=sse_c_keys(settings),
    )
