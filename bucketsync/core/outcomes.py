"""What happened: one ObjectOutcome per object, added up into a RunSummary. JSON-safe values only.

Adding up has one function per purpose: `add_up` turns outcomes into totals (used by the embedded
run's RunTally, the copy_batch task's result and the ledger's counting script), `combine` merges the
totals of several batches (the page summary), `listing_entry` says which report list an outcome joins.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from .lockrules import REFUSALS, SOURCE_RETENTION_EXPIRED

Status = Literal[
    "copied", "skipped", "lock_updated", "deleted", "failed", "vanished",
    # --all-versions only: a source delete marker written; a destination version no source version
    # matches (left in place); a destination version a rewritten history leaves beneath the source's
    "delete_marker_copied", "version_kept", "version_rewritten",
]

# Notes an outcome can carry besides the lock-rule notes.
CHANGED_SINCE_LISTING = "changed_since_listing"  # the source was overwritten after listing; its newer version was copied
LOCK_SET_AFTER_WRITE = "lock_set_after_write"  # the server ignored lock arguments on the write; set right after
TAGS_SET_AFTER_WRITE = "tags_set_after_write"  # the server ignored the tags asked on the write; set right after
METADATA_SET_AFTER_WRITE = "metadata_set_after_write"  # ... user metadata or content headers: rewritten right after


def with_note(notes: tuple[str, ...], note: str) -> tuple[str, ...]:
    """`notes` with `note` added once."""
    return notes if note in notes else notes + (note,)


@dataclass(frozen=True)
class ObjectOutcome:
    key: str  # relative to the source and destination prefixes
    status: Status
    version_id: str | None = None  # the source version that was copied or checked
    bytes_copied: int = 0
    reason: str | None = None  # why it failed or vanished
    notes: tuple[str, ...] = ()
    unprotected_seconds: float = 0.0  # between the write and the lock being set, where the server ignored lock args


COUNTERS = (
    "listed",
    "excluded",
    "copied",
    "skipped",
    "lock_updated",
    "deleted",
    "failed",
    "vanished",
    "bytes_copied",
    "retention_expired",
    "lock_set_after_write",
    "changed_since_listing",
    "delete_markers_copied",
    "versions_kept",
    "versions_rewritten",
    "tags_set_after_write",
    "metadata_set_after_write",
)

# The counter of a status where it is not named like the status itself.
STATUS_COUNTERS = {
    "delete_marker_copied": "delete_markers_copied",
    "version_kept": "versions_kept",
    "version_rewritten": "versions_rewritten",
}


def counts_of(outcome: ObjectOutcome) -> dict[str, int]:
    """The counter increments one outcome contributes (everything but `listed`)."""
    counts = {STATUS_COUNTERS.get(outcome.status, outcome.status): 1, "bytes_copied": outcome.bytes_copied}
    if SOURCE_RETENTION_EXPIRED in outcome.notes:
        counts["retention_expired"] = 1
    if LOCK_SET_AFTER_WRITE in outcome.notes:
        counts["lock_set_after_write"] = 1
    if CHANGED_SINCE_LISTING in outcome.notes:
        counts["changed_since_listing"] = 1
    for note in (TAGS_SET_AFTER_WRITE, METADATA_SET_AFTER_WRITE):
        if note in outcome.notes:
            counts[note] = 1
    return counts


# Totals that keep the largest value instead of adding up.
MAXIMA = ("max_unprotected_seconds",)


def add_up(outcomes: Iterable[ObjectOutcome]) -> dict[str, Any]:
    """The counter increments of a group of outcomes, and its largest unprotected window (only if any)."""
    totals: dict[str, Any] = {}
    for outcome in outcomes:
        for counter, increment in counts_of(outcome).items():
            totals[counter] = totals.get(counter, 0) + increment
        if outcome.unprotected_seconds > totals.get("max_unprotected_seconds", 0.0):
            totals["max_unprotected_seconds"] = outcome.unprotected_seconds
    return totals


def combine(groups: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Several groups' totals as one: counters added, maxima kept."""
    combined: dict[str, Any] = {}
    for totals in groups:
        for name, value in totals.items():
            if name in MAXIMA:
                combined[name] = max(combined.get(name, 0.0), value)
            else:
                combined[name] = combined.get(name, 0) + value
    return combined


def listing_entry(outcome: ObjectOutcome) -> tuple[str, dict[str, Any]] | None:
    """Which per-object list of the report (failures, vanished, lock refusals) the outcome belongs in."""
    if outcome.status == "failed":
        return "failures", {"key": outcome.key, "version_id": outcome.version_id, "reason": outcome.reason}
    if outcome.status == "vanished":
        return "vanished_keys", {"key": outcome.key, "version_id": outcome.version_id, "reason": outcome.reason}
    if outcome.status == "version_rewritten":
        return "rewritten_versions", {"key": outcome.key, "version_id": outcome.version_id, "reason": outcome.reason}
    refusals = [note for note in outcome.notes if note in REFUSALS]
    if refusals:
        return "lock_refusals", {"key": outcome.key, "version_id": outcome.version_id, "reason": ", ".join(refusals)}
    return None


@dataclass
class RunSummary:
    run_id: str
    source: str
    destination: str
    mode: str  # "embedded" or "distributed"
    dry_run: bool
    started_at: str
    finished_at: str | None = None
    state: str = "running"  # running, stalled (no progress for a while), finished, failed (see error)
    error: str | None = None
    job: str | None = None  # the schedule that started it, if any
    lock_check: bool = False  # unchanged objects got their lock state read (lock-enabled source, not skipped)
    listed: int = 0
    excluded: int = 0  # source keys listed and left out by --exclude / --include (not those of a skipped prefix);
    # with --all-versions, the versions and delete markers of those keys
    copied: int = 0
    skipped: int = 0
    lock_updated: int = 0
    deleted: int = 0
    failed: int = 0
    vanished: int = 0
    bytes_copied: int = 0
    retention_expired: int = 0
    lock_set_after_write: int = 0
    changed_since_listing: int = 0
    delete_markers_copied: int = 0  # --all-versions: source delete markers written at the destination
    versions_kept: int = 0  # --all-versions: destination versions no source version matches, left in place
    versions_rewritten: int = 0  # --all-versions: destination versions left beneath a history written again
    tags_set_after_write: int = 0  # copies whose server ignored the tags asked on the write: set right after
    metadata_set_after_write: int = 0  # ... the user metadata or content headers: the copy was rewritten with them
    max_unprotected_seconds: float = 0.0
    slowdowns: int = 0  # 503 SlowDown answers met (botocore retried them)
    # distributed, while running: objects handled in batches not counted yet (the counters above move one
    # batch at a time; this shows the objects in between)
    handled_in_open_batches: int = 0
    duplicate_deliveries: int = 0  # distributed: batch messages dropped unwritten (counted, run ended, or running)
    progress_at: str | None = None  # distributed: when the run last moved (ISO; a stalled run: since then)
    failures: list[dict[str, Any]] = field(default_factory=list)
    vanished_keys: list[dict[str, Any]] = field(default_factory=list)
    lock_refusals: list[dict[str, Any]] = field(default_factory=list)
    rewritten_versions: list[dict[str, Any]] = field(default_factory=list)  # destination key and version id

    def exit_code(self) -> int:
        if self.state in ("failed", "stalled"):
            return 2
        return 1 if self.failed else 0

    def duration_seconds(self) -> float | None:
        if not self.finished_at:
            return None
        return (datetime.fromisoformat(self.finished_at) - datetime.fromisoformat(self.started_at)).total_seconds()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["duration_seconds"] = self.duration_seconds()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunSummary":
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in data.items() if key in known})


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class RunTally:
    """Thread-safe accumulation of outcomes into a RunSummary (the embedded run's ledger)."""

    def __init__(self, summary: RunSummary) -> None:
        self.summary = summary
        self._lock = threading.Lock()

    def add_listed(self, count: int, excluded: int = 0) -> None:
        with self._lock:
            self.summary.listed += count
            self.summary.excluded += excluded

    def add(self, outcome: ObjectOutcome) -> None:
        with self._lock:
            for name, value in add_up([outcome]).items():
                current = getattr(self.summary, name)
                setattr(self.summary, name, max(current, value) if name in MAXIMA else current + value)
            entry = listing_entry(outcome)
            if entry is not None:
                name, item = entry
                getattr(self.summary, name).append(item)

    def finish(self, state: str = "finished", error: str | None = None) -> RunSummary:
        with self._lock:
            self.summary.finished_at = utc_now_iso()
            self.summary.state = state
            self.summary.error = error
            return self.summary
