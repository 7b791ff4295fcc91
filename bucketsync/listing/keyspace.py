"""Ranges of the key space, and where to cut it so that several listers can list its ranges at once. Pure.

S3 lists keys in UTF-8 byte order, which is the order of their code points (Python's `str` order), so a
range is a pair of strings: the keys k with `start_after < k <= last` (either bound may be open). A
listing of a range starts with `StartAfter=start_after` and stops at the first key past `last`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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

    def to_json(self) -> dict[str, Any]:
        return {"start_after": self.start_after, "last": self.last}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "KeyRange":
        data = data or {}
        return cls(data.get("start_after"), data.get("last"))


WHOLE = KeyRange()  # every key

PAGES_PER_RANGE = 4  # a range's last page lists up to a page past its end: ranges shorter than this cost more than they save


def travels_in_xml(key: str) -> bool:
    """Whether a key can be asked for as StartAfter: the server echoes it in an XML 1.0 answer, which cannot
    hold control characters (a server answers 500, and botocore retries that for a minute). Every range
    boundary passes here (contiguous_ranges)."""
    return all(char in "\t\n\r" or "\x20" <= char <= "\ud7ff" or "\ue000" <= char <= "\ufffd" or char >= "\U00010000"
               for char in key)


MAX_BOUNDARY_LENGTH = 16  # characters of a sampled key that an even split looks at


def contiguous_ranges(boundaries: list[str]) -> list[KeyRange]:
    """(None, b1], (b1, b2], ..., (bn, None]: every key in exactly one range, whatever the boundaries (those
    that cannot be sent as a StartAfter are left out)."""
    cuts = sorted({boundary for boundary in boundaries if travels_in_xml(boundary)})
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
