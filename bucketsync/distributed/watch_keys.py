"""`watch` on Celery workers: one announced key replicated at a time across the fleet.

Each change is one `bucketsync.watch_key` message. Its task first claims the key (one Lua call):

    mine      nobody is working on the key: take its lease (renewed while the work runs) and replicate
              its current state; any waiter's flag is cleared, since this look covers what it announced
    wait      somebody is: leave a flag that a look is due after theirs, and try again in a second
    covered   somebody is, and another change already left the flag: its look will cover this change

So a burst on one key costs at most two looks, never two at once, and each look reads both sides'
current state: a late, repeated or covered event writes nothing. A worker killed while it holds a lease
holds it at most `BUCKETSYNC_BATCH_LEASE_SECONDS` (the lease of any work a worker holds: 60 s); the
waiting change (redelivered after the visibility timeout, if the kill took it too) then goes on.
The counts go to Redis (watch_counts.py), where `bucketsync exporter` reads them.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timezone

from ..core.events import Change
from ..engine.execution_context import ExecutionContext
from ..core.outcomes import ObjectOutcome
from ..core.messages import RunRequest
from ..run.replicate_key import relative_key, replicate
from .patience import retry_while_redis_unavailable
from .watch_counts import record_result, watch_key

log = logging.getLogger(__name__)

LEASE_SECONDS = 60

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


def _key_slots(watch: str, change: Change) -> list[str]:
    where = f"{change.bucket}/{change.key}"
    return [watch_key(watch, f"lease:{where}"), watch_key(watch, f"again:{where}")]


class _Lease:
    """The key's lease, renewed every third of its time until released."""

    def __init__(self, client, slot: str, token: str, seconds: int) -> None:
        self.client, self.slot, self.token, self.seconds = client, slot, token, seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="bucketsync-watch-lease", daemon=True)

    def __enter__(self) -> "_Lease":
        self._thread.start()
        return self

    def _renew(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                self.client.eval(RENEW, 1, self.slot, self.token, self.seconds * 1000)
            except Exception as exc:  # noqa: BLE001 - a missed renewal only shortens the lease
                log.warning("watch: renewing the lease of %s failed: %s", self.slot, exc)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        try:
            self.client.eval(RELEASE, 1, self.slot, self.token)
        except Exception as exc:  # noqa: BLE001 - Redis away: the lease lapses by itself
            log.warning("watch: releasing the lease of %s failed: %s", self.slot, exc)


def watch_change(ctx: ExecutionContext, request: RunRequest, client, watch: str, ttl: int, change: Change,
                 token: str | None = None, lease_seconds: int = LEASE_SECONDS, patience: float = 0.0) -> str:
    """Claim, and if the key is ours, replicate it. Returns the result counted, or "wait" (try again soon,
    with the same `token`: the flag left is this change's). Redis restarting or full: the claim and the
    count wait for it up to `patience` seconds (the message stays unacknowledged meanwhile), so a change
    is not dropped as a failed task."""
    token = token or uuid.uuid4().hex

    def patiently(call, what: str):
        return retry_while_redis_unavailable(call, what=f"watch {watch} {change.key}: {what}", give_up_after=patience)

    def count(result: str, lag: float | None) -> None:
        patiently(lambda: record_result(client, watch, ttl, result, lag), "counting")

    key = relative_key(change, ctx.source)
    if key is None or not request.key_filters.includes(key):
        count("skipped", None)
        return "skipped"
    lease, again = _key_slots(watch, change)
    claimed = patiently(lambda: client.eval(CLAIM, 2, lease, again, token, lease_seconds * 1000), "claiming")
    claimed = claimed.decode() if isinstance(claimed, bytes) else claimed
    if claimed == "wait":
        return "wait"
    if claimed == "covered":
        count("duplicate", None)
        return "duplicate"
    with _Lease(client, lease, token, lease_seconds):
        try:
            outcome = replicate(ctx, request, key)
        except Exception as exc:  # noqa: BLE001 - one key's trouble is a value, never a crashed task
            log.exception("watch: replicating %s failed", change.key)
            outcome = ObjectOutcome(key, "failed", reason=f"internal error: {type(exc).__name__}: {exc}")
    result = outcome.status
    lag = None
    if change.event_time is not None:
        lag = max(0.0, (datetime.now(timezone.utc) - change.event_time).total_seconds())
    count(result, lag)
    return result
