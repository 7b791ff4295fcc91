"""Key ranges and split points: a split point always lies strictly between its bounds, in S3's order."""

from __future__ import annotations

import random

import pytest

from bucketsync.keyspace import KeyRange, contiguous_ranges, ranges_between_prefixes, ranges_from_sample, split_point


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


# ---------------------------------------------------------------- ranges a listing is cut into


def _covering(ranges: list[KeyRange], keys: list[str]) -> list[int]:
    """How many ranges hold each key (each must be 1)."""
    return [sum(key_range.contains(key) for key_range in ranges) for key in keys]


@pytest.mark.parametrize("boundaries", [[], ["m"], ["m", "c", "m"], ["a/", "b", "zz~"]])
def test_contiguous_ranges_hold_every_key_once(boundaries):
    ranges = contiguous_ranges(boundaries)
    keys = ["", "a", "a/", "a/x", "b", "c", "m", "m0", "zz~", "zz~~", "\U0010ffff"]
    assert _covering(ranges, keys) == [1] * len(keys)
    assert ranges[0].start_after is None and ranges[-1].last is None


def test_ranges_between_prefixes_cut_at_prefixes_evenly():
    prefixes = [f"q{n:03d}/" for n in range(100)]
    ranges = ranges_between_prefixes(prefixes, 4)
    assert [r.last for r in ranges[:-1]] == ["q025/", "q050/", "q075/"]
    keys = [f"q{n:03d}/empty-{n}" for n in range(100)]
    assert _covering(ranges, keys) == [1] * 100
    assert [sum(r.contains(k) for k in keys) for r in ranges] == [25, 25, 25, 25]


def test_fewer_prefixes_than_parts_gives_one_range_a_prefix():
    assert len(ranges_between_prefixes(["a/", "b/"], 8)) == 2
    assert ranges_between_prefixes(["a/"], 8) == [KeyRange()]


def test_hash_named_keys_split_evenly_from_a_first_page_sample():
    import hashlib

    keys = sorted(hashlib.sha1(str(n).encode()).hexdigest() for n in range(20_000))
    ranges = ranges_from_sample(keys[:1000], 4)
    assert len(ranges) == 4
    assert _covering(ranges, keys) == [1] * len(keys)
    sizes = [sum(r.contains(k) for k in keys) for r in ranges]
    assert min(sizes) > 0.2 * len(keys), sizes  # about a quarter each (the first also holds the sample)


@pytest.mark.parametrize("sample", [[], ["only"], ["aaa", "aab"], ["x", "x"]])
def test_samples_too_small_to_split_still_cover_everything(sample):
    ranges = ranges_from_sample(sample, 4)
    assert _covering(ranges, ["", "a", "aaa", "aab", "only", "x", "zzz"]) == [1] * 7


def test_keys_outside_the_sampled_alphabet_still_fall_in_exactly_one_range():
    ranges = ranges_from_sample(["0a", "0b", "1c", "9f"], 3)
    keys = ["", "!", "0", "0a", "5", "A", "Z", "a", "f", "g", "~", "é", "\U0010ffff"]
    assert _covering(ranges, keys) == [1] * len(keys)
