"""Iterators drained on threads of their own and read as one: items in the order they are produced.

Memory stays bounded: a producer waits once `depth` of its items are unread. The first exception a
producer raises is raised to the reader, and every producer stops at its next item; closing the reader,
leaving a `for` over it, or dropping it unread stops them too.
"""

from __future__ import annotations

import queue
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


def drained_on_threads(producers: list[Callable[[], Iterator[T]]], depth: int, name: str) -> Iterator[T]:
    """Items of every `producers[i]()`, each called and drained on a thread that starts now."""
    buffer: queue.Queue = queue.Queue(maxsize=max(1, depth * len(producers)))
    stopped = threading.Event()  # set once the reader has gone

    def offer(item: object) -> bool:
        """Put `item` in the buffer unless the reader has gone (then the buffer may stay full for good)."""
        while not stopped.is_set():
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

    def read() -> Iterator[T]:
        running = len(producers)
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
            stopped.set()

    for index, producer in enumerate(producers):
        threading.Thread(target=drain, args=(producer,), name=f"{name}-{index}", daemon=True).start()
    reader = read()
    weakref.finalize(reader, stopped.set)
    return reader
