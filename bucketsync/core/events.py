"""What a source's bucket notifications announce, as plain values, and which of them still need work. Pure.

A notification is a JSON document of `Records` (AWS S3 through SQS, directly or wrapped by SNS; Ceph RGW
pushing over HTTP or AMQP; MinIO's webhook). Each record becomes one `Change`: the bucket, the key
(URL-decoded: the servers send it form-encoded, a space as `+`), created or removed, and what the record
says of the version (id, size, ETag), its time and its `sequencer`.

An event says only that something happened to a key: the replica is made from both sides' current state
when the key is worked on, so a burst on one key needs one piece of work, a repeated delivery none, and
the order of the events (which some servers do not keep: `PendingChanges`) does not matter.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
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


@dataclass
class Work:
    """One piece of work on one key: the newest change announced for it, and how many announced changes
    (not counting exact repeats) it covers; `oldest` is the earliest event time among them (for the lag)."""

    change: Change
    changes: int = 1
    oldest: datetime | None = None
    seen: set[Change] = field(default_factory=set)

    def merge(self, change: Change) -> None:
        self.change = change
        self.changes += 1
        self.seen.add(change)
        if change.event_time and (self.oldest is None or change.event_time < self.oldest):
            self.oldest = change.event_time


AddResult = Literal["queued", "merged", "duplicate"]


class PendingChanges:
    """Changes waiting for work, at most one piece of work per key, and never two at once for one key.

    The order of one key's events is not trusted: Ceph RGW 16's `sequencer` is not monotonic per key
    (measured: `…2144F113` then `…42A33018` then `…0C045B1B` for three PUTs in a row), and moto sends none.
    Nothing needs it: the work reads both sides' current state, so any later look at a key replicates its
    newest state. Hence `add` merges every new event of a key that is waiting into its one piece of work
    ("merged"), queues one more look for a key being worked on (after the current one: "queued"), and
    drops only an exact repeat of an event already seen ("duplicate": an at-least-once delivery). The
    events of the `remember` most recently finished keys are remembered for that.
    Not thread-safe by itself: the watcher holds a lock around it.
    """

    def __init__(self, remember: int = 100_000) -> None:
        self._remember = remember
        self._waiting: dict[tuple[str, str], Work] = {}  # keys waiting for work, in arrival order
        self._taken: dict[tuple[str, str], Work] = {}
        self._after: dict[tuple[str, str], Work] = {}  # arrived while the key was taken
        self._recent: OrderedDict[tuple[str, str], set[Change]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._waiting) + len(self._after)

    def add(self, change: Change) -> AddResult:
        where = (change.bucket, change.key)
        taken = self._taken.get(where)
        queue = self._after if taken is not None else self._waiting
        pending = queue.get(where)
        if change in self._recent.get(where, ()) or (taken is not None and change in taken.seen) or (
                pending is not None and change in pending.seen):
            return "duplicate"
        if pending is not None:
            pending.merge(change)
            return "merged"
        queue[where] = Work(change, 1, change.event_time, {change})
        return "queued"

    def holds(self, bucket: str, key: str) -> bool:
        """Whether the key is waiting for work or being worked on."""
        where = (bucket, key)
        return where in self._waiting or where in self._taken

    def take(self, limit: int) -> list[Work]:
        """Up to `limit` pieces of work on keys nobody is working on, oldest first."""
        handed: list[Work] = []
        while self._waiting and len(handed) < limit:
            where = next(iter(self._waiting))
            work = self._waiting.pop(where)
            self._taken[where] = work
            handed.append(work)
        return handed

    def done(self, work: Work) -> bool:
        """The work ended; True if changes of its key arrived meanwhile (they are waiting again)."""
        where = (work.change.bucket, work.change.key)
        self._taken.pop(where, None)
        seen = self._recent.pop(where, set()) | work.seen
        self._recent[where] = seen if len(seen) <= 64 else set(list(seen)[-64:])
        if len(self._recent) > self._remember:
            self._recent.popitem(last=False)
        after = self._after.pop(where, None)
        if after is None:
            return False
        self._waiting[where] = after
        return True


# Seconds from a change's event time to its replica written and checked (`watch`): 10 ms up to 15 minutes.
LAG_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)


def lag_bucket(seconds: float) -> str:
    """The bucket a lag is counted in (its upper bound as written in Redis), '+Inf' past the last."""
    for bound in LAG_BUCKETS:
        if seconds <= bound:
            return f"{bound:g}"
    return "+Inf"
