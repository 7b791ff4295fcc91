"""Turning settings and two S3 URLs into what a run needs: clients, preflight, an ExecutionContext."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from .execute import ExecutionContext
from .locations import Location, check_not_overlapping, parse_location
from .plan import PlanOptions
from .preflight import run_preflight
from .s3 import make_client
from .server_quirks import ServerQuirks, dest_client_for, detect_server_quirks
from .settings import Settings


@dataclass(frozen=True)
class RunRequest:
    """What a run is asked to do; JSON-safe, carried in task messages (no credentials here)."""

    run_id: str
    source: str  # s3://bucket/prefix
    destination: str
    delete: bool = False
    dry_run: bool = False
    source_lock_enabled: bool = False
    job: str | None = None  # the schedule's name, for scheduled runs
    server_quirks: dict = field(default_factory=dict)  # ServerQuirks.to_json(), decided before any copy

    def plan_options(self, settings: Settings) -> PlanOptions:
        return PlanOptions(delete=self.delete, lock_check=self.source_lock_enabled and settings.lock_check)

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict) -> "RunRequest":
        return cls(**data)


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def build_context(settings: Settings, request: RunRequest) -> ExecutionContext:
    source = parse_location(request.source)
    dest = parse_location(request.destination)
    return ExecutionContext(
        source_client=make_client(settings.source, settings),
        dest_client=dest_client_for(settings, ServerQuirks.from_json(request.server_quirks)),
        source=source,
        dest=dest,
        settings=settings,
        server_side=settings.source.same_account_as(settings.dest),
        source_lock_enabled=request.source_lock_enabled,
        dry_run=request.dry_run,
    )


def prepare_run(
    settings: Settings, source_url: str, dest_url: str, *, delete: bool = False, dry_run: bool = False, job: str | None = None
) -> tuple[RunRequest, ExecutionContext]:
    """Parse, check, and describe a run; raises UsageError / SettingsError / PreflightError."""
    source: Location = parse_location(source_url)
    dest: Location = parse_location(dest_url)
    check_not_overlapping(source, dest, same_endpoint=settings.source.endpoint_url == settings.dest.endpoint_url)
    request = RunRequest(run_id=new_run_id(), source=str(source), destination=str(dest), delete=delete, dry_run=dry_run, job=job)
    ctx = build_context(settings, request)
    checked = run_preflight(ctx.source_client, ctx.dest_client, source, dest)
    quirks = detect_server_quirks(ctx.dest_client, dest.bucket) if ctx.server_side else ServerQuirks()
    request = RunRequest(
        **{**request.to_json(), "source_lock_enabled": checked.source_lock_enabled, "server_quirks": quirks.to_json()}
    )
    ctx.source_lock_enabled = checked.source_lock_enabled
    if quirks != ServerQuirks():
        ctx.dest_client = dest_client_for(settings, quirks)  # before any copy: built for them, never patched
    return request, ctx
