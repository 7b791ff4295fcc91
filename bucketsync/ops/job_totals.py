"""Per-job totals in Redis for the exporter, each ended run added exactly once.

Keys (beside the ledger's, never expiring: one small hash per job, so the counters only grow):

    bucketsync:metrics:jobs          set of job labels seen
    bucketsync:metrics:job:<job>     hash: objects:<result>, bytes_copied, slowdowns, runs:<state>,
                                     last_ended_at, last_duration_seconds, last_success_at,
                                     last_success_started_at (epoch seconds)
    bucketsync:run:<id>:metrics_counted   the guard: set (NX, with the run's TTL) by the one write that
                                          adds the run, in the same Lua script, so a second call (the
                                          follower and run_finalise both call) adds nothing

The totals are kept apart from the runs because runs expire: re-summing the runs still in Redis would
make a counter go down.
"""

from __future__ import annotations

import logging

import redis

from ..distributed.ledger import PREFIX, run_key
from .metrics import ENDED_STATES, RESULTS, JobTotals, epoch, is_success, job_label, run_increments
from ..core.outcomes import RunSummary

log = logging.getLogger("bucketsync.ops.job_totals")

JOBS = PREFIX + "metrics:jobs"


def job_key(job: str) -> str:
    return f"{PREFIX}metrics:job:{job}"


# KEYS: guard, job hash, jobs set. ARGV: ttl, job, started, ended, duration, success (0/1), n, names..., increments...
_RECORD_RUN = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('SADD', KEYS[3], ARGV[2])
local n = tonumber(ARGV[7])
for i = 1, n do redis.call('HINCRBY', KEYS[2], ARGV[7 + i], ARGV[7 + n + i]) end
if tonumber(ARGV[4]) >= tonumber(redis.call('HGET', KEYS[2], 'last_ended_at') or '0') then
  redis.call('HSET', KEYS[2], 'last_ended_at', ARGV[4], 'last_duration_seconds', ARGV[5])
end
if ARGV[6] == '1' and tonumber(ARGV[3]) >= tonumber(redis.call('HGET', KEYS[2], 'last_success_started_at') or '0') then
  redis.call('HSET', KEYS[2], 'last_success_started_at', ARGV[3], 'last_success_at', ARGV[4])
end
return 1
"""


def record_run_end(client: redis.Redis, summary: RunSummary, ttl_seconds: int) -> bool:
    """Add an ended run to its job's totals, once per run id; False if it was added before or is not countable."""
    if summary.dry_run or summary.state not in ENDED_STATES or not summary.finished_at:
        return False
    started, ended = epoch(summary.started_at), epoch(summary.finished_at)
    increments = run_increments(summary)
    names = list(increments)
    job = job_label(summary)
    added = client.register_script(_RECORD_RUN)(
        keys=[run_key(summary.run_id) + ":metrics_counted", job_key(job), JOBS],
        args=[ttl_seconds, job, repr(started), repr(ended), repr(ended - started), int(is_success(summary)),
              len(names), *names, *(increments[name] for name in names)],
    )
    return bool(added)


def record_run_end_quietly(client: redis.Redis, summary: RunSummary, ttl_seconds: int) -> None:
    """record_run_end for a caller that is not the only one to record the run (a Redis error is logged)."""
    try:
        record_run_end(client, summary, ttl_seconds)
    except redis.RedisError as exc:
        log.warning("run %s: could not add it to the job totals yet: %s", summary.run_id, exc)


def read_job_totals(client: redis.Redis) -> list[JobTotals]:
    jobs = sorted(client.smembers(JOBS))
    with client.pipeline(transaction=False) as pipe:
        for job in jobs:
            pipe.hgetall(job_key(job))
        hashes = pipe.execute()
    totals = []
    for job, data in zip(jobs, hashes):

        def number(name: str) -> float | None:
            return float(data[name]) if name in data else None

        totals.append(JobTotals(
            job=job,
            objects={result: int(data.get(f"objects:{result}", 0)) for result in RESULTS},
            bytes_copied=int(data.get("bytes_copied", 0)),
            slowdowns=int(data.get("slowdowns", 0)),
            runs_ended={state: int(data.get(f"runs:{state}", 0)) for state in ENDED_STATES},
            last_ended_at=number("last_ended_at"),
            last_duration_seconds=number("last_duration_seconds"),
            last_success_at=number("last_success_at"),
            last_success_started_at=number("last_success_started_at"),
        ))
    return totals
