"""Turning settings and two S3 URLs into what a run needs: clients, preflight, a RunRequest, an ExecutionContext.

`execution_context` is the one place an ExecutionContext is built: for the embedded run (from the
clients `prepare_run` made) and on the workers (from the clients `runtime` keeps per process).
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..core.copy_options import check_choices
from ..core.errors import UsageError
from ..engine.execution_context import ExecutionContext
from ..core.filters import Filters
from ..core.locations import check_not_overlapping, parse_location
from ..core.messages import RunRequest
from ..engine.pacing import RunPacing
from .preflight import fail_fast_until_reached, run_preflight
from ..engine.s3 import make_client
from ..engine.server_quirks import ServerQuirks, dest_client_for, detect_server_quirks
from ..core.settings import Settings, carried_settings
from ..core.write_checks import WriteChecks

__all__ = ["RunRequest", "execution_context", "make_clients", "new_run_id", "prepare_run"]


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def make_clients(
    settings: Settings, quirks: ServerQuirks = ServerQuirks(), pacing: RunPacing | None = None
) -> tuple[Any, Any]:
    """The S3 clients of both sides, (source, destination); the destination's built for its server's quirks.
    With `pacing`, both keep the run's limits and count its 503 SlowDown answers."""
    return make_client(settings.source, settings, pacing), dest_client_for(settings, quirks, pacing)


def uses_sse_c(settings: Settings) -> bool:
    """SSE-C objects are copied streamed (GET with the source's key, upload with the destination's), never
    server-side: Ceph RGW 16.2 answers CopyObject of an SSE-C source with NotImplemented and refuses the
    copy-source key on UploadPartCopy, while GET, PutObject and UploadPart with SSE-C work everywhere."""
    return settings.source.sse_c_key is not None or settings.dest.sse_c_key is not None


def execution_context(
    settings: Settings, request: RunRequest, clients: tuple[Any, Any], write_checks: WriteChecks | None = None
) -> ExecutionContext:
    """`write_checks`: what this process has learnt so far in this run (workers keep one per run); new if None."""
    source_client, dest_client = clients
    return ExecutionContext(
        source_client=source_client,
        dest_client=dest_client,
        source=parse_location(request.source),
        dest=parse_location(request.destination),
        settings=settings,
        server_side=settings.source.same_account_as(settings.dest) and not uses_sse_c(settings),
        source_lock_enabled=request.source_lock_enabled,
        dry_run=request.dry_run,
        copy_options=request.copy_options(settings),
        write_checks=write_checks or WriteChecks(),
    )


def prepare_run(
    settings: Settings, source_url: str, dest_url: str, *, delete: bool = False, dry_run: bool = False,
    job: str | None = None, run_id: str | None = None, pacing: RunPacing | None = None, filters: Filters = Filters(),
    storage_class: str | None = None, sse: str | None = None, sse_kms_key_id: str | None = None,
    all_versions: bool = False, lock_check: bool = True,
) -> tuple[RunRequest, ExecutionContext]:
    """Parse and check a run, then describe it; raises UsageError / SettingsError / PreflightError.

    The preflight runs before the request is built, so the request states what the preflight found
    (whether the source has Object Lock) from the start. `pacing` (the run's limits and SlowDown count in
    this process) applies to the clients.
    """
    try:
        check_choices(storage_class, sse, sse_kms_key_id, dest_sse_c=settings.dest.sse_c_key is not None)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    source, dest = parse_location(source_url), parse_location(dest_url)
    check_not_overlapping(source, dest, same_endpoint=settings.source.endpoint_url == settings.dest.endpoint_url)
    clients = make_clients(settings, pacing=pacing)
    server_side = settings.source.same_account_as(settings.dest)
    for client in clients:  # before the quirk probe's first request too: a dead endpoint fails at once
        fail_fast_until_reached(client)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bucketsync-quirks") as probe:
        # The quirk probe writes nothing: it goes out beside the preflight, whose errors come first.
        probing = probe.submit(detect_server_quirks, clients[1], dest.bucket) if server_side else None
        checked = run_preflight(clients[0], clients[1], source, dest, all_versions=all_versions)
        quirks = probing.result() if probing else ServerQuirks()
    if quirks != ServerQuirks():
        clients = make_clients(settings, quirks, pacing)  # before any copy: built for them, never patched
    request = RunRequest(
        run_id=run_id or new_run_id(), source=str(source), destination=str(dest), delete=delete, dry_run=dry_run,
        source_lock_enabled=checked.source_lock_enabled, job=job, server_quirks=quirks.to_json(),
        max_requests_per_second=settings.max_requests_per_second, max_bandwidth=settings.max_bandwidth,
        filters=filters.to_json(), storage_class=storage_class, sse=sse, sse_kms_key_id=sse_kms_key_id,
        all_versions=all_versions, lock_check=lock_check and settings.lock_check,
        listing_ranges=settings.listing_ranges,
        run_settings=carried_settings(settings, (clients[0].meta.region_name, clients[1].meta.region_name)),
    )
    return request, execution_context(settings, request, clients)
