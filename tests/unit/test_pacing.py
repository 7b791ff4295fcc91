"""Pacing rules with plain values: slot spacing, byte rates, SlowDown recognition, paced bodies."""

from __future__ import annotations

import io
import threading

import pytest

from bucketsync.engine.pacing import InFlightLimit, LocalPacer, PacedBody, RunPacing, is_slowdown, next_slot
from bucketsync.core.settings import load_settings, parse_byte_rate
from bucketsync.core.errors import SettingsError


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    "next_free, now, cost, rate, expected",
    [
        (0.0, 10.0, 1, 4.0, (0.0, 10.25)),  # idle: at once, the next slot a quarter second on
        (10.25, 10.0, 1, 4.0, (0.25, 10.5)),  # busy: wait for the free slot
        (9.0, 10.0, 1, 4.0, (0.0, 10.25)),  # idle time is not saved up: no burst after a pause
        (0.0, 10.0, 512, 1024.0, (0.0, 10.5)),  # bytes: cost / rate seconds
    ],
)
def test_next_slot(next_free, now, cost, rate, expected):
    assert next_slot(next_free, now, cost, rate) == expected


def test_local_pacer_spaces_reservations_evenly_whatever_the_callers_do():
    clock = FakeClock()
    pacer = LocalPacer(rate=10.0, clock=clock)
    waits = [pacer.reserve(1) for _ in range(25)]  # 25 requests at one instant
    assert waits == pytest.approx([n / 10 for n in range(25)])
    # at most 10 per second over any window: the 25th starts 2.4 s after the first
    clock.now += 5.0
    assert pacer.reserve(1) == 0.0


@pytest.mark.parametrize(
    "text, expected",
    [("1048576", 1048576), ("500KB", 500_000), ("50MiB", 50 * 1024 * 1024), ("1.5 MB/s", 1_500_000),
     ("2g", 2_000_000_000), ("  ", None)],
)
def test_parse_byte_rate(text, expected):
    assert parse_byte_rate(text) == expected


@pytest.mark.parametrize("text", ["fast", "10 parsecs", "-5MB", "MiB"])
def test_parse_byte_rate_refuses_what_is_not_a_size(text):
    with pytest.raises(ValueError, match="number of bytes"):
        parse_byte_rate(text)


def test_settings_take_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("BUCKETSYNC_MAX_REQUESTS_PER_SECOND", "250")
    monkeypatch.setenv("BUCKETSYNC_MAX_BANDWIDTH", "20MiB")
    settings = load_settings()
    assert (settings.max_requests_per_second, settings.max_bandwidth) == (250.0, 20 * 1024 * 1024)
    assert load_settings(max_requests_per_second=3).max_requests_per_second == 3.0  # the CLI option wins


@pytest.mark.parametrize("name, value", [("MAX_REQUESTS_PER_SECOND", "0"), ("MAX_REQUESTS_PER_SECOND", "many"),
                                         ("MAX_BANDWIDTH", "0"), ("MAX_BANDWIDTH", "lots")])
def test_settings_refuse_bad_limits(monkeypatch, name, value):
    monkeypatch.setenv(f"BUCKETSYNC_{name}", value)
    with pytest.raises(SettingsError, match=name.lower()):
        load_settings()


class Answer:
    def __init__(self, status: int) -> None:
        self.status_code = status


@pytest.mark.parametrize(
    "response, expected",
    [
        (None, False),  # a connection error: no answer at all
        ((Answer(200), {}), False),
        ((Answer(503), {"Error": {"Code": "SlowDown"}}), True),
        ((Answer(503), {"Error": {"Code": "ServiceUnavailable"}}), True),
        ((Answer(503), {}), True),  # HEAD: S3 sends no body with the status
        ((Answer(500), {"Error": {"Code": "InternalError"}}), False),
        ((Answer(400), {"Error": {"Code": "Throttling"}}), True),
    ],
)
def test_is_slowdown(response, expected):
    assert is_slowdown(response) is expected


class CountingPacer:
    rate = 1e12  # effectively no wait

    def __init__(self) -> None:
        self.reserved: list[float] = []

    def reserve(self, cost: float) -> float:
        self.reserved.append(cost)
        return 0.0


@pytest.mark.parametrize("size, amt", [(0, None), (10, None), (600_000, None), (600_000, 100_000), (3000, 7)])
def test_paced_body_reads_everything_and_pays_for_each_byte_once(size, amt):
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    pacer = CountingPacer()
    body = PacedBody(io.BytesIO(data), pacer)
    read = b""
    while True:
        chunk = body.read(amt)
        read += chunk
        if not chunk or amt is None:
            break
    assert read == data
    assert sum(pacer.reserved) == size
    assert max(pacer.reserved, default=0) <= 256 * 1024


def test_one_endpoint_one_limit_and_bandwidth_shared():
    pacing = RunPacing.local(requests_per_second=5, bandwidth=1000)
    assert pacing.pacer("requests-a", 5) is pacing.pacer("requests-a", 5)
    assert pacing.pacer("requests-a", 5) is not pacing.pacer("requests-b", 5)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_in_flight_limit_halves_once_per_burst_of_slowdowns_and_grows_back_by_one_per_round():
    clock = Clock()
    limit = InFlightLimit(64, calm_seconds=1.0, clock=clock)
    limit.slowed_down()
    limit.slowed_down()  # the same burst: one signal
    assert limit.limit == 32
    clock.now += 1.0
    limit.slowed_down()
    assert (limit.limit, limit.lowest) == (16, 16)
    for _ in range(15):
        limit.acquire()
        limit.release()
    assert limit.limit == 16  # a round is as many operations as the limit
    limit.acquire()
    limit.release()
    assert limit.limit == 17
    for _ in range(10_000):
        limit.acquire()
        limit.release()
    assert (limit.limit, limit.lowest) == (64, 16)  # back to the concurrency, never above it


def test_in_flight_limit_never_goes_below_one():
    clock = Clock()
    limit = InFlightLimit(4, calm_seconds=0.0, clock=clock)
    for _ in range(5):
        limit.slowed_down()
    assert limit.limit == 1


def test_operations_beyond_the_lowered_limit_wait_for_one_to_end():
    limit = InFlightLimit(4)
    limit.slowed_down()  # 4 -> 2
    limit.acquire()
    limit.acquire()
    entered = threading.Event()

    def third() -> None:
        limit.acquire()
        entered.set()

    waiter = threading.Thread(target=third, daemon=True)
    waiter.start()
    assert not entered.wait(0.2)
    limit.release()
    assert entered.wait(2)


def test_slowdowns_reach_every_in_flight_limit_of_the_run():
    pacing = RunPacing.local(None, None)
    limit = InFlightLimit(16)
    pacing.slowdowns.in_flight.append(limit)
    pacing._watch_answer(response=(type("R", (), {"status_code": 503})(), {"Error": {"Code": "SlowDown"}}))
    assert (pacing.slowdowns.total, limit.limit) == (1, 8)
