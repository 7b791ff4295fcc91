"""Run state and totals in Redis, kept exact when messages are redelivered, workers die or Redis restarts.

Per run, `bucketsync:run:<id>` and the keys below it (`run_keys`):

    run hash          request, state, counters, `pending:<page>` batches still to count; the lanes: `lane_ends`
                      (JSON, by lane id), `lanes_open`, per lane a cursor (`next_page`, `token`, `last_key`,
                      `lane_done`) and a claim (`coordinator`), suffixed `:<lane>` but for lane 0;
                      `pages_allocated` (the page numbers handed out), `splits_off`
    :pages            bitmap of registered pages          :pages_done   bitmap of finished pages
    :outbox           `<page>:<batch>` -> the batch's payload until it is counted: `resume` publishes
                      again what a lost message never delivered, and a field gone means "counted"
    :published        bitmap of pages whose batches were published
    :page_summaries   `listed:<page>` (written at registration: its counts, lane, the lane's next page and the
                      lane it split off) and `done:<page>` (the page's chord callback): what
                      `bucketsync status --pages` shows
    :failures, :vanished_keys, :lock_refusals, :rewritten_versions   per-object report lists (JSON items)
    :leases           `<page>:<batch>` -> {holder, expires, deliveries}: who runs an uncounted batch and until
                      when (renewed while it runs), and how often it was handed out; gone once counted
    :finalise_sent    set once the run's end was handed to `run_finalise`
    :progress         `<page>:<batch>` -> objects a worker has handled so far in a batch not counted yet
                      (best effort, outside the scripts: the counters move one batch at a time, this shows
                      the objects in between; a field of a counted batch is ignored and removed)

`bucketsync:running` is the set of runs a worker's recovery sweep looks at (recovery.py); a run leaves it
when the sweep finds it ended or gone.

Every write is one Lua script, so it is atomic, also in the append-only file:
- a write to a run whose hash is gone (expired, or never created) changes nothing and answers
  RUN_UNKNOWN: nothing re-creates half a run without a TTL;
- every write sets the TTL of all the run's keys again, so the report lives `report_ttl_seconds`
  from the run's last write, however long the run takes;
- a batch is counted only if its outbox field is still there, and the count deletes it: a redelivered
  batch counts nothing twice; its totals, report items and the maximum unprotected window go in the same script;
- when the last batch of a page is counted the page is done; when every registered page is done and
  the listing has ended, the run is finalised by exactly one caller, whichever gets there first;
- a batch is written only by whoever holds its lease (`claim_batch`): a delivery of a batch already counted,
  of a run that has ended, or of a batch another delivery is running, touches no S3 and is counted in
  `duplicate_deliveries`; the lease's `deliveries` tells a delivery after a lapsed lease (its first executor
  died) to check each key's destination before writing it. Lease times are Redis's clock (TIME), never a
  worker's.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

import redis

from ..core.outcomes import COUNTERS, ObjectOutcome, RunSummary, add_up, listing_entry

PREFIX = "bucketsync:"
log = logging.getLogger("bucketsync")

RUNS_INDEX = PREFIX + "runs"  # sorted set: run id by start time, for `bucketsync runs`
RUNNING = PREFIX + "running"  # set: the runs the workers' recovery sweep looks after
LIST_NAMES = ("failures", "vanished_keys", "lock_refusals", "rewritten_versions")
MAX_LISTED = 10_000  # per list and run: the report names at most this many keys of each kind

RUN_UNKNOWN = -2  # what a write answers when the run's hash is gone
REGISTERED_BEFORE = -1  # what register_page answers to a second registration of a page

# The order of `run_keys`, as the scripts see them in KEYS.
_SUFFIXES = ("", ":pages", ":pages_done", ":outbox", ":published", ":page_summaries",
             *(":" + name for name in LIST_NAMES), ":leases", ":finalise_sent")
_HASH, _PAGES, _PAGES_DONE, _OUTBOX, _PUBLISHED, _PAGE_SUMMARIES = (f"KEYS[{n}]" for n in range(1, 7))
_FIRST_LIST = 7
_LEASES = f"KEYS[{_FIRST_LIST + len(LIST_NAMES)}]"

# Every script starts with this: a run that is gone stays gone.
_GUARD = "if redis.call('EXISTS', KEYS[1]) == 0 then return %d end\n" % RUN_UNKNOWN
# ... and ends its writes with this (ARGV[1] is always the TTL).
_TOUCH = "for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], tonumber(ARGV[1])) end\n"

_FINALISE_IF_DONE = f"""
if redis.call('HGET', {_HASH}, 'listing_done') == '1'
   and redis.call('HGET', {_HASH}, 'pages_done') == redis.call('HGET', {_HASH}, 'pages_registered')
   and redis.call('HSETNX', {_HASH}, 'finished_at', ARGV[2]) == 1 then
  redis.call('HSET', {_HASH}, 'state', 'finished')
  {_TOUCH}
  redis.call('PUBLISH', {_HASH}, 'finished')
  return 3
end
"""

# ARGV: ttl, finished_at, {page, slot: "<page>:<batch>", now, unprotected_ms, totals: {counter: increment},
#       listed: [[list number, json], ...]}
_RECORD_BATCH = _GUARD + f"""
local ask = cjson.decode(ARGV[3])
if redis.call('HEXISTS', {_OUTBOX}, ask.slot) == 0 then
  redis.call('HDEL', {_LEASES}, ask.slot)
  return 0
end
-- A Redis at maxmemory refuses a script at its first memory-growing write only if nothing was written
-- before it: this HSET comes first, so a full Redis refuses the whole count (the worker waits) and
-- never half of it.
redis.call('HSET', {_HASH}, 'updated_at', ask.now)
redis.call('HDEL', {_OUTBOX}, ask.slot)
redis.call('HDEL', {_LEASES}, ask.slot)
if ask.unprotected_ms > tonumber(redis.call('HGET', {_HASH}, 'max_unprotected_ms') or '0') then
  redis.call('HSET', {_HASH}, 'max_unprotected_ms', ask.unprotected_ms)
end
for name, increment in pairs(ask.totals) do
  redis.call('HINCRBY', {_HASH}, name, increment)
end
for _, entry in ipairs(ask.listed) do
  local list = KEYS[{_FIRST_LIST - 1} + entry[1]]
  if redis.call('LLEN', list) < {MAX_LISTED} then redis.call('RPUSH', list, entry[2]) end
end
local pending = redis.call('HINCRBY', {_HASH}, 'pending:' .. ask.page, -1)
if pending > 0 then
  {_TOUCH}
  return 1
end
redis.call('HDEL', {_HASH}, 'pending:' .. ask.page)
redis.call('SETBIT', {_PAGES_DONE}, ask.page, 1)
redis.call('HINCRBY', {_HASH}, 'pages_done', 1)
{_FINALISE_IF_DONE}
{_TOUCH}
return 2
"""

# ARGV: ttl, finished_at, now, page, batches, listed, skipped, lanes (the stride of a run without page
#       allocation), token, last key, is_last, excluded, lane, split at ('' for none), the lane's end as the
#       coordinator knows it (JSON), lanes allowed open at once, then the batch payloads (JSON), one per batch.
# A run listed in lanes (key ranges) keeps a cursor per lane; the listing is done when the last page of
# every lane is registered (`lanes_open`, set with the lanes; a run never cut has no such field: one lane).
# Page numbers are allocated here (`pages_allocated`): a page's first registration takes its lane's next
# page number, and a split takes the new lane's id (its index in `lane_ends`) and first page number, so a
# redelivered coordinator finds both in the page's record (`listed:<page>`) and allocates nothing again.
# A run created without `pages_allocated` (by an older submitter) numbers lane l of n's pages l, l+n, ...
# and is never split.
_REGISTER_PAGE = _GUARD + f"""
if redis.call('SETBIT', {_PAGES}, ARGV[4], 1) == 1 then return {REGISTERED_BEFORE} end
local lane = ARGV[13]
local suffix = ''
if lane ~= '0' then suffix = ':' .. lane end
redis.call('HINCRBY', {_HASH}, 'pages_registered', 1)
redis.call('HINCRBY', {_HASH}, 'listed', ARGV[6])
redis.call('HINCRBY', {_HASH}, 'skipped', ARGV[7])
redis.call('HINCRBY', {_HASH}, 'excluded', ARGV[12])
redis.call('HSET', {_HASH}, 'token' .. suffix, ARGV[9], 'last_key' .. suffix, ARGV[10], 'updated_at', ARGV[3])
local record = {{listed = tonumber(ARGV[6]), skipped = tonumber(ARGV[7]), batches = tonumber(ARGV[5]),
                excluded = tonumber(ARGV[12]), lane = tonumber(lane)}}
local next_page, new_lane, new_page = -1, -1, -1
if ARGV[11] == '1' then
  redis.call('HSET', {_HASH}, 'lane_done' .. suffix, '1')
  if redis.call('HINCRBY', {_HASH}, 'lanes_open', -1) <= 0 then redis.call('HSET', {_HASH}, 'listing_done', '1') end
else
  local allocating = redis.call('HEXISTS', {_HASH}, 'pages_allocated') == 1
  if allocating then
    next_page = redis.call('HINCRBY', {_HASH}, 'pages_allocated', 1) - 1
  else
    next_page = tonumber(ARGV[4]) + tonumber(ARGV[8])
  end
  redis.call('HSET', {_HASH}, 'next_page' .. suffix, next_page)
  record.next_page = next_page
  if allocating and ARGV[14] ~= '' then
    local open = tonumber(redis.call('HGET', {_HASH}, 'lanes_open') or '1')
    local stored = redis.call('HGET', {_HASH}, 'lane_ends')
    local ends = {{cjson.null}}
    if stored then ends = cjson.decode(stored) end
    local index = tonumber(lane) + 1
    -- refused when as many lanes are open as allowed, or when the lane's end is not the one the cut was
    -- made for (a stale message): the page is registered without it
    if open < tonumber(ARGV[16]) and ends[index] ~= nil and ends[index] == cjson.decode(ARGV[15]) then
      new_lane = #ends
      new_page = redis.call('HINCRBY', {_HASH}, 'pages_allocated', 1) - 1
      ends[new_lane + 1] = ends[index]
      ends[index] = ARGV[14]
      redis.call('HSET', {_HASH}, 'lane_ends', cjson.encode(ends), 'lanes_open', open + 1,
                 'next_page:' .. new_lane, new_page, 'token:' .. new_lane, '', 'last_key:' .. new_lane, ARGV[14])
      record.split = {{lane = new_lane, page = new_page}}
    end
  end
end
redis.call('HSET', {_PAGE_SUMMARIES}, 'listed:' .. ARGV[4], cjson.encode(record))
if tonumber(ARGV[5]) > 0 then
  redis.call('HSET', {_HASH}, 'pending:' .. ARGV[4], ARGV[5])
  for i = 17, #ARGV do redis.call('HSET', {_OUTBOX}, ARGV[4] .. ':' .. (i - 17), ARGV[i]) end
else
  redis.call('SETBIT', {_PAGES_DONE}, ARGV[4], 1)
  redis.call('HINCRBY', {_HASH}, 'pages_done', 1)
end
{_FINALISE_IF_DONE}
{_TOUCH}
return {{1, next_page, new_lane, new_page}}
"""

# ARGV: ttl, page, claim id, force (0/1), lane (field suffix). The coordinator of a page is whoever claims
# it first; the same claim id may claim again (a redelivered message); any other stands down, unless
# `resume` forces a new claim because the owner's message was lost. Each lane has its own claim.
_CLAIM_PAGE = _GUARD + f"""
local field = 'coordinator' .. ARGV[5]
local current = redis.call('HGET', {_HASH}, field)
if current and ARGV[4] ~= '1' then
  local sep = string.find(current, ':', 1, true)
  local page = tonumber(string.sub(current, 1, sep - 1))
  local claim = string.sub(current, sep + 1)
  if page > tonumber(ARGV[2]) then return 0 end
  if page == tonumber(ARGV[2]) and claim ~= ARGV[3] then return 0 end
end
redis.call('HSET', {_HASH}, field, ARGV[2] .. ':' .. ARGV[3])
{_TOUCH}
return 1
"""

# ARGV: ttl, state to publish ('' for none), then field, value pairs
_MARK = _GUARD + f"""
for i = 3, #ARGV, 2 do redis.call('HSET', {_HASH}, ARGV[i], ARGV[i + 1]) end
{_TOUCH}
if ARGV[2] ~= '' then redis.call('PUBLISH', {_HASH}, ARGV[2]) end
return 1
"""

# ARGV: ttl, the lanes' ends (JSON). The first cut wins, and only before page 0 is registered: a redelivered
# coordinator gets the stored one. Lanes 1..n-1 start at pages 1..n-1, after the end of the lane before.
_SET_LANES = _GUARD + f"""
if redis.call('GETBIT', {_PAGES}, 0) == 0 and redis.call('HSETNX', {_HASH}, 'lane_ends', ARGV[2]) == 1 then
  local ends = cjson.decode(ARGV[2])
  redis.call('HSET', {_HASH}, 'lanes_open', #ends)
  if redis.call('HEXISTS', {_HASH}, 'pages_allocated') == 1 then
    if tonumber(redis.call('HGET', {_HASH}, 'pages_allocated')) < #ends then
      redis.call('HSET', {_HASH}, 'pages_allocated', #ends)
    end
    for lane = 1, #ends - 1 do
      redis.call('HSET', {_HASH}, 'next_page:' .. lane, lane, 'last_key:' .. lane, ends[lane])
    end
  end
end
{_TOUCH}
return redis.call('HGET', {_HASH}, 'lane_ends')
"""

_NOW = "local clock = redis.call('TIME')\nlocal now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000\n"

# ARGV: ttl, {batch: "<page>:<batch>", holder, lease_seconds}. Answers {verdict, deliveries}: "granted" (the
# caller holds the lease; deliveries counts this one), or why the delivery must not write: "run_ended",
# "counted", "leased" (another delivery holds a live lease); those are counted as duplicate deliveries.
_CLAIM_BATCH = _GUARD + _NOW + f"""
local ask = cjson.decode(ARGV[2])
local state = redis.call('HGET', {_HASH}, 'state')
local verdict
if state == 'finished' or state == 'failed' then
  verdict = 'run_ended'
elseif redis.call('HEXISTS', {_OUTBOX}, ask.batch) == 0 then
  verdict = 'counted'
else
  local lease = {{holder = '', expires = 0, deliveries = 0}}
  local held = redis.call('HGET', {_LEASES}, ask.batch)
  if held then lease = cjson.decode(held) end
  if lease.holder ~= '' and lease.holder ~= ask.holder and lease.expires > now then
    verdict = 'leased'
  else
    lease.deliveries = lease.deliveries + 1
    lease.holder = ask.holder
    lease.expires = now + tonumber(ask.lease_seconds)
    redis.call('HSET', {_LEASES}, ask.batch, cjson.encode(lease))
    {_TOUCH}
    return cjson.encode({{verdict = 'granted', deliveries = lease.deliveries}})
  end
end
redis.call('HINCRBY', {_HASH}, 'duplicate_deliveries', 1)
{_TOUCH}
return cjson.encode({{verdict = verdict, deliveries = 0}})
"""

# ARGV: ttl, {lease: "<page>:<batch>" or "lane:<lane>", holder, lease_seconds}. 1: renewed; 0: the caller no
# longer holds the lease (it lapsed and was handed on, or the batch is counted).
_RENEW_LEASE = _GUARD + _NOW + f"""
local ask = cjson.decode(ARGV[2])
local held = redis.call('HGET', {_LEASES}, ask.lease)
if not held then return 0 end
local lease = cjson.decode(held)
if lease.holder ~= ask.holder then return 0 end
lease.expires = now + tonumber(ask.lease_seconds)
redis.call('HSET', {_LEASES}, ask.lease, cjson.encode(lease))
return 1
"""

# ARGV: ttl, {lease: "lane:<lane>", holder, lease_seconds}. The coordinator of a lane's page (its claim won)
# holds the lane's lease while it lists and publishes; a lapsed one has the lane's next page published again.
_HOLD_LANE = _GUARD + _NOW + f"""
local ask = cjson.decode(ARGV[2])
redis.call('HSET', {_LEASES}, ask.lease, cjson.encode({{holder = ask.holder, expires = now + tonumber(ask.lease_seconds)}}))
{_TOUCH}
return 1
"""

# ARGV: ttl, {lease, holder}: the caller's lease ends (another's is left alone).
_RELEASE = _GUARD + f"""
local ask = cjson.decode(ARGV[2])
local held = redis.call('HGET', {_LEASES}, ask.lease)
if held and cjson.decode(held).holder == ask.holder then redis.call('HDEL', {_LEASES}, ask.lease) end
return 1
"""

# ARGV: ttl, {stalled_after (for a run that recorded none), grace}. What a recovery sweep should publish again:
# the batches whose lease lapsed more than `grace` seconds ago (each handed back once: its lease is emptied,
# its delivery count kept), the batches held now, the lanes whose coordinator's lease lapsed (removed), and whether the run has not moved for its own
# `stalled_after_seconds` since its last progress or recovery (then `recovered_at` is set: one sweep acts).
_RECOVER = _GUARD + _NOW + f"""
local ask = cjson.decode(ARGV[2])
local state = redis.call('HGET', {_HASH}, 'state')
if state ~= 'running' then return cjson.encode({{state = state}}) end
local lapsed, held, lanes = {{}}, {{}}, {{}}
local leases = redis.call('HGETALL', {_LEASES})
for i = 1, #leases, 2 do
  local name, lease = leases[i], cjson.decode(leases[i + 1])
  if string.sub(name, 1, 5) == 'lane:' then
    if lease.expires + tonumber(ask.grace) < now then
      redis.call('HDEL', {_LEASES}, name)
      table.insert(lanes, tonumber(string.sub(name, 6)))
    end
  elseif redis.call('HEXISTS', {_OUTBOX}, name) == 0 then
    redis.call('HDEL', {_LEASES}, name)
  elseif lease.holder ~= '' and lease.expires + tonumber(ask.grace) < now then
    lease.holder = ''
    lease.expires = 0
    redis.call('HSET', {_LEASES}, name, cjson.encode(lease))
    table.insert(lapsed, name)
  elseif lease.holder ~= '' then
    table.insert(held, name)
  end
end
local stalled_after = tonumber(redis.call('HGET', {_HASH}, 'stalled_after_seconds') or ask.stalled_after)
local moved = math.max(tonumber(redis.call('HGET', {_HASH}, 'updated_at') or '0'),
                       tonumber(redis.call('HGET', {_HASH}, 'recovered_at') or '0'))
local stalled = now - moved > stalled_after
if stalled then
  redis.call('HSET', {_HASH}, 'recovered_at', now)
  redis.call('HINCRBY', {_HASH}, 'recoveries', 1)
end
if stalled or #lapsed > 0 or #lanes > 0 then
  {_TOUCH}
end
return cjson.encode({{state = state, lapsed = lapsed, held = held, lanes = lanes, stalled = stalled}})
"""

# ARGV: ttl, page
_MARK_PUBLISHED = _GUARD + f"""
redis.call('SETBIT', {_PUBLISHED}, ARGV[2], 1)
{_TOUCH}
return 1
"""

# ARGV: ttl, page, the page's totals (JSON)
_WRITE_PAGE_SUMMARY = _GUARD + f"""
redis.call('HSET', {_PAGE_SUMMARIES}, 'done:' .. ARGV[2], ARGV[3])
{_TOUCH}
return 1
"""

# ARGV: ttl. Returns 1 only to the first caller once the run has ended (finished or failed).
_CLAIM_FINALISE = _GUARD + """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'finished' and state ~= 'failed' then return 0 end
if redis.call('SET', KEYS[#KEYS], '1', 'NX') == false then return 0 end
""" + _TOUCH + """
return 1
"""

# KEYS: the runs index; ARGV: ttl, run id, now, run-hash prefix. Adds the run, forgets runs older than the
# TTL whose report is gone (a run that is still being written stays listed), keeps the index's TTL.
# It reads run hashes not passed in KEYS: fine on one Redis, not on a cluster.
_INDEX_RUN = """
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[1]), 'LIMIT', 0, 100)
for _, id in ipairs(old) do
  if redis.call('EXISTS', ARGV[4] .. id) == 0 then redis.call('ZREM', KEYS[1], id) end
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
"""

# KEYS: run hash; ARGV: count. Never re-creates the hash of a run that has expired.
_ADD_SLOWDOWNS = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'slowdowns', ARGV[1]) end
"""


def run_key(run_id: str) -> str:
    return f"{PREFIX}run:{run_id}"


def run_keys(run_id: str) -> list[str]:
    """Every key of a run, in the order the scripts expect them."""
    base = run_key(run_id)
    return [base + suffix for suffix in _SUFFIXES]


@dataclass(frozen=True)
class Cursor:
    """Where the listing of a run (of one of its lanes) stands: the next page to list and how to get it."""

    next_page: int
    token: str | None
    last_key: str | None
    listing_done: bool  # the whole run's listing
    lane_done: bool = False


@dataclass(frozen=True)
class Split:
    """A lane split off another one: its id and the number of its first page."""

    lane: int
    page: int


@dataclass(frozen=True)
class Registration:
    """What registering a page did: `status` 1 (registered; 3: and the run finalised), REGISTERED_BEFORE
    or RUN_UNKNOWN; the number of the lane's next page (None after its last); the lane split off."""

    status: int
    next_page: int | None = None
    split: Split | None = None

    @property
    def registered(self) -> bool:
        return self.status > 0


@dataclass(frozen=True)
class PageRecord:
    """A registered page as the ledger keeps it: its lane, the lane's next page (None: its last, or recorded
    by an older version), and the lane it split off."""

    lane: int
    next_page: int | None
    split: Split | None


@dataclass(frozen=True)
class BatchClaim:
    """What `claim_batch` answered: "granted" (write, holding the lease; `deliveries` > 1: an earlier
    executor took it and never counted it), or why not: "counted", "run_ended", "leased", "run_unknown"."""

    verdict: str
    deliveries: int

    @property
    def granted(self) -> bool:
        return self.verdict == "granted"

    @property
    def delivered_before(self) -> bool:
        return self.deliveries > 1


@dataclass(frozen=True)
class Recovery:
    """What a sweep found in a run: its state, the batches whose lease lapsed (handed back to the sweep once),
    those held now, and whether the run has not moved for its stall time (this sweep republishes the rest)."""

    state: str
    lapsed: tuple[tuple[int, int], ...] = ()
    held: tuple[tuple[int, int], ...] = ()
    lanes: tuple[int, ...] = ()  # lanes whose coordinator stopped renewing its lease
    stalled: bool = False


def batch_lease(page: int, batch: int) -> str:
    return f"{page}:{batch}"


def lane_lease(lane: int) -> str:
    return f"lane:{lane}"


class LeaseKeeper:
    """Renews a lease on a thread, every third of its length, while the work it covers runs; `lost` once the
    ledger says the caller holds it no longer. `release`: end the lease on leaving (a batch's lease is not: its
    count ends it, and a batch left uncounted must keep its delivery count)."""

    def __init__(self, ledger: "Ledger", run_id: str, lease: str, holder: str, seconds: float,
                 release: bool = True) -> None:
        self._ledger, self._run_id, self._lease, self._holder, self._seconds = ledger, run_id, lease, holder, seconds
        self._release = release
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="bucketsync-lease", daemon=True)
        self.lost = False

    def _keep(self) -> None:
        while not self._stop.wait(self._seconds / 3):
            try:
                if not self._ledger.renew_lease(self._run_id, self._lease, self._holder, self._seconds):
                    self.lost = True
                    log.warning("run %s: lease %s lost (not renewed in time): its work stops here", self._run_id,
                                self._lease)
                    return
            except redis.RedisError as exc:  # try again at the next interval; the lease may still hold
                log.warning("run %s: could not renew lease %s: %s", self._run_id, self._lease, exc)

    def __enter__(self) -> "LeaseKeeper":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._release:
            try:
                self._ledger.release(self._run_id, self._lease, self._holder)
            except redis.RedisError:
                pass  # it lapses


def _batch_names(names: Any) -> tuple[tuple[int, int], ...]:
    """["<page>:<batch>", ...] -> ((page, batch), ...); cjson writes an empty list as {}."""
    return tuple((int(page), int(batch)) for page, batch in (name.split(":") for name in names or []))


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def lane_suffix(lane: int) -> str:
    """The suffix of a lane's cursor and claim fields: none for lane 0, so a run never cut reads as before."""
    return f":{lane}" if lane else ""


class Ledger:
    def __init__(self, client: redis.Redis, ttl_seconds: int) -> None:
        self.redis = client
        self.ttl = ttl_seconds
        self._record_batch = client.register_script(_RECORD_BATCH)
        self._register_page = client.register_script(_REGISTER_PAGE)
        self._claim_page = client.register_script(_CLAIM_PAGE)
        self._set_lanes = client.register_script(_SET_LANES)
        self._mark = client.register_script(_MARK)
        self._mark_published = client.register_script(_MARK_PUBLISHED)
        self._write_page_summary = client.register_script(_WRITE_PAGE_SUMMARY)
        self._claim_finalise = client.register_script(_CLAIM_FINALISE)
        self._index_run = client.register_script(_INDEX_RUN)
        self._add_slowdowns = client.register_script(_ADD_SLOWDOWNS)
        self._claim_batch = client.register_script(_CLAIM_BATCH)
        self._renew_lease = client.register_script(_RENEW_LEASE)
        self._recover = client.register_script(_RECOVER)
        self._hold_lane = client.register_script(_HOLD_LANE)
        self._release = client.register_script(_RELEASE)

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
            "pages_allocated": 1,  # page 0
            "pages_registered": 0,
            "pages_done": 0,
            **{counter: 0 for counter in COUNTERS},
            **extra,
        }
        with self.redis.pipeline() as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, self.ttl)
            if fields["state"] == "running":
                pipe.sadd(RUNNING, run_id)
                pipe.expire(RUNNING, self.ttl)
            pipe.execute()
        self._index_run(keys=[RUNS_INDEX], args=[self.ttl, run_id, time.time(), run_key("")])

    def claim_page(self, run_id: str, page: int, claim_id: str, force: bool = False, lane: int = 0) -> bool:
        return self._claim_page(keys=run_keys(run_id), args=[self.ttl, page, claim_id, int(force), lane_suffix(lane)]) == 1

    def set_lanes(self, run_id: str, ends: list[str | None]) -> list[str | None] | None:
        """Record the run's lanes by their ends (the last lane's is None) unless recorded before; returns
        the recorded ones (None: the run is gone)."""
        stored = self._set_lanes(keys=run_keys(run_id), args=[self.ttl, json.dumps(ends)])
        return json.loads(stored) if isinstance(stored, str) else None

    def lane_ends(self, run_id: str) -> list[str | None]:
        """The ends of the run's lanes: [None] for a run listed in one stream."""
        raw = self.redis.hget(run_key(run_id), "lane_ends")
        return json.loads(raw) if raw else [None]

    def mark_published(self, run_id: str, page: int) -> None:
        self._mark_published(keys=run_keys(run_id), args=[self.ttl, page])

    def register_page(
        self, run_id: str, page: int, *, batches: list[Any], listed: int, skipped: int, token: str | None,
        last_key: str | None, is_last: bool, finished_at: str, excluded: int = 0, lane: int = 0, lanes: int = 1,
        split_at: str | None = None, lane_last: str | None = None, lanes_allowed: int = 1,
    ) -> "Registration":
        """Record a listed page and its batches (kept until counted), and take the lane's next page number.

        `split_at`: cut the rest of the lane there, (split_at, lane_last] becoming a new lane, unless
        `lanes_allowed` lanes are open already or the lane's end is no longer `lane_last`."""
        answer = self._register_page(
            keys=run_keys(run_id),
            args=[self.ttl, finished_at, time.time(), page, len(batches), listed, skipped, max(1, lanes), token or "",
                  last_key or "", int(is_last), excluded, lane, split_at or "", json.dumps(lane_last), lanes_allowed,
                  *(json.dumps(batch) for batch in batches)],
        )
        if not isinstance(answer, list):  # REGISTERED_BEFORE, RUN_UNKNOWN, or 3: the run is finalised
            return Registration(int(answer))
        _, next_page, new_lane, new_page = (int(item) for item in answer)
        return Registration(1, next_page if next_page >= 0 else None,
                            Split(new_lane, new_page) if new_lane >= 0 else None)

    def record_batch(self, run_id: str, page: int, batch: int, outcomes: list[ObjectOutcome], finished_at: str) -> int:
        """Count a batch's outcomes once.

        0: counted before; 1: counted; 2: page done; 3: run finalised; RUN_UNKNOWN: the run is gone.
        """
        totals = add_up(outcomes)
        unprotected_ms = int(totals.pop("max_unprotected_seconds", 0.0) * 1000)
        listed = []
        for outcome in outcomes:
            entry = listing_entry(outcome)
            if entry is not None:
                name, item = entry
                listed.append([LIST_NAMES.index(name) + 1, json.dumps(item, ensure_ascii=False)])
        ask = {"page": str(page), "slot": f"{page}:{batch}", "now": time.time(), "unprotected_ms": unprotected_ms,
               "totals": totals, "listed": listed}
        return int(self._record_batch(keys=run_keys(run_id), args=[self.ttl, finished_at, json.dumps(ask)]))

    def note_batch_progress(self, run_id: str, page: int, batch: int, handled: int) -> None:
        """A worker has handled `handled` objects of a batch it has not counted yet. Best effort: progress
        is for the eye, the counters stay exact without it."""
        key = run_key(run_id) + ":progress"
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.hset(key, f"{page}:{batch}", handled)
                pipe.expire(key, self.ttl)
                pipe.execute()
        except redis.RedisError:
            pass

    def clear_batch_progress(self, run_id: str, page: int, batch: int) -> None:
        try:
            self.redis.hdel(run_key(run_id) + ":progress", f"{page}:{batch}")
        except redis.RedisError:
            pass

    def handled_in_open_batches(self, run_id: str) -> dict[int, int]:
        """Per page, objects handled in its batches not counted yet (a batch still in the outbox)."""
        base = run_key(run_id)
        progress = self.redis.hgetall(base + ":progress")
        if not progress:
            return {}
        open_batches = set(self.redis.hkeys(base + ":outbox"))
        pages: dict[int, int] = {}
        for field, handled in progress.items():
            if field in open_batches:
                page = int(field.partition(":")[0])
                pages[page] = pages.get(page, 0) + int(handled)
        return pages

    def claim_batch(self, run_id: str, page: int, batch: int, holder: str, lease_seconds: float) -> "BatchClaim":
        """Take the batch's lease for `lease_seconds`, unless the batch must not be written (see BatchClaim)."""
        answer = self._claim_batch(keys=run_keys(run_id), args=[self.ttl, json.dumps(
            {"batch": batch_lease(page, batch), "holder": holder, "lease_seconds": lease_seconds})])
        if not isinstance(answer, str):
            return BatchClaim("run_unknown", 0)
        data = json.loads(answer)
        return BatchClaim(data["verdict"], int(data["deliveries"]))

    def renew_lease(self, run_id: str, lease: str, holder: str, lease_seconds: float) -> bool:
        """Extend the caller's lease (`batch_lease(page, batch)` or `lane_lease(lane)`); False when it holds it
        no longer."""
        return self._renew_lease(keys=run_keys(run_id), args=[self.ttl, json.dumps(
            {"lease": lease, "holder": holder, "lease_seconds": lease_seconds})]) == 1

    def hold_lane(self, run_id: str, lane: int, holder: str, lease_seconds: float) -> None:
        """The coordinator of the lane's page holds the lane's lease (its claim won: see claim_page)."""
        self._hold_lane(keys=run_keys(run_id), args=[self.ttl, json.dumps(
            {"lease": lane_lease(lane), "holder": holder, "lease_seconds": lease_seconds})])

    def release(self, run_id: str, lease: str, holder: str) -> None:
        self._release(keys=run_keys(run_id), args=[self.ttl, json.dumps({"lease": lease, "holder": holder})])

    def recover(self, run_id: str, stalled_after: float, grace: float) -> "Recovery":
        """What a recovery sweep finds in a run (see _RECOVER); a run ended or gone leaves the running set."""
        answer = self._recover(keys=run_keys(run_id), args=[self.ttl, json.dumps(
            {"stalled_after": stalled_after, "grace": grace})])
        data = json.loads(answer) if isinstance(answer, str) else {"state": None}
        if data.get("state") != "running":
            self.redis.srem(RUNNING, run_id)
            return Recovery(data.get("state") or "gone")
        return Recovery("running", lapsed=_batch_names(data.get("lapsed")), held=_batch_names(data.get("held")),
                        lanes=tuple(sorted(int(lane) for lane in data.get("lanes") or [])),
                        stalled=bool(data.get("stalled")))

    def running_runs(self) -> list[str]:
        return sorted(self.redis.smembers(RUNNING))

    def write_page_summary(self, run_id: str, page: int, totals: dict[str, Any]) -> None:
        """The page's totals from its chord callback, shown by `bucketsync status --pages`."""
        self._write_page_summary(keys=run_keys(run_id), args=[self.ttl, page, json.dumps(totals)])

    def mark(self, run_id: str, **fields: Any) -> bool:
        """Set fields of a run that still exists (a new `state` is published to followers)."""
        pairs = [str(item) for name, value in fields.items() for item in (name, value)]
        return self._mark(keys=run_keys(run_id), args=[self.ttl, str(fields.get("state", "")), *pairs]) == 1

    def add_slowdowns(self, run_id: str, count: int) -> None:
        """503 SlowDown answers the run's requests met (each one, also when its batch is redelivered)."""
        self._add_slowdowns(keys=[run_key(run_id)], args=[count])

    def claim_finalise(self, run_id: str) -> bool:
        """True for exactly one caller once the run has ended: that caller sends `run_finalise`."""
        return self._claim_finalise(keys=run_keys(run_id), args=[self.ttl]) == 1

    def end_signal(self, run_id: str) -> "EndSignal":
        return EndSignal(self.redis, run_key(run_id))

    # ---------------------------------------------------------------- reads

    def exists(self, run_id: str) -> bool:
        return bool(self.redis.exists(run_key(run_id)))

    def state(self, run_id: str) -> str | None:
        return self.redis.hget(run_key(run_id), "state")

    def is_registered(self, run_id: str, page: int) -> bool:
        return bool(self.redis.getbit(run_key(run_id) + ":pages", page))

    def was_published(self, run_id: str, page: int) -> bool:
        return bool(self.redis.getbit(run_key(run_id) + ":published", page))

    def cursor(self, run_id: str, lane: int = 0) -> Cursor:
        """Where lane `lane` stands; before its first page is registered, at that page (its start recorded
        with the lanes or the split; a run recorded by an older version: page `lane`, after the end of the
        lane before it)."""
        suffix = lane_suffix(lane)
        data = self.redis.hmget(run_key(run_id), "next_page" + suffix, "token" + suffix, "last_key" + suffix,
                                "listing_done", "lane_done" + suffix)
        start = self.lane_ends(run_id)[lane - 1] if lane and data[0] is None else None
        return Cursor(
            next_page=int(data[0] if data[0] is not None else lane), token=data[1] or None,
            last_key=data[2] or start, listing_done=data[3] == "1", lane_done=data[4] == "1",
        )

    def page_record(self, run_id: str, page: int) -> "PageRecord | None":
        """What a page's registration recorded: its lane, the lane's next page and the split it made (None:
        not registered)."""
        raw = self.redis.hget(run_key(run_id) + ":page_summaries", f"listed:{page}")
        if raw is None:
            return None
        data = json.loads(raw)
        split = data.get("split")
        return PageRecord(int(data.get("lane", 0)), data.get("next_page"),
                          Split(split["lane"], split["page"]) if split else None)

    def may_split(self, run_id: str, lanes_allowed: int) -> bool:
        """Whether a lane of the run may be split now: fewer than `lanes_allowed` lanes open, page numbers
        allocated (a run recorded by an older version is not split), and no split refused for good."""
        allocated, open_lanes, off = self.redis.hmget(run_key(run_id), "pages_allocated", "lanes_open", "splits_off")
        return allocated is not None and not off and int(open_lanes or 1) < lanes_allowed

    def unfinished_batches(self, run_id: str) -> dict[int, dict[int, Any]]:
        """Per unfinished page, the batches not counted yet (number -> payload), from the outbox."""
        missing: dict[int, dict[int, Any]] = {}
        for name, payload in self.redis.hscan_iter(run_key(run_id) + ":outbox", count=500):
            page, batch = (int(part) for part in name.split(":"))
            missing.setdefault(page, {})[batch] = json.loads(payload)
        return missing

    def request(self, run_id: str) -> dict[str, Any] | None:
        raw = self.redis.hget(run_key(run_id), "request")
        return json.loads(raw) if raw else None

    def note(self, run_id: str) -> str | None:
        return self.redis.hget(run_key(run_id), "note")

    def summary(self, run_id: str, stalled_after: float | None = None) -> RunSummary | None:
        """The run's report; a running run without progress for `stalled_after` seconds shows as stalled.

        A field missing from the hash (a damaged or hand-edited record) reads as its default."""
        data = self.redis.hgetall(run_key(run_id))
        if not data:
            return None
        request = json.loads(data.get("request") or "{}")
        state = data.get("state", "running")
        # The run's own threshold, recorded when it was submitted; the caller's only for a run without one.
        stalled_after = float(data.get("stalled_after_seconds") or stalled_after or 0)
        updated_at = float(data.get("updated_at", 0))
        if state == "running" and stalled_after and time.time() - updated_at > stalled_after:
            state = "stalled"
        summary = RunSummary(
            run_id=run_id,
            source=request.get("source", "?"),
            destination=request.get("destination", "?"),
            mode="distributed",
            dry_run=bool(request.get("dry_run")),
            started_at=data.get("started_at", ""),
            finished_at=data.get("finished_at"),
            state=state,
            error=data.get("error"),
            job=request.get("job"),
            lock_check=bool(request.get("source_lock_enabled")) and bool(request.get("lock_check", True)),
            max_unprotected_seconds=int(data.get("max_unprotected_ms", 0)) / 1000,
            slowdowns=int(data.get("slowdowns", 0)),
            duplicate_deliveries=int(data.get("duplicate_deliveries", 0)),
            progress_at=_iso(updated_at) if updated_at else None,
        )
        for counter in COUNTERS:
            setattr(summary, counter, int(data.get(counter, 0)))
        base = run_key(run_id)
        for name in LIST_NAMES:
            setattr(summary, name, [json.loads(item) for item in self.redis.lrange(f"{base}:{name}", 0, -1)])
        if summary.state in ("running", "stalled"):
            summary.handled_in_open_batches = sum(self.handled_in_open_batches(run_id).values())
        return summary

    def page_summaries(self, run_id: str) -> list[dict[str, Any]]:
        """One entry per registered page, in page order: what its listing found (listed, skipped, batches),
        and once its chord callback has run, the totals of its batches (`done`: true)."""
        fields = self.redis.hgetall(run_key(run_id) + ":page_summaries")
        pages: dict[int, dict[str, Any]] = {}
        for name, value in fields.items():
            part, _, page = name.partition(":")
            entry = pages.setdefault(int(page), {"page": int(page), "done": False})
            entry.update(json.loads(value))
            if part == "done":
                entry["done"] = True
        for page, handled in self.handled_in_open_batches(run_id).items():
            if page in pages and not pages[page]["done"]:
                pages[page]["handled"] = handled
        return [pages[page] for page in sorted(pages)]

    def run_ids_newest_first(self, chunk: int = 50) -> Iterator[str]:
        """The runs of the runs index, newest first, read `chunk` at a time (a run may since have expired)."""
        start = 0
        while run_ids := self.redis.zrevrange(RUNS_INDEX, start, start + chunk - 1):
            yield from run_ids
            start += chunk

    def runs_by_state(self, stalled_after: float) -> tuple[dict[str, int], int]:
        """How many runs of the runs index are in each state (running without progress for the run's own
        `stalled_after_seconds`, or `stalled_after` for a run that recorded none: stalled), and the copy
        batches the running ones have published and not yet counted."""
        run_ids = self.redis.zrange(RUNS_INDEX, 0, -1)
        with self.redis.pipeline(transaction=False) as pipe:
            for run_id in run_ids:
                pipe.hmget(run_key(run_id), "state", "updated_at", "stalled_after_seconds")
            states = pipe.execute()
        counts: dict[str, int] = {}
        running = []
        now = time.time()
        for run_id, (state, updated_at, own_stalled_after) in zip(run_ids, states):
            if state is None:
                continue  # expired
            if state == "running":
                running.append(run_id)
                if now - float(updated_at or 0) > float(own_stalled_after or stalled_after):
                    state = "stalled"
            counts[state] = counts.get(state, 0) + 1
        pending = 0
        with self.redis.pipeline(transaction=False) as pipe:
            for run_id in running:
                pipe.hgetall(run_key(run_id))
            for fields in pipe.execute():
                pending += sum(int(value) for name, value in fields.items() if name.startswith("pending:"))
        return counts, pending


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
