"""Outcomes added up into a RunSummary: counters, per-object lists, exit code, JSON round trips."""

from __future__ import annotations

import json
import re
import threading

import pytest

from bucketsync.core.lockrules import DEST_RETENTION_KEPT, DOWNGRADE_REFUSED, SHORTEN_REFUSED, SOURCE_RETENTION_EXPIRED
from bucketsync.core.outcomes import (
    CHANGED_SINCE_LISTING,
    COUNTERS,
    LOCK_SET_AFTER_WRITE,
    METADATA_SET_AFTER_WRITE,
    TAGS_SET_AFTER_WRITE,
    ObjectOutcome,
    RunSummary,
    RunTally,
    add_up,
    combine,
    counts_of,
    listing_entry,
)
from bucketsync.core.messages import outcome_from_json, outcome_to_json


def summary(**fields) -> RunSummary:
    base = dict(run_id="run-1", source="s3://src/", destination="s3://dst/", mode="embedded", dry_run=False,
                started_at="2030-01-01T00:00:00.000+00:00")
    return RunSummary(**{**base, **fields})


# id, outcome, expected counter increments
COUNTS = [
    ("copied", ObjectOutcome("k", "copied", "v1", bytes_copied=42), {"copied": 1, "bytes_copied": 42}),
    ("skipped", ObjectOutcome("k", "skipped"), {"skipped": 1, "bytes_copied": 0}),
    ("lock updated", ObjectOutcome("k", "lock_updated", "v1"), {"lock_updated": 1, "bytes_copied": 0}),
    ("deleted", ObjectOutcome("k", "deleted"), {"deleted": 1, "bytes_copied": 0}),
    ("failed", ObjectOutcome("k", "failed", reason="AccessDenied"), {"failed": 1, "bytes_copied": 0}),
    ("vanished", ObjectOutcome("k", "vanished", reason="NoSuchKey"), {"vanished": 1, "bytes_copied": 0}),
    ("copied, source retention expired",
     ObjectOutcome("k", "copied", bytes_copied=5, notes=(SOURCE_RETENTION_EXPIRED,)),
     {"copied": 1, "bytes_copied": 5, "retention_expired": 1}),
    ("copied, lock set after write, changed since listing",
     ObjectOutcome("k", "copied", bytes_copied=7, notes=(CHANGED_SINCE_LISTING, LOCK_SET_AFTER_WRITE)),
     {"copied": 1, "bytes_copied": 7, "lock_set_after_write": 1, "changed_since_listing": 1}),
    ("copied, tags and metadata set after write",
     ObjectOutcome("k", "copied", bytes_copied=2, notes=(TAGS_SET_AFTER_WRITE, METADATA_SET_AFTER_WRITE)),
     {"copied": 1, "bytes_copied": 2, "tags_set_after_write": 1, "metadata_set_after_write": 1}),
    ("refusal notes count nothing extra", ObjectOutcome("k", "skipped", notes=(SHORTEN_REFUSED, DOWNGRADE_REFUSED)),
     {"skipped": 1, "bytes_copied": 0}),
]


@pytest.mark.parametrize("outcome, expected", [c[1:] for c in COUNTS], ids=[c[0] for c in COUNTS])
def test_counts_of(outcome, expected):
    counts = counts_of(outcome)
    assert counts == expected
    assert set(counts) <= set(COUNTERS)
    assert "listed" not in counts


# id, outcome, expected (list name, entry) or None
ENTRIES = [
    ("copied: no entry", ObjectOutcome("k", "copied", "v1", bytes_copied=1), None),
    ("expired source retention is counted, not listed", ObjectOutcome("k", "copied", notes=(SOURCE_RETENTION_EXPIRED,)), None),
    ("lock set after write is not listed", ObjectOutcome("k", "copied", notes=(LOCK_SET_AFTER_WRITE,)), None),
    ("failed", ObjectOutcome("a b", "failed", "v2", reason="AccessDenied"),
     ("failures", {"key": "a b", "version_id": "v2", "reason": "AccessDenied"})),
    ("vanished", ObjectOutcome("gone", "vanished", "v3", reason="NoSuchKey"),
     ("vanished_keys", {"key": "gone", "version_id": "v3", "reason": "NoSuchKey"})),
    ("shorten refused", ObjectOutcome("k", "skipped", "v4", notes=(SHORTEN_REFUSED,)),
     ("lock_refusals", {"key": "k", "version_id": "v4", "reason": SHORTEN_REFUSED})),
    ("downgrade refused on a lock update", ObjectOutcome("k", "lock_updated", "v5", notes=(DOWNGRADE_REFUSED,)),
     ("lock_refusals", {"key": "k", "version_id": "v5", "reason": DOWNGRADE_REFUSED})),
    ("two refusals joined, other notes left out",
     ObjectOutcome("k", "copied", "v6", notes=(SOURCE_RETENTION_EXPIRED, DEST_RETENTION_KEPT, LOCK_SET_AFTER_WRITE,
                                              SHORTEN_REFUSED)),
     ("lock_refusals", {"key": "k", "version_id": "v6", "reason": f"{DEST_RETENTION_KEPT}, {SHORTEN_REFUSED}"})),
    ("a failure with refusal notes is listed as a failure",
     ObjectOutcome("k", "failed", reason="boom", notes=(SHORTEN_REFUSED,)),
     ("failures", {"key": "k", "version_id": None, "reason": "boom"})),
]


@pytest.mark.parametrize("outcome, expected", [c[1:] for c in ENTRIES], ids=[c[0] for c in ENTRIES])
def test_listing_entry(outcome, expected):
    assert listing_entry(outcome) == expected


def test_run_tally_adds_outcomes_into_counters_and_lists():
    tally = RunTally(summary())
    tally.add_listed(10)
    tally.add_listed(5)
    for outcome in [c[1] for c in COUNTS] + [c[1] for c in ENTRIES]:
        tally.add(outcome)
    tally.add(ObjectOutcome("slow", "copied", bytes_copied=3, notes=(LOCK_SET_AFTER_WRITE,), unprotected_seconds=0.25))
    tally.add(ObjectOutcome("fast", "copied", bytes_copied=0, unprotected_seconds=0.01))
    done = tally.finish()

    assert done is tally.summary
    assert (done.listed, done.copied, done.skipped, done.lock_updated, done.deleted, done.failed, done.vanished) == (
        15, 3 + 5 + 2, 2 + 1, 1 + 1, 1, 1 + 2, 1 + 1)
    assert done.bytes_copied == 42 + 5 + 7 + 2 + 1 + 3
    assert (done.retention_expired, done.lock_set_after_write, done.changed_since_listing) == (3, 4, 1)
    assert (done.tags_set_after_write, done.metadata_set_after_write) == (1, 1)
    assert done.max_unprotected_seconds == 0.25
    assert [item["reason"] for item in done.failures] == ["AccessDenied", "AccessDenied", "boom"]
    assert [item["key"] for item in done.vanished_keys] == ["k", "gone"]
    assert [item["reason"] for item in done.lock_refusals] == [
        f"{SHORTEN_REFUSED}, {DOWNGRADE_REFUSED}", SHORTEN_REFUSED, DOWNGRADE_REFUSED,
        f"{DEST_RETENTION_KEPT}, {SHORTEN_REFUSED}"]
    assert done.state == "finished"
    assert done.finished_at is not None and done.duration_seconds() is not None
    assert done.exit_code() == 1


def test_run_tally_is_thread_safe():
    tally = RunTally(summary())
    outcome = ObjectOutcome("k", "copied", bytes_copied=1)

    def work():
        for _ in range(2000):
            tally.add(outcome)
            tally.add_listed(1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (tally.summary.copied, tally.summary.bytes_copied, tally.summary.listed) == (8000, 8000, 8000)


@pytest.mark.parametrize(
    "fields, code",
    [
        ({}, 0),
        ({"copied": 3, "skipped": 2}, 0),
        ({"vanished": 1, "vanished_keys": [{"key": "k", "version_id": None, "reason": "NoSuchKey"}]}, 0),
        ({"lock_refusals": [{"key": "k", "version_id": None, "reason": SHORTEN_REFUSED}]}, 0),
        ({"failed": 1}, 1),
        ({"failed": 7, "copied": 100}, 1),
    ],
)
def test_exit_code(fields, code):
    assert summary(**fields).exit_code() == code


@pytest.mark.parametrize(
    "finished_at, seconds",
    [(None, None), ("2030-01-01T00:00:00.000+00:00", 0.0), ("2030-01-01T00:01:02.500+00:00", 62.5)],
)
def test_duration_seconds(finished_at, seconds):
    assert summary(finished_at=finished_at).duration_seconds() == seconds


FULL = summary(
    finished_at="2030-01-01T00:00:10.000+00:00", state="finished", mode="distributed", dry_run=True,
    listed=9, copied=3, skipped=1, lock_updated=1, deleted=1, failed=1, vanished=1, bytes_copied=1234,
    retention_expired=1, lock_set_after_write=2, changed_since_listing=1, max_unprotected_seconds=0.5,
    failures=[{"key": "f", "version_id": "v", "reason": "AccessDenied"}],
    vanished_keys=[{"key": "g h", "version_id": None, "reason": "NoSuchKey"}],
    lock_refusals=[{"key": "\u65e5", "version_id": "v9", "reason": SHORTEN_REFUSED}],
)


@pytest.mark.parametrize("original", [summary(), FULL], ids=["fresh", "full"])
def test_run_summary_json_round_trip(original):
    data = json.loads(json.dumps(original.to_json()))
    assert data["duration_seconds"] == original.duration_seconds()
    assert RunSummary.from_json(data) == original


def test_run_summary_from_json_ignores_unknown_keys():
    data = {**FULL.to_json(), "something_new": 1}
    assert RunSummary.from_json(data) == FULL


@pytest.mark.parametrize("outcome", [c[1] for c in COUNTS] + [c[1] for c in ENTRIES] + [
    ObjectOutcome("k", "copied", "v", 1, None, (LOCK_SET_AFTER_WRITE,), 1.5)])
def test_object_outcome_json_round_trip(outcome):
    data = json.loads(json.dumps(outcome_to_json(outcome)))
    assert isinstance(data["notes"], list)
    assert outcome_from_json(data) == outcome


# id, outcomes, expected totals: one sum for the embedded tally, the batch task's result and the ledger
ADD_UP = [
    ("nothing", [], {}),
    ("copies and a failure", [ObjectOutcome("a", "copied", bytes_copied=5), ObjectOutcome("b", "copied", bytes_copied=2),
                              ObjectOutcome("c", "failed", reason="x")],
     {"copied": 2, "failed": 1, "bytes_copied": 7}),
    ("largest unprotected window", [ObjectOutcome("a", "copied", unprotected_seconds=0.2),
                                    ObjectOutcome("b", "copied", unprotected_seconds=0.7)],
     {"copied": 2, "bytes_copied": 0, "max_unprotected_seconds": 0.7}),
]


@pytest.mark.parametrize("outcomes, expected", [c[1:] for c in ADD_UP], ids=[c[0] for c in ADD_UP])
def test_add_up(outcomes, expected):
    assert add_up(outcomes) == expected


def test_combine_adds_counters_and_keeps_maxima():
    assert combine([{"copied": 2, "max_unprotected_seconds": 0.7}, {}, {"copied": 1, "failed": 1,
                    "max_unprotected_seconds": 0.3}]) == {"copied": 3, "failed": 1, "max_unprotected_seconds": 0.7}


def test_run_tally_keeps_the_largest_unprotected_window():
    tally = RunTally(summary())
    for seconds in (0.2, 0.9, 0.4):
        tally.add(ObjectOutcome("k", "copied", unprotected_seconds=seconds))
    assert tally.summary.max_unprotected_seconds == 0.9 and tally.summary.copied == 3


def test_a_report_that_cannot_be_written_leaves_no_temporary_file(tmp_path, monkeypatch):
    from bucketsync.run import report as report_module

    def disk_full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_module.json, "dump", disk_full)
    with pytest.raises(report_module.ReportNotWritten, match="No space left on device"):
        report_module.write_json(summary(), tmp_path / "report.json")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("counts, state, shown", [
    # --all-versions: 24 listed = 21 versions + 3 delete markers; 2 destination versions rewritten beneath
    ({"listed": 24, "copied": 21, "delete_markers_copied": 3, "versions_rewritten": 2, "versions_kept": 1},
     "finished", ["delete markers copied  3", "versions rewritten", "2 (destination", "versions kept", "1 ("]),
    # interrupted with work queued: what never started is a line of its own
    ({"listed": 30, "copied": 2, "skipped": 5}, "failed", ["not done", "23 (never started)"]),
    ({"listed": 30, "copied": 2, "skipped": 5}, "running", ["23 (still running)"]),
])
def test_every_listed_item_appears_in_some_line_of_the_summary(counts, state, shown):
    from bucketsync.run.report import accounted, render_text

    run = summary()
    for name, value in counts.items():
        setattr(run, name, value)
    run.state = state
    text = render_text(run)
    for fragment in shown:
        assert fragment in text, text
    rows = dict(re.findall(r"^  ([a-z -]+?)  +(\d+)", text, re.MULTILINE))
    source_side = ("copied", "delete markers copied", "skipped", "lock-updated", "failed", "vanished", "not done")
    assert sum(int(rows.get(label, 0)) for label in source_side) == run.listed, text
