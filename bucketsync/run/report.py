"""RunSummary -> the terminal's short summary, the JSON report file, and progress lines."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from ..core.errors import OutputPathRefused, ReportNotWritten
from ..core.outcomes import RunSummary

SHOWN_PER_LIST = 10


def check_output_path(option: str, path: Path) -> None:
    """Before anything is listed or copied: `path` can be written the way it will be (a temporary file in
    its directory, renamed over it). A missing directory is an error, never created: a mistyped
    node_exporter textfile directory would otherwise collect files nobody reads."""
    path = Path(path)
    parent = path.parent
    if path.is_dir():
        raise OutputPathRefused(f"{option} {path}: is a directory")
    if not parent.exists():
        raise OutputPathRefused(f"{option} {path}: directory {parent} does not exist")
    if not parent.is_dir():
        raise OutputPathRefused(f"{option} {path}: {parent} is not a directory")
    try:
        with tempfile.NamedTemporaryFile("w", dir=parent, prefix=".bucketsync-", suffix=".tmp"):
            pass  # removed on leaving
    except OSError as exc:
        raise OutputPathRefused(f"{option} {path}: cannot write in {parent}: {exc.strerror or exc}") from None


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count} B"


def progress_line(summary: RunSummary) -> str:
    return (
        f"listed {summary.listed}  copied {summary.copied} ({human_bytes(summary.bytes_copied)})  "
        f"skipped {summary.skipped}  lock-updated {summary.lock_updated}  deleted {summary.deleted}  "
        f"failed {summary.failed}"
        + (f"  (+{summary.handled_in_open_batches} handled, not counted yet)" if summary.handled_in_open_batches else "")
    )


def accounted(summary: RunSummary) -> int:
    """Listed items that have an outcome: each listed source object (or version, or delete marker) ends
    as exactly one of these. `excluded` and `deleted` are counted apart from `listed`."""
    return (summary.copied + summary.delete_markers_copied + summary.skipped + summary.lock_updated
            + summary.failed + summary.vanished)


def render_text(summary: RunSummary) -> str:
    prefix = "would be " if summary.dry_run else ""
    duration = summary.duration_seconds()
    rows = [
        ("listed", str(summary.listed)),
        (f"{prefix}copied", f"{summary.copied} ({human_bytes(summary.bytes_copied)})"),
        ("skipped", f"{summary.skipped} (unchanged)"),
        (f"{prefix}lock-updated", str(summary.lock_updated)),
        (f"{prefix}deleted", str(summary.deleted)),
        ("failed", str(summary.failed)),
    ]
    # --all-versions: delete markers are listed and written like versions; the destination's own versions
    # are not listed source items, but they are what the run found and left in place.
    if summary.delete_markers_copied:
        rows.insert(2, (f"{prefix}delete markers copied", str(summary.delete_markers_copied)))
    if summary.versions_rewritten:
        rows.append(("versions rewritten", f"{summary.versions_rewritten} (destination versions left beneath a "
                                           "history written again; see --report-json)"))
    if summary.versions_kept:
        rows.append(("versions kept", f"{summary.versions_kept} (destination versions no source version matches)"))
    not_done = summary.listed - accounted(summary)
    if not_done > 0:
        why = "still running" if summary.state in ("running", "stalled") else "never started"
        if summary.handled_in_open_batches:
            why += f"; {summary.handled_in_open_batches} of them handled in batches not counted yet"
        rows.append(("not done", f"{not_done} ({why})"))
    width = max(len(label) for label, _ in rows) + 2
    lines = [
        f"run {summary.run_id} ({summary.mode}{', dry run' if summary.dry_run else ''}): "
        f"{summary.source} -> {summary.destination}"
    ] + [f"  {label:<{width}}{value}" for label, value in rows]
    if summary.error:
        lines.append(f"  RUN FAILED: {summary.error}")
    if summary.state == "running":
        lines.append(f"  (still running; last progress {summary.progress_at})" if summary.progress_at else "  (still running)")
    if summary.state == "skipped":  # a scheduled trigger while the job's previous run was going
        lines.append("  SKIPPED: not started, the previous run of its job was still running")
    if summary.state == "stalled":
        since = f" since {summary.progress_at}" if summary.progress_at else " for a while"
        lines.append(f"  RUN STALLED: no progress{since}; workers publish its missing batches again by themselves, "
                     f"or `bucketsync resume {summary.run_id}` does at once")
    if summary.duplicate_deliveries:
        lines.append(f"  duplicate deliveries dropped unwritten: {summary.duplicate_deliveries}")
    if summary.excluded:
        lines.append(f"  excluded      {summary.excluded} (by --exclude / --include)")
    if summary.vanished:
        lines.append(f"  vanished      {summary.vanished} (deleted at the source during the run)")
    if summary.retention_expired:
        lines.append(f"  expired retention not applied: {summary.retention_expired}")
    if summary.lock_set_after_write:
        lines.append(
            f"  lock set after the write (server ignored lock arguments): {summary.lock_set_after_write}, "
            f"longest unprotected {summary.max_unprotected_seconds:.3f} s"
        )
    if summary.tags_set_after_write:
        lines.append(f"  tags set after the write (server ignored them): {summary.tags_set_after_write}")
    if summary.metadata_set_after_write:
        lines.append(
            f"  metadata or headers rewritten after the write (server ignored them): {summary.metadata_set_after_write}"
        )
    if summary.changed_since_listing:
        lines.append(f"  changed at the source during the run (newer version copied): {summary.changed_since_listing}")
    if summary.slowdowns:
        lines.append(f"  503 SlowDown answers (retried): {summary.slowdowns}")
    if duration is not None:
        lines.append(f"  took {duration:.1f} s")
    for title, items in (("failures", summary.failures), ("lock requests refused", summary.lock_refusals)):
        if items:
            lines.append(f"  {title}:")
            for item in items[:SHOWN_PER_LIST]:
                lines.append(f"    {item['key']!r}: {item['reason']}")
            if len(items) > SHOWN_PER_LIST:
                lines.append(f"    … and {len(items) - SHOWN_PER_LIST} more (see --report-json)")
    return "\n".join(lines)


def write_json(summary: RunSummary, path: Path) -> None:
    """Atomically: a reader never sees half a report, and a failed write leaves no temporary file behind.

    Raises ReportNotWritten with the reason (disk full, no permission, a directory in the way).
    """
    path = Path(path)
    temporary: str | None = None
    try:
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as handle:
            temporary = handle.name
            json.dump(summary.to_json(), handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException as exc:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        if isinstance(exc, OSError):
            raise ReportNotWritten(f"cannot write the report to {path}: {exc.strerror or exc}") from None
        raise
