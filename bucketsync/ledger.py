"""Run state and totals in Redis, kept exact when messages are redelivered or workers die.

One hash per run (`bucketsync:run:<id>`) holds the request, the listing cursor and the counters; three
lists hold failures, vanished keys and lock refusals; a bitmap holds which batches were counted.
Every write that counts goes through a Lua script, so it is atomic:

- a batch is counted only if its bit was not yet set (a redelivered batch counts nothing twice);
- when the last batch of a page is counted, the page is done; when every registered page is done and
  the listing has ended, the run is finalised — by exactly one caller, whichever gets there first.

Every key has a TTL (`report_ttl_seconds`); the run report survives that long.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis

from .outcomes import COUNTERS, ObjectOutcome, RunSummary, counts_of, listing_entry

PREFIX = "bucketsync:"
RUNS_INDEX = PREFIX + "runs"  # sorted set: run id by start time, for `bucketsync runs`
LIST_NAMES = ("failures", "vanished_keys", "lock_refusals")
MAX_LISTED = 10_000  # per list and run: the report names at most this many keys of each kind

# KEYS: run hash, this page's batch bitmap, done-pages bitmap, failures, vanished_keys, lock_refusals
# ARGV: batch number, page, ttl, finished_at, n_counters, counter names..., increments..., then list
#       items as (list index 1-3, json) pairs
_RECORD_BATCH = """
if redis.call('GETBIT', KEYS[3], ARGV[2]) == 1 then return 0 end
if redis.call('SETBIT', KEYS[2], ARGV[1], 1) == 1 then return 0 end
local ttl = tonumber(ARGV[3])
redis.call('EXPIRE', KEYS[2], ttl)
local n = tonumber(ARGV[5])
for i = 1, n do
  redis.call('HINCRBY', KEYS[1], ARGV[5 + i], ARGV[5 + n + i])
end
local first = 6 + 2 * n
for i = first, #ARGV, 2 do
  local list = KEYS[3 + tonumber(ARGV[i])]
  if redis.call('LLEN', list) < %(max)d then redis.call('RPUSH', list, ARGV[i + 1]) end
  redis.call('EXPIRE', list, ttl)
end
local pending = redis.call('HINCRBY', KEYS[1], 'pending:' .. ARGV[2], -1)
if pending > 0 then return 1 end
redis.call('HDEL', KEYS[1], 'pending:' .. ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('SETBIT', KEYS[3], ARGV[2], 1)
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('HINCRBY', KEYS[1], 'pages_done', 1)
if redis.call('HGET', KEYS[1], 'listing_done') == '1'
   and redis.call('HGET', KEYS[1], 'pages_done') == redis.call('HGET', KEYS[1], 'pages_registered')
   and redis.call('HSETNX', KEYS[1], 'finished_at', ARGV[4]) == 1 then
  redis.call('HSET', KEYS[1], 'state', 'finished')
  return 3
end
return 2
""" % {"max": MAX_LISTED}

# KEYS: run hash, registered-pages bitmap, done-pages bitmap
# ARGV: page, batches, listed, skipped, next page, token, last key, is_last (0/1), finished_at, ttl
_REGISTER_PAGE = """
if redis.call('SETBIT', KEYS[2], ARGV[1], 1) == 1 then return -1 end
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[10]))
redis.call('HINCRBY', KEYS[1], 'pages_registered', 1)
redis.call('HINCRBY', KEYS[1], 'listed', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'skipped', ARGV[4])
redis.call('HSET', KEYS[1], 'next_page', ARGV[5], 'token', ARGV[6], 'last_key', ARGV[7])
if ARGV[8] == '1' then redis.call('HSET', KEYS[1], 'listing_done', '1') end
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], 'pending:' .. ARGV[1], ARGV[2])
else
  redis.call('SETBIT', KEYS[3], ARGV[1], 1)
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[10]))
  redis.call('HINCRBY', KEYS[1], 'pages_done', 1)
end
if redis.call('HGET', KEYS[1], 'listing_done') == '1'
   and redis.call('HGET', KEYS[1], 'pages_done') == redis.call('HGET', KEYS[1], 'pages_registered')
   and redis.call('HSETNX', KEYS[1], 'finished_at', ARGV[9]) == 1 then
  redis.call('HSET', KEYS[1], 'state', 'finished')
  return 3
end
return 1
"""

# KEYS: run hash; ARGV: page, claim id. The coordinator of a page is whoever claims it first; the same
# claim id may claim again (a redelivered message), any other is a duplicate and stands down.
_CLAIM_PAGE = """
local current = redis.call('HGET', KEYS[1], 'coordinator')
if current then
  local sep = string.find(current, ':', 1, true)
  local page = tonumber(string.sub(current, 1, sep - 1))
  local claim = string.sub(current, sep + 1)
  if page > tonumber(ARGV[1]) then return 0 end
  if page == tonumber(ARGV[1]) and claim ~= ARGV[2] then return 0 end
end
redis.call('HSET', KEYS[1], 'coordinator', ARGV[1] .. ':' .. ARGV[2])
return 1
"""


def run_key(run_id: str) -> str:
    return f"{PREFIX}run:{run_id}"


@dataclass(frozen=True)
class Cursor:
    """Where the listing of a run stands: the next page to list and how to get it."""

    next_page: int
    token: str | None
    last_key: str | None
    listing_done: bool


class Ledger:
    def __init__(self, client: redis.Redis, ttl_seconds: int) -> None:
        self.redis = client
        self.ttl = ttl_seconds
        self._record_batch = client.register_script(_RECORD_BATCH)
        self._register_page = client.register_script(_REGISTER_PAGE)
        self._claim_page = client.register_script(_CLAIM_PAGE)

    @classmethod
    def from_url(cls, url: str, ttl_seconds: int) -> "Ledger":
        return cls(redis.Redis.from_url(url, decode_responses=True, health_check_interval=30), ttl_seconds)

    def _list_keys(self, run_id: str) -> list[str]:
        return [f"{run_key(run_id)}:{name}" for name in LIST_NAMES]

    # ---------------------------------------------------------------- writes

    def create_run(self, run_id: str, request: dict[str, Any], meta: dict[str, Any], started_at: str) -> None:
        key = run_key(run_id)
        fields = {
            "request": json.dumps(request),
            "meta": json.dumps(meta),
            "state": "running",
            "started_at": started_at,
            "next_page": 0,
            "pages_registered": 0,
            "pages_done": 0,
            **{counter: 0 for counter in COUNTERS},
        }
        with self.redis.pipeline() as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, self.ttl)
            pipe.zadd(RUNS_INDEX, {run_id: time.time()})
            pipe.expire(RUNS_INDEX, self.ttl)
            pipe.execute()

    def claim_page(self, run_id: str, page: int, claim_id: str) -> bool:
        return bool(self._claim_page(keys=[run_key(run_id)], args=[page, claim_id]))

    def mark_published(self, run_id: str, page: int) -> None:
        key = run_key(run_id) + ":published"
        with self.redis.pipeline() as pipe:
            pipe.setbit(key, page, 1)
            pipe.expire(key, self.ttl)
            pipe.execute()

    def was_published(self, run_id: str, page: int) -> bool:
        return bool(self.redis.getbit(run_key(run_id) + ":published", page))

    def is_registered(self, run_id: str, page: int) -> bool:
        return bool(self.redis.getbit(run_key(run_id) + ":pages", page))

    def register_page(
        self, run_id: str, page: int, *, batches: int, listed: int, skipped: int, token: str | None,
        last_key: str | None, is_last: bool, finished_at: str,
    ) -> int:
        """Record a listed page; -1 if it was registered before (a redelivered coordinator)."""
        base = run_key(run_id)
        return int(self._register_page(
            keys=[base, base + ":pages", base + ":pages_done"],
            args=[page, batches, listed, skipped, page + 1, token or "", last_key or "", int(is_last), finished_at, self.ttl],
        ))

    def record_batch(self, run_id: str, page: int, batch: int, outcomes: list[ObjectOutcome], finished_at: str) -> int:
        """Count a batch's outcomes once. 0: counted before; 1: counted; 2: page done; 3: run finalised."""
        totals: dict[str, int] = {}
        items: list[Any] = []
        max_unprotected = 0.0
        for outcome in outcomes:
            for counter, increment in counts_of(outcome).items():
                totals[counter] = totals.get(counter, 0) + increment
            entry = listing_entry(outcome)
            if entry is not None:
                name, item = entry
                items += [LIST_NAMES.index(name) + 1, json.dumps(item, ensure_ascii=False)]
            max_unprotected = max(max_unprotected, outcome.unprotected_seconds)
        names = list(totals)
        base = run_key(run_id)
        result = int(self._record_batch(
            keys=[base, f"{base}:batches:{page}", base + ":pages_done", *self._list_keys(run_id)],
            args=[batch, page, self.ttl, finished_at, len(names), *names, *(totals[n] for n in names), *items],
        ))
        if result and max_unprotected:
            self._raise_max(run_id, "max_unprotected_ms", int(max_unprotected * 1000))
        return result

    def _raise_max(self, run_id: str, field: str, value: int) -> None:
        key = run_key(run_id)
        current = self.redis.hget(key, field)
        if current is None or int(current) < value:
            self.redis.hset(key, field, value)

    def write_page_summary(self, run_id: str, page: int, summary: dict[str, Any]) -> None:
        key = run_key(run_id) + ":page_summaries"
        with self.redis.pipeline() as pipe:
            pipe.hset(key, str(page), json.dumps(summary))
            pipe.expire(key, self.ttl)
            pipe.execute()

    def mark(self, run_id: str, **fields: Any) -> None:
        self.redis.hset(run_key(run_id), mapping={k: str(v) for k, v in fields.items()})

    # ---------------------------------------------------------------- reads

    def exists(self, run_id: str) -> bool:
        return bool(self.redis.exists(run_key(run_id)))

    def cursor(self, run_id: str) -> Cursor:
        data = self.redis.hmget(run_key(run_id), "next_page", "token", "last_key", "listing_done")
        return Cursor(
            next_page=int(data[0] or 0), token=data[1] or None, last_key=data[2] or None, listing_done=data[3] == "1"
        )

    def request(self, run_id: str) -> dict[str, Any] | None:
        raw = self.redis.hget(run_key(run_id), "request")
        return json.loads(raw) if raw else None

    def summary(self, run_id: str) -> RunSummary | None:
        data = self.redis.hgetall(run_key(run_id))
        if not data:
            return None
        request = json.loads(data["request"])
        summary = RunSummary(
            run_id=run_id,
            source=request["source"],
            destination=request["destination"],
            mode="distributed",
            dry_run=bool(request.get("dry_run")),
            started_at=data["started_at"],
            finished_at=data.get("finished_at"),
            state=data.get("state", "running"),
            error=data.get("error"),
            max_unprotected_seconds=int(data.get("max_unprotected_ms", 0)) / 1000,
        )
        for counter in COUNTERS:
            setattr(summary, counter, int(data.get(counter, 0)))
        base = run_key(run_id)
        for name in LIST_NAMES:
            setattr(summary, name, [json.loads(item) for item in self.redis.lrange(f"{base}:{name}", 0, -1)])
        return summary

    def progress(self, run_id: str) -> dict[str, Any]:
        data = self.redis.hgetall(run_key(run_id))
        return {k: v for k, v in data.items() if k not in ("request", "meta")}

    def recent_runs(self, limit: int = 20) -> list[RunSummary]:
        run_ids = self.redis.zrevrange(RUNS_INDEX, 0, limit - 1)
        return [summary for run_id in run_ids if (summary := self.summary(run_id)) is not None]
