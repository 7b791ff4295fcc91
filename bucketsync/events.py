"""What a source's bucket notifications announce, as plain values, and which of them still need work. Pure.

A notification is a JSON document of `Records` (AWS S3 through SQS, directly or wrapped by SNS; Ceph RGW
pushing over HTTP or AMQP; MinIO's webhook). Each record becomes one `Change`: the bucket, the key
(URL-decoded: the servers send it form-encoded, a space as `+`), created or removed, and what the record
says of the version (id, size, ETag), its time and its `sequencer`.

The sequencer orders the events of one key (S3: "compare the strings after padding the shorter with
leading zeros"); events of different keys have no order. An event says only that something happened: the
replica is made from both sides' current state when the change is worked on, so a burst on one key needs
one piece of work, and a duplicate or late event none (`PendingChanges`).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import unquote_plus

ChangeKind = Literal["created", "removed"]


class NotificationFormatError(ValueError):
    """A body that is not a bucket notification at all (not JSON, no Records): answered as a client error."""


@dataclass(frozen=True)
class Change:
    bucket: str
    key: str
    kind: ChangeKind
    event_name: str
    version_id: str | None = None
    size: int | None = None
    etag: str | None = None
    sequencer: str | None = None
    event_time: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"bucket": self.bucket, "key": self.key, "kind": self.kind, "event_name": self.event_name}
        for name in ("version_id", "size", "etag", "sequencer"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.event_time is not None:
            data["event_time"] = self.event_time.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Change":
        when = data.get("event_time")
        return cls(
            bucket=data["bucket"], key=data["key"], kind=data["kind"], event_name=data.get("event_name", ""),
            version_id=data.get("version_id"), size=data.get("size"), etag=data.get("etag"),
            sequencer=data.get("sequencer"), event_time=datetime.fromisoformat(when) if when else None,
        )


def _event_kind(name: str) -> ChangeKind | None:
    """`ObjectCreated:Put`, `s3:ObjectCreated:Put` (MinIO, older RGW) -> created; ObjectRemoved:* -> removed;
    anything else (replication, restore, lifecycle transitions, test events) -> None."""
    bare = name.removeprefix("s3:")
    if bare.startswith("ObjectCreated:"):
        return "created"
    if bare.startswith("ObjectRemoved:"):
        return "removed"
    return None


def _event_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _change(record: dict[str, Any]) -> Change | None:
    name = str(record.get("eventName", ""))
    kind = _event_kind(name)
    s3 = record.get("s3")
    if kind is None or not isinstance(s3, dict):
        return None
    bucket = (s3.get("bucket") or {}).get("name")
    obj = s3.get("object") or {}
    if not bucket or "key" not in obj:
        return None
    size = obj.get("size")
    return Change(
        bucket=str(bucket),
        key=unquote_plus(str(obj["key"])),
        kind=kind,
        event_name=name.removeprefix("s3:"),
        version_id=obj.get("versionId") or None,
        size=int(size) if isinstance(size, (int, str)) and str(size).isdigit() else None,
        etag=obj.get("eTag") or obj.get("etag") or None,
        sequencer=obj.get("sequencer") or None,
        event_time=_event_time(record.get("eventTime")),
    )


def changes_from_notification(body: str | bytes | dict[str, Any]) -> list[Change]:
    """Every object change a notification body announces, in the order given.

    An S3 test event (`s3:TestEvent`, sent when a configuration is saved) and records of other kinds
    announce nothing. An SNS envelope (`{"Type": "Notification", "Message": "<json>"}`) is opened.
    """
    document = body
    if isinstance(document, (bytes, str)):
        try:
            document = json.loads(document)
        except (ValueError, UnicodeDecodeError) as exc:
            raise NotificationFormatError(f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise NotificationFormatError("not a JSON object")
    if document.get("Type") == "Notification" and isinstance(document.get("Message"), str):
        return changes_from_notification(document["Message"])
    if document.get("Event") == "s3:TestEvent":
        return []
    records = document.get("Records")
    if not isinstance(records, list):
        raise NotificationFormatError("no Records list")
    return [change for record in records if isinstance(record, dict) and (change := _change(record)) is not None]


def sequencer_order(sequencer: str | None) -> tuple[int, str]:
    """A sort key for sequencers of one key: padded to a common width (S3's rule), missing ones first."""
    if not sequencer:
        return (0, "")
    return (1, sequencer.upper().rjust(64, "0"))


def is_newer(candidate: Change, than: Change) -> bool:
    """Whether `candidate` announces a later state of the key than `than`.

    By sequencer where both have one; otherwise (moto sends none) by event time, and a tie counts as newer:
    the work re-reads both sides, so one needless look is the price of never missing a change.
    """
    if candidate.sequencer and than.sequencer:
        return sequencer_order(candidate.sequencer) > sequencer_order(than.sequencer)
    if candidate.event_time and than.event_time:
        return candidate.event_time >= than.event_time
    return True


@dataclass
class _Slot:
    latest: Change
    taken: bool = False  # being worked on: a newer change must wait until it is done


class PendingChanges:
    """Changes waiting for work, at most one per key, and never two at once for one key.

    `add` keeps the newest announced change per key (a burst collapses into one piece of work; an older or
    repeated event is dropped and reported as a duplicate). `take` hands out keys whose work is not already
    running, oldest first; `done` ends that work and reports whether a newer change arrived meanwhile (it is
    then pending again). The last finished change of the `remember` most recent keys is kept, so a late
    event for a key just done is recognised as old. Not thread-safe by itself: the watcher holds a lock.
    """

    def __init__(self, remember: int = 100_000) -> None:
        self._remember = remember
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._order: list[tuple[str, str]] = []  # keys waiting, oldest first
        self._since_done: dict[tuple[str, str], Change] = {}  # newest change that arrived while a key was taken
        self._last_done: OrderedDict[tuple[str, str], Change] = OrderedDict()

    def __len__(self) -> int:
        return len(self._order) + len(self._since_done)

    def add(self, change: Change) -> bool:
        """True if the change needs work; False for a duplicate or an event older than one already known."""
        where = (change.bucket, change.key)
        slot = self._slots.get(where)
        finished = self._last_done.get(where)
        if slot is None:
            if finished is not None and change.sequencer and not is_newer(change, finished):
                return False
            self._slots[where] = _Slot(change)
            self._order.append(where)
            return True
        if slot.taken:
            waiting = self._since_done.get(where)
            if not is_newer(change, waiting or slot.latest) or change == slot.latest:
                return False
            self._since_done[where] = change
            return True
        if change == slot.latest or not is_newer(change, slot.latest):
            return False
        slot.latest = change
        return True

    def holds(self, bucket: str, key: str) -> bool:
        """Whether the key is waiting for work or being worked on."""
        return (bucket, key) in self._slots

    def take(self, limit: int) -> list[Change]:
        """Up to `limit` changes of keys nobody is working on, oldest first, marked as taken."""
        handed: list[Change] = []
        while self._order and len(handed) < limit:
            where = self._order.pop(0)
            slot = self._slots[where]
            slot.taken = True
            handed.append(slot.latest)
        return handed

    def done(self, change: Change) -> bool:
        """The work on `change` ended; True if a newer change of its key is pending again."""
        where = (change.bucket, change.key)
        self._slots.pop(where, None)
        self._last_done[where] = change
        self._last_done.move_to_end(where)
        if len(self._last_done) > self._remember:
            self._last_done.popitem(last=False)
        newer = self._since_done.pop(where, None)
        if newer is None:
            return False
        self._slots[where] = _Slot(newer)
        self._order.append(where)
        return True
