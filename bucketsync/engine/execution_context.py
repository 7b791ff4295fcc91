"""What one process needs to execute the actions of one run, and what one action has learnt so far."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..core.copy_options import CopyOptions
from ..core.locations import Location
from ..core.settings import Settings
from ..core.write_checks import CopyKeepsEtag, WriteChecks
from .pacing import InFlightLimit


@dataclass
class ExecutionContext:
    """Everything one process needs to execute actions of one run. Never serialised."""

    source_client: Any
    dest_client: Any  # built with the destination server's quirks (server_quirks.py), never changed after
    source: Location
    dest: Location
    settings: Settings
    server_side: bool  # one set of credentials on one endpoint: copy without moving bytes through us
    source_lock_enabled: bool
    dry_run: bool = False
    copy_options: CopyOptions = field(default_factory=CopyOptions)  # storage class, encryption, SSE-C keys
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    # What the destination server honours per write path, learnt from this run's writes in this process.
    write_checks: WriteChecks = field(default_factory=WriteChecks)
    copy_keeps_etag: CopyKeepsEtag = field(default_factory=CopyKeepsEtag)
    # Object operations at once in a run of this process, backing off on 503 SlowDown (pacing.InFlightLimit);
    # None: `settings.concurrency`, fixed.
    in_flight: InFlightLimit | None = None


@dataclass
class ActionTrace:
    """What an action has learnt so far, so that a failure still names the source version it concerned."""

    source_version_id: str | None = None
    source_storage_class: str | None = None  # as listed: names an archive class when the copy is refused
