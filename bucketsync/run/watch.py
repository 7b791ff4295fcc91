"""The watcher: changes announced by the source's notifications, taken in durably, replicated key by key.

    receivers (HTTP / AMQP / SQS) --take_in--> journal (disk) + PendingChanges --take--> worker threads
                                                                                   replicate(change)
                                                                        <--done-- journal.finish(key)

`take_in` returns once the changes are in the journal: a receiver answers its server (or acknowledges its
queue message) only then, so nothing acknowledged is lost if the process dies. Work is per key, one at a
time, on its current state (a burst on one key is one piece of work; an exact repeat of an event none). A change whose work failed is tried again after a pause, then counted as failed; the
scheduled runs stay the safety net for it and for what no event announces (lock changes on AWS and RGW,
anything missed while notifications were off).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone

from .change_journal import ChangeJournal
from ..core.events import Change, PendingChanges, Work
from ..core.outcomes import ObjectOutcome

log = logging.getLogger(__name__)

# What bucketsync_events_total{result} counts; "duplicate": a change that needed no look of its own (an
# exact repeat, or one that arrived while its key waited and was covered by that look).
RESULTS = ("copied", "skipped", "deleted", "lock_updated", "failed", "vanished", "duplicate")
RETRY_PAUSES = (1.0, 5.0, 25.0)  # seconds before a failed change is tried again; then it counts as failed

Replicate = Callable[[Change], ObjectOutcome]
Observe = Callable[[str, float | None], None]  # (result, lag seconds or None)


def result_of(outcome: ObjectOutcome) -> str:
    return outcome.status if outcome.status in RESULTS else "skipped"


def lag_seconds(work: Work, now: datetime) -> float | None:
    """From the earliest event the work covers to now: what the slowest of its changes waited."""
    if work.oldest is None:
        return None
    return max(0.0, (now - work.oldest).total_seconds())


class Watcher:
    def __init__(self, replicate: Replicate, journal: ChangeJournal, concurrency: int = 16,
                 observe: Observe | None = None, retry_pauses: tuple[float, ...] = RETRY_PAUSES) -> None:
        self._replicate = replicate
        self._journal = journal
        self._concurrency = concurrency
        self._observe = observe or (lambda result, lag: None)
        self._retry_pauses = retry_pauses
        self._pending = PendingChanges()
        self._rows: dict[tuple[str, str], int] = {}  # newest journal row per key
        self._taken_rows: dict[tuple[str, str], int] = {}
        self._attempts: Counter[tuple[str, str]] = Counter()
        self._retries: list[tuple[float, int, Work]] = []  # (due, tie-breaker, change), the key still taken
        self._tie = itertools.count()
        self._lock = threading.Condition()
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self.counts: Counter[str] = Counter()

    # ------------------------------------------------------------------ intake

    def take_in(self, changes: list[Change]) -> None:
        """Record the changes durably, then queue what needs work. Raises if the journal cannot write."""
        if not changes:
            return
        rows = self._journal.record(changes)
        with self._lock:
            for change, row in zip(changes, rows):
                self._queue(change, row)
            self._lock.notify_all()

    def resume_unfinished(self) -> int:
        """Queue what the journal holds from before a restart; returns how many changes."""
        unfinished = self._journal.unfinished()
        with self._lock:
            for row, change in unfinished:
                self._queue(change, row)
            self._lock.notify_all()
        return len(unfinished)

    def _queue(self, change: Change, row: int) -> None:
        where = (change.bucket, change.key)
        self._rows[where] = max(row, self._rows.get(where, 0))
        if self._pending.add(change) == "duplicate":
            self.counts["duplicate"] += 1
            self._observe("duplicate", None)
            if not self._pending.holds(*where):  # nothing will finish this row: it needs nothing
                self._rows.pop(where, None)
                self._journal.finish(change.bucket, change.key, row)

    # ------------------------------------------------------------------ work

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def start(self) -> None:
        for index in range(self._concurrency):
            thread = threading.Thread(target=self._work, name=f"bucketsync-watch-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 60.0) -> None:
        """Finish the work in flight (what is only queued stays in the journal for the next start)."""
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is queued or in flight (for tests and a bounded drain)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._pending) or self._taken_rows or self._retries:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(min(remaining, 0.1))
        return True

    def _next(self) -> Work | None:
        with self._lock:
            while not self._stopping:
                if self._retries and self._retries[0][0] <= time.monotonic():
                    return heapq.heappop(self._retries)[2]
                taken = self._pending.take(1)
                if taken:
                    work = taken[0]
                    self._taken_rows[(work.change.bucket, work.change.key)] = self._rows.get(
                        (work.change.bucket, work.change.key), 0)
                    return work
                due = self._retries[0][0] - time.monotonic() if self._retries else 0.5
                self._lock.wait(max(0.01, min(0.5, due)))
            return None

    def _work(self) -> None:
        while (work := self._next()) is not None:
            change = work.change
            where = (change.bucket, change.key)
            try:
                outcome = self._replicate(change)
            except Exception as exc:  # noqa: BLE001 - one key's trouble never stops the watcher
                log.exception("watch: replicating %s/%s failed", change.bucket, change.key)
                outcome = ObjectOutcome(change.key, "failed", reason=f"internal error: {type(exc).__name__}: {exc}")
            result = result_of(outcome)
            attempt = self._attempts[where]
            if result == "failed" and attempt < len(self._retry_pauses) and not self._stopping:
                self._attempts[where] += 1
                log.info("watch: %s/%s failed (%s); again in %.0f s", change.bucket, change.key, outcome.reason,
                         self._retry_pauses[attempt])
                with self._lock:
                    heapq.heappush(self._retries, (time.monotonic() + self._retry_pauses[attempt], next(self._tie), work))
                    self._lock.notify_all()
                continue
            self._attempts.pop(where, None)
            if result == "failed":
                log.warning("watch: %s/%s failed: %s (the next scheduled run tries again)", change.bucket,
                            change.key, outcome.reason)
            self._finish(work, result)

    def _finish(self, work: Work, result: str) -> None:
        change = work.change
        where = (change.bucket, change.key)
        with self._lock:
            up_to = self._taken_rows.pop(where, 0)
            if not self._pending.done(work):  # nothing new meanwhile: repeats that came in are done too
                up_to = max(up_to, self._rows.pop(where, 0))
            self.counts[result] += 1
            self.counts["duplicate"] += work.changes - 1  # covered by this look: none of their own
            self._lock.notify_all()
        self._journal.finish(change.bucket, change.key, up_to)
        self._observe(result, lag_seconds(work, datetime.now(timezone.utc)))
        for _ in range(work.changes - 1):
            self._observe("duplicate", None)
