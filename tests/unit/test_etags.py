"""ETags compare without their quotes; multipart ETags are computed as S3 computes them. No I/O."""

from __future__ import annotations

import pytest

from bucketsync.core.model import ObjectEntry, etag_body, quoted_etag, same_content, same_etag
from bucketsync.engine.s3 import multipart_etag
from bucketsync.run.verify import content_verdict

# Recorded from a real multipart upload on moto: 5 MiB of b"a" then b"b"; and b"hello" alone.
PART_A = '"79b281060d337b9b2b84ccf390adcf74"'
PART_B = '"92eb5ffee6ae2fec3ad71c777531578f"'
HELLO = '"5d41402abc4b2a76b9719d911017c592"'


@pytest.mark.parametrize(
    "etag, body",
    [('"abc"', "abc"), ("abc", "abc"), ('"abc-2"', "abc-2"), ('""', ""), ('"a"b"', 'a"b')],
)
def test_etag_body(etag, body):
    assert etag_body(etag) == body
    assert quoted_etag(etag) == f'"{body}"'


@pytest.mark.parametrize(
    "a, b, same",
    [('"abc"', "abc", True), ("abc", '"abc"', True), ('"abc"', '"abd"', False), ('"abc-2"', "abc-2", True)],
)
def test_same_etag(a, b, same):
    assert same_etag(a, b) is same


@pytest.mark.parametrize(
    "parts, etag",
    [
        ([PART_A, PART_B], "e5a8c5272b26fc10581a21089559b006-2"),
        ([PART_A.strip('"'), PART_B], "e5a8c5272b26fc10581a21089559b006-2"),  # quoted or not
        ([HELLO], "62109206880d38a4010a98e11243924a-1"),  # one part: still `-1`, not the part's MD5
        ([PART_B, PART_A], None),  # order matters
    ],
)
def test_multipart_etag(parts, etag):
    computed = multipart_etag(parts)
    if etag is None:
        assert computed != "e5a8c5272b26fc10581a21089559b006-2"
    else:
        assert computed == etag


@pytest.mark.parametrize(
    "source, dest",
    [('"abc"', "abc"), ("abc-2", '"abc-2"')],
)
def test_quotes_never_make_a_difference(source, dest):
    assert same_content(ObjectEntry("k", 5, source), ObjectEntry("k", 5, dest))
    assert content_verdict(source, 5, dest, 5) == "equal"
