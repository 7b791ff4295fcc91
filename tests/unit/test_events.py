"""Bucket notifications as Change values, and which changes still need work (bucketsync.core.events). No I/O."""

from __future__ import annotations

import json

import pytest

from bucketsync.core.events import Change, NotificationFormatError, PendingChanges, changes_from_notification


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


def test_a_burst_on_one_key_collapses_into_one_piece_of_work_covering_every_event():
    pending = PendingChanges()
    burst = [change("k", f"{n:04X}", time=f"2026-12-05T10:00:{n:02d}Z") for n in range(1, 51)]
    assert [pending.add(c) for c in burst] == ["queued"] + ["merged"] * 49
    (work,) = pending.take(10)
    assert work.change == burst[-1] and work.changes == 50
    assert work.oldest.isoformat() == "2026-12-05T10:00:01+00:00"  # the lag counts from the first of them
    assert pending.done(work) is False and len(pending) == 0


def test_the_order_of_events_is_not_trusted_an_older_looking_event_is_one_more_look():
    # Ceph RGW 16's sequencers for three PUTs of one key in a row (measured): not monotonic.
    pending = PendingChanges()
    for sequencer in ("5BA3146B2144F113", "5BA3146B42A33018"):
        pending.add(change("k", sequencer))
    pending.done(pending.take(1)[0])
    assert pending.add(change("k", "5BA3146B0C045B1B")) == "queued"  # the newest PUT, although it sorts lower


def test_only_an_exact_repeat_is_a_duplicate_while_waiting_working_or_after():
    pending = PendingChanges()
    first, second = change("k", "0002"), change("k", "0003")
    assert pending.add(second) == "queued"
    assert pending.add(second) == "duplicate"  # delivered twice while waiting
    assert pending.add(first) == "merged"
    (work,) = pending.take(5)
    assert pending.add(first) == "duplicate"  # again, while being worked on
    pending.done(work)
    assert pending.add(second) == "duplicate" and pending.add(first) == "duplicate"  # after the work
    assert pending.take(5) == []


def test_one_key_is_never_worked_on_twice_at_once_and_a_change_meanwhile_comes_back_after():
    pending = PendingChanges()
    a1, b1, a2 = change("a", "01"), change("b", "01"), change("a", "02")
    pending.add(a1), pending.add(b1)
    (first,) = pending.take(1)
    assert first.change == a1
    assert pending.add(a2) == "queued"  # arrives while a1 is worked on
    assert [w.change for w in pending.take(5)] == [b1]  # not a2: a is taken
    assert pending.done(first) is True
    (again,) = pending.take(5)
    assert again.change == a2
    assert pending.done(again) is False and len(pending) == 0  # b is taken, not waiting
    assert pending.holds("src", "b") and not pending.holds("src", "a")


def test_keys_of_different_buckets_are_different_keys_and_come_out_oldest_first():
    pending = PendingChanges()
    changes = [change("k", "01"), changes_from_notification({"Records": [record("ObjectCreated:Put", "k", bucket="other")]})[0],
               change("j", "01")]
    for c in changes:
        pending.add(c)
    assert [w.change for w in pending.take(10)] == changes


def test_only_the_most_recent_keys_are_remembered_once_done():
    pending = PendingChanges(remember=2)
    for key in ("a", "b", "c"):
        pending.add(change(key, "05"))
        pending.done(pending.take(1)[0])
    assert pending.add(change("a", "05")) == "queued"  # forgotten: looked at again (harmless: nothing to write)
    assert pending.add(change("c", "05")) == "duplicate"
