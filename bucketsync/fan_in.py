"""Several iterators, each drained on its own thread, read as one: items in the order they are produced.

Memory stays bounded: a producer waits once `depth` of its items are unread. The first exception a
producer raises is raised to the reader, and every producer stops at its next item; closing the reader
(or leaving a `for` over it) stops them too.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


def interleaved(producers: list[Callable[[], Iterator[T]]], depth: int = 4, name: str = "bucketsync-fan-in") -> Iterator[T]:
    """Items of every `producers[i]()`, each called and drained on a thread of its own."""
    if len(producers) == 1:
        yield from producers[0]()
        return
    buffer: queue.Queue = queue.Queue(maxsize=depth * len(producers))
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def drain(producer: Callable[[], Iterator[T]]) -> None:
        try:
            for item in producer():
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the reader, raised there
            offer(exc)

    threads = [threading.Thread(target=drain, args=(producer,), name=f"{name}-{index}", daemon=True)
               for index, producer in enumerate(producers)]
    for thread in threads:
        thread.start()
    running = len(threads)
    try:
        while running:
            item = buffer.get()
            if item is _DONE:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
