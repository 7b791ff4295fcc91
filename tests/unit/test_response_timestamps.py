"""The fast timestamp parser that bucketsync's botocore sessions use must read what botocore's reads."""

from datetime import datetime, timezone

import pytest
from botocore.utils import parse_timestamp

from bucketsync.engine.s3 import _session, parse_response_timestamp

SAMPLES = [
    "2026-11-25T14:39:12.000Z",  # ListObjectsV2 LastModified
    "2026-11-25T14:39:12Z",
    "2026-12-01T00:00:00.123456+00:00",
    "2026-12-01T02:00:00+02:00",
    "Wed, 25 Nov 2026 14:39:12 GMT",  # Last-Modified header
    "Sun, 01 Feb 2026 00:00:09 GMT",
    "Wed, 25 Nov 2026 14:39 GMT",  # not an IMF-fixdate: botocore's answer
    "1764000000",
    1764000000,
    "2026-11-25T14:39:12",  # no zone: botocore's answer, whatever it is
]


@pytest.mark.parametrize("value", SAMPLES)
def test_same_instant_and_awareness_as_botocore(value):
    ours, theirs = parse_response_timestamp(value), parse_timestamp(value)
    assert (ours.tzinfo is None) == (theirs.tzinfo is None)
    assert ours == theirs


def test_iso_values_come_back_aware_in_utc_terms():
    parsed = parse_response_timestamp("2026-12-01T02:00:00+02:00")
    assert parsed.astimezone(timezone.utc) == datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)


def test_sessions_parse_responses_with_it():
    factory = _session(None).get_component("response_parser_factory")
    assert factory.create_parser("rest-xml")._timestamp_parser is parse_response_timestamp


def test_http_dates_skip_botocore_parser(monkeypatch):
    """HEAD answers carry Last-Modified as an HTTP date: read without dateutil (the lock pass sends two per object)."""
    import bucketsync.engine.s3 as s3

    monkeypatch.setattr(s3, "parse_timestamp", lambda value: pytest.fail(f"botocore's parser asked for {value!r}"))
    assert parse_response_timestamp("Wed, 25 Nov 2026 14:39:12 GMT") == datetime(2026, 11, 25, 14, 39, 12, tzinfo=timezone.utc)
