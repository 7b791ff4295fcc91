"""Where filters come from: the command line (in the order given) and a schedule's `filters` list."""

from __future__ import annotations

import pytest

from bucketsync.cli import filters_given
from bucketsync.core.errors import SettingsError, UsageError
from bucketsync.core.filters import Filter, Filters
from bucketsync.ops.schedules import parse_schedules


def test_the_command_line_order_is_kept_across_both_options():
    argv = ["bucketsync", "sync", "s3://aaa", "s3://bbb", "--exclude", "*", "--include=a/*", "--exclude", "a/tmp/*"]
    got = filters_given(["*", "a/tmp/*"], ["a/*"], argv)
    assert got == Filters((Filter("exclude", "*"), Filter("include", "a/*"), Filter("exclude", "a/tmp/*")))


def test_an_order_that_cannot_be_recovered_is_a_usage_error():
    with pytest.raises(UsageError, match="order of the --exclude/--include"):
        filters_given(["x"], [], ["bucketsync", "sync", "s3://aaa", "s3://bbb"])


def test_a_schedule_carries_its_filters_in_order():
    [schedule] = parse_schedules(
        [{"name": "nightly", "cron": "@daily", "source": "s3://aaa", "destination": "s3://bbb", "prefix": "in/",
          "filters": [{"exclude": "logs/*"}, {"include": "logs/keep/*"}]}],
        "test",
    )
    job = schedule.job()
    assert job.filters == [["exclude", "logs/*"], ["include", "logs/keep/*"]]
    assert job.source == "s3://aaa/in/"


@pytest.mark.parametrize("bad", [[{"exclud": "x"}], [{"exclude": "x", "include": "y"}], ["logs/*"]])
def test_a_malformed_schedule_filter_is_refused_in_one_line(bad):
    raw = [{"name": "nightly", "cron": "@daily", "source": "s3://aaa", "destination": "s3://bbb", "filters": bad}]
    with pytest.raises(SettingsError) as caught:
        parse_schedules(raw, "test")
    assert "filters" in str(caught.value) and "\n" not in str(caught.value)
