"""The parts of multipart copies, run in parallel: at most `PARTS_PER_OBJECT` of one object at once, and at
most `part_slots(concurrency)` of the whole process at once (one shared set of threads), whatever the
number of objects being copied.

A part's job is taken from its object's iterator only once both bounds leave room for it, in the object's
own thread: so a streamed copy reads part N+1 from its source GET while parts up to N upload, and never
holds more read-ahead parts than it has slots. On the first failure no further job is taken; the jobs
already running are waited for (so none still runs when the upload is aborted) and the failure is raised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import lru_cache

PARTS_PER_OBJECT = 4


# Bodies and parts a process may hold in memory at a full `multipart_chunksize` each, whatever its concurrency.
CHUNKS_IN_MEMORY = 32


def part_slot_count(concurrency: int) -> int:
    """Parts in flight per process: as many as there are object threads (at least one object's worth)."""
    return max(PARTS_PER_OBJECT, concurrency)


def spool_memory_limit(concurrency: int, chunksize: int) -> int:
    """Bytes of one streamed body or part kept in memory before the rest spills to a temporary file: every
    object thread and part slot holding one at once stays within CHUNKS_IN_MEMORY chunks; up to 16 object
    threads, each holds at most one chunk."""
    holders = concurrency + part_slot_count(concurrency)
    return min(chunksize, CHUNKS_IN_MEMORY * chunksize // holders)


class PartSlots:
    """The process's part threads and the count of parts in flight across all objects."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = threading.BoundedSemaphore(limit)
        self._executor = ThreadPoolExecutor(limit, thread_name_prefix="bucketsync-part")

    def run(self, jobs: Iterator[Callable[[], None]], per_object: int = PARTS_PER_OBJECT) -> None:
        """Run every job of one object; raises the first failure (a job's, or the iterator's)."""
        window = threading.Semaphore(per_object)
        failed = threading.Event()
        running: list[Future] = []

        def finished(future: Future) -> None:
            if future.exception() is not None:
                failed.set()
            self._free.release()
            window.release()

        try:
            while True:
                window.acquire()
                self._free.acquire()
                try:
                    job = None if failed.is_set() else next(jobs, None)
                except BaseException:
                    self._free.release()
                    window.release()
                    raise
                if job is None:
                    self._free.release()
                    window.release()
                    break
                future = self._executor.submit(job)
                running.append(future)
                future.add_done_callback(finished)
        finally:
            wait(running)
        for future in running:
            error = future.exception()
            if error is not None:
                raise error


@lru_cache(maxsize=None)
def _slots(limit: int) -> PartSlots:
    return PartSlots(limit)


def part_slots(concurrency: int) -> PartSlots:
    """This process's part slots (created on first use, so after a worker process has forked)."""
    return _slots(part_slot_count(concurrency))
