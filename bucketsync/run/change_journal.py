"""Changes a watcher has taken in and not yet finished, on disk, so a restart finds them (SQLite).

`record` returns only once the changes are durable (committed with `synchronous=FULL`): a receiver
answers the server, or acknowledges a queue message, after it. Commits are grouped: one writer thread
commits everything recorded meanwhile in one transaction, so many pushes at once cost one fsync, not one
each (with a synchronous RGW topic, the writer's PUT waits for that answer). `finish` forgets every
change of a key recorded up to a row id once the key's current state was replicated; it does not wait:
it rides with the next commit, and if the process dies first the key is looked at once more after the
restart (which writes nothing). `unfinished` is what a restarted watcher starts with.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..core.events import Change

SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    change TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_key ON changes (bucket, key, id);
"""


@dataclass
class _Recording:
    changes: list[Change]
    ids: list[int] = field(default_factory=list)
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class ChangeJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Condition()
        self._recordings: list[_Recording] = []
        self._finished: list[tuple[str, str, int]] = []
        self._closed = False
        self.commits = 0
        self._writer = threading.Thread(target=self._write_forever, name="bucketsync-journal", daemon=True)
        self._writer.start()

    def record(self, changes: list[Change]) -> list[int]:
        """Writes the changes durably; returns their row ids in order. Raises if they could not be written."""
        recording = _Recording(changes)
        with self._lock:
            if self._closed:
                raise RuntimeError("the journal is closed")
            self._recordings.append(recording)
            self._lock.notify_all()
        recording.done.wait()
        if recording.error is not None:
            raise recording.error
        return recording.ids

    def finish(self, bucket: str, key: str, up_to: int) -> None:
        with self._lock:
            self._finished.append((bucket, key, up_to))
            self._lock.notify_all()

    def _write_forever(self) -> None:
        while True:
            with self._lock:
                while not self._recordings and not self._finished and not self._closed:
                    self._lock.wait()
                if self._closed and not self._recordings and not self._finished:
                    return
                recordings, self._recordings = self._recordings, []
                finished, self._finished = self._finished, []
            self._commit(recordings, finished)

    def _commit(self, recordings: list[_Recording], finished: list[tuple[str, str, int]]) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for recording in recordings:
                recording.ids = [
                    self._db.execute("INSERT INTO changes (bucket, key, change) VALUES (?, ?, ?)",
                                     (change.bucket, change.key, json.dumps(change.to_json()))).lastrowid
                    for change in recording.changes
                ]
            self._db.executemany("DELETE FROM changes WHERE bucket = ? AND key = ? AND id <= ?", finished)
            self._db.execute("COMMIT")
            self.commits += 1
        except BaseException as exc:  # noqa: BLE001 - handed to every caller waiting on this commit
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            for recording in recordings:
                recording.error = exc
        for recording in recordings:
            recording.done.set()

    def unfinished(self) -> list[tuple[int, Change]]:
        self._flush()
        rows = self._db.execute("SELECT id, change FROM changes ORDER BY id").fetchall()
        return [(row_id, Change.from_json(json.loads(text))) for row_id, text in rows]

    def __len__(self) -> int:
        self._flush()
        return self._db.execute("SELECT COUNT(*) FROM changes").fetchone()[0]

    def _flush(self) -> None:
        """Wait until what was finished so far is committed (reads see it)."""
        self.record([])

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._writer.join(30)
        self._db.close()
