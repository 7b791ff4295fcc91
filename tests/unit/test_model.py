"""ETag comparison, lock state from HeadObject responses, retention normalisation."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone

import pytest
from dateutil.tz import tzutc

from bucketsync.core.model import LockState, ObjectEntry, Retention, parts_in_etag, same_content, to_second

UTC = timezone.utc
MD5_A = "9b2cf535f27731c974343645a3985328"
MD5_B = "5d41402abc4b2a76b9719d911017c592"


@pytest.mark.parametrize(
    "etag, parts",
    [
        (f'"{MD5_A}"', 0),
        (MD5_A, 0),
        (f'"{MD5_A}-1"', 1),
        (f'"{MD5_A}-2"', 2),
        (f"{MD5_A}-10000", 10000),
        (f'"{MD5_A}-"', 0),
        (f'"{MD5_A}-x"', 0),
        ('""', 0),
        ("", 0),
    ],
)
def test_parts_in_etag(etag, parts):
    assert parts_in_etag(etag) == parts


def entry(etag: str, size: int = 100, key: str = "k") -> ObjectEntry:
    return ObjectEntry(key=key, size=size, etag=etag)


# id, source, dest, same?
SAME_CONTENT = [
    ("single, same etag", entry(f'"{MD5_A}"'), entry(f'"{MD5_A}"'), True),
    ("single, different etag", entry(f'"{MD5_A}"'), entry(f'"{MD5_B}"'), False),
    ("single, same etag, different size", entry(f'"{MD5_A}"', 100), entry(f'"{MD5_A}"', 101), False),
    ("quotes ignored (source quoted)", entry(f'"{MD5_A}"'), entry(MD5_A), True),
    ("quotes ignored (dest quoted)", entry(MD5_A), entry(f'"{MD5_A}"'), True),
    ("quotes ignored, still different", entry(MD5_A), entry(f'"{MD5_B}"'), False),
    ("multipart, same count, same etag", entry(f'"{MD5_A}-3"'), entry(f'"{MD5_A}-3"'), True),
    ("multipart, same count, different etag", entry(f'"{MD5_A}-3"'), entry(f'"{MD5_B}-3"'), False),
    ("multipart, same count, quotes ignored", entry(f'"{MD5_A}-3"'), entry(f"{MD5_A}-3"), True),
    ("multipart, same etag, different size", entry(f'"{MD5_A}-3"', 10), entry(f'"{MD5_A}-3"', 11), False),
    ("single vs multipart, same size: size decides", entry(f'"{MD5_A}"'), entry(f'"{MD5_B}-2"'), True),
    ("multipart vs single, same size: size decides", entry(f'"{MD5_A}-2"'), entry(f'"{MD5_B}"'), True),
    ("part counts differ, same size: size decides", entry(f'"{MD5_A}-2"'), entry(f'"{MD5_B}-4"'), True),
    ("single vs multipart, different size", entry(f'"{MD5_A}"', 5), entry(f'"{MD5_B}-2"', 6), False),
    ("part counts differ, different size", entry(f'"{MD5_A}-2"', 5), entry(f'"{MD5_A}-4"', 6), False),
    ("empty objects", entry('"d41d8cd98f00b204e9800998ecf8427e"', 0),
     entry('"d41d8cd98f00b204e9800998ecf8427e"', 0), True),
]


@pytest.mark.parametrize("source, dest, same", [c[1:] for c in SAME_CONTENT], ids=[c[0] for c in SAME_CONTENT])
def test_same_content(source, dest, same):
    assert same_content(source, dest) is same
    assert same_content(dest, source) is same  # symmetric


@pytest.mark.parametrize(
    "data",
    [
        {"key": "a b/c+d%e#f?g", "size": 0, "etag": '"x"'},
        {"key": "/lead//double", "size": 5 * 1024**3, "etag": f"{MD5_A}-3"},
        {"key": "ünïcode/日本", "size": 7, "etag": MD5_B},
    ],
)
def test_object_entry_json_round_trip(data):
    made = ObjectEntry.from_json(data)
    assert made == ObjectEntry(**data)
    assert ObjectEntry.from_json(json.loads(json.dumps(made.to_json()))) == made


def test_object_entry_from_json_coerces_size():
    assert ObjectEntry.from_json({"key": "k", "size": "12", "etag": "e"}).size == 12


UNTIL = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)

# id, HeadObject response (boto3 field names), expected lock state
HEADS = [
    ("no lock fields", {"ContentLength": 3, "ETag": '"x"'}, LockState()),
    ("empty response", {}, LockState()),
    ("GOVERNANCE", {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": UNTIL},
     LockState(Retention("GOVERNANCE", UNTIL))),
    ("COMPLIANCE with botocore tzutc and microseconds",
     {"ObjectLockMode": "COMPLIANCE",
      "ObjectLockRetainUntilDate": datetime(2031, 2, 3, 4, 5, 6, 789_000, tzinfo=tzutc())},
     LockState(Retention("COMPLIANCE", UNTIL))),
    ("legal hold ON", {"ObjectLockLegalHoldStatus": "ON"}, LockState(legal_hold=True)),
    ("legal hold OFF", {"ObjectLockLegalHoldStatus": "OFF"}, LockState(legal_hold=False)),
    ("everything",
     {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": UNTIL, "ObjectLockLegalHoldStatus": "ON",
      "VersionId": "v1", "ResponseMetadata": {"HTTPStatusCode": 200}},
     LockState(Retention("GOVERNANCE", UNTIL), legal_hold=True)),
    ("mode without date is no retention", {"ObjectLockMode": "GOVERNANCE"}, LockState()),
    ("date without mode is no retention", {"ObjectLockRetainUntilDate": UNTIL}, LockState()),
    ("explicit None fields", {"ObjectLockMode": None, "ObjectLockRetainUntilDate": None,
                              "ObjectLockLegalHoldStatus": None}, LockState()),
]


@pytest.mark.parametrize("head, expected", [c[1:] for c in HEADS], ids=[c[0] for c in HEADS])
def test_lock_state_from_head(head, expected):
    state = LockState.from_head(head)
    assert state == expected
    assert state.is_empty() == (expected.retention is None and not expected.legal_hold)


@pytest.mark.parametrize(
    "given, expected",
    [
        (datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC), datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)),
        (datetime(2031, 2, 3, 4, 5, 6, 999_999, tzinfo=UTC), datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)),
        (datetime(2031, 2, 3, 4, 5, 6, 1, tzinfo=UTC), datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)),
        # naive means UTC
        (datetime(2031, 2, 3, 4, 5, 6, 500_000), datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)),
        # other zones become the same instant in UTC
        (datetime(2031, 2, 3, 6, 5, 6, tzinfo=timezone(timedelta(hours=2))), datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)),
        (datetime(2031, 2, 2, 22, 35, 6, 250_000, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
         datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)),
        (datetime(2031, 2, 3, 4, 5, 6, tzinfo=tzutc()), datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)),
    ],
)
def test_retention_truncates_to_seconds_in_utc(given, expected):
    retention = Retention("GOVERNANCE", given)
    assert retention.retain_until == expected
    assert retention.retain_until.tzinfo is UTC
    assert retention.retain_until.microsecond == 0
    assert to_second(given) == expected



@pytest.fixture
def local_time_zone_far_from_utc():
    """A machine whose local time is not UTC: a naive datetime must still be read as UTC."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "IST-5:30"  # POSIX form: needs no zoneinfo files
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


@pytest.mark.usefixtures("local_time_zone_far_from_utc")
def test_naive_is_utc_whatever_the_local_time_zone():
    assert time.timezone != 0
    naive = datetime(2031, 2, 3, 4, 5, 6, 700_000)
    assert Retention("GOVERNANCE", naive).retain_until == datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert Retention("GOVERNANCE", naive).is_active(datetime(2031, 2, 3, 4, 5, 5)) is True
    assert Retention("GOVERNANCE", naive).is_active(datetime(2031, 2, 3, 4, 5, 6)) is False

@pytest.mark.parametrize(
    "a, b, equal",
    [
        (Retention("GOVERNANCE", UNTIL), Retention("GOVERNANCE", UNTIL.replace(microsecond=5)), True),
        (Retention("GOVERNANCE", UNTIL), Retention("GOVERNANCE", UNTIL.replace(tzinfo=None)), True),
        (Retention("GOVERNANCE", UNTIL), Retention("COMPLIANCE", UNTIL), False),
        (Retention("GOVERNANCE", UNTIL), Retention("GOVERNANCE", UNTIL + timedelta(seconds=1)), False),
    ],
)
def test_retention_equality_is_to_the_second(a, b, equal):
    assert (a == b) is equal


@pytest.mark.parametrize(
    "until, now, active",
    [
        (UNTIL, UNTIL - timedelta(seconds=1), True),
        (UNTIL, UNTIL, False),
        (UNTIL, UNTIL + timedelta(seconds=1), False),
        (UNTIL, UNTIL.replace(tzinfo=None) - timedelta(days=1), True),
        (UNTIL, UNTIL.astimezone(timezone(timedelta(hours=3))), False),
    ],
)
def test_retention_is_active(until, now, active):
    assert Retention("COMPLIANCE", until).is_active(now) is active


def test_lock_state_to_json():
    state = LockState(Retention("COMPLIANCE", UNTIL.replace(microsecond=42)), legal_hold=True)
    data = json.loads(json.dumps(state.to_json()))
    assert data == {
        "retention": {"mode": "COMPLIANCE", "retain_until": "2031-02-03T04:05:06+00:00"},
        "legal_hold": True,
    }
    assert LockState().to_json() == {"retention": None, "legal_hold": False}
