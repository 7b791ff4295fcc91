"""Bucket notifications as Change values, and which changes still need work (bucketsync.events). No I/O."""

from __future__ import annotations

import json

import pytest

from bucketsync.events import Change, NotificationFormatError, PendingChanges, changes_from_notification, is_newer


def record(name: str, key: str, *, bucket: str = "src", sequencer: str | None = None, version: str | None = None,
           size: int | None = 5, etag: str | None = "abc", time: str = "2026-12-05T10:00:00.000Z") -> dict:
    obj = {"key": key}
    for field, value in (("size", size), ("eTag", etag), ("sequencer", sequencer), ("versionId", version)):
        if value is not None:
            obj[field] = value
    return {"eventName": name, "eventTime": time, "s3": {"bucket": {"name": bucket}, "object": obj}}


@pytest.mark.parametrize(
    "name, kind",
    [
        ("ObjectCreated:Put", "created"),  # AWS, RGW 16
        ("ObjectCreated:CompleteMultipartUpload", "created"),
        ("ObjectCreated:Copy", "created"),
        ("s3:ObjectCreated:Put", "created"),  # MinIO, older RGW
        ("ObjectRemoved:Delete", "removed"),
        ("ObjectRemoved:DeleteMarkerCreated", "removed"),
        ("s3:ObjectRemoved:Delete", "removed"),
        ("ObjectRestore:Completed", None),
        ("LifecycleTransition", None),
        ("s3:ObjectAccessed:Get", None),
    ],
)
def test_event_names_map_to_created_removed_or_nothing(name, kind):
    changes = changes_from_notification({"Records": [record(name, "a")]})
    assert [change.kind for change in changes] == ([kind] if kind else [])


@pytest.mark.parametrize(
    "sent, key",
    [
        ("plain", "plain"),
        ("with+space", "with space"),  # form-encoded: + is a space
        ("a%2Bb", "a+b"),
        ("dir%2Fsub%2Ffile.txt", "dir/sub/file.txt"),
        ("%E2%82%AC%20euro", "€ euro"),
        ("100%25", "100%"),
        ("%2Fleading", "/leading"),
    ],
)
def test_keys_are_url_decoded(sent, key):
    assert changes_from_notification({"Records": [record("ObjectCreated:Put", sent)]})[0].key == key


def test_a_record_carries_bucket_version_size_etag_sequencer_and_time():
    body = json.dumps({"Records": [record("ObjectCreated:Put", "k", bucket="b1", sequencer="0055AED6DCD90281E5",
                                          version="v1", size=1024, etag="d41d8cd98f00b204e9800998ecf8427e")]})
    (change,) = changes_from_notification(body.encode())
    assert (change.bucket, change.version_id, change.size, change.etag, change.sequencer) == (
        "b1", "v1", 1024, "d41d8cd98f00b204e9800998ecf8427e", "0055AED6DCD90281E5")
    assert change.event_time.isoformat() == "2026-12-05T10:00:00+00:00"
    assert Change.from_json(json.loads(json.dumps(change.to_json()))) == change


def test_an_sns_envelope_is_opened_and_a_test_event_announces_nothing():
    inner = {"Records": [record("ObjectCreated:Put", "k")]}
    assert [c.key for c in changes_from_notification({"Type": "Notification", "Message": json.dumps(inner)})] == ["k"]
    assert changes_from_notification({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}) == []


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"Records": "x"}', b"{}", b"\xff\xfe"])
def test_what_is_not_a_notification_is_refused(body):
    with pytest.raises(NotificationFormatError):
        changes_from_notification(body)


def test_records_of_other_shapes_are_passed_over_not_fatal():
    body = {"Records": [{"eventName": "ObjectCreated:Put"}, "x", record("ObjectCreated:Put", "ok")]}
    assert [c.key for c in changes_from_notification(body)] == ["ok"]


def change(key: str, sequencer: str | None, time: str = "2026-12-05T10:00:00.000Z", kind: str = "ObjectCreated:Put"):
    return changes_from_notification({"Records": [record(kind, key, sequencer=sequencer, time=time)]})[0]


@pytest.mark.parametrize(
    "first, second, newer",
    [
        ("0055AED6DCD90281E5", "0055AED6DCD90281E6", True),
        ("0055AED6DCD90281E6", "0055AED6DCD90281E5", False),
        ("FF", "0100", True),  # padded to one width before comparing: 0x100 > 0xFF
        ("0100", "FF", False),
        ("00AB", "00AB", False),  # the same event again
    ],
)
def test_sequencers_order_the_events_of_one_key(first, second, newer):
    assert is_newer(change("k", second), change("k", first)) is newer


def test_without_sequencers_event_time_orders_and_a_tie_counts_as_newer():
    early, late = change("k", None, "2026-12-05T10:00:00Z"), change("k", None, "2026-12-05T10:00:01Z")
    assert is_newer(late, early) and not is_newer(early, late) and is_newer(early, early)


def test_a_burst_on_one_key_collapses_into_one_piece_of_work_of_its_newest_state():
    pending = PendingChanges()
    burst = [change("k", f"{n:04X}") for n in range(1, 51)]
    assert [pending.add(c) for c in burst] == [True] * 50  # each is newer than the one before
    assert pending.take(10) == [burst[-1]]
    assert pending.done(burst[-1]) is False and len(pending) == 0


def test_duplicates_and_late_events_need_no_work():
    pending = PendingChanges()
    first, second = change("k", "0002"), change("k", "0003")
    assert pending.add(second) is True
    assert pending.add(second) is False  # delivered twice
    assert pending.add(first) is False  # older than what is pending
    (taken,) = pending.take(5)
    pending.done(taken)
    assert pending.add(second) is False and pending.add(first) is False  # late, after the work was done
    assert pending.take(5) == []


def test_one_key_is_never_worked_on_twice_at_once_and_a_change_meanwhile_comes_back_after():
    pending = PendingChanges()
    a1, b1, a2 = change("a", "01"), change("b", "01"), change("a", "02")
    pending.add(a1), pending.add(b1)
    assert pending.take(1) == [a1]
    assert pending.add(a2) is True  # arrives while a1 is worked on
    assert pending.take(5) == [b1]  # not a2: a is taken
    assert pending.done(a1) is True
    assert pending.take(5) == [a2]
    assert pending.done(a2) is False and pending.done(b1) is False and len(pending) == 0


def test_keys_of_different_buckets_are_different_keys_and_come_out_oldest_first():
    pending = PendingChanges()
    changes = [change("k", "01"), changes_from_notification({"Records": [record("ObjectCreated:Put", "k", bucket="other")]})[0],
               change("j", "01")]
    for c in changes:
        pending.add(c)
    assert pending.take(10) == changes


def test_only_the_most_recent_keys_are_remembered_once_done():
    pending = PendingChanges(remember=2)
    for key in ("a", "b", "c"):
        c = change(key, "05")
        pending.add(c)
        pending.done(pending.take(1)[0])
    assert pending.add(change("a", "05")) is True  # forgotten: looked at again (harmless: nothing to write)
    assert pending.add(change("c", "05")) is False
