"""`watch` with a broker: the changes the receivers take in become `watch_key` messages for the workers.

A change counts as taken in once its message is published (Redis holds it; compose runs Redis with an
append-only file), so the receivers answer their server (or acknowledge their queue) only after that.
The workers replicate (watch_keys.py); the counts live in Redis, where `bucketsync exporter` reads them.
"""

from __future__ import annotations

import logging
from typing import Any

import redis

from .celery_app import app, configure
from ..core.errors import BrokerUnreachable
from ..core.events import Change
from .ledger import Ledger
from ..core.messages import RunRequest
from .publish import publish_watch_changes
from ..core.settings import Settings
from .watch_counts import count_published
from ..run.watch_run import http_address, make_receivers, watch_name

log = logging.getLogger(__name__)


class DistributedWatch:
    def __init__(self, settings: Settings, request: RunRequest) -> None:
        self.settings, self.request = settings, request
        self.watch = watch_name(request)
        configure(app, settings)
        self.redis = Ledger.from_url(settings.broker_url, settings.report_ttl_seconds).redis
        try:
            self.redis.ping()
        except redis.RedisError as exc:
            raise BrokerUnreachable(f"cannot reach the broker's Redis: {exc}") from None
        self.receivers: list[Any] = []
        self.published = 0

    def take_in(self, changes: list[Change]) -> None:
        if not changes:
            return
        publish_watch_changes(self.request, self.watch, [change.to_json() for change in changes])
        self.published += len(changes)
        count_published(self.redis, self.watch, self.settings.report_ttl_seconds, len(changes))

    def start(self) -> None:
        self.receivers = make_receivers(self.settings, self.take_in)
        for receiver in self.receivers:
            receiver.start()
        log.info("watch %s: changes go to the workers through %s", self.watch, "the broker")

    @property
    def http_address(self) -> tuple[str, int] | None:
        return http_address(self.receivers)

    def stop(self, timeout: float = 60.0) -> None:
        for receiver in self.receivers:
            receiver.stop()
