"""Whether a scheduled run does the lock pass, and the `lock_check_every` setting."""

from __future__ import annotations

import pytest

from bucketsync.core.errors import SettingsError
from bucketsync.core.lock_schedule import lock_pass_due, parse_interval
from bucketsync.ops.schedules import parse_schedules

DAY = 86400.0
NOW = 1_800_000_000.0


@pytest.mark.parametrize(("last_started", "now", "every", "due"), [
    (None, NOW, None, True),  # no interval: every run
    (NOW - 60, NOW, None, True),
    (None, NOW, DAY, True),  # never done: this run does it
    (NOW - 60, NOW, DAY, False),  # done a minute ago
    (NOW - DAY + 1, NOW, DAY, False),  # one second short of the interval
    (NOW - DAY, NOW, DAY, True),  # exactly the interval
    (NOW - 2 * DAY, NOW, DAY, True),
    (NOW + 3600, NOW, DAY, True),  # recorded in the future (a clock went back): do it
])
def test_lock_pass_due(last_started, now, every, due):
    assert lock_pass_due(last_started, now, every) is due


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("24h", 86400), ("7d", 604800), (" 2H ", 7200)])
def test_interval_parses(text, seconds):
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "24", "h", "1w", "0s", "-1h", "1.5h"])
def test_bad_interval_is_refused(text):
    with pytest.raises(ValueError):
        parse_interval(text)


def test_schedule_carries_the_interval_in_seconds_into_the_job():
    base = {"name": "j", "cron": "@hourly", "source": "s3://src-a", "destination": "s3://dst-b"}
    [hourly, nightly_locks] = parse_schedules([base, {**base, "name": "k", "lock_check_every": "24h"}], "test")
    assert hourly.job().lock_check_every is None
    assert nightly_locks.job().lock_check_every == 86400
    with pytest.raises(SettingsError, match="lock_check_every: 'soon': write N with a unit"):
        parse_schedules([{**base, "lock_check_every": "soon"}], "test")


@pytest.mark.parametrize(("changes", "recorded"), [
    ({}, True),
    ({"failed": 1}, False),  # some objects' locks may not have been read: the next run does the pass again
    ({"state": "failed"}, False),
    ({"state": "running"}, False),
    ({"lock_check": False}, False),  # a run between two lock passes
    ({"job": None}, False),  # a manual sync: no job to remember it for
])
def test_only_a_finished_lock_pass_without_failures_is_remembered(changes, recorded):
    from bucketsync.ops.lock_pass_record import did_full_lock_pass
    from bucketsync.core.outcomes import RunSummary

    summary = RunSummary(run_id="r", source="s3://a/", destination="s3://b/", mode="distributed", dry_run=False,
                         started_at="2026-01-01T00:00:00+00:00", state="finished", job="nightly", lock_check=True)
    for name, value in changes.items():
        setattr(summary, name, value)
    assert did_full_lock_pass(summary) is recorded
