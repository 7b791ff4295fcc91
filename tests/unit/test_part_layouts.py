"""Finding a source's part layout from its bytes and its ETag (part_layouts.py): tables, no I/O."""

from __future__ import annotations

import hashlib
import random

import pytest

from bucketsync.core.part_layouts import (
    MB, LayoutHashes, candidate_part_sizes, etag_of_hex_md5s, gives_parts, layout, multipart_etag,
)

MiB = 1024 * 1024


def uploaded(data: bytes, sizes: list[int]) -> str:
    """The ETag of `data` uploaded in parts of these sizes."""
    md5s, start = [], 0
    for size in sizes:
        md5s.append(hashlib.md5(data[start:start + size]).digest())
        start += size
    assert start == len(data)
    return multipart_etag(md5s)


def test_multipart_etag_is_the_md5_of_the_part_md5s():
    parts = [b"a" * 10, b"b" * 3]
    md5s = [hashlib.md5(part).digest() for part in parts]
    assert multipart_etag(md5s) == hashlib.md5(b"".join(md5s)).hexdigest() + "-2"
    assert etag_of_hex_md5s(['"' + hashlib.md5(part).hexdigest() + '"' for part in parts]) == multipart_etag(md5s)


@pytest.mark.parametrize("sizes, chunksize", [
    ([6 * MiB, 6 * MiB], 8 * MiB),  # two equal parts: 8 MiB gives two parts too, and is tried first
    ([5 * MiB, 5 * MiB, 3 * MiB], 8 * MiB),
    ([16 * MiB, 4 * MiB], 8 * MiB),
    ([5 * MiB, 5 * MiB, 8 * MiB], 8 * MiB),  # the last part larger than the others
    ([6 * MB, 6 * MB, 1 * MB], 8 * MiB),  # whole MB, not MiB
    ([7 * MiB, 7 * MiB, 7 * MiB + 100], 8 * MiB),  # the tail folded into the last part
    ([6 * MiB + 512 * 1024, 6 * MiB + 512 * 1024], 8 * MiB),  # not a whole number of MiB or MB: the even split
])
def test_the_layout_an_upload_used_is_among_the_candidates_and_found_from_its_bytes(sizes, chunksize):
    data = random.Random(len(sizes)).randbytes(sum(sizes))
    etag = uploaded(data, sizes)
    candidates = candidate_part_sizes(len(data), len(sizes), chunksize)
    assert sizes[0] in candidates
    hashes = LayoutHashes(len(data), len(sizes), candidates)
    for start in range(0, len(data), 1000 * 1000 + 7):  # fed in chunks that cross part boundaries
        hashes.feed(data[start:start + 1000 * 1000 + 7])
    assert hashes.matching(etag) == sizes[0]
    assert hashes.matching('"' + etag + '"') == sizes[0]


def test_no_candidate_matches_a_layout_outside_the_family():
    sizes = [9 * MiB, 5 * MiB, 6 * MiB]  # parts of three sizes: no client does this, nothing reproduces it
    data = random.Random(3).randbytes(sum(sizes))
    candidates = candidate_part_sizes(len(data), 3, 8 * MiB)
    hashes = LayoutHashes(len(data), 3, candidates)
    hashes.feed(data)
    assert hashes.matching(uploaded(data, sizes)) is None


@pytest.mark.parametrize("size, parts, chunksize, first", [
    (12 * MiB, 2, 8 * MiB, 8 * MiB),  # the run's chunksize first (it is what bucketsync itself writes)
    (20 * MiB, 2, 8 * MiB, 16 * MiB),
    (13 * MiB, 3, 8 * MiB, 5 * MiB),
    (5 * MiB, 1, 8 * MiB, 5 * MiB),
])
def test_candidates_start_with_the_likeliest(size, parts, chunksize, first):
    candidates = candidate_part_sizes(size, parts, chunksize)
    assert candidates[0] == first
    assert all(gives_parts(size, candidate, parts) for candidate in candidates)
    assert len(candidates) <= 16


def test_a_layout_is_n_minus_one_equal_parts_and_the_rest():
    assert [(p.first, p.last) for p in layout(18, 5, 3)] == [(0, 4), (5, 9), (10, 17)]
    assert [(p.first, p.last) for p in layout(7, 7, 1)] == [(0, 6)]


@pytest.mark.parametrize(
    "size, parts, chunksize, expected",
    [
        (20 * MiB, 4, 8 * MiB, 5 * MiB),  # 4 x 5 MiB (the contract tests' source): 8 MiB would be 3 parts
        (20 * MiB, 3, 16 * MiB, 8 * MiB),  # aws-cli's 8 MiB
        (6 * MiB, 2, 16 * MiB, 5 * MiB),  # 8 MiB would be one part: the S3 minimum
        (100 * MiB, 7, 16 * MiB, 16 * MiB),  # the run's chunksize first
        (100 * MiB, 4, 30 * MiB, 30 * MiB),  # an unusual chunksize the operator set to match
        (100 * MiB, 9, 16 * MiB, 12 * MiB),  # no common size fits: the smallest whole MiB that does
        (10 * MiB + 1, 1, 16 * MiB, 10 * MiB + 1),  # one part: the whole object
        (0, 1, 16 * MiB, 1),
    ],
)
def test_the_likeliest_candidate(size, parts, chunksize, expected):
    guessed = candidate_part_sizes(size, parts, chunksize)[0]
    assert guessed == expected
    assert max(1, -(-size // guessed)) == parts  # whatever the guess, the part count is the ETag's
