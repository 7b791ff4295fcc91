"""A watch's counts in Redis: written by the workers (watch_keys.py) and the intake (watch_intake.py),
read at each scrape by `bucketsync exporter`. Keys live as long as the report TTL, renewed on each write:

    bucketsync:watch:<watch>:events    hash result -> changes (copied, skipped, deleted, lock_updated,
                                       failed, vanished, duplicate: needed no look of its own)
    bucketsync:watch:<watch>:lag       hash le -> looks whose lag fell in that bucket (not cumulative),
                                       plus "sum" and "count"
    bucketsync:watch:<watch>:pending   changes published and not yet finished
    bucketsync:watch:<watch>:last      when a change was last published (Unix time)
"""

from __future__ import annotations

import time
from typing import Any

from ..core.events import lag_bucket

PREFIX = "bucketsync:watch:"


def watch_key(watch: str, suffix: str) -> str:
    return f"{PREFIX}{watch}:{suffix}"


def record_result(client, watch: str, ttl: int, result: str, lag: float | None, finished: bool = True) -> None:
    """Count one change's result (and the lag of a look); `finished`: it leaves the pending count."""
    pipe = client.pipeline(transaction=False)
    events, lags, pending = (watch_key(watch, name) for name in ("events", "lag", "pending"))
    pipe.hincrby(events, result, 1)
    pipe.expire(events, ttl)
    if lag is not None:
        pipe.hincrby(lags, lag_bucket(lag), 1)
        pipe.hincrbyfloat(lags, "sum", lag)
        pipe.hincrby(lags, "count", 1)
        pipe.expire(lags, ttl)
    if finished:
        pipe.decr(pending)
        pipe.expire(pending, ttl)
    pipe.execute()


def count_published(client, watch: str, ttl: int, changes: int, now: float | None = None) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.incrby(watch_key(watch, "pending"), changes)
    pipe.expire(watch_key(watch, "pending"), ttl)
    pipe.set(watch_key(watch, "last"), repr(time.time() if now is None else now), ex=ttl)
    pipe.execute()


def watch_totals(client) -> dict[str, dict[str, Any]]:
    """Every watch's counts in Redis, for the exporter and `status`:
    {watch: {"events": {...}, "lag": {...}, "pending": n, "last_event": Unix time or None}}."""
    totals: dict[str, dict[str, Any]] = {}
    for raw in client.scan_iter(match=f"{PREFIX}*:events", count=1000):
        name = raw.decode() if isinstance(raw, bytes) else raw
        watch = name[len(PREFIX):-len(":events")]
        decode = lambda mapping: {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in mapping.items()}  # noqa: E731
        pending, last = client.mget(watch_key(watch, "pending"), watch_key(watch, "last"))
        totals[watch] = {"events": decode(client.hgetall(name)), "lag": decode(client.hgetall(watch_key(watch, "lag"))),
                         "pending": max(0, int(pending or 0)), "last_event": float(last) if last else None}
    return totals
