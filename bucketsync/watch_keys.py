"""`watch` on Celery workers: one announced key replicated at a time across the fleet, and the watch's
counts kept in Redis for the exporter.

Each change is one `bucketsync.watch_key` message. Its task first claims the key (one Lua call):

    mine      nobody is working on the key: take its lease (renewed while the work runs) and replicate
              its current state; any waiter's flag is cleared, since this look covers what it announced
    wait      somebody is: leave a flag that a look is due after theirs, and try again in a second
    covered   somebody is, and another change already left the flag: its look will cover this change

So a burst on one key costs at most two looks, never two at once, and each look reads both sides'
current state: a late, repeated or covered event writes nothing. A worker killed while it holds a lease
holds it at most LEASE_SECONDS; the waiting change (redelivered, if the kill took it too) then goes on.

Counts (keys live as long as the report TTL, renewed on each write):
    bucketsync:watch:<watch>:events    hash result -> changes (copied, skipped, deleted, lock_updated,
                                       failed, vanished, duplicate: needed no look of its own)
    bucketsync:watch:<watch>:lag       hash le -> looks whose lag fell in that bucket (not cumulative),
                                       plus "sum" and "count"
    bucketsync:watch:<watch>:pending   changes published and not yet finished
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timezone
from typing import Any

from .events import Change
from .execute import ExecutionContext
from .outcomes import ObjectOutcome
from .messages import RunRequest
from .metrics import lag_bucket
from .replicate_key import relative_key, replicate_key

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
PREFIX = "bucketsync:watch:"

CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[2])
  return 'mine'
end
local flag = redis.call('GET', KEYS[2])
if not flag then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  return 'wait'
end
if flag == ARGV[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return 'wait'
end
return 'covered'
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


def watch_key(watch: str, suffix: str) -> str:
    return f"{PREFIX}{watch}:{suffix}"


def _key_slots(watch: str, change: Change) -> list[str]:
    where = f"{change.bucket}/{change.key}"
    return [watch_key(watch, f"lease:{where}"), watch_key(watch, f"again:{where}")]


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


def count_published(client, watch: str, ttl: int, changes: int) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.incrby(watch_key(watch, "pending"), changes)
    pipe.expire(watch_key(watch, "pending"), ttl)
    pipe.execute()


class _Lease:
    """The key's lease, renewed every third of its time until released."""

    def __init__(self, client, slot: str, token: str) -> None:
        self.client, self.slot, self.token = client, slot, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="bucketsync-watch-lease", daemon=True)

    def __enter__(self) -> "_Lease":
        self._thread.start()
        return self

    def _renew(self) -> None:
        while not self._stop.wait(LEASE_SECONDS / 3):
            try:
                self.client.eval(RENEW, 1, self.slot, self.token, LEASE_SECONDS * 1000)
            except Exception as exc:  # noqa: BLE001 - a missed renewal only shortens the lease
                log.warning("watch: renewing the lease of %s failed: %s", self.slot, exc)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self.client.eval(RELEASE, 1, self.slot, self.token)


def watch_change(ctx: ExecutionContext, request: RunRequest, client, watch: str, ttl: int, change: Change,
                 token: str | None = None) -> str:
    """Claim, and if the key is ours, replicate it. Returns the result counted, or "wait" (try again soon,
    with the same `token`: the flag left is this change's)."""
    token = token or uuid.uuid4().hex
    key = relative_key(change, ctx.source)
    if key is None or not request.key_filters.includes(key):
        record_result(client, watch, ttl, "skipped", None)
        return "skipped"
    lease, again = _key_slots(watch, change)
    claimed = client.eval(CLAIM, 2, lease, again, token, LEASE_SECONDS * 1000)
    claimed = claimed.decode() if isinstance(claimed, bytes) else claimed
    if claimed == "wait":
        return "wait"
    if claimed == "covered":
        record_result(client, watch, ttl, "duplicate", None)
        return "duplicate"
    with _Lease(client, lease, token):
        try:
            outcome = replicate_key(ctx, request, key)
        except Exception as exc:  # noqa: BLE001 - one key's trouble is a value, never a crashed task
            log.exception("watch: replicating %s failed", change.key)
            outcome = ObjectOutcome(key, "failed", reason=f"internal error: {type(exc).__name__}: {exc}")
    result = outcome.status if outcome.status in ("copied", "skipped", "deleted", "lock_updated", "failed",
                                                  "vanished") else "skipped"
    lag = None
    if change.event_time is not None:
        lag = max(0.0, (datetime.now(timezone.utc) - change.event_time).total_seconds())
    record_result(client, watch, ttl, result, lag)
    return result


def watch_totals(client) -> dict[str, dict[str, Any]]:
    """Every watch's counts in Redis, for the exporter: {watch: {"events": {...}, "lag": {...}, "pending": n}}."""
    totals: dict[str, dict[str, Any]] = {}
    for raw in client.scan_iter(match=f"{PREFIX}*:events", count=1000):
        name = raw.decode() if isinstance(raw, bytes) else raw
        watch = name[len(PREFIX):-len(":events")]
        decode = lambda mapping: {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in mapping.items()}  # noqa: E731
        pending = client.get(watch_key(watch, "pending"))
        totals[watch] = {"events": decode(client.hgetall(name)), "lag": decode(client.hgetall(watch_key(watch, "lag"))),
                         "pending": max(0, int(pending or 0))}
    return totals
