"""Key ranges and split points: a split point always lies strictly between its bounds, in S3's order."""

from __future__ import annotations

import bisect
import random

import pytest

from bucketsync.listing.keyspace import (
    KeyRange, StartAfterIgnored, contiguous_ranges, find_cut, ranges_between_prefixes, ranges_from_sample, split_point,
    travels_in_xml, usable_cut, worth_cutting,
)


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


def _first_key_after(keys: list[str], ignores_start_after: bool = False):
    ordered = sorted(keys)

    def probe(point: str) -> str | None:
        if ignores_start_after:
            return ordered[0] if ordered else None
        index = bisect.bisect_right(ordered, point)
        return ordered[index] if index < len(ordered) else None

    return lambda points: [probe(point) for point in points]


def _share_after(keys: list[str], after: str | None, last: str | None, cut: str) -> float:
    rest = [key for key in keys if (after is None or key > after) and (last is None or key <= last)]
    return sum(1 for key in rest if key > cut) / len(rest)


@pytest.mark.parametrize(
    "keys, after, last",
    [
        ([f"{n:08x}" for n in range(0, 2**32, 2**32 // 65536)], "07d00000", None),  # hash-named, open range
        ([f"{n:08x}" for n in range(0, 2**32, 2**32 // 65536)], "10000000", "8fffffff"),  # hash-named, closed range
        ([f"a/{n:06d}" for n in range(100_000)], "a/001000", None),  # everything under one prefix, range open
        ([f"k{n}" for n in range(5000)] + ["\u65e5\u672c/" + str(n) for n in range(5000)], "k10", None),
    ],
)
def test_a_cut_leaves_keys_on_both_sides_and_a_useful_share_to_the_second_lister(keys, after, last):
    listed = sorted(key for key in keys if key <= after)[-1000:]  # the page listed last
    cut = find_cut(_first_key_after(keys), after, last, sample=listed)
    assert cut is not None
    assert (after or "") < cut and (last is None or cut < last)
    share = _share_after(keys, after, last, cut)
    assert 0.1 <= share <= 0.9, share


def test_no_cut_where_no_key_follows_the_listed_ones():
    keys = [f"a/{n:04d}" for n in range(100)]
    assert find_cut(_first_key_after(keys), "a/0099", None) is None
    assert find_cut(_first_key_after(keys), "a/0050", "a/0050") is None


def test_keys_only_past_the_range_do_not_count():
    keys = [f"a/{n:04d}" for n in range(100)] + ["z"]
    assert find_cut(_first_key_after(keys), "a/0099", "y") is None


def test_a_server_ignoring_start_after_is_found_out():
    keys = [f"{n:08x}" for n in range(0, 2**32, 2**32 // 64)]
    with pytest.raises(StartAfterIgnored):
        find_cut(_first_key_after(keys, ignores_start_after=True), "10000000", None)


def test_a_cut_is_asked_in_a_few_rounds_of_points_asked_at_once():
    rounds: list[list[str]] = []
    keys = [f"t/2026/11/29/part-{n:06d}" for n in range(100_000)]
    probe = _first_key_after(keys)
    cut = find_cut(lambda points: rounds.append(points) or probe(points), keys[999], None, sample=keys[:1000])
    assert len(rounds) <= 3 and all(len(points) <= 16 for points in rounds)
    assert 0.4 <= _share_after(keys, keys[999], None, cut) <= 0.6


def test_keys_far_from_the_sample_are_still_found_in_further_rounds():
    keys = [f"a/{n:04d}" for n in range(100)] + ["zz/only-key-left"]
    cut = find_cut(_first_key_after(keys), "a/0099", None, sample=keys[:100])
    assert cut is not None and "a/0099" < cut < "zz/only-key-left"


@pytest.mark.parametrize("key, expected", [
    ("logs/2026/x.gz", True), ("é/日本/😀", True), ("tab\there", True), ("a\U0010ffff", True),
    ("a\x17b", False), ("\x00", False), ("a\ufffe", False),
])
def test_a_start_after_must_travel_in_an_xml_answer(key, expected):
    assert travels_in_xml(key) is expected


@pytest.mark.parametrize("cut, after, last, expected", [
    ("m", "c", "t", True), ("m", None, None, True), ("c", "c", "t", False), ("t", "c", "t", False),
    ("a", "c", None, False), (None, "c", None, False), ("m\x01", "c", None, False),
])
def test_a_cut_is_used_only_inside_the_rest_of_a_range(cut, after, last, expected):
    assert usable_cut(cut, after, last) is expected


def test_boundaries_that_cannot_be_sent_are_left_out_of_the_first_cut():
    ranges = contiguous_ranges(["g", "m\x01", "t"])
    assert [(r.start_after, r.last) for r in ranges] == [(None, "g"), ("g", "t"), ("t", None)]


@pytest.mark.parametrize("pages, ranges_open, allowed, expected", [
    (4, 1, 4, True),  # the range's 4th page, and room for another range
    (10, 3, 4, True),
    (3, 1, 4, False),  # too few pages to call the range long
    (4, 4, 4, False),  # as many ranges listing as allowed
    (4, 1, 1, False),  # BUCKETSYNC_LISTING_RANGES=1: one stream
])
def test_a_range_is_worth_cutting_once_it_has_listed_a_few_pages_and_there_is_room(pages, ranges_open, allowed, expected):
    assert worth_cutting(pages, ranges_open, allowed) is expected
