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
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = object()


def drained_on_threads(producers: list[Callable[[], Iterator[T]]], depth: int, name: str) -> Iterator[T]:
    """Items of every `producers[i]()`, each called and drained on a thread that starts now."""
    fan_in: FanIn[T] = FanIn(depth * len(producers), name)
    for producer in producers:
        fan_in.add(producer)
    return fan_in.items()


class FanIn(Generic[T]):
    """Producers drained on threads of their own, read as one by `items()`; more may be added while one
    still runs (`reserve` first: the reader goes on until every reserved producer has been started and
    drained, or released unstarted)."""

    def __init__(self, buffer_size: int, name: str) -> None:
        self._buffer: queue.Queue = queue.Queue(maxsize=max(1, buffer_size))
        self._name = name
        self._lock = threading.Lock()
        self._reserved = 0  # producers added or reserved whose end the reader has not seen
        self._started = 0
        self.stopped = threading.Event()  # set once the reader has gone

    def add(self, producer: Callable[[], Iterator[T]]) -> None:
        self.reserve()
        self.start(producer)

    def reserve(self) -> None:
        with self._lock:
            self._reserved += 1

    def release(self) -> None:
        """A reserved producer that will not be started."""
        self._offer(_DONE)

    def start(self, producer: Callable[[], Iterator[T]]) -> None:
        with self._lock:
            index, self._started = self._started, self._started + 1
        threading.Thread(target=self._drain, args=(producer,), name=f"{self._name}-{index}", daemon=True).start()

    def _offer(self, item: object) -> bool:
        """Put `item` in the buffer unless the reader has gone (then the buffer may stay full for good)."""
        while not self.stopped.is_set():
            try:
                self._buffer.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _drain(self, producer: Callable[[], Iterator[T]]) -> None:
        try:
            for item in producer():
                if not self._offer(item):
                    return
            self._offer(_DONE)
        except BaseException as exc:  # handed to the reader, raised there
            self._offer(exc)

    def items(self) -> Iterator[T]:
        """The items as they are produced, until every producer is done; the first exception is raised
        here and stops them all, as closing or dropping the iterator does."""

        def read() -> Iterator[T]:
            try:
                while True:
                    with self._lock:
                        if self._reserved == 0:
                            return
                    item = self._buffer.get()
                    if item is _DONE:
                        with self._lock:
                            self._reserved -= 1
                    elif isinstance(item, BaseException):
                        raise item
                    else:
                        yield item
            finally:
                self.stopped.set()

        reader = read()
        weakref.finalize(reader, self.stopped.set)
        return reader
