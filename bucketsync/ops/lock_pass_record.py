"""When each scheduled job last did the lock pass, in Redis: `bucketsync:job:<job>:lock_pass_started_at`.

The value is the start time (epoch seconds) of the job's last run that did the lock pass and finished
without a failure. It is written when such a run is finalised, not when it starts: a run that fails or dies
midway has not read every lock, so the next run of the job must do the pass again. The start time, not the
end, is kept because a lock changed while the pass ran may have been read before the change.
"""

from __future__ import annotations

from datetime import datetime

import redis

from ..distributed.ledger import PREFIX
from ..core.outcomes import RunSummary

# KEYS: record; ARGV: started. Only moves forward (a late finaliser of an older run changes nothing).
_RECORD = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) return 1 end
return 0
"""


def lock_pass_key(job: str) -> str:
    return f"{PREFIX}job:{job}:lock_pass_started_at"


def last_lock_pass(client: redis.Redis, job: str) -> float | None:
    value = client.get(lock_pass_key(job))
    return float(value) if value is not None else None


def did_full_lock_pass(summary: RunSummary) -> bool:
    return bool(summary.job and summary.lock_check and summary.state == "finished" and not summary.failed)


def record_lock_pass(client: redis.Redis, summary: RunSummary) -> bool:
    """Remember the run's start if it did the whole lock pass; True when the record moved forward."""
    if not did_full_lock_pass(summary) or not summary.started_at:
        return False
    started = datetime.fromisoformat(summary.started_at).timestamp()
    return bool(client.eval(_RECORD, 1, lock_pass_key(summary.job or ""), repr(started)))
