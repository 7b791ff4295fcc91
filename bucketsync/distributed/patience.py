"""Waiting out a Redis that is restarting or full, inside the task, so nothing has to be published meanwhile.

botocore retries S3; this covers only the broker/ledger side: a connection refused while Redis restarts,
or an OOM answer from a Redis at `maxmemory` with `noeviction` (writes are refused, reads and deletes
still work, so in-flight messages keep being acknowledged and memory frees as workers drain the queue).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)
T = TypeVar("T")

REDIS_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.OutOfMemoryError, OperationalError)


def is_redis_oom(exc: BaseException) -> bool:
    return isinstance(exc, redis.exceptions.OutOfMemoryError) or "OOM command not allowed" in str(exc)


def retry_while_redis_unavailable(
    call: Callable[[], T], *, what: str, give_up_after: float, first_wait: float = 0.5, max_wait: float = 15.0
) -> T:
    """Call until Redis accepts it, waiting with exponential backoff; re-raise after `give_up_after` seconds."""
    deadline = time.monotonic() + give_up_after
    wait = first_wait
    while True:
        try:
            return call()
        except Exception as exc:
            if not (isinstance(exc, REDIS_UNAVAILABLE) or is_redis_oom(exc)) or time.monotonic() + wait > deadline:
                raise
            log.warning("%s: Redis unavailable (%s); retrying in %.1f s", what, exc, wait)
            time.sleep(wait)
            wait = min(wait * 2, max_wait)
