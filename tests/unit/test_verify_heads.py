"""verify.compare_heads: every header that `sync` copies is compared, Expires included."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bucketsync.run.verify import compare_heads

NOW = datetime(2030, 6, 1, tzinfo=timezone.utc)
EXPIRES = datetime(2031, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "source, dest, differs",
    [
        ({}, {}, []),
        ({"ContentType": "text/plain"}, {"ContentType": "text/plain"}, []),
        ({"ContentType": "text/plain"}, {"ContentType": "text/html"}, ["ContentType"]),
        ({"Expires": EXPIRES}, {"Expires": EXPIRES}, []),
        ({"Expires": EXPIRES}, {}, ["Expires"]),
        ({"Expires": EXPIRES}, {"Expires": datetime(2031, 1, 2, tzinfo=timezone.utc)}, ["Expires"]),
        ({"ExpiresString": "never"}, {"ExpiresString": "never"}, []),
        ({"ExpiresString": "never"}, {}, ["Expires"]),
        ({"Metadata": {"a": "1"}}, {"Metadata": {"a": "2"}}, ["metadata"]),
        ({"Metadata": {}}, {}, []),
    ],
)
def test_compare_heads(source, dest, differs):
    assert [item.what for item in compare_heads("k", source, dest, NOW)] == differs


def test_an_expires_difference_is_json_safe():
    (difference,) = compare_heads("k", {"Expires": EXPIRES}, {}, NOW)
    assert difference.to_json() == {"key": "k", "what": "Expires", "source": "2031-01-01T00:00:00+00:00", "destination": None}
