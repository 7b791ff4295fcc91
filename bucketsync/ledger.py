"""Run state and totals in Redis, kept exact when messages are redelivered, workers die or Redis restarts.

Per run (`bucketsync:run:<id>` and keys below it, all with a TTL of `report_ttl_seconds`):

    run hash          request, state, listing cursor, counters, `pending:<page>` batches still to count
    :pages            bitmap of registered pages          :pages_done   bitmap of finished pages
    :batches:<page>   bitmap of counted batches of a page (dropped when the page is done)
    :outbox:<page>    the page's batch payloads until the page is done, so `resume` can publish again
                      what a lost message never delivered
    :failures, :vanished_keys, :lock_refusals   per-object report lists (JSON items)

Every write that counts is one Lua script, so it is atomic, also in the append-only file:
- a batch is counted only if its bit was not yet set: a redelivered batch counts nothing twice;
- when the last batch of a page is counted the page is done; when every registered page is done and
  the listing has ended, the run is finalised by exactly one caller, whichever gets there first.
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

_FINALISE_IF_DONE = """
if redis.call('HGET', KEYS[1], 'listing_done') == '1'
   and redis.call('HGET', KEYS[1], 'pages_done') == redis.call('HGET', KEYS[1], 'pages_registered')
   and redis.call('HSETNX', KEYS[1], 'finished_at', ARGV[4]) == 1 then
  redis.call('HSET', KEYS[1], 'state', 'finished')
  redis.call('PUBLISH', KEYS[1], 'finished')
  return 3
end
"""

# KEYS: run hash, page's batch bitmap, done-pages bitmap, page's outbox, failures, vanished_keys, lock_refusals
# ARGV: batch, page, ttl, finished_at, now, n counters, names..., increments..., (list index, json) pairs
_RECORD_BATCH = """
if redis.call('GETBIT', KEYS[3], ARGV[2]) == 1 then return 0 end
if redis.call('SETBIT', KEYS[2], ARGV[1], 1) == 1 then return 0 end
local ttl = tonumber(ARGV[3])
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('HSET', KEYS[1], 'updated_at', ARGV[5])
local n = tonumber(ARGV[6])
for i = 1, n do
  redis.call('HINCRBY', KEYS[1], ARGV[6 + i], ARGV[6 + n + i])
end
for i = 7 + 2 * n, #ARGV, 2 do
  local list = KEYS[4 + tonumber(ARGV[i])]
  if redis.call('LLEN', list) < %(max)d then redis.call('RPUSH', list, ARGV[i + 1]) end
  redis.call('EXPIRE', list, ttl)
end
local pending = redis.call('HINCRBY', KEYS[1], 'pending:' .. ARGV[2], -1)
if pending > 0 then return 1 end
redis.call('HDEL', KEYS[1], 'pending:' .. ARGV[2])
redis.call('DEL', KEYS[2], KEYS[4])
redis.call('SETBIT', KEYS[3], ARGV[2], 1)
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('HINCRBY', KEYS[1], 'pages_done', 1)
%(finalise)s
return 2
""" % {"max": MAX_LISTED, "finalise": _FINALISE_IF_DONE}

# KEYS: run hash, registered-pages bitmap, done-pages bitmap, page's outbox
# ARGV: page, batches, listed, skipped, finished_at, ttl, next page, token, last key, is_last, now,
#       then the batch payloads (JSON), one per batch
_REGISTER_PAGE = """
if redis.call('SETBIT', KEYS[2], ARGV[1], 1) == 1 then return -1 end
local ttl = tonumber(ARGV[6])
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('HINCRBY', KEYS[1], 'pages_registered', 1)
redis.call('HINCRBY', KEYS[1], 'listed', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'skipped', ARGV[4])
redis.call('HSET', KEYS[1], 'next_page', ARGV[7], 'token', ARGV[8], 'last_key', ARGV[9], 'updated_at', ARGV[11])
if ARGV[10] == '1' then redis.call('HSET', KEYS[1], 'listing_done', '1') end
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], 'pending:' .. ARGV[1], ARGV[2])
  for i = 12, #ARGV do redis.call('HSET', KEYS[4], i - 12, ARGV[i]) end
  redis.call('EXPIRE', KEYS[4], ttl)
else
  redis.call('SETBIT', KEYS[3], ARGV[1], 1)
  redis.call('EXPIRE', KEYS[3], ttl)
  redis.call('HINCRBY', KEYS[1], 'pages_done', 1)
end
%(finalise)s
return 1
""" % {"finalise": _FINALISE_IF_DONE.replace("ARGV[4]", "ARGV[5]")}

# KEYS: run hash; ARGV: page, claim id, force (0/1). The coordinator of a page is whoever claims it
# first; the same claim id may claim again (a redelivered message); any other stands down, unless
# `resume` forces a new claim because the owner's message was lost.
_CLAIM_PAGE = """
local current = redis.call('HGET', KEYS[1], 'coordinator')
if current and ARGV[3] ~= '1' then
  local sep = string.find(current, ':', 1, true)
  local page = tonumber(string.sub(current, 1, sep - 1))
  local claim = string.sub(current, sep + 1)
  if page > tonumber(ARGV[1]) then return 0 end
  if page == tonumber(ARGV[1]) and claim ~= ARGV[2] then return 0 end
end
redis.call('HSET', KEYS[1], 'coordinator', ARGV[1] .. ':' .. ARGV[2])
return 1
"""

# KEYS: run hash; ARGV: count. Never re-creates the hash of a run that has expired.
_ADD_SLOWDOWNS = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'slowdowns', ARGV[1]) end
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
        self._add_slowdowns = client.register_script(_ADD_SLOWDOWNS)

    @classmethod
    def from_url(cls, url: str, ttl_seconds: int) -> "Ledger":
        return cls(redis.Redis.from_url(url, decode_responses=True, health_check_interval=30), ttl_seconds)

    # ---------------------------------------------------------------- writes

    def create_run(
        self, run_id: str, request: dict[str, Any], meta: dict[str, Any], started_at: str, **extra: Any
    ) -> None:
        """Record a new run; `extra` fields go in the same write (a scheduled trigger that starts nothing is
        recorded already ended: state, finished_at, note or error)."""
        key = run_key(run_id)
        fields = {
            "request": json.dumps(request),
            "meta": json.dumps(meta),
            "state": "running",
            "started_at": started_at,
            "updated_at": time.time(),
            "next_page": 0,
            "pages_registered": 0,
            "pages_done": 0,
            **{counter: 0 for counter in COUNTERS},
            **extra,
        }
        with self.redis.pipeline() as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, self.ttl)
            pipe.zadd(RUNS_INDEX, {run_id: time.time()})
            pipe.zremrangebyscore(RUNS_INDEX, "-inf", time.time() - self.ttl)  # runs whose reports expired
            pipe.expire(RUNS_INDEX, self.ttl)
            pipe.execute()

    def claim_page(self, run_id: str, page: int, claim_id: str, force: bool = False) -> bool:
        return bool(self._claim_page(keys=[run_key(run_id)], args=[page, claim_id, int(force)]))

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
        self, run_id: str, page: int, *, batches: list[Any], listed: int, skipped: int, token: str | None,
        last_key: str | None, is_last: bool, finished_at: str,
    ) -> int:
        """Record a listed page and its batches (kept until counted); -1 if registered before."""
        base = run_key(run_id)
        return int(self._register_page(
            keys=[base, base + ":pages", base + ":pages_done", f"{base}:outbox:{page}"],
            args=[page, len(batches), listed, skipped, finished_at, self.ttl, page + 1, token or "",
                  last_key or "", int(is_last), time.time(), *(json.dumps(batch) for batch in batches)],
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
            keys=[base, f"{base}:batches:{page}", base + ":pages_done", f"{base}:outbox:{page}",
                  *(f"{base}:{name}" for name in LIST_NAMES)],
            args=[batch, page, self.ttl, finished_at, time.time(), len(names), *names,
                  *(totals[n] for n in names), *items],
        ))
        if result and max_unprotected:
            self._raise_max(run_id, "max_unprotected_ms", int(max_unprotected * 1000))
        return result

    def _raise_max(self, run_id: str, field: str, value: int) -> None:
        key = run_key(run_id)
        current = self.redis.hget(key, field)
        if current is None or int(current) < value:
            self.redis.hset(key, field, value)

    def add_slowdowns(self, run_id: str, count: int) -> None:
        """503 SlowDown answers the run's requests met (each one, also when its batch is redelivered)."""
        self._add_slowdowns(keys=[run_key(run_id)], args=[count])

    def write_page_summary(self, run_id: str, page: int, summary: dict[str, Any]) -> None:
        key = run_key(run_id) + ":page_summaries"
        with self.redis.pipeline() as pipe:
            pipe.hset(key, str(page), json.dumps(summary))
            pipe.expire(key, self.ttl)
            pipe.execute()

    def mark(self, run_id: str, **fields: Any) -> None:
        with self.redis.pipeline() as pipe:
            pipe.hset(run_key(run_id), mapping={k: str(v) for k, v in fields.items()})
            if "state" in fields:
                pipe.publish(run_key(run_id), str(fields["state"]))
            pipe.execute()

    def end_signal(self, run_id: str) -> "EndSignal":
        return EndSignal(self.redis, run_key(run_id))

    # ---------------------------------------------------------------- reads

    def exists(self, run_id: str) -> bool:
        return bool(self.redis.exists(run_key(run_id)))

    def cursor(self, run_id: str) -> Cursor:
        data = self.redis.hmget(run_key(run_id), "next_page", "token", "last_key", "listing_done")
        return Cursor(
            next_page=int(data[0] or 0), token=data[1] or None, last_key=data[2] or None, listing_done=data[3] == "1"
        )

    def unfinished_batches(self, run_id: str) -> dict[int, dict[int, Any]]:
        """Per unfinished page, the batches not counted yet (number -> payload), from the outbox."""
        base = run_key(run_id)
        pages = [int(field.split(":", 1)[1]) for field in self.redis.hkeys(base) if field.startswith("pending:")]
        missing: dict[int, dict[int, Any]] = {}
        for page in pages:
            outbox = {int(number): payload for number, payload in self.redis.hgetall(f"{base}:outbox:{page}").items()}
            with self.redis.pipeline() as pipe:
                for number in outbox:
                    pipe.getbit(f"{base}:batches:{page}", number)
                counted = pipe.execute()
            left = {number: json.loads(outbox[number]) for number, bit in zip(outbox, counted) if not bit}
            if left:
                missing[page] = left
        return missing

    def request(self, run_id: str) -> dict[str, Any] | None:
        raw = self.redis.hget(run_key(run_id), "request")
        return json.loads(raw) if raw else None

    def summary(self, run_id: str, stalled_after: float | None = None) -> RunSummary | None:
        """The run's report; a running run without progress for `stalled_after` seconds shows as stalled."""
        data = self.redis.hgetall(run_key(run_id))
        if not data:
            return None
        request = json.loads(data["request"])
        state = data.get("state", "running")
        if state == "running" and stalled_after and time.time() - float(data.get("updated_at", 0)) > stalled_after:
            state = "stalled"
        summary = RunSummary(
            run_id=run_id,
            source=request["source"],
            destination=request["destination"],
            mode="distributed",
            dry_run=bool(request.get("dry_run")),
            started_at=data["started_at"],
            finished_at=data.get("finished_at"),
            state=state,
            error=data.get("error"),
            job=request.get("job"),
            max_unprotected_seconds=int(data.get("max_unprotected_ms", 0)) / 1000,
            slowdowns=int(data.get("slowdowns", 0)),
        )
        for counter in COUNTERS:
            setattr(summary, counter, int(data.get(counter, 0)))
        base = run_key(run_id)
        for name in LIST_NAMES:
            setattr(summary, name, [json.loads(item) for item in self.redis.lrange(f"{base}:{name}", 0, -1)])
        return summary

    def recent_runs(self, limit: int = 20, stalled_after: float | None = None) -> list[RunSummary]:
        run_ids = self.redis.zrevrange(RUNS_INDEX, 0, limit - 1)
        return [summary for run_id in run_ids if (summary := self.summary(run_id, stalled_after)) is not None]


class EndSignal:
    """A pause between polls of a run that ends early when the run's end is published on its channel.

    The run hash stays the truth (a message published while nobody listens is gone); this only spares
    a follower the rest of its poll interval. Without Redis pub/sub it is a plain sleep.
    """

    def __init__(self, client: redis.Redis, channel: str) -> None:
        self._pubsub = None
        try:
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(channel)
            self._pubsub = pubsub
        except redis.RedisError:
            pass

    def wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        if self._pubsub is not None:
            try:
                self._pubsub.get_message(timeout=seconds)
                return
            except redis.RedisError:
                self.close()
        time.sleep(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except redis.RedisError:
                pass
            self._pubsub = None

    def __enter__(self) -> "EndSignal":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
