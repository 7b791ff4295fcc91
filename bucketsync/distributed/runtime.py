"""What a worker process builds once and reuses: its settings, S3 clients and the ledger.

Workers read credentials from their own environment; nothing secret arrives in a message. Where and what a
run lists and writes (endpoints, regions, page and batch sizes) comes with the run (`run_settings`).
A process that loaded its settings itself (the `bucketsync worker` command) hands them over with
`use_settings`; one started by Celery's own command line (`celery -A bucketsync.tasks worker`) loads
them from the environment on first use.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache

from ..run.context import execution_context as build_execution_context
from ..run.context import make_clients
from ..engine.execution_context import ExecutionContext
from .ledger import Ledger, run_key
from ..core.messages import RunRequest
from ..engine.pacing import RunPacing
from ..engine.server_quirks import ServerQuirks
from ..core.settings import Settings, load_settings, with_carried
from ..core.write_checks import WriteChecks

_lock = threading.RLock()
_settings: Settings | None = None


def use_settings(settings: Settings) -> None:
    """This process's settings from now on (its clients and ledger are built from them)."""
    global _settings
    with _lock:
        _settings = settings
        _run_clients.cache_clear()


def worker_settings() -> Settings:
    global _settings
    with _lock:
        if _settings is None:
            _settings = load_settings()
        return _settings


def run_settings(request: RunRequest) -> Settings:
    """This process's settings for one run: its own, with what the run carries from its submitter
    (endpoints, regions, page and batch sizes: messages.RunRequest.run_settings)."""
    return with_carried(worker_settings(), request.run_settings)


@lru_cache(maxsize=4)
def _run_clients(
    run_id: str, requests_per_second: float | None, bandwidth: int | None, quirks: ServerQuirks, carried: str
) -> tuple:
    """S3 clients for one run: built for its endpoints and its destination's quirks; they keep its limits
    with the other workers and count its 503 SlowDown answers. `carried`: the run's settings, as JSON."""
    pacing = run_pacing(ledger(), run_id, requests_per_second, bandwidth)
    return make_clients(with_carried(worker_settings(), json.loads(carried)), quirks, pacing)


@lru_cache(maxsize=4)
def _run_write_checks(run_id: str) -> WriteChecks:
    """What this process has learnt in one run about the destination server: shared by its batches."""
    return WriteChecks()


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
    settings = run_settings(request)
    with _lock:
        clients = _run_clients(request.run_id, request.max_requests_per_second, request.max_bandwidth,
                               ServerQuirks.from_json(request.server_quirks),
                               json.dumps(request.run_settings, sort_keys=True))
        checks = _run_write_checks(request.run_id)
    return build_execution_context(settings, request, clients, checks)
