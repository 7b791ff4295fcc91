"""Ranges of the key space, and where to split one so that two listers can list its halves at once. Pure.

S3 lists keys in UTF-8 byte order, which is the order of their code points (Python's `str` order), so a
range is a pair of strings: the keys k with `start_after < k <= last` (either bound may be open). A
listing of a range starts with `StartAfter=start_after` and stops at the first key past `last`.

`split_point(low, high)` picks a string between two bounds by treating strings as numbers in base 95
(printable ASCII, what most keys use) or, where the bounds leave that alphabet, in base 0x110000 (all
code points but those a string or an XML answer cannot hold: control characters, surrogates, U+FFFE/FFFF). The point need not be a key: it only says where the second half starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PRINTABLE_LOW, PRINTABLE_HIGH = 0x20, 0x7E
MAX_CODE_POINT = 0x10FFFF
SURROGATES = range(0xD800, 0xE000)
DIGITS = 8  # how far below the common prefix a split point may reach


@dataclass(frozen=True)
class KeyRange:
    """Keys k with start_after < k <= last; None leaves a side open."""

    start_after: str | None = None
    last: str | None = None

    def contains(self, key: str) -> bool:
        return (self.start_after is None or key > self.start_after) and (self.last is None or key <= self.last)

    def is_past(self, key: str) -> bool:
        """Whether a listing in key order has gone beyond this range."""
        return self.last is not None and key > self.last

    def split_at(self, point: str) -> tuple["KeyRange", "KeyRange"]:
        """(start_after, point] and (point, last]."""
        return KeyRange(self.start_after, point), KeyRange(point, self.last)

    def to_json(self) -> dict[str, Any]:
        return {"start_after": self.start_after, "last": self.last}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "KeyRange":
        data = data or {}
        return cls(data.get("start_after"), data.get("last"))


WHOLE = KeyRange()  # every key


def _digits(text: str, base_low: int, length: int, pad: int) -> list[int]:
    values = [ord(char) - base_low for char in text[:length]]
    return values + [pad] * (length - len(values))


def _midpoint(low: list[int], high: list[int], base: int) -> list[int]:
    """(low + high) / 2 for two digit lists of one length, most significant first (floor)."""
    total = [a + b for a, b in zip(low, high)]
    for index in range(len(total) - 1, 0, -1):  # carries
        if total[index] >= base:
            total[index - 1] += total[index] // base
            total[index] %= base
    result, remainder = [], 0
    for digit in total:
        value = remainder * base + digit
        result.append(value // 2)
        remainder = value % 2
    return result


def _sendable(code: int) -> int:
    """`code`, or the next code point above it that a string and an XML answer can hold."""
    if code < 0x20:
        return 0x20
    if code in SURROGATES:
        return SURROGATES.stop
    if code in (0xFFFE, 0xFFFF):
        return 0x10000
    return code


def split_point(low: str | None, high: str | None) -> str | None:
    """A string strictly between low and high (None: the open ends), or None when they are too close."""
    low = low or ""
    if high is not None and high <= low:
        return None
    common = 0
    if high is not None:
        while common < min(len(low), len(high)) and low[common] == high[common]:
            common += 1
    low_rest = low[common:]
    high_rest = high[common:] if high is not None else None
    printable = all(PRINTABLE_LOW <= ord(c) <= PRINTABLE_HIGH for c in low_rest + (high_rest or ""))
    base_low, base = (PRINTABLE_LOW, PRINTABLE_HIGH - PRINTABLE_LOW + 1) if printable else (0, MAX_CODE_POINT + 1)
    length = max(len(low_rest), len(high_rest or ""), 1) + DIGITS
    low_digits = _digits(low_rest, base_low, length, 0)
    high_digits = _digits(high_rest, base_low, length, 0) if high_rest is not None else [base - 1] * length
    middle = _midpoint(low_digits, high_digits, base)
    while middle and middle[-1] == 0:
        middle.pop()
    chars = []
    for digit in middle:
        chars.append(chr(_sendable(digit + base_low)))
    point = low[:common] + "".join(chars)
    if point > low and (high is None or point < high):
        return point
    return None


PAGES_PER_RANGE = 4  # a range's last page lists up to a page past its end: ranges shorter than this cost more than they save


def worth_cutting(pages_since_cut: int, ranges_open: int, ranges_allowed: int,
                  pages_per_range: int = PAGES_PER_RANGE) -> bool:
    """The one rule by which both modes cut a range while it is listed: it has listed `pages_per_range` pages
    since it started or was last cut (or tried to be), is not done, and fewer than `ranges_allowed` ranges
    are listing (the caller counts them and knows whether the range is done)."""
    return pages_since_cut >= pages_per_range and ranges_open < ranges_allowed


CUT_ROUNDS = 2  # rounds of probes that narrow down where the keys left end, once one is found
POINTS_PER_ROUND = 7  # probes asked at once in a round: the stretch looked at shrinks to an eighth
MORE_ROUNDS_TO_FIND = 4  # further rounds while no key after `after` has been found


def travels_in_xml(key: str) -> bool:
    """Whether a key can be asked for as StartAfter: the server echoes it in an XML 1.0 answer, which cannot
    hold control characters (a server answers 500, and botocore retries that for a minute)."""
    return all(char in "\t\n\r" or "\x20" <= char <= "\ud7ff" or "\ue000" <= char <= "\ufffd" or char >= "\U00010000"
               for char in key)


def usable_cut(point: str | None, after: str | None = None, last: str | None = None) -> bool:
    """Whether `point` can cut (after, last] (None: open ends): strictly inside it, and sendable as the
    StartAfter the second range's listing starts with. Every cut and probe point passes here."""
    return (point is not None and (after is None or point > after) and (last is None or point < last)
            and travels_in_xml(point))


class StartAfterIgnored(Exception):
    """A listing asked to start after a key answered with a key at or before it."""


def find_cut(first_keys_after: Callable[[list[str]], list[str | None]], after: str | None, last: str | None,
             sample: list[str] | None = None, rounds: int = CUT_ROUNDS, points: int = POINTS_PER_ROUND) -> str | None:
    """Where to cut the rest of a range being listed, (after, last], so that a second lister can take
    (cut, last] while the first goes on to cut: None when no keys lie past any point tried.

    `first_keys_after(points)`: for each point, the first key after it (ListObjectsV2 with StartAfter and
    MaxKeys 1) or None, asked at once; no point holds a character an XML answer cannot carry. `sample`:
    keys listed last (a page). Asked in rounds, each a round trip: first how far the keys left reach (past
    every key under the prefix the sample shares with `after`, under a shorter part of its last path
    segment, under each shorter prefix up to a `/`: one point each); then `rounds` times, `points` points
    evenly spread (in the sample's alphabet, below that prefix) between the last key found and the first
    point with no key after it. The cut is the middle between `after` and the last key found."""

    def probe(asked: list[str]) -> list[str | None]:
        answers = first_keys_after(asked)
        for point, key in zip(asked, answers):
            if key is not None and key <= point:
                raise StartAfterIgnored(f"asked for keys after {point!r}, got {key!r}")
        return [key if key is not None and (last is None or key <= last) else None for key in answers]

    known = [*(sample or ()), *((after,) if after else ())]
    shared = os.path.commonprefix(known) if len(known) > 1 else ""
    upper, found = last, None  # no key of the range lies after `upper`; `found` is one, after `after`
    reaches = [(wider, edge) for wider in _widening(shared) if wider and usable_cut(edge := _past_prefix(wider), None, last)]
    shared = ""
    for (wider, edge), key in zip(reaches, probe([edge for _, edge in reaches]) if reaches else []):
        if key is None:
            shared, upper = wider, edge  # every key left lies under `wider`
            break
        found = max(found or key, key)
    middle = _middle_in_alphabet(shared, [key for key in known if key.startswith(shared)])

    def between(low: str | None, high: str | None) -> str | None:
        """A point inside (low, high) that can be sent as StartAfter, or None."""
        for point in (middle(low, high), split_point(low, high)):
            if usable_cut(point, low, high):
                return point
        return None

    def spread(low: str | None, high: str | None, depth: int) -> list[str]:
        point = between(low, high)
        if point is None or depth == 0:
            return [point] if point is not None else []
        return [*spread(low, point, depth - 1), point, *spread(point, high, depth - 1)]

    depth = max(0, (points + 1).bit_length() - 2)  # 2**(depth + 1) - 1 points: 7 for 8 stretches
    for round_ in range(rounds + MORE_ROUNDS_TO_FIND):
        if round_ >= rounds and found is not None:
            break
        asked = spread(found or after, upper, depth)
        if not asked:
            break
        for point, key in zip(asked, probe(asked)):
            if key is None:
                upper = point  # points are in order: nothing after the first such point
                break
            found = max(found or key, key)
    return between(after, found) if found is not None else None


def _widening(shared: str) -> list[str]:
    """Where the keys left may end, narrowest first: under `shared`, under each shorter part of its last
    path segment, under each prefix up to a `/` in it, anywhere ("")."""
    segment = shared.rfind("/") + 1
    return [*(shared[:length] for length in range(len(shared), segment, -1)),
            *(shared[: index + 1] for index in range(segment - 1, -1, -1) if shared[index] == "/"), ""]


def _past_prefix(prefix: str) -> str | None:
    """A string after every string that starts with `prefix` (None where its last character has no next)."""
    code = _sendable(ord(prefix[-1]) + 1)
    return prefix[:-1] + chr(code) if code <= MAX_CODE_POINT else None


def middle_prefix(prefixes: list[str], after: str | None, last: str | None) -> str | None:
    """The common prefix in the middle of those that hold keys of (after, last]: a cut there gives the
    second lister the keys under it and after it (only usable cuts). None when fewer than two such prefixes."""
    inside = sorted({prefix for prefix in prefixes if usable_cut(prefix, after, last)})
    return inside[len(inside) // 2] if len(inside) >= 2 else None


def _middle_in_alphabet(shared: str, keys: list[str]) -> Callable[[str | None, str | None], str | None]:
    """The middle of two bounds read as numbers in the alphabet `keys` use below the prefix they share
    (None, or a bound past that prefix's keys: the alphabet's end); a point from it may fall outside the
    bounds where keys are longer than it reads (the caller checks)."""
    rest = [key[len(shared):] for key in keys]
    if len({char for key in rest for char in key}) < 2:
        return lambda low, high: None
    number, text, end = _alphabet_numbers(rest)

    def read(key: str | None, default: int) -> int:
        if key is None:
            return default
        if key.startswith(shared):
            return number(key[len(shared):])
        return 0 if key < shared else end

    def middle(low: str | None, high: str | None) -> str | None:
        low_number, high_number = read(low, 0), read(high, end)
        if high_number - low_number < 2:
            return None
        return shared + text((low_number + high_number) // 2)

    return middle


MAX_BOUNDARY_LENGTH = 16  # characters of a sampled key that an even split looks at


def contiguous_ranges(boundaries: list[str]) -> list[KeyRange]:
    """(None, b1], (b1, b2], ..., (bn, None]: every key in exactly one range, whatever the boundaries (those
    that cannot be sent as a StartAfter are left out)."""
    cuts = sorted({boundary for boundary in boundaries if usable_cut(boundary)})
    edges: list[str | None] = [None, *cuts, None]
    return [KeyRange(edges[index], edges[index + 1]) for index in range(len(edges) - 1)]


def ranges_between_prefixes(prefixes: list[str], parts: int) -> list[KeyRange]:
    """Ranges cut at common prefixes (`logs/`, `q017/`), each holding about as many of them: the keys under a
    prefix P start after P, so a cut at P puts them in the range that follows it."""
    ordered = sorted(set(prefixes))
    parts = max(1, min(parts, len(ordered)))
    return contiguous_ranges([ordered[len(ordered) * index // parts] for index in range(1, parts)])


def _alphabet_numbers(keys: list[str]):
    """Keys read as numbers in the alphabet they use (sorted), over their first MAX_BOUNDARY_LENGTH
    characters: (number of a key, text of a number, the largest number)."""
    alphabet = sorted({char for key in keys for char in key})
    base, length = len(alphabet), min(MAX_BOUNDARY_LENGTH, max(len(key) for key in keys))
    position = {char: index for index, char in enumerate(alphabet)}

    def number(key: str) -> int:
        value = 0
        for char in key[:length].ljust(length, alphabet[0]):
            value = value * base + position.get(char, 0)
        return value

    def text(value: int) -> str:
        chars = []
        for _ in range(length):
            value, digit = divmod(value, base)
            chars.append(alphabet[digit])
        return "".join(reversed(chars)).rstrip(alphabet[0]) or alphabet[0]

    return number, text, base**length - 1


def sampled_share(sample: list[str]) -> float:
    """The share of a flat key space a sample of its first keys spans (from its first key to the end of its
    alphabet): 1,000 keys spanning a fiftieth of it say the listing is about 50 pages long."""
    keys = sorted(set(sample))
    if len(keys) < 2 or len({char for key in keys for char in key}) < 2:
        return 1.0
    number, _, high = _alphabet_numbers(keys)
    low = number(keys[0])
    return max((number(keys[-1]) - low) / max(high - low, 1), 1e-9)


def prefixes_share(prefixes: list[str], last_listed: str) -> float:
    """The share of the common prefixes a first page reached (its last key is under, or past, them)."""
    ordered = sorted(set(prefixes))
    reached = sum(1 for prefix in ordered if prefix <= last_listed)
    return max(reached, 1) / max(len(ordered), 1)


def parts_worth_listing(parts: int, share_of_first_page: float, pages_per_range: int) -> int:
    """How many ranges to list at once when the first page covered `share_of_first_page` of the listing:
    each range should hold about `pages_per_range` pages, since a range's last page also lists up to a
    page of the next range's keys."""
    estimated_pages = 1 / share_of_first_page
    return max(1, min(parts, int(estimated_pages // pages_per_range)))


def ranges_from_sample(sample: list[str], parts: int) -> list[KeyRange]:
    """Ranges for keys with no common prefixes (hash-named keys): the key space from the sample's first key
    to the end of the alphabet the sample uses, cut into `parts` even stretches, the keys read as numbers
    in that alphabet. Even for uniformly spread keys; still complete and disjoint for any others."""
    keys = sorted(set(sample))
    if parts <= 1 or len(keys) < 2 or len({char for key in keys for char in key}) < 2:
        return [KeyRange()]
    number, text, high = _alphabet_numbers(keys)
    low = number(keys[0])
    cuts = [text(low + (high - low) * index // parts) for index in range(1, parts)]
    return contiguous_ranges([cut for cut in cuts if cut > keys[0]])
