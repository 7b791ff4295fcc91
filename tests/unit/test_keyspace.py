"""Key ranges a listing is cut into: contiguous, every key in exactly one, every boundary sendable as StartAfter."""

from __future__ import annotations

import pytest

from bucketsync.listing.keyspace import (
    KeyRange, contiguous_ranges, ranges_between_prefixes, ranges_from_sample, travels_in_xml,
)


def test_ranges():
    lower, upper = KeyRange(None, "m"), KeyRange("m", None)
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


@pytest.mark.parametrize("key, expected", [
    ("logs/2026/x.gz", True), ("é/日本/😀", True), ("tab\there", True), ("a\U0010ffff", True),
    ("a\x17b", False), ("\x00", False), ("a\ufffe", False),
])
def test_a_start_after_must_travel_in_an_xml_answer(key, expected):
    assert travels_in_xml(key) is expected


def test_boundaries_that_cannot_be_sent_are_left_out_of_the_first_cut():
    ranges = contiguous_ranges(["g", "m\x01", "t"])
    assert [(r.start_after, r.last) for r in ranges] == [(None, "g"), ("g", "t"), ("t", None)]
