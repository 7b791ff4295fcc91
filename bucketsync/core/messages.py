"""The message contract: what bucketsync's Celery tasks carry, and how each value is written and read.

Every message is JSON (the only serializer the workers accept) and carries identifiers, URLs, flags,
keys, sizes and ETags: never credentials, SSE keys or a settings object. A run's non-secret settings that
decide where and what it lists and writes (endpoints, regions, page and batch sizes) travel in its
RunRequest, so workers act on what the submitter's preflight checked; a worker reads everything else
(credentials, SSE-C keys, its concurrency, timeouts and retries) from its own environment.

    task                          arguments                                   result
    bucketsync.coordinator_page   RunRequest, PageTask                        what it did (dict)
    bucketsync.copy_batch         RunRequest, page, batch, [planned action]   the batch's totals (outcomes.add_up)
    bucketsync.page_summary       [batch totals], RunRequest, page            the page's summary (chord callback)
    bucketsync.scheduled_run      ScheduledJob                                what the trigger did (dict)
    bucketsync.run_finalise       run id                                      the run's totals (dict)

    RunRequest       {run_id, source, destination, delete, dry_run, source_lock_enabled, job, filters,
                      storage_class, sse, sse_kms_key_id, all_versions, lock_check, listing_ranges,
                      run_settings: {source: {endpoint_url, region, addressing_style}, dest: {...}, page_size,
                      listing_ranges, batch_size, batch_max_bytes, multipart_threshold, multipart_chunksize,
                      lock_check}}
    PageTask         {page, token, start_after, claim_id, force_claim, range_id, last}
    ScheduledJob     {name, source, destination, delete, filters, all_versions, lock_check_every,
                      storage_class, sse, sse_kms_key_id}
    filters          [[kind, pattern]], kind "exclude" or "include", in the order given (the last match wins)
    planned action   {kind, key, source: entry|null, dest: entry|null, reason},
                     entry = {key, size, etag, storage_class?, last_modified?}
    history action   {kind: "history", key, check_locks, delete, to_write: [version], matched: [[version, version]],
                     rewritten: [version], kept: [version]}  (--all-versions: one key's whole plan)
    version          {key, version_id, last_modified, is_latest, is_delete_marker, etag, size}
    outcome          {key, status, version_id, bytes_copied, reason, notes: [str], unprotected_seconds}

Readers are tolerant: a field they do not know is ignored (and logged at debug level), a field they
miss takes its default. So during a rolling upgrade a newer submitter's messages still run on older
workers and the other way round; a new field must therefore have a default that keeps the old meaning.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, TypeVar

from .copy_options import CopyOptions
from .filters import Filters
from .model import ObjectEntry
from .outcomes import ObjectOutcome
from .plan import PlannedAction, PlanOptions

if TYPE_CHECKING:
    from .settings import Settings

log = logging.getLogger(__name__)

COORDINATOR_PAGE = "bucketsync.coordinator_page"
COPY_BATCH = "bucketsync.copy_batch"
PAGE_SUMMARY = "bucketsync.page_summary"
SCHEDULED_RUN = "bucketsync.scheduled_run"
RUN_FINALISE = "bucketsync.run_finalise"
WATCH_KEY = "bucketsync.watch_key"
TASK_NAMES = (COORDINATOR_PAGE, COPY_BATCH, PAGE_SUMMARY, SCHEDULED_RUN, RUN_FINALISE, WATCH_KEY)

T = TypeVar("T")


def known_fields(cls: type[T], data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `data` that dataclass `cls` has; the others are logged and dropped."""
    names = {item.name for item in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        log.debug("%s: ignoring unknown field(s) %s (sent by a newer version?)", cls.__name__, ", ".join(unknown))
    return {key: value for key, value in data.items() if key in names}


@dataclass(frozen=True)
class RunRequest:
    """What a run is asked to do."""

    run_id: str
    source: str  # s3://bucket/prefix
    destination: str
    delete: bool = False
    dry_run: bool = False
    source_lock_enabled: bool = False
    job: str | None = None  # the schedule's name, for scheduled runs
    server_quirks: dict[str, Any] = field(default_factory=dict)  # ServerQuirks.to_json(), decided before any copy
    max_requests_per_second: float | None = None  # pacing: for all the run's workers together, per endpoint
    max_bandwidth: int | None = None  # bytes per second through the machines (streamed path)
    filters: list[list[str]] = field(default_factory=list)  # Filters.to_json(): --exclude / --include in order
    storage_class: str | None = None  # --storage-class: every copy's class (None: each keeps its source's)
    sse: str | None = None  # --sse: AES256 or aws:kms for every copy
    sse_kms_key_id: str | None = None  # --sse-kms-key-id (a key id or ARN: not a secret). SSE-C keys never travel.
    all_versions: bool = False  # replicate every version and delete marker, not only current versions
    # Whether this run does the lock pass on unchanged objects: True means "as settings say"; a scheduled
    # job with `lock_check_every` sets False for the runs between two lock passes.
    lock_check: bool = True
    listing_ranges: int = 0  # key ranges listed at once, as the submitter's settings say (0: the worker's)
    # settings.carried_settings(): the submitter's endpoints, regions, addressing styles, page and batch
    # sizes, multipart sizes, as its preflight checked them; a worker uses these over its own ({}: its own).
    # Never a secret: keys, tokens, SSE-C keys and profiles stay in each process's environment.
    run_settings: dict[str, Any] = field(default_factory=dict)

    @property
    def key_filters(self) -> Filters:
        return Filters.from_json(self.filters)

    def copy_options(self, settings: "Settings") -> CopyOptions:
        """How this process writes and reads the copies: the request's choices, and the SSE-C keys of its
        own settings (each worker reads them from its environment)."""
        return CopyOptions(
            storage_class=self.storage_class, sse=self.sse, sse_kms_key_id=self.sse_kms_key_id,
            source_sse_c_key=settings.source.sse_c_key_bytes(), dest_sse_c_key=settings.dest.sse_c_key_bytes(),
        )

    @property
    def does_lock_pass(self) -> bool:
        """Unchanged objects get their lock state read (the source has Object Lock, and this run checks)."""
        return self.source_lock_enabled and self.lock_check

    def plan_options(self, settings: "Settings") -> PlanOptions:
        return PlanOptions(
            delete=self.delete, lock_check=self.does_lock_pass and settings.lock_check,
            etags_are_md5=self.copy_options(settings).etags_are_md5,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "RunRequest":
        return cls(**known_fields(cls, data))


@dataclass(frozen=True)
class PageTask:
    """Where the coordinator of one page starts."""

    page: int
    token: str | None  # the ListObjectsV2 continuation token of this page (None for page 0, or after a skip)
    # The previous page's last key, or the end of the excluded prefix it skipped: this page's slice of the
    # destination starts after it, and so does its source listing when there is no token.
    start_after: str | None
    claim_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    force_claim: bool = False  # set by `resume` when the page's coordinator message was lost
    # The key range this page belongs to (the ranges a run lists at once) and the range's last key (None: to
    # the end). The ledger numbers the pages; page 0 is the run's first and cuts the key space into ranges.
    range_id: int = 0
    last: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "PageTask":
        return cls(**known_fields(cls, data))

    def next(self, page: int, token: str | None, last_key: str | None) -> "PageTask":
        """The range's next page, `page` as the ledger numbered it."""
        return PageTask(page, token, last_key, range_id=self.range_id, last=self.last)


@dataclass(frozen=True)
class ScheduledJob:
    """What a trigger message carries: the job's name and its URLs."""

    name: str
    source: str
    destination: str
    delete: bool = False
    filters: list[list[str]] = field(default_factory=list)  # Filters.to_json()
    all_versions: bool = False
    lock_check_every: int | None = None  # seconds between two runs that do the lock pass (None: every run)
    storage_class: str | None = None  # as sync --storage-class
    sse: str | None = None  # as sync --sse (AES256 or aws:kms)
    sse_kms_key_id: str | None = None  # as sync --sse-kms-key-id (a key id or ARN: not a secret)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ScheduledJob":
        return cls(**known_fields(cls, data))


def entry_from_json(data: Mapping[str, Any]) -> ObjectEntry:
    return ObjectEntry.from_json(dict(data))


def action_to_json(action: PlannedAction) -> dict[str, Any]:
    return action.to_json()  # the planner writes it (batches_of); the contract above names its fields


def action_from_json(data: Mapping[str, Any]) -> PlannedAction:
    return PlannedAction(
        kind=data["kind"],
        key=data["key"],
        source=entry_from_json(data["source"]) if data.get("source") else None,
        dest=entry_from_json(data["dest"]) if data.get("dest") else None,
        reason=data.get("reason", ""),
    )


def outcome_to_json(outcome: ObjectOutcome) -> dict[str, Any]:
    return {**asdict(outcome), "notes": list(outcome.notes)}


def outcome_from_json(data: Mapping[str, Any]) -> ObjectOutcome:
    known = known_fields(ObjectOutcome, data)
    return ObjectOutcome(**{**known, "notes": tuple(known.get("notes", ()))})
