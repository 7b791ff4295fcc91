"""`bucketsync exporter`: Prometheus text format on /metrics, read from Redis at each scrape.

Nothing is cached between scrapes: what Prometheus sees is what the ledger, the job totals and the
queue hold at that moment. When Redis cannot be reached the scrape still answers, with
`bucketsync_redis_up 0` and no other series (an alert on absent data fires instead of a stale value).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import redis
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric

from . import job_totals
from .metrics import fleet_families, job_families, watch_families
from ..distributed.ledger import Ledger
from ..distributed.watch_counts import watch_totals

log = logging.getLogger("bucketsync.ops.exporter")

QUEUE = "bucketsync"  # the Celery queue the workers consume (celery_app.QUEUE)


class LedgerCollector:
    """A prometheus_client collector that reads the job totals, the runs and the queue from Redis."""

    def __init__(self, client: redis.Redis, stalled_after: float) -> None:
        self.redis = client
        self.ledger = Ledger(client, 0)
        self.stalled_after = stalled_after

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("bucketsync_redis_up", "Whether the exporter could read Redis at this scrape.")
        try:
            families = job_families(job_totals.read_job_totals(self.redis), time.time())
            states, pending = self.ledger.runs_by_state(self.stalled_after)
            families += fleet_families(states, pending, self.redis.llen(QUEUE))
            families += watch_families(watch_totals(self.redis))
        except redis.RedisError as exc:
            log.warning("scrape without Redis: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def serve(client: redis.Redis, address: str, port: int, stalled_after: float, stop: threading.Event | None = None) -> None:
    """Answer scrapes on address:port until `stop` is set (or forever)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(client, stalled_after))
    server, thread = start_http_server(port, addr=address, registry=registry)
    try:
        (stop or threading.Event()).wait()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
