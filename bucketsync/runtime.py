"""What a worker process builds once and reuses: its settings, S3 clients and the ledger.

Workers read credentials and endpoints from their own environment; nothing secret arrives in a message.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from .context import RunRequest
from .execute import ExecutionContext
from .ledger import Ledger, run_key
from .locations import parse_location
from .pacing import RunPacing
from .s3 import make_client
from .settings import Settings, load_settings

_lock = threading.Lock()


@lru_cache(maxsize=1)
def worker_settings() -> Settings:
    return load_settings()


@lru_cache(maxsize=4)
def _run_clients(run_id: str, requests_per_second: float | None, bandwidth: int | None) -> tuple:
    """S3 clients for one run: they keep its limits with the other workers and count its 503 SlowDown."""
    settings = worker_settings()
    pacing = run_pacing(ledger(), run_id, requests_per_second, bandwidth)
    return make_client(settings.source, settings, pacing), make_client(settings.dest, settings, pacing)


def run_pacing(run_ledger: Ledger, run_id: str, requests_per_second: float | None, bandwidth: int | None) -> RunPacing:
    return RunPacing.shared(
        run_ledger.redis, run_key(run_id) + ":pace", run_ledger.ttl, requests_per_second, bandwidth,
        on_slowdown=lambda: run_ledger.add_slowdowns(run_id, 1),
    )


def redis_patience_seconds() -> float:
    """How long a task waits for a restarting or full Redis: most of its hard time limit."""
    limit = worker_settings().task_time_limit
    return max(1.0, limit - min(30, limit // 5))


def ledger() -> Ledger:
    settings = worker_settings()
    return _ledger(settings.broker_url, settings.report_ttl_seconds)


@lru_cache(maxsize=4)
def _ledger(url: str, ttl: int) -> Ledger:
    return Ledger.from_url(url, ttl)


def execution_context(request: RunRequest) -> ExecutionContext:
    settings = worker_settings()
    with _lock:
        source_client, dest_client = _run_clients(request.run_id, request.max_requests_per_second, request.max_bandwidth)
    return ExecutionContext(
        source_client=source_client,
        dest_client=dest_client,
        source=parse_location(request.source),
        dest=parse_location(request.destination),
        settings=settings,
        server_side=settings.source.same_account_as(settings.dest),
        source_lock_enabled=request.source_lock_enabled,
        dry_run=request.dry_run,
    )
