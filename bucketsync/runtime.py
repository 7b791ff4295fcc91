"""What a worker process builds once and reuses: its settings, S3 clients and the ledger.

Workers read credentials and endpoints from their own environment; nothing secret arrives in a message.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from .context import RunRequest
from .execute import ExecutionContext
from .ledger import Ledger
from .locations import parse_location
from .s3 import make_client
from .server_quirks import ServerQuirks, dest_client_for
from .settings import Settings, load_settings

_lock = threading.Lock()


@lru_cache(maxsize=1)
def worker_settings() -> Settings:
    return load_settings()


@lru_cache(maxsize=2)
def _clients(quirks: ServerQuirks) -> tuple:
    """The worker's clients, built once per quirk set the runs it serves need (usually one)."""
    settings = worker_settings()
    return make_client(settings.source, settings), dest_client_for(settings, quirks)


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
        source_client, dest_client = _clients(ServerQuirks.from_json(request.server_quirks))
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
