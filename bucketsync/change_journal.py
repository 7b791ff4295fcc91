"""Changes a watcher has taken in and not yet finished, on disk, so a restart finds them (SQLite).

`record` returns only once the changes are durable (one transaction, `synchronous=FULL`): a receiver
answers the server, or acknowledges a queue message, after it. `finish` forgets every change of a key
recorded up to a row id, once the key's current state was replicated (the work read both sides after
those rows were written, so they need nothing more). `unfinished` is what a restarted watcher starts with.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from .events import Change

SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    change TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_key ON changes (bucket, key, id);
"""


class ChangeJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True) if path.parent != Path("") else None
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)

    def record(self, changes: list[Change]) -> list[int]:
        """Writes the changes durably; returns their row ids in order."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                ids = [
                    self._db.execute(
                        "INSERT INTO changes (bucket, key, change) VALUES (?, ?, ?)",
                        (change.bucket, change.key, json.dumps(change.to_json())),
                    ).lastrowid
                    for change in changes
                ]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return ids

    def finish(self, bucket: str, key: str, up_to: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM changes WHERE bucket = ? AND key = ? AND id <= ?", (bucket, key, up_to))

    def unfinished(self) -> list[tuple[int, Change]]:
        with self._lock:
            rows = self._db.execute("SELECT id, change FROM changes ORDER BY id").fetchall()
        return [(row_id, Change.from_json(json.loads(text))) for row_id, text in rows]

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM changes").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
