"""`bucketsync watch` in this process: preflight, the journal, the receivers, the watcher, its metrics.

Replicates each change the source announces until stopped (SIGTERM or Ctrl-C): the receivers stop taking
in first, then the work in flight finishes; what was taken in and not yet done stays in the journal and
is worked on at the next start.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from .change_journal import ChangeJournal
from .context import RunRequest
from ..core.errors import UsageError
from .event_receivers import AmqpReceiver, HttpReceiver, SqsReceiver, parse_amqp_url, parse_listen_address
from ..core.events import Change
from ..engine.execution_context import ExecutionContext
from ..core.events import LAG_BUCKETS
from ..core.outcomes import ObjectOutcome
from .replicate_key import relative_key, replicate
from ..engine.s3 import make_sqs_client
from ..core.settings import Settings
from .watch import RESULTS, Watcher

log = logging.getLogger(__name__)



@dataclass
class WatchMetrics:
    """The watch's series, in a registry of its own (served on --metrics-port, loopback only)."""

    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry(auto_describe=True))

    def __post_init__(self) -> None:
        self.lag = Histogram("bucketsync_replication_lag_seconds",
                             "Seconds from a change's event time to its replica written and checked.",
                             buckets=LAG_BUCKETS, registry=self.registry)
        self.events = Counter("bucketsync_events_total", "Announced changes by what became of them.", ["result"],
                              registry=self.registry)
        self.pending = Gauge("bucketsync_events_pending", "Changes taken in and not yet replicated.",
                             registry=self.registry)
        for result in RESULTS:
            self.events.labels(result=result)

    def observe(self, result: str, lag: float | None) -> None:
        self.events.labels(result=result).inc()
        if lag is not None and result != "duplicate":
            self.lag.observe(lag)


def default_journal(request: RunRequest) -> Path:
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "bucketsync" / f"{watch_name(request)}.sqlite"


def check_event_sources(settings: Settings) -> None:
    """At least one source of notifications, each well-formed: refused before anything starts."""
    events = settings.events
    if not (events.http or events.amqp_url or events.sqs_queue_url):
        raise UsageError("watch needs notifications to take: --events-http [HOST:]PORT, --events-amqp URL or "
                         "--events-sqs QUEUE_URL (or BUCKETSYNC_EVENTS__HTTP / __AMQP_URL / __SQS_QUEUE_URL)")
    try:
        if events.http:
            parse_listen_address(events.http)
        if events.amqp_url:
            parse_amqp_url(events.amqp_url.get_secret_value())
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def replicate_change(ctx: ExecutionContext, request: RunRequest, change: Change) -> ObjectOutcome:
    key = relative_key(change, ctx.source)
    if key is None or not request.key_filters.includes(key):
        return ObjectOutcome(change.key, "skipped", reason="outside the watched source or left out by a filter")
    return replicate(ctx, request, key)


def make_receivers(settings: Settings, take_in) -> list[Any]:
    """The receivers the settings name, each handing what it gets to `take_in` before it answers."""
    events = settings.events
    receivers: list[Any] = []
    if events.http:
        receivers.append(HttpReceiver(parse_listen_address(events.http), take_in))
    if events.amqp_url:
        receivers.append(AmqpReceiver(events.amqp_url.get_secret_value(), take_in, events.amqp_queue))
    if events.sqs_queue_url:
        receivers.append(SqsReceiver(make_sqs_client(settings.source, settings, events.sqs_queue_url),
                                     events.sqs_queue_url, take_in))
    return receivers


def http_address(receivers: list[Any]) -> tuple[str, int] | None:
    for receiver in receivers:
        if isinstance(receiver, HttpReceiver):
            return receiver.address
    return None


def watch_name(request: RunRequest) -> str:
    """A stable name for one source -> destination watch: its Redis counts and its journal's file name."""
    return request.job or "watch-" + hashlib.sha256(f"{request.source}\n{request.destination}".encode()).hexdigest()[:12]


class WatchService:
    """Everything one `watch` process runs in this process; `start`, then `stop` (from a signal or a test)."""

    def __init__(self, settings: Settings, request: RunRequest, ctx: ExecutionContext, journal: Path) -> None:
        self.settings, self.request, self.ctx = settings, request, ctx
        self.metrics = WatchMetrics()
        self.journal = ChangeJournal(journal)
        self.watcher = Watcher(lambda change: replicate_change(ctx, request, change), self.journal,
                               concurrency=settings.concurrency, observe=self._observe)
        self.receivers: list[Any] = []
        self._metrics_server = None
        self.stopped = threading.Event()

    def _observe(self, result: str, lag: float | None) -> None:
        self.metrics.observe(result, lag)
        self.metrics.pending.set(self.watcher.pending)

    def start(self) -> None:
        events = self.settings.events
        if events.metrics_port:
            self._metrics_server, _ = start_http_server(events.metrics_port, addr="127.0.0.1",
                                                        registry=self.metrics.registry)
        resumed = self.watcher.resume_unfinished()
        if resumed:
            log.info("watch: %d changes taken in before the last stop are worked on first", resumed)
        self.watcher.start()
        self.receivers = make_receivers(self.settings, self.watcher.take_in)
        for receiver in self.receivers:
            receiver.start()

    @property
    def http_address(self) -> tuple[str, int] | None:
        return http_address(self.receivers)

    def stop(self, timeout: float = 60.0) -> None:
        for receiver in self.receivers:
            receiver.stop()
        self.watcher.stop(timeout)
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        self.journal.close()
        self.stopped.set()
