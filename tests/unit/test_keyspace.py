"""Key ranges and split points: a split point always lies strictly between its bounds, in S3's order."""

from __future__ import annotations

import random

import pytest

from bucketsync.keyspace import KeyRange, split_point


def utf8_order(a: str, b: str) -> bool:
    return a.encode() < b.encode()


@pytest.mark.parametrize(
    "low, high",
    [
        (None, None),
        ("", "b"),
        ("a", "b"),
        ("a", "a0"),
        ("logs/2024-01-01/x", "logs/2024-12-31/y"),
        ("0000000a", "ffffffff"),
        ("a", None),
        ("~", None),
        ("日本", "日本語"),
        ("ascii", "ünïcödé"),
        ("\ud7ff", "\ue001"),  # around the surrogate gap
    ],
)
def test_split_point_lies_between(low, high):
    point = split_point(low, high)
    assert point is not None
    assert (low or "") < point and (high is None or point < high)
    assert utf8_order((low or ""), point) and (high is None or utf8_order(point, high))
    point.encode()  # a string S3 can carry


@pytest.mark.parametrize("low, high", [("a", "a"), ("b", "a"), ("a", "a\x00"), ("", "\x00")])
def test_no_split_point_between_adjacent_or_reversed_bounds(low, high):
    assert split_point(low, high) is None


def test_hash_named_keys_split_into_halves_of_useful_size():
    rng = random.Random(3)
    keys = sorted("".join(rng.choice("0123456789abcdef") for _ in range(16)) for _ in range(4000))
    point = split_point(keys[0], keys[-1])
    lower = sum(1 for key in keys if key <= point)
    assert 0.25 < lower / len(keys) < 0.75


def test_random_bounds():
    rng = random.Random(7)
    alphabets = ["abcdef0123456789", "abc/-_. ", "aü日\U0001f600/"]
    for _ in range(2000):
        alphabet = rng.choice(alphabets)
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        b = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        low, high = min(a, b), max(a, b)
        point = split_point(low, high)
        if point is not None:
            assert low < point < high and utf8_order(low, point) and utf8_order(point, high)


def test_ranges():
    whole = KeyRange()
    lower, upper = whole.split_at("m")
    assert lower.contains("a") and lower.contains("m") and not lower.contains("n")
    assert upper.contains("n") and not upper.contains("m")
    assert lower.is_past("n") and not upper.is_past("zzz")
    assert KeyRange.from_json(upper.to_json()) == upper
