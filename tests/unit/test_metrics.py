"""Run reports -> Prometheus series, with plain values; the textfile's counters only grow."""

from __future__ import annotations

import pytest

from bucketsync.ops.metrics import (
    ADHOC_JOB, JobTotals, add_run, epoch, exposition, job_families, totals_from_text, write_textfile,
)
from bucketsync.core.outcomes import RunSummary

T0 = "2024-05-01T10:00:00.000+00:00"


def at(seconds: float) -> str:
    return epoch_iso(epoch(T0) + seconds)


def epoch_iso(value: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(value, timezone.utc).isoformat(timespec="milliseconds")


def run(start: float, end: float, state: str = "finished", job: str | None = None, **counts) -> RunSummary:
    return RunSummary(run_id=f"r{start}", source="s3://a", destination="s3://b", mode="embedded", dry_run=False,
                      started_at=at(start), finished_at=at(end), state=state, job=job, **counts)


def samples(text: str) -> dict[tuple, float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_runs_add_up_and_the_last_success_is_the_latest_start():
    totals = JobTotals("nightly")
    totals = add_run(totals, run(0, 60, job="nightly", copied=5, skipped=1, bytes_copied=500, slowdowns=2))
    totals = add_run(totals, run(100, 130, job="nightly", copied=1, failed=2, bytes_copied=10))
    assert totals.objects == {"copied": 6, "skipped": 1, "lock_updated": 0, "deleted": 0, "failed": 2}
    assert (totals.bytes_copied, totals.slowdowns) == (510, 2)
    assert totals.runs_ended == {"finished": 2, "failed": 0}
    # the second run had failures: the replica is as current as the first run's start
    assert totals.last_success_started_at == epoch(at(0)) and totals.last_success_at == epoch(at(60))
    assert totals.last_duration_seconds == 30 and totals.last_ended_at == epoch(at(130))


@pytest.mark.parametrize(
    "second, success_start, duration",
    [
        (run(200, 260), 200, 60),  # a later success moves both on
        (run(-50, 20), 0, 30),  # an earlier run that ended before: neither moves
        (run(10, 300, state="failed"), 0, 290),  # a failed run is the last to end, not a success
    ],
)
def test_which_run_is_last(second, success_start, duration):
    totals = add_run(add_run(JobTotals(ADHOC_JOB), run(0, 30)), second)
    assert totals.last_success_started_at == epoch(at(success_start))
    assert totals.last_duration_seconds == duration


def test_series_and_lag():
    totals = add_run(JobTotals(ADHOC_JOB), run(0, 60, copied=3, lock_updated=2, deleted=1, bytes_copied=42))
    values = samples(exposition(job_families([totals], now=epoch(at(3600)))))
    job = (("job", "adhoc"),)
    assert values[("bucketsync_objects_total", job + (("result", "lock_updated"),))] == 2
    assert values[("bucketsync_objects_total", job + (("result", "deleted"),))] == 1
    assert values[("bucketsync_bytes_copied_total", job)] == 42
    assert values[("bucketsync_replica_age_seconds", job)] == 3600
    assert values[("bucketsync_run_duration_seconds", job)] == 60
    assert values[("bucketsync_run_last_success_timestamp_seconds", job)] == epoch(at(60))


def test_a_job_without_a_successful_run_has_no_lag_series():
    totals = add_run(JobTotals("j"), run(0, 60, state="failed"))
    names = {name for name, _ in samples(exposition(job_families([totals], now=epoch(at(100)))))}
    assert "bucketsync_replica_age_seconds" not in names
    assert "bucketsync_run_duration_seconds" in names


def test_series_read_back_from_text_are_the_totals():
    totals = add_run(add_run(JobTotals("a"), run(0, 9, job="a", copied=7, slowdowns=1)), run(10, 20, job="a", failed=1))
    other = add_run(JobTotals("b"), run(5, 6, job="b", skipped=4))
    text = exposition(job_families([totals, other], now=epoch(at(50))))
    assert totals_from_text(text) == {"a": totals, "b": other}


def test_textfile_counters_go_on_across_runs_and_jobs(tmp_path):
    path = tmp_path / "textfile" / "bucketsync.prom"
    path.parent.mkdir()  # never created by bucketsync: the CLI refuses a missing directory before the run
    write_textfile(path, run(0, 10, copied=4, bytes_copied=40), now=epoch(at(10)))
    write_textfile(path, run(20, 30, job="nightly", copied=1), now=epoch(at(30)))
    write_textfile(path, run(40, 50, copied=4, bytes_copied=40), now=epoch(at(50)))
    values = samples(path.read_text())
    assert values[("bucketsync_objects_total", (("job", "adhoc"), ("result", "copied")))] == 8
    assert values[("bucketsync_bytes_copied_total", (("job", "adhoc"),))] == 80
    assert values[("bucketsync_objects_total", (("job", "nightly"), ("result", "copied")))] == 1
    assert values[("bucketsync_runs_ended_total", (("job", "adhoc"), ("state", "finished")))] == 2
    assert [p.name for p in path.parent.iterdir()] == ["bucketsync.prom"]  # no temporary file left


def test_an_unreadable_textfile_starts_the_counters_again(tmp_path):
    path = tmp_path / "bucketsync.prom"
    path.write_text("this is { not the text format\n")
    write_textfile(path, run(0, 10, copied=2), now=epoch(at(10)))
    assert samples(path.read_text())[("bucketsync_objects_total", (("job", "adhoc"), ("result", "copied")))] == 2


@pytest.mark.parametrize("lag, bucket", [(0.004, "0.01"), (0.01, "0.01"), (0.3, "0.5"), (1.0, "1"), (901, "+Inf")])
def test_a_lag_is_counted_in_the_first_bucket_it_fits(lag, bucket):
    from bucketsync.core.events import lag_bucket

    assert lag_bucket(lag) == bucket


def test_watch_series_sit_beside_the_job_series_in_one_scrape():
    from prometheus_client.parser import text_string_to_metric_families

    from bucketsync.ops.metrics import watch_families

    watches = {"w": {"events": {"copied": 5.0, "duplicate": 2.0}, "lag": {"0.05": 3.0, "1": 2.0, "+Inf": 1.0,
                                                                          "sum": 905.2, "count": 6.0}, "pending": 4}}
    jobs = [add_run(JobTotals("nightly"), run(0, 60, copied=3))]
    text = exposition(job_families(jobs, epoch(T0) + 3600) + watch_families(watches))
    kinds = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert kinds["bucketsync_replication_lag_seconds"] == "histogram"
    assert kinds["bucketsync_replica_age_seconds"] == "gauge"
    values = samples(text)
    assert values[("bucketsync_events_total", (("result", "copied"), ("watch", "w")))] == 5.0
    assert 'bucketsync_replication_lag_seconds_bucket{le="0.05",watch="w"} 3.0' in text
    assert 'bucketsync_replication_lag_seconds_bucket{le="1",watch="w"} 5.0' in text  # cumulative
    assert 'bucketsync_replication_lag_seconds_bucket{le="+Inf",watch="w"} 6.0' in text
    assert 'bucketsync_events_pending{watch="w"} 4.0' in text
