"""The watcher's intake and work loop (bucketsync.run.watch) with a replicate function of the test's own:
durable before answered, one key at a time, bursts collapsed, failures retried, restarts resumed."""

from __future__ import annotations

import threading
import time

from bucketsync.run.change_journal import ChangeJournal
from bucketsync.core.events import Change
from bucketsync.core.outcomes import ObjectOutcome
from bucketsync.run.watch import Watcher


def change(key: str, sequencer: str, bucket: str = "src") -> Change:
    return Change(bucket, key, "created", "ObjectCreated:Put", sequencer=sequencer)


class Recorder:
    def __init__(self, status: str = "copied", hold: threading.Event | None = None) -> None:
        self.calls: list[Change] = []
        self.status, self.hold = status, hold
        self.running: set[str] = set()
        self.overlap = False
        self.lock = threading.Lock()

    def __call__(self, c: Change) -> ObjectOutcome:
        with self.lock:
            self.overlap |= c.key in self.running
            self.running.add(c.key)
            self.calls.append(c)
        if self.hold is not None:
            self.hold.wait(10)
        time.sleep(0.01)
        with self.lock:
            self.running.discard(c.key)
        return ObjectOutcome(c.key, self.status)


def test_changes_are_on_disk_when_take_in_returns(tmp_path):
    journal = ChangeJournal(tmp_path / "j.sqlite")
    watcher = Watcher(Recorder(), journal)  # not started: nothing is worked on
    watcher.take_in([change("a", "01"), change("b", "01")])
    reopened = ChangeJournal(tmp_path / "j.sqlite")
    assert [(c.key, c.sequencer) for _, c in reopened.unfinished()] == [("a", "01"), ("b", "01")]


def test_a_burst_is_one_piece_of_work_and_the_journal_empties(tmp_path):
    hold = threading.Event()
    replicate = Recorder(hold=hold)
    journal = ChangeJournal(tmp_path / "j.sqlite")
    watcher = Watcher(replicate, journal, concurrency=4)
    watcher.start()
    watcher.take_in([change("k", "01")])
    time.sleep(0.2)  # "k" 01 is being worked on
    watcher.take_in([change("k", f"{n:02X}") for n in range(2, 30)] + [change("k", "05")])
    hold.set()
    assert watcher.wait_idle(10)
    watcher.stop()
    assert [c.sequencer for c in replicate.calls] == ["01", "1D"]  # the first, then one look after the burst
    assert not replicate.overlap
    assert len(journal) == 0
    assert watcher.counts["copied"] == 2 and watcher.counts["duplicate"] == 28  # 27 covered by the second look, "05" twice


def test_many_keys_are_worked_on_at_once_but_each_key_alone(tmp_path):
    replicate = Recorder()
    watcher = Watcher(replicate, ChangeJournal(tmp_path / "j.sqlite"), concurrency=8)
    watcher.start()
    for round_ in range(1, 6):
        watcher.take_in([change(f"key-{n % 10}", f"{round_:02X}{n:02X}") for n in range(40)])
    assert watcher.wait_idle(20)
    watcher.stop()
    assert not replicate.overlap
    assert {c.key for c in replicate.calls} == {f"key-{n}" for n in range(10)}
    newest = {c.key: c.sequencer for c in replicate.calls}
    assert newest == {f"key-{n}": f"05{30 + n:02X}" for n in range(10)}  # each key's last look came after its last event
    assert sum(watcher.counts.values()) == 200  # every announced change counted once


def test_what_was_taken_in_before_a_stop_is_worked_on_after_a_restart(tmp_path):
    path = tmp_path / "j.sqlite"
    first = Watcher(Recorder(), ChangeJournal(path))
    first.take_in([change("a", "01"), change("b", "02"), change("a", "03")])  # never started: "killed"
    replicate = Recorder()
    second = Watcher(replicate, ChangeJournal(path))
    assert second.resume_unfinished() == 3
    second.start()
    assert second.wait_idle(10)
    second.stop()
    assert sorted((c.key, c.sequencer) for c in replicate.calls) == [("a", "03"), ("b", "02")]
    assert second.counts["copied"] == 2 and second.counts["duplicate"] == 1
    assert len(ChangeJournal(path)) == 0


def test_a_failing_key_is_tried_again_then_counted_failed_and_forgotten(tmp_path):
    replicate = Recorder(status="failed")
    journal = ChangeJournal(tmp_path / "j.sqlite")
    watcher = Watcher(replicate, journal, retry_pauses=(0.05, 0.05))
    watcher.start()
    watcher.take_in([change("bad", "01")])
    assert watcher.wait_idle(10)
    watcher.stop()
    assert len(replicate.calls) == 3 and watcher.counts["failed"] == 1 and len(journal) == 0


def test_an_error_escaping_replicate_is_a_failure_not_a_dead_thread(tmp_path):
    calls = []

    def explode(c: Change) -> ObjectOutcome:
        calls.append(c)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return ObjectOutcome(c.key, "copied")

    watcher = Watcher(explode, ChangeJournal(tmp_path / "j.sqlite"), concurrency=1, retry_pauses=(0.05,))
    watcher.start()
    watcher.take_in([change("k", "01")])
    watcher.take_in([change("j", "01")])
    assert watcher.wait_idle(10)
    watcher.stop()
    assert watcher.counts["copied"] == 2 and watcher.counts["failed"] == 0


def test_changes_recorded_at_once_share_a_commit_and_all_survive(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    journal = ChangeJournal(tmp_path / "j.sqlite")
    with ThreadPoolExecutor(max_workers=40) as pool:
        ids = list(pool.map(lambda n: journal.record([change(f"k{n}", "01")])[0], range(200)))
    assert len(set(ids)) == 200
    assert journal.commits < 200  # grouped: one fsync for every change waiting at that moment
    journal.close()
    assert len(ChangeJournal(tmp_path / "j.sqlite").unfinished()) == 200
