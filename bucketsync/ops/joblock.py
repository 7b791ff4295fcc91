"""One run at a time per scheduled job: a lock in Redis whose value is the id of the run that holds it.

`bucketsync:joblock:<job>` = run id, with a TTL. A trigger takes the lock when it is free, when it already
holds it (the same trigger delivered again), or when the run holding it has ended (finished, failed,
skipped): the ledger is the truth about a run, so a lock left behind by a crashed finaliser does not block
the next night's run. While the holder's run record is missing (it is being prepared) or says `running`,
the trigger is refused and recorded as skipped.

The run refreshes the TTL as it makes progress (every coordinator page and copy batch) and releases the
lock when it is finalised; the TTL is only a safety net for a run that makes no progress at all for
longer than a redelivered task could take (`visibility_timeout + task_time_limit`, plus a margin).
"""

from __future__ import annotations

import redis

from ..distributed.ledger import PREFIX, run_key
from ..core.settings import Settings

LOCK_PREFIX = PREFIX + "joblock:"
MARGIN_SECONDS = 300

# KEYS: lock; ARGV: run id, ttl, run-hash prefix. Returns the holder that refuses us, or nil when we hold it.
# It reads the holder's run hash, a key not passed in KEYS: fine on one Redis, not on a cluster.
_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  local state = redis.call('HGET', ARGV[3] .. holder, 'state')
  if state == false or state == 'running' then return holder end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return false
"""

# KEYS: lock; ARGV: run id, ttl. Extends the lock only if this run holds it.
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])) end
return 0
"""

# KEYS: lock; ARGV: run id. Deletes the lock only if this run holds it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def lock_key(job: str) -> str:
    return LOCK_PREFIX + job


def lock_seconds(settings: Settings) -> int:
    """How long a run may go without any progress before its job's lock lapses."""
    return min(settings.visibility_timeout + settings.task_time_limit + MARGIN_SECONDS, settings.report_ttl_seconds)


class JobLocks:
    def __init__(self, client: redis.Redis, ttl_seconds: int) -> None:
        self.redis = client
        self.ttl = ttl_seconds
        self._acquire = client.register_script(_ACQUIRE)
        self._refresh = client.register_script(_REFRESH)
        self._release = client.register_script(_RELEASE)

    def acquire(self, job: str, run_id: str) -> str | None:
        """Take the job's lock for `run_id`; returns None when taken, else the id of the run still holding it."""
        holder = self._acquire(keys=[lock_key(job)], args=[run_id, self.ttl, run_key("")])
        if holder is None:
            return None
        return holder.decode() if isinstance(holder, bytes) else str(holder)

    def refresh(self, job: str, run_id: str) -> bool:
        return bool(self._refresh(keys=[lock_key(job)], args=[run_id, self.ttl]))

    def release(self, job: str, run_id: str) -> bool:
        return bool(self._release(keys=[lock_key(job)], args=[run_id]))

    def holder(self, job: str) -> str | None:
        value = self.redis.get(lock_key(job))
        return value.decode() if isinstance(value, bytes) else value
