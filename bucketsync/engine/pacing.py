"""Keeping a run polite: a request-rate limit per S3 endpoint, a bandwidth limit, a count of 503 SlowDown, and
object operations in flight that back off when the server throttles.

AWS answers bursts above ~3,500 writes or ~5,500 reads per second per prefix with `503 SlowDown`, and
other providers throttle whole tenants; botocore retries those answers, but only a limit keeps them from
coming. The limits are per run:

- requests: every request a run sends toward one endpoint (retries included: the hook sits on
  `before-send`, which botocore emits for each attempt) waits for a slot; slots are spaced 1/N s apart,
  so any 10 s hold at most 10·N + 1 requests. Source and destination share one limit when they are
  the same endpoint.
- bandwidth: object bytes read from GetObject bodies (the streamed path; a server-side copy moves no
  bytes through bucketsync) wait for slots of `bytes / rate` seconds.

A slot comes from a `LocalPacer` (this process: the embedded run) or a `SharedPacer` (a Lua script in
Redis that keeps the next free slot for all worker processes of a distributed run, on Redis's clock).
Both are the same rule (GCRA, without burst): a reservation starts at max(now, next free slot) and moves
the next free slot on by its cost.

With or without limits, an embedded run backs off when throttled (`InFlightLimit`): a 503 SlowDown halves
the object operations it runs at once (at most once a second: one burst is one signal), and each run of
as many operations as the limit, ended without one, raises it by one, back up to the concurrency.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # redis is imported where a shared limiter is used: an embedded run never loads it
    import redis

log = logging.getLogger("bucketsync.engine.pacing")

SLOWDOWN_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded"})
READ_CHUNK = 256 * 1024  # bytes paced at a time when a body is read: waits stay short and even


class Pacer(Protocol):
    rate: float  # units per second

    def reserve(self, cost: float) -> float:
        """Take `cost` units; returns how long the caller must wait before its slot starts, in seconds."""


def next_slot(next_free: float, now: float, cost: float, rate: float) -> tuple[float, float]:
    """(wait, new next free slot) for a reservation of `cost` at `rate` units per second."""
    start = max(next_free, now)
    return start - now, start + cost / rate


class LocalPacer:
    """Slots for the threads of this process."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._next_free = 0.0
        self._lock = threading.Lock()

    def reserve(self, cost: float) -> float:
        with self._lock:
            wait, self._next_free = next_slot(self._next_free, self._clock(), cost, self.rate)
        return wait


# KEYS: the pacer's key; ARGV: cost in seconds (units / rate), TTL. Returns the wait in seconds (a string:
# Lua numbers come back as integers). Redis's own clock, so worker machines need no synchronised clocks.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local start = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
redis.call('SET', KEYS[1], string.format('%.6f', start + tonumber(ARGV[1])), 'EX', ARGV[2])
return string.format('%.6f', start - now)
"""


class SharedPacer:
    """Slots for every worker process of a run, kept in Redis.

    If Redis cannot be reached, this process paces alone at the same rate (logged) rather than fail the
    object: the run's total may then exceed the limit while Redis is away.
    """

    def __init__(self, client: redis.Redis, key: str, rate: float, ttl_seconds: int) -> None:
        self.rate = rate
        self.key = key
        self.ttl = ttl_seconds
        self._script = client.register_script(_RESERVE)
        self._fallback = LocalPacer(rate)
        self._warned = False

    def reserve(self, cost: float) -> float:
        import redis  # loaded already: this limiter was given a client

        try:
            return float(self._script(keys=[self.key], args=[cost / self.rate, self.ttl]))
        except redis.RedisError as exc:
            if not self._warned:
                log.warning("pacing %s: Redis unreachable (%s); pacing this process alone", self.key, exc)
                self._warned = True
            return self._fallback.reserve(cost)


def wait_for(pacer: Pacer, cost: float, until_slot_end: bool = False) -> None:
    """Sleep until the slot of `cost` units starts (a request is sent then), or ends (bytes read are
    handed on when they would have arrived at the limit: the first chunk is not free)."""
    wait = pacer.reserve(cost) + (cost / pacer.rate if until_slot_end else 0.0)
    if wait > 0:
        time.sleep(wait)


def is_slowdown(response: Any) -> bool:
    """Whether an attempt's answer (botocore's `(http_response, parsed)` or None) was a throttling 503."""
    if not response:
        return False
    http_response, parsed = response
    code = (parsed or {}).get("Error", {}).get("Code")
    return code in SLOWDOWN_CODES or getattr(http_response, "status_code", None) == 503


def endpoint_id(endpoint_url: str) -> str:
    """A short stable name for an endpoint, for Redis keys (no URL, user info or query in a key)."""
    return hashlib.sha256(endpoint_url.encode()).hexdigest()[:12]


class PacedBody:
    """A GetObject body whose reads wait for bandwidth slots: each chunk is handed on at the end of its slot
    (paced after reading, so what is paced is what was read, to the byte)."""

    def __init__(self, body: Any, pacer: Pacer) -> None:
        self._body = body
        self._pacer = pacer

    def read(self, amt: int | None = None) -> bytes:
        chunks = []
        wanted = amt
        while wanted is None or wanted > 0:
            size = READ_CHUNK if wanted is None else min(READ_CHUNK, wanted)
            chunk = self._body.read(size)
            if not chunk:
                break
            wait_for(self._pacer, len(chunk), until_slot_end=True)
            chunks.append(chunk)
            if wanted is not None:
                wanted -= len(chunk)
        return b"".join(chunks)

    def iter_chunks(self, chunk_size: int = 1024):
        while chunk := self.read(chunk_size):
            yield chunk

    def __iter__(self):
        return self.iter_chunks()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._body, name)


class InFlightLimit:
    """How many object operations may run at once: `ceiling` at first, halved on a 503 SlowDown (at most once
    per `calm_seconds`), raised by one after each `limit` operations that ended since the last change."""

    def __init__(self, ceiling: int, calm_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ceiling = ceiling
        self.limit = ceiling
        self.lowest = ceiling  # the smallest limit the run came down to
        self._running = 0
        self._ended = 0
        self._calm = calm_seconds
        self._clock = clock
        self._last_cut: float | None = None
        self._changed = threading.Condition()

    def acquire(self) -> None:
        with self._changed:
            while self._running >= self.limit:
                self._changed.wait()
            self._running += 1

    def release(self) -> None:
        with self._changed:
            self._running -= 1
            self._ended += 1
            if self.limit < self.ceiling and self._ended >= self.limit:
                self.limit += 1
                self._ended = 0
            self._changed.notify_all()

    def slowed_down(self) -> None:
        with self._changed:
            now = self._clock()
            if self._last_cut is not None and now - self._last_cut < self._calm:
                return
            self._last_cut = now
            self.limit = max(1, self.limit // 2)
            self.lowest = min(self.lowest, self.limit)
            self._ended = 0


@dataclass
class SlowdownCount:
    """503 SlowDown answers seen by a run's clients; `on_slowdown` (if any) also records each one elsewhere,
    and each `in_flight` limit hears of it."""

    on_slowdown: Callable[[], None] | None = None
    total: int = 0
    in_flight: list[InFlightLimit] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self) -> None:
        with self._lock:
            self.total += 1
        for limit in self.in_flight:
            limit.slowed_down()
        if self.on_slowdown is not None:
            import redis  # only a distributed run records SlowDowns elsewhere, in Redis

            try:
                self.on_slowdown()
            except redis.RedisError as exc:
                log.warning("could not record a 503 SlowDown in Redis: %s", exc)


@dataclass
class RunPacing:
    """What one run's S3 clients share: a pacer per endpoint, one for bandwidth, the SlowDown count."""

    requests_per_second: float | None
    bandwidth: int | None  # bytes per second
    make_pacer: Callable[[str, float], Pacer]  # (name, rate) -> pacer; the same name gives the same limit
    slowdowns: SlowdownCount = field(default_factory=SlowdownCount)
    _pacers: dict[str, Pacer] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def local(cls, requests_per_second: float | None, bandwidth: int | None) -> "RunPacing":
        return cls(requests_per_second, bandwidth, lambda _name, rate: LocalPacer(rate))

    @classmethod
    def shared(
        cls, client: redis.Redis, key_prefix: str, ttl_seconds: int, requests_per_second: float | None,
        bandwidth: int | None, on_slowdown: Callable[[], None] | None = None,
    ) -> "RunPacing":
        def make(name: str, rate: float) -> Pacer:
            return SharedPacer(client, f"{key_prefix}:{name}", rate, ttl_seconds)

        return cls(requests_per_second, bandwidth, make, SlowdownCount(on_slowdown))

    def pacer(self, name: str, rate: float) -> Pacer:
        with self._lock:
            if name not in self._pacers:
                self._pacers[name] = self.make_pacer(name, rate)
            return self._pacers[name]

    def attach(self, client: Any) -> None:
        """Pace and watch every request of this botocore S3 client."""
        events = client.meta.events
        events.register("needs-retry.s3", self._watch_answer, unique_id="bucketsync-slowdown-count")
        if self.requests_per_second:
            requests = self.pacer("requests-" + endpoint_id(client.meta.endpoint_url), self.requests_per_second)
            events.register(
                "before-send.s3", lambda **_: wait_for(requests, 1), unique_id="bucketsync-request-pacing"
            )
        if self.bandwidth:
            bandwidth = self.pacer("bandwidth", self.bandwidth)

            def pace_body(parsed: dict, **_: Any) -> None:
                if "Body" in parsed:
                    parsed["Body"] = PacedBody(parsed["Body"], bandwidth)

            events.register("after-call.s3.GetObject", pace_body, unique_id="bucketsync-bandwidth-pacing")

    def _watch_answer(self, response: Any = None, **_: Any) -> None:
        if is_slowdown(response):
            self.slowdowns.add()
        return None  # never decides the retry: botocore's retry handler does
