"""Turning settings and two S3 URLs into what a run needs: clients, preflight, an ExecutionContext."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .execute import ExecutionContext
from .locations import Location, check_not_overlapping, parse_location
from .pacing import RunPacing
from .plan import PlanOptions
from .preflight import run_preflight
from .s3 import make_client
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
    max_requests_per_second: float | None = None  # pacing: for all the run's workers together
    max_bandwidth: int | None = None  # bytes per second

    def plan_options(self, settings: Settings) -> PlanOptions:
        return PlanOptions(delete=self.delete, lock_check=self.source_lock_enabled and settings.lock_check)

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict) -> "RunRequest":
        return cls(**data)


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def build_context(settings: Settings, request: RunRequest, pacing: RunPacing | None = None) -> ExecutionContext:
    source = parse_location(request.source)
    dest = parse_location(request.destination)
    return ExecutionContext(
        source_client=make_client(settings.source, settings, pacing),
        dest_client=make_client(settings.dest, settings, pacing),
        source=source,
        dest=dest,
        settings=settings,
        server_side=settings.source.same_account_as(settings.dest),
        source_lock_enabled=request.source_lock_enabled,
        dry_run=request.dry_run,
    )


def prepare_run(
    settings: Settings, source_url: str, dest_url: str, *, delete: bool = False, dry_run: bool = False, job: str | None = None,
    pacing: RunPacing | None = None,
) -> tuple[RunRequest, ExecutionContext]:
    """Parse, check, and describe a run; raises UsageError / SettingsError / PreflightError.

    `pacing` (the run's limits and SlowDown count in this process) applies to the context's clients.
    """
    source: Location = parse_location(source_url)
    dest: Location = parse_location(dest_url)
    check_not_overlapping(source, dest, same_endpoint=settings.source.endpoint_url == settings.dest.endpoint_url)
    request = RunRequest(
        run_id=new_run_id(), source=str(source), destination=str(dest), delete=delete, dry_run=dry_run, job=job,
        max_requests_per_second=settings.max_requests_per_second, max_bandwidth=settings.max_bandwidth,
    )
    ctx = build_context(settings, request, pacing)
    checked = run_preflight(ctx.source_client, ctx.dest_client, source, dest)
    ctx.source_lock_enabled = checked.source_lock_enabled
    request = RunRequest(**{**request.to_json(), "source_lock_enabled": checked.source_lock_enabled})
    return request, ctx
