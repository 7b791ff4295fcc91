"""listing.prefetched: the background listing thread ends whenever the consumer stops, whatever it was doing."""

from __future__ import annotations

import threading
import time

import pytest

from bucketsync.listing.pages import Page, prefetched


def _listing_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == "bucketsync-listing"}


def _wait_until_gone(threads: set[threading.Thread], timeout: float = 3.0) -> set[threading.Thread]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(thread.is_alive() for thread in threads):
        time.sleep(0.05)
    return {thread for thread in threads if thread.is_alive()}


def pages(count: int, then: BaseException | None = None):
    for number in range(count):
        yield Page(entries=[], next_token=str(number))
    if then is not None:
        raise then


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(lambda: pages(2), id="end of listing while the buffer is full"),
        pytest.param(lambda: pages(2, then=RuntimeError("listing broke")), id="error while the buffer is full"),
        pytest.param(lambda: pages(50), id="pages left"),
    ],
)
def test_listing_thread_ends_when_the_consumer_stops_early(source):
    before = _listing_threads()
    stream = prefetched(source(), depth=1)
    assert next(stream).next_token == "0"
    time.sleep(0.3)  # the thread fills the buffer again and waits to hand over what follows
    stream.close()

    assert _wait_until_gone(_listing_threads() - before) == set()


def test_pages_and_errors_reach_the_consumer_in_order():
    assert [page.next_token for page in prefetched(pages(3), depth=1)] == ["0", "1", "2"]
    stream = prefetched(pages(1, then=RuntimeError("listing broke")), depth=1)
    assert next(stream).next_token == "0"
    with pytest.raises(RuntimeError, match="listing broke"):
        next(stream)
